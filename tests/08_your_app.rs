//! Lesson 08 (your own app): the transcript of `examples/08_your_app.rs`, one snapshot per step,
//! against a private Redis, checked against Redis's own record of what the lesson sent. Read the
//! snapshots in `tests/snapshots/08_your_app__step_*.snap`.

mod common;

#[allow(dead_code)]
#[path = "../examples/08_your_app.rs"]
mod lesson;

#[tokio::test]
async fn transcript_per_step() {
    common::check_lesson("08_your_app", 6, lesson::run).await;
}

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header::SET_COOKIE;
use axum::routing::{get, post};
use common::*;
use serde_json::{Value, json};
use session_storage::store::{SessionId, user_id_for};
use session_storage::{AppState, Authenticated};

/// The lesson's two routes, plus a route for everyone (`Option<Authenticated>`) and one that
/// sets a cookie of its own, which the renewal must not overwrite.
fn routes() -> Router<AppState> {
    async fn everyone(who: Option<Authenticated>) -> String {
        who.map_or_else(|| "stranger".to_string(), |who| who.username().to_string())
    }
    async fn own_cookie(_who: Authenticated) -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
        ([(SET_COOKIE, "theme=dark; Path=/")], "themed")
    }
    Router::new()
        .route("/hello", get(lesson::hello))
        .route("/act", post(lesson::act).put(lesson::act).patch(lesson::act).delete(lesson::act))
        .route("/everyone", get(everyone).post(everyone))
        .route("/own-cookie", get(own_cookie))
}

async fn logged_in(app: &TestApp) -> (String, String) {
    let id = login_id(app, "alice").await;
    (format!("session_id={id}"), format!("session:{id}"))
}

/// Renewal: the handler wrote no cookie code, yet the answer carries the renewed cookie and the
/// session's TTL is back at the idle TTL. A handler's own cookie is left as it set it, beside
/// the renewal; a handler that sets `session_id` itself (logout clearing it) wins.
async fn the_extractor_renews_the_session_and_the_cookie(kind: Kind) {
    let app = TestApp::start_with_extra(kind, Settings::default(), routes()).await;
    let (cookie, key) = logged_in(&app).await;
    let _: bool = app.cmd(&["EXPIRE", &key, "600"]).await;
    let response =
        plain_client().get(app.url("/hello")).header("cookie", &cookie).send().await.expect("hello");
    assert_eq!(response.status(), 200);
    let renewed = set_cookie(&response).expect("renewed cookie");
    assert_eq!(renewed, format!("{cookie}; HttpOnly; SameSite=Lax; Path=/; Max-Age=1800"));
    assert_eq!(response.text().await.expect("text"), format!("hello alice ({})", user_id_for("alice")));
    let ttl: i64 = app.cmd(&["TTL", &key]).await;
    assert!((1790..=1800).contains(&ttl), "TTL {ttl}");

    // A handler's cookie of another name is left as it set it, and the renewal still comes.
    let own = plain_client().get(app.url("/own-cookie")).header("cookie", &cookie).send().await.expect("own");
    let cookies: Vec<_> =
        own.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().expect("ascii")).collect();
    assert_eq!(cookies, ["theme=dark; Path=/", renewed.as_str()], "the handler's own cookie and the renewal");

    let anonymous = plain_client().get(app.url("/everyone")).send().await.expect("everyone");
    assert_eq!(set_cookie(&anonymous), None, "no session, no cookie");
    assert_eq!(anonymous.text().await.expect("text"), "stranger");
    let known =
        plain_client().get(app.url("/everyone")).header("cookie", &cookie).send().await.expect("everyone");
    assert_eq!(known.text().await.expect("text"), "alice");
}

