//! Lesson 11 (your data in the session): the transcript of `examples/11_your_data.rs`, one
//! snapshot per step, against a private Redis, checked against Redis's own record of what the
//! lesson sent (read the snapshots in `tests/snapshots/11_your_data__step_*.snap`); then the
//! service's side. Values of one's own on the session's hash, read with the renewal and written
//! by one guarded script; a visitor's values before login, carried into the session at login. On
//! a single Redis and on a cluster, with `SESSION_KEY_HASHING` on where it changes the keys.

mod common;

#[allow(dead_code)]
#[path = "../examples/11_your_data.rs"]
mod lesson;

#[tokio::test]
async fn transcript_per_step() {
    common::check_lesson("11_your_data", 9, lesson::run).await;
}

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post, put};
use common::*;
use serde_json::{Value, json};
use session_storage::store::{Changes, DataLimits, SessionId};
use session_storage::{ApiError, AppState, SessionData};
use tokio::sync::Notify;

/// Routes that use `SessionData` as an adopter would: one value per name, a counter, a cart of a
/// type of its own, and a read of everything.
fn routes() -> Router<AppState> {
    async fn set(Path(name): Path<String>, mut data: SessionData) -> Result<String, ApiError> {
        data.insert(&name, &format!("value of {name}")).await?;
        Ok(name)
    }
    async fn count(mut data: SessionData) -> Result<String, ApiError> {
        Ok(data.increment("count", 1).await?.to_string())
    }
    // A typed value read, changed and written back: fine one request at a time, as this test
    // sends them; two at once would lose one (lesson 11, step 5), which is why
    // `tests/adopter_state/` counts its cart with `increment`.
    async fn add_to_cart(
        mut data: SessionData,
        axum::Json(item): axum::Json<Item>,
    ) -> Result<String, ApiError> {
        let mut cart: Vec<Item> = data.get("cart")?.unwrap_or_default();
        cart.push(item);
        data.insert("cart", &cart).await?;
        Ok(cart.len().to_string())
    }
    async fn everything(data: SessionData) -> Result<axum::Json<Value>, ApiError> {
        let mut all = serde_json::Map::new();
        for name in data.names() {
            all.insert(name.clone(), data.get::<Value>(&name)?.unwrap_or(Value::Null));
        }
        Ok(axum::Json(Value::Object(all)))
    }
    Router::new()
        .route("/set/{name}", put(set))
        .route("/count", post(count))
        .route("/cart", post(add_to_cart))
        .route("/everything", get(everything))
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Item {
    sku: String,
    quantity: u32,
}

fn hashing() -> Settings {
    Settings { key_hashing: true, ..Settings::default() }
}

/// The Redis key of session `id` under `settings`.
fn session_key(settings: &Settings, id: &str) -> String {
    let id = SessionId::parse(id).expect("a session id");
    let at_rest = if settings.key_hashing { id.hashed() } else { id };
    format!("session:{at_rest}")
}

/// The Redis key of visitor `id` under `settings`.
fn visitor_key(settings: &Settings, id: &str) -> String {
    session_key(settings, id).replacen("session:", "visitor:", 1)
}

/// The `visitor_id` a response sets, if it sets one.
fn visitor_cookie(response: &reqwest::Response) -> Option<String> {
    response.headers().get_all("set-cookie").iter().find_map(|value| {
        let value = value.to_str().ok()?;
        value.strip_prefix("visitor_id=").map(|rest| rest.split(';').next().unwrap_or_default().to_string())
    })
}

/// Every `Set-Cookie` of a response.
fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response.headers().get_all("set-cookie").iter().map(|v| v.to_str().expect("ascii").to_string()).collect()
}

async fn hash(app: &TestApp, key: &str) -> std::collections::BTreeMap<String, String> {
    app.cmd(&["HGETALL", key]).await
}

on_every_backend! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    fifty_concurrent_writes_to_fifty_names_are_all_kept;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_hundred_concurrent_increments_add_exactly_a_hundred;
    #[tokio::test]
    a_write_to_a_session_logged_out_meanwhile_creates_nothing;
    #[tokio::test]
    a_visitors_note_moves_into_the_session_at_login;
    #[tokio::test]
    values_over_a_limit_get_a_413_and_write_nothing;
    #[tokio::test]
    a_batch_is_all_or_nothing;
    #[tokio::test]
    a_typed_value_round_trips_and_dies_with_the_session;
    #[tokio::test]
    reauth_carries_the_values_into_the_new_session;
    #[tokio::test]
    new_visitors_count_against_the_client_throttle_and_logout_ends_one;
}

