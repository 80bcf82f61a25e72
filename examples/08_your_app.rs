//! # Lesson 08: sessions in your own axum app
//!
//! What you will learn: how an application of your own takes sessions from this crate. Two
//! routes of the application's own, `GET /hello` and `POST /act`, take an [`Authenticated`]
//! argument: they run only for a live session, the session is renewed as for `/profile`,
//! in <!-- cost: 08_your_app | GET /hello -->one round trip, the answer carries the renewed
//! cookie without a line of cookie code, and the `POST` is refused from another site.
//! `session_storage::run(config, routes)` serves such routes beside the service's own; this
//! lesson mounts them the same way (`app_with`) on a free port, so that it can narrate every
//! Redis command.
//!
//! Run it: `cargo run --example 08_your_app`. Keys it writes start with `lesson08:` and are
//! deleted at the end.
//!
//! Redis commands of its own: EXPIRE, TTL and DEL. At start the service sends SCRIPT LOAD and
//! TIME. Then, all shown in the transcript with what each request cost: for the
//! login, <!-- sends: 08_your_app | POST /login -->EVALSHA (the login throttle), then one
//! pipeline (EVAL of the index script, MULTI/HSET/EXPIRE/EXEC, MULTI/ZSCORE/XADD/PEXPIRE/EXEC);
//! for each request to your routes, <!-- sends: 08_your_app | GET /hello -->one pipeline of
//! HMGET, EXPIRE and PEXPIRETIME (read-and-renew); for the logout, <!-- sends: 08_your_app |
//! POST /logout -->one pipeline of HGET and DEL, then EVALSHA of the unlist script.
//!
//! Test: `tests/08_your_app.rs`. Chapter: `book/src/08-your-app.md`.
//! Exercises: `lessons/src/ex08_your_app.rs`.

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use session_storage::server::serve;
use session_storage::store::{Keys, Lifetimes, SessionId, SessionStore, user_id_for};
use session_storage::workbook::{Narrator, run_lesson};
use session_storage::{AppState, Authenticated, app_with};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    run_lesson(run).await
}

// ANCHOR: routes
/// `GET /hello`: a route of your own that needs a session. It runs only for a live session,
/// which the extractor has just renewed.
pub async fn hello(who: Authenticated) -> String {
    format!("hello {} ({})", who.username(), who.user_id())
}

/// `POST /act`: a route of your own that changes something. The same extractor also refuses it
/// when another site sends it (403), before Redis is asked.
pub async fn act(who: Authenticated) -> String {
    format!("done for {}", who.username())
}

/// Your routes, on the service's state: `session_storage::run(config, routes)` serves them.
fn routes() -> Router<AppState> {
    Router::new().route("/hello", get(hello)).route("/act", post(act))
}
// ANCHOR_END: routes

fn io_error(error: impl std::fmt::Display) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::other(error.to_string()))
}

/// Prints one HTTP exchange the way `curl -v` would, and returns the response's Set-Cookie and
/// body text.
async fn exchange(
    out: &Narrator,
    request: reqwest::RequestBuilder,
) -> redis::RedisResult<(Option<String>, String)> {
    let request = request.build().map_err(io_error)?;
    out.say(&format!("> {} {}", request.method(), request.url().path()));
    for (name, value) in request.headers() {
        out.say(&format!("> {name}: {}", value.to_str().unwrap_or("(binary)")));
    }
    if let Some(body) = request.body().and_then(|b| b.as_bytes()) {
        out.say(&format!(">\n> {}", String::from_utf8_lossy(body)));
    }
    let response = reqwest::Client::new().execute(request).await.map_err(io_error)?;
    out.say(&format!("< {}", response.status()));
    let set_cookie = response.headers().get("set-cookie").map(|v| v.to_str().unwrap_or("").to_string());
    if let Some(cookie) = &set_cookie {
        out.say(&format!("< set-cookie: {cookie}"));
    }
    let text = response.text().await.map_err(io_error)?;
    out.say(&format!("<\n< {text}"));
    Ok((set_cookie, text))
}