/// No session: the service's own 401, and a malformed cookie never reaches Redis; a dead session
/// costs one round trip and is a 401 too; `Option<Authenticated>` is then `None`.
async fn without_a_live_session_the_handler_never_runs(kind: Kind) {
    let app = TestApp::start_with_extra(kind, Settings::default(), routes()).await;
    for cookie in [None, Some("session_id=not-a-uuid".to_string())] {
        app.reset_stats().await;
        let mut request = plain_client().get(app.url("/hello"));
        if let Some(cookie) = &cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.expect("hello");
        assert_eq!(response.status(), 401, "{cookie:?}");
        assert_eq!(set_cookie(&response), None);
        assert_eq!(
            response.json::<Value>().await.expect("json"),
            json!({"detail": "Session expired or invalid"})
        );
        assert_eq!(app.command_calls().await, calls(&[]), "{cookie:?}: Redis was asked");
    }
    let dead = format!("session_id={}", SessionId::new());
    let response = plain_client().get(app.url("/hello")).header("cookie", &dead).send().await.expect("hello");
    assert_eq!(response.status(), 401);
    let everyone =
        plain_client().get(app.url("/everyone")).header("cookie", &dead).send().await.expect("all");
    assert_eq!(everyone.text().await.expect("text"), "stranger");
}

/// Every state-changing method from another site is a 403 before Redis is asked, even with a
/// live session; the same request from the page itself, or a GET from anywhere, runs.
async fn a_state_changing_request_from_another_site_is_refused(kind: Kind) {
    let app = TestApp::start_with_extra(kind, Settings::default(), routes()).await;
    let (cookie, _) = logged_in(&app).await;
    let client = plain_client();
    for method in
        [reqwest::Method::POST, reqwest::Method::PUT, reqwest::Method::PATCH, reqwest::Method::DELETE]
    {
        for (header, value) in [("sec-fetch-site", "cross-site"), ("origin", "https://evil.example")] {
            app.reset_stats().await;
            let response = client
                .request(method.clone(), app.url("/act"))
                .header("cookie", &cookie)
                .header(header, value)
                .send()
                .await
                .expect("act");
            assert_eq!(response.status(), 403, "{method} with {header}: {value}");
            assert_eq!(
                response.json::<Value>().await.expect("json"),
                json!({"detail": "Cross-site request refused"})
            );
            assert_eq!(app.command_calls().await, calls(&[]), "{method}: Redis was asked");
        }
        let same = client
            .request(method.clone(), app.url("/act"))
            .header("cookie", &cookie)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .expect("act");
        assert_eq!(same.status(), 200, "{method} from the page");
    }
    let forged_everyone =
        client.post(app.url("/everyone")).header("sec-fetch-site", "cross-site").send().await.expect("all");
    assert_eq!(forged_everyone.status(), 403, "Option<Authenticated> refuses a cross-site POST too");
    let read = client
        .get(app.url("/hello"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("hello");
    assert_eq!(read.status(), 200, "a cross-site GET changes nothing and is served");
}

on_every_backend! {
    #[tokio::test]
    the_extractor_renews_the_session_and_the_cookie;
    #[tokio::test]
    without_a_live_session_the_handler_never_runs;
    #[tokio::test]
    a_state_changing_request_from_another_site_is_refused;
}

/// Redis stalled: the extractor answers 503 within the deadline, for `Authenticated` and
/// `Option<Authenticated>` alike (an outage is never "no session").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_is_a_503_within_the_deadline() {
    let settings = Settings { timeout: Duration::from_millis(300), ..Settings::default() };
    let app = TestApp::start_with_extra(Kind::Single, settings, routes()).await;
    let (cookie, _) = logged_in(&app).await;
    app.redis().pause().expect("SIGSTOP");
    for path in ["/hello", "/everyone"] {
        let started = Instant::now();
        let response =
            plain_client().get(app.url(path)).header("cookie", &cookie).send().await.expect("request");
        let took = started.elapsed();
        assert_eq!(response.status(), 503, "{path}");
        assert_eq!(
            response.json::<Value>().await.expect("json"),
            json!({"detail": "Session store unavailable"})
        );
        assert!(took < Duration::from_secs(2), "{path} took {took:?}");
    }
    app.redis().resume().expect("SIGCONT");
    let back = plain_client().get(app.url("/hello")).header("cookie", &cookie).send().await.expect("hello");
    assert_eq!(back.status(), 200);
}