/// 50 requests at once, each writing its own name: no write is lost (each is a field of its
/// own, not a rewrite of the whole record). With key hashing on.
async fn fifty_concurrent_writes_to_fifty_names_are_all_kept(kind: Kind) {
    let limits = DataLimits { values: 64, ..DataLimits::DEFAULT };
    let settings = Settings { data_limits: limits, ..hashing() };
    let app = TestApp::start_with_extra(kind, settings, routes()).await;
    let id = login_id(&app, "alice").await;
    let client = plain_client();
    let writes = (0..50).map(|n| {
        client.put(app.url(&format!("/set/name{n}"))).header("cookie", format!("session_id={id}")).send()
    });
    for response in futures_util::future::join_all(writes).await {
        assert_eq!(response.expect("write").status(), 200);
    }
    let stored = hash(&app, &session_key(&settings, &id)).await;
    let values: Vec<_> = stored.keys().filter(|field| field.starts_with("data:")).collect();
    assert_eq!(values.len(), 50, "{values:?}");
    for n in 0..50 {
        assert_eq!(stored[&format!("data:name{n}")], format!("\"value of name{n}\""));
    }
    assert_eq!(stored["username"], "alice", "the session's own fields are untouched");
    let everything: Value = get_with_session(&app.url("/everything"), &id).await.json().await.expect("json");
    assert_eq!(everything.as_object().expect("object").len(), 50);
}

/// 100 increments at once add exactly 100, and each request saw a different count (`HINCRBY` in
/// Redis, not a read-modify-write in the app). With key hashing on.
async fn a_hundred_concurrent_increments_add_exactly_a_hundred(kind: Kind) {
    let app = TestApp::start_with_extra(kind, hashing(), routes()).await;
    let id = login_id(&app, "alice").await;
    let client = plain_client();
    let increments =
        (0..100).map(|_| client.post(app.url("/count")).header("cookie", format!("session_id={id}")).send());
    let mut seen = Vec::new();
    for response in futures_util::future::join_all(increments).await {
        let response = response.expect("increment");
        assert_eq!(response.status(), 200);
        seen.push(response.text().await.expect("text").parse::<i64>().expect("a count"));
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=100).collect::<Vec<_>>(), "each increment saw its own count");
    let stored = hash(&app, &session_key(&app.settings, &id)).await;
    assert_eq!(stored["data:count"], "100");
}

/// The handler has read the session (alive), then the user logs out, then the handler writes:
/// the write reports the session gone (401), and Redis holds no key for it: a plain `HSET`
/// would have brought it back, without a TTL.
async fn a_write_to_a_session_logged_out_meanwhile_creates_nothing(kind: Kind) {
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let (inside, go) = (entered.clone(), release.clone());
    let slow = Router::new().route(
        "/slow-write",
        post(move |mut data: SessionData| async move {
            inside.notify_one();
            go.notified().await;
            data.insert("late", &"too late").await.map(|()| "written")
        }),
    );
    let app = TestApp::start_with_extra(kind, Settings::default(), slow).await;
    let id = login_id(&app, "alice").await;
    let key = session_key(&app.settings, &id);
    let url = app.url("/slow-write");
    let cookie = format!("session_id={id}");
    let write = tokio::spawn(async move { plain_client().post(url).header("cookie", cookie).send().await });
    entered.notified().await;
    let logout = plain_client()
        .post(app.url("/logout"))
        .header("cookie", format!("session_id={id}"))
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), 200);
    release.notify_one();
    let response = write.await.expect("task").expect("write");
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({"detail": "Session expired or invalid"})
    );
    let exists: u64 = app.cmd(&["EXISTS", &key]).await;
    assert_eq!(exists, 0, "the write brought the session back");

    // The store reports it too, to a caller that uses it directly.
    let changes = Changes::new().insert("late", &1).expect("a good name");
    let id = SessionId::parse(&id).expect("id");
    assert!(matches!(
        app.store.change_values(&id, &changes).await,
        Err(session_storage::store::DataError::Gone)
    ));
    let exists: u64 = app.cmd(&["EXISTS", &key]).await;
    assert_eq!(exists, 0);
}