/// The lesson, step by step. The test calls this with a capturing narrator.
pub async fn run(out: &Narrator, con: ConnectionManager) -> redis::RedisResult<()> {
    out.title("Lesson 08: sessions in your own axum app");
    let keys = Keys::prefixed("lesson08:");
    let mut con = out.connection(con);

    // ANCHOR: mount
    out.step("Your two routes, beside the service's");
    out.say("app_with(state, routes()) serves /hello and /act next to /login, /profile and /logout,");
    out.say("under the same middleware. Building the store loads the service's scripts:");
    let store = SessionStore::new(con.clone(), Lifetimes::default(), Duration::from_secs(2))
        .await
        .map_err(io_error)?
        .with_keys(keys.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app_with(AppState::new(store), routes()), async move {
        let _ = stopped.await;
    }));
    out.say(&format!("serving on {base}"));
    // ANCHOR_END: mount
    let client = reqwest::Client::new();

    out.step("Without a session, your handler never runs");
    out.say("No cookie: Authenticated answers the service's own 401, and Redis is not asked.");
    out.count_from_here();
    exchange(out, client.get(format!("{base}/hello"))).await?;
    out.cost("GET /hello without a cookie");

    out.step("Log in, and your route runs");
    let login = client
        .post(format!("{base}/login"))
        .json(&serde_json::json!({"username": "alice", "password": "secret"}));
    out.count_from_here();
    let (set_cookie, body) = exchange(out, login).await?;
    out.cost("POST /login");
    let set_cookie = set_cookie.ok_or_else(|| io_error("login set no cookie"))?;
    let cookie = set_cookie.split(';').next().unwrap_or_default().to_string();
    let body: serde_json::Value = serde_json::from_str(&body).map_err(io_error)?;
    let id =
        body["session_id"].as_str().and_then(SessionId::parse).ok_or_else(|| io_error("no session id"))?;
    let key = keys.session(&id);
    let _: bool = con.expire(&key, 900).await?;
    out.say("(Aged to 15 minutes, so the renewal shows.) The browser sends the cookie back:");
    out.count_from_here();
    exchange(out, client.get(format!("{base}/hello")).header("cookie", &cookie)).await?;
    out.cost("GET /hello");
    out.say("One pipeline read and renewed the session; the answer carries the renewed cookie, though");
    out.say("hello() wrote no cookie code: the renew_cookie middleware added it.");
    let _: i64 = con.ttl(&key).await?;

    out.step("A POST from another site is refused");
    out.say("A browser says where a request comes from; from another site, /act never runs:");
    let forged =
        client.post(format!("{base}/act")).header("cookie", &cookie).header("sec-fetch-site", "cross-site");
    out.count_from_here();
    exchange(out, forged).await?;
    out.cost("POST /act from another site");
    out.say("From the page itself it runs:");
    let same =
        client.post(format!("{base}/act")).header("cookie", &cookie).header("sec-fetch-site", "same-origin");
    exchange(out, same).await?;

    out.step("After logout, your routes answer 401 again");
    out.count_from_here();
    exchange(out, client.post(format!("{base}/logout")).header("cookie", &cookie)).await?;
    out.cost("POST /logout");
    exchange(out, client.get(format!("{base}/hello")).header("cookie", &cookie)).await?;

    out.step("Cleaning up");
    let _ = stop.send(());
    let _ = server.await;
    out.say("The login throttle's two keys (lesson 09) would expire within a minute by themselves, and");
    out.say("alice's security log (lesson 10) when its TTL ends; the lesson deletes them now:");
    let client = "127.0.0.1";
    let alice = user_id_for("alice");
    let _: u64 = con
        .del(&[keys.login_client(client), keys.login_user(client, &alice), keys.user_events(&alice)])
        .await?;

    out.try_it_yourself(&[
        "(your own app: the ten lines of README.md's \"Use it as a library\", then)",
        "curl -i localhost:8002/hello",
        "curl -i -c jar -H 'content-type: application/json' -d '{\"username\":\"alice\",\"password\":\"x\"}' localhost:8002/login",
        "curl -i -b jar localhost:8002/hello",
        "curl -i -b jar -X POST -H 'sec-fetch-site: cross-site' localhost:8002/act",
    ]);
    Ok(())
}