/// A visitor saves a note (a key and a cookie only then, with a TTL), logs in: the note and its
/// count are in the new session, the visitor's key is gone at once and its cookie cleared, and
/// the visitor's id is worth nothing (a 401 as a session, an empty note as a visitor). Logout
/// ends it all. Both with and without key hashing.
async fn a_visitors_note_moves_into_the_session_at_login(kind: Kind) {
    for settings in [Settings::default(), hashing()] {
        let app = TestApp::start_on_with(kind, settings).await;
        let client = plain_client();

        let looked = client.get(app.url("/note")).send().await.expect("note");
        assert_eq!(looked.status(), 200);
        assert!(set_cookies(&looked).is_empty(), "only looking sets no cookie");
        assert_eq!(looked.json::<Value>().await.expect("json"), json!({"note": null, "saves": 0}));
        assert_eq!(app.all_keys().await, Vec::<String>::new(), "only looking writes nothing");

        let mut visitor = None;
        for (note, saves) in [("tea", 1), ("tea and milk", 2)] {
            let mut request = client.put(app.url("/note")).json(&json!({ "note": note }));
            if let Some(id) = &visitor {
                request = request.header("cookie", format!("visitor_id={id}"));
            }
            let saved = request.send().await.expect("save");
            assert_eq!(saved.status(), 200);
            let cookie = visitor_cookie(&saved).expect("the visitor's cookie, set and renewed");
            visitor.get_or_insert(cookie.clone());
            assert_eq!(visitor.as_deref(), Some(cookie.as_str()), "the same visitor");
            assert_eq!(saved.json::<Value>().await.expect("json"), json!({"note": note, "saves": saves}));
        }
        let visitor = visitor.expect("a visitor");
        let vkey = visitor_key(&settings, &visitor);
        let ttl: i64 = app.cmd(&["TTL", &vkey]).await;
        assert!((1790..=1800).contains(&ttl), "a visitor's key has the idle TTL: {ttl}");

        let login = client
            .post(app.url("/login"))
            .header("cookie", format!("visitor_id={visitor}"))
            .json(&json!({"username": "alice", "password": "pw"}))
            .send()
            .await
            .expect("login");
        assert_eq!(login.status(), 200);
        let cookies = set_cookies(&login);
        assert!(
            cookies.iter().any(|c| c.starts_with("visitor_id=;") && c.contains("Max-Age=0")),
            "{cookies:?}"
        );
        let id = login.json::<Value>().await.expect("json")["session_id"].as_str().expect("id").to_string();
        let exists: u64 = app.cmd(&["EXISTS", &vkey]).await;
        assert_eq!(exists, 0, "the visitor is gone at once");
        let session = hash(&app, &session_key(&settings, &id)).await;
        assert_eq!(session["data:note"], "\"tea and milk\"");
        assert_eq!(session["data:note_saves"], "2");

        let note = get_with_session(&app.url("/note"), &id).await;
        assert_eq!(note.json::<Value>().await.expect("json"), json!({"note": "tea and milk", "saves": 2}));
        assert_eq!(profile_with(&app, &visitor).await.status(), 401, "the visitor's id is no session");
        let old = client.get(app.url("/note")).header("cookie", format!("visitor_id={visitor}")).send().await;
        let old = old.expect("note");
        assert!(visitor_cookie(&old).is_none(), "a dead visitor id is not renewed");
        assert_eq!(old.json::<Value>().await.expect("json"), json!({"note": null, "saves": 0}));

        let logout =
            client.post(app.url("/logout")).header("cookie", format!("session_id={id}")).send().await;
        assert_eq!(logout.expect("logout").status(), 200);
        assert_eq!(app.all_keys().await.iter().filter(|k| !k.starts_with("user:")).count(), 0);
    }
}

/// The bounds, on both sides: a note of exactly the byte limit is kept, one byte more is a 413
/// with a JSON detail and changes nothing (a visitor gets no key and no cookie); the number of
/// values and the total are bounds too.
async fn values_over_a_limit_get_a_413_and_write_nothing(kind: Kind) {
    let limits = DataLimits { values: 3, value_bytes: 37, total_bytes: 49 };
    let app =
        TestApp::start_with_extra(kind, Settings { data_limits: limits, ..Settings::default() }, routes())
            .await;
    let client = plain_client();
    // A note's JSON is its text and two quotes: 35 characters make 37 bytes.
    let fits = "n".repeat(35);
    let over = "n".repeat(36);

    let refused = client.put(app.url("/note")).json(&json!({ "note": over })).send().await.expect("put");
    assert_eq!(refused.status(), 413);
    assert!(set_cookies(&refused).is_empty(), "no visitor for a refused write");
    let detail = refused.json::<Value>().await.expect("json")["detail"].as_str().expect("detail").to_string();
    assert!(detail.starts_with("session data over its limit"), "{detail}");
    assert_eq!(app.all_keys().await.iter().filter(|k| k.starts_with("visitor:")).count(), 0);

    let id = login_id(&app, "alice").await;
    let key = session_key(&app.settings, &id);
    let put = |note: &str| {
        client
            .put(app.url("/note"))
            .header("cookie", format!("session_id={id}"))
            .json(&json!({ "note": note }))
            .send()
    };
    assert_eq!(put(&fits).await.expect("put").status(), 200);
    let before = hash(&app, &key).await;
    assert_eq!(put(&over).await.expect("put").status(), 413);
    assert_eq!(hash(&app, &key).await, before, "a refused write changes nothing");

    // The total: note (37 bytes) + note_saves ("1", 1 byte) = 38; a value of 12 bytes
    // (`"value of a"`) would make 50, one more than 49.
    let set = |name: &'static str| {
        client.put(app.url(&format!("/set/{name}"))).header("cookie", format!("session_id={id}")).send()
    };
    assert_eq!(
        set("a").await.expect("set").status(),
        413,
        "a third value of 12 bytes passes the total by one"
    );
    assert_eq!(hash(&app, &key).await, before);
    // The count: with a short note, a third value fits, a fourth does not.
    assert_eq!(put("x").await.expect("put").status(), 200);
    assert_eq!(set("a").await.expect("set").status(), 200);
    let before = hash(&app, &key).await;
    assert_eq!(set("b").await.expect("set").status(), 413, "a fourth value");
    assert_eq!(hash(&app, &key).await, before);
    let ttl: i64 = app.cmd(&["TTL", &key]).await;
    assert!(ttl > 0, "still a session with its TTL: {ttl}");
}

/// A batch with a bad increment writes none of its changes; a bad name is a 422 before Redis.
async fn a_batch_is_all_or_nothing(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    let id = login_id(&app, "alice").await;
    let key = session_key(&app.settings, &id);
    let session = SessionId::parse(&id).expect("id");
    let store = &app.store;
    let first = Changes::new().insert("note", &"kept").expect("name");
    store.change_values(&session, &first).await.expect("write");
    let before = hash(&app, &key).await;
    let batch =
        Changes::new().insert("cart", &vec!["tea"]).and_then(|c| c.increment("note", 1)).expect("names");
    assert!(matches!(
        store.change_values(&session, &batch).await,
        Err(session_storage::store::DataError::NotANumber(_))
    ));
    assert_eq!(hash(&app, &key).await, before, "the cart was not written either");
    assert!(matches!(
        Changes::new().insert("cart items", &1),
        Err(session_storage::store::DataError::BadName(_))
    ));
}

/// A value of the adopter's own type goes in on one request and comes back on the next, in the
/// renewal's one round trip; after logout it is gone with the session.
async fn a_typed_value_round_trips_and_dies_with_the_session(kind: Kind) {
    let app = TestApp::start_with_extra(kind, hashing(), routes()).await;
    let id = login_id(&app, "alice").await;
    let client = plain_client();
    for (n, sku) in ["tea", "milk"].iter().enumerate() {
        let added = client
            .post(app.url("/cart"))
            .header("cookie", format!("session_id={id}"))
            .json(&Item { sku: sku.to_string(), quantity: 2 })
            .send()
            .await
            .expect("add");
        assert_eq!(added.status(), 200);
        assert_eq!(added.text().await.expect("text"), (n + 1).to_string());
    }
    app.reset_stats().await;
    let everything: Value = get_with_session(&app.url("/everything"), &id).await.json().await.expect("json");
    assert_eq!(everything, json!({"cart": [{"sku": "tea", "quantity": 2}, {"sku": "milk", "quantity": 2}]}));
    let calls: u64 = app.command_calls().await.values().sum();
    assert_eq!(calls, 3, "a read is the renewal's one pipeline of three commands");
    let logout = client.post(app.url("/logout")).header("cookie", format!("session_id={id}")).send().await;
    assert_eq!(logout.expect("logout").status(), 200);
    let exists: u64 = app.cmd(&["EXISTS", &session_key(&app.settings, &id)]).await;
    assert_eq!(exists, 0);
    assert_eq!(get_with_session(&app.url("/everything"), &id).await.status(), 401);
}

/// `POST /reauth` replaces the session by a new id: the values come along, the old id is dead,
/// and `created_at` is the re-authentication's (a password check restarts the privileged
/// window).
async fn reauth_carries_the_values_into_the_new_session(kind: Kind) {
    let app = TestApp::start_with_extra(kind, Settings::default(), routes()).await;
    // A session created a minute ago, with a count of 1.
    let id = login_id(&app, "bob").await;
    let key = session_key(&app.settings, &id);
    let created: u64 = hash(&app, &key).await["created_at"].parse().expect("number");
    let earlier = (created - 60).to_string();
    let _: i64 = app.cmd(&["HSET", &key, "created_at", &earlier]).await;
    let counted = plain_client().post(app.url("/count")).header("cookie", format!("session_id={id}")).send();
    assert_eq!(counted.await.expect("count").status(), 200);
    let reauth = plain_client()
        .post(app.url("/reauth"))
        .header("cookie", format!("session_id={id}"))
        .json(&json!({"username": "bob", "password": "pw"}))
        .send()
        .await
        .expect("reauth");
    assert_eq!(reauth.status(), 200);
    let cookie = set_cookie(&reauth).expect("the new session's cookie");
    let new_id =
        cookie.split(';').next().and_then(|c| c.strip_prefix("session_id=")).expect("id").to_string();
    assert_ne!(new_id, id);
    let stored = hash(&app, &session_key(&app.settings, &new_id)).await;
    assert_eq!(stored["created_at"], earlier, "a re-authentication keeps the absolute deadline");
    assert_eq!(stored["data:count"], "1", "the values came along");
    assert_eq!(profile_with(&app, &id).await.status(), 401, "the old id is dead");
}

/// Anonymous clients can create visitors, so each new one is an attempt of the client's login
/// throttle: past it, a 429 with `Retry-After`, and no key and no cookie. A visitor's next
/// writes are not counted. `POST /logout` ends a visitor and clears its cookie.
async fn new_visitors_count_against_the_client_throttle_and_logout_ends_one(kind: Kind) {
    let settings = Settings {
        login_limits: session_storage::store::LoginLimits { per_user_and_client: 10, per_client: 3 },
        ..Settings::default()
    };
    let app = TestApp::start_on_with(kind, settings).await;
    let client = plain_client();
    let save = |cookie: Option<&str>| {
        let mut request = client.put(app.url("/note")).json(&json!({"note": "tea"}));
        if let Some(id) = cookie {
            request = request.header("cookie", format!("visitor_id={id}"));
        }
        request.send()
    };
    let mut visitors = Vec::new();
    for _ in 0..3 {
        let saved = save(None).await.expect("save");
        assert_eq!(saved.status(), 200);
        visitors.push(visitor_cookie(&saved).expect("a new visitor"));
    }
    let refused = save(None).await.expect("save");
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().get("retry-after").is_some());
    assert!(visitor_cookie(&refused).is_none(), "no cookie for a refused visitor");
    let mut keys: Vec<String> =
        app.all_keys().await.into_iter().filter(|k| k.starts_with("visitor:")).collect();
    keys.sort();
    let mut expected: Vec<String> = visitors.iter().map(|id| format!("visitor:{id}")).collect();
    expected.sort();
    assert_eq!(keys, expected, "the fourth visitor has no key");
    for key in &keys {
        let ttl: i64 = app.cmd(&["TTL", key]).await;
        assert!(ttl > 0, "{key} has a TTL");
    }
    // A known visitor's writes are not new visitors: no throttle.
    let again = save(Some(&visitors[0])).await.expect("save");
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.expect("json")["saves"], 2);

    let logout = client
        .post(app.url("/logout"))
        .header("cookie", format!("visitor_id={}", visitors[0]))
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), 200);
    assert!(set_cookies(&logout).iter().any(|c| c.starts_with("visitor_id=;") && c.contains("Max-Age=0")));
    let exists: u64 = app.cmd(&["EXISTS", &format!("visitor:{}", visitors[0])]).await;
    assert_eq!(exists, 0, "logout ends the visitor");
}
