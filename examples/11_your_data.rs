//! # Lesson 11: your data in the session
//!
//! What you will learn: how an application keeps values of its own in the session (a cart, a
//! note, a counter) as fields of the session's hash; why a plain `HSET` into a session that has
//! just been logged out brings it back, without a TTL, and how one script that checks `EXISTS`
//! first writes nothing instead; why `HINCRBY` counts in Redis; and the lost update that every
//! "one serialized blob per session" design has, made visible, beside the per-field design that
//! keeps both writes. Then the service's extractors, `SessionData` and `VisitorData`, in
//! handlers of your own, and a visitor's note that moves into the session at login.
//!
//! Run it: `cargo run --example 11_your_data`. Keys it writes start with `lesson11:` and are
//! deleted at the end.
//!
//! Redis commands of its own: MULTI/HSET/EXPIRE/EXEC, HSET, HGETALL, HGET, HINCRBY, TTL, DEL,
//! EXISTS, GET and SETEX. Then the service's write script (EVALSHA) and its routes, each request
//! shown with what it cost.
//!
//! Test: `tests/11_your_data.rs`. Chapter: `book/src/11-your-data.md`.
//! Exercises: `lessons/src/ex11_your_data.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::extract::Json;
use axum::routing::get;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use session_storage::server::serve;
use session_storage::store::{
    Changes, Keys, Lifetimes, Session, SessionId, SessionStore, create_session, unix_now, user_id_for,
};
use session_storage::workbook::{Narrator, run_lesson};
use session_storage::{ApiError, AppState, SessionData, app_with};

/// The service's idle lifetime: 30 minutes.
const IDLE: Duration = Lifetimes::DEFAULT.idle;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    run_lesson(run).await
}

fn io_error(error: impl std::fmt::Display) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::other(error.to_string()))
}

// ANCHOR: routes
/// `GET /cart`: the cart, read from the values that came with the session's renewal. It only
/// reads, so it costs what `Authenticated` costs.
pub async fn show_cart(data: SessionData) -> Result<Json<BTreeMap<String, i64>>, ApiError> {
    let mut cart = BTreeMap::new();
    for name in data.names() {
        if let Some(sku) = name.strip_prefix("cart.") {
            cart.insert(sku.to_string(), data.get(&name)?.unwrap_or(0));
        }
    }
    Ok(Json(cart))
}

/// What `POST /cart` takes: `{"sku": "tea", "quantity": 3}`.
#[derive(serde::Deserialize)]
pub struct Add {
    sku: String,
    quantity: i64,
}

/// `POST /cart`: adds to one item's quantity (a counter of its own, `cart.<sku>`, incremented in
/// Redis) and remembers the last item added, in one batch: all or nothing.
pub async fn add_to_cart(mut data: SessionData, Json(add): Json<Add>) -> Result<String, ApiError> {
    let item = format!("cart.{}", add.sku);
    let changes = Changes::new().increment(&item, add.quantity)?.insert("last_added", &add.sku)?;
    let applied = data.apply(changes).await?;
    let quantity = applied.counters.first().copied().unwrap_or_default();
    Ok(format!("{} now holds {quantity} {}", data.who().username(), add.sku))
}

/// Your routes, on the service's state.
fn routes() -> Router<AppState> {
    Router::new().route("/cart", get(show_cart).post(add_to_cart))
}
// ANCHOR_END: routes

/// Prints one HTTP exchange as `curl -v` would (every `Set-Cookie` of the answer), and returns
/// the answer's cookies (`name=value`) and its body.
async fn exchange(
    out: &Narrator,
    request: reqwest::RequestBuilder,
) -> redis::RedisResult<(Vec<String>, String)> {
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
    let mut cookies = Vec::new();
    for value in response.headers().get_all("set-cookie") {
        let value = value.to_str().unwrap_or_default();
        out.say(&format!("< set-cookie: {value}"));
        cookies.push(value.split(';').next().unwrap_or_default().to_string());
    }
    let text = response.text().await.map_err(io_error)?;
    out.say(&format!("<\n< {text}"));
    Ok((cookies, text))
}

/// The cookie `name` among `cookies`, as a request's `Cookie` header sends it.
fn cookie_named(cookies: &[String], name: &str) -> redis::RedisResult<String> {
    cookies
        .iter()
        .find(|cookie| cookie.starts_with(&format!("{name}=")))
        .cloned()
        .ok_or_else(|| io_error(format!("no {name} cookie")))
}

/// The session id a `session_id=<id>` cookie carries.
fn id_of(cookie: &str) -> redis::RedisResult<SessionId> {
    cookie.split_once('=').and_then(|(_, id)| SessionId::parse(id)).ok_or_else(|| io_error("no id"))
}

/// The lesson, step by step. The test calls this with a capturing narrator.
pub async fn run(out: &Narrator, con: ConnectionManager) -> redis::RedisResult<()> {
    out.title("Lesson 11: your data in the session");
    let keys = Keys::prefixed("lesson11:");
    let mut con = out.connection(con);
    let id = SessionId::new();
    let key = keys.session(&id);
    let session = Session::new("user_1", "alice", unix_now());

    // ANCHOR: field
    out.step("A value of your own is one more field");
    out.say("A session, as lesson 02 writes it:");
    create_session(&mut con, &key, &session, IDLE, None).await?;
    out.say("A cart is one more field of the same hash, named with the prefix data: so that no value");
    out.say("of yours can overwrite user_id, username or created_at:");
    let _: u64 = con.hset(&key, "data:cart", r#"["tea"]"#).await?;
    let _: BTreeMap<String, String> = con.hgetall(&key).await?;
    let _: i64 = con.ttl(&key).await?;
    out.say("HSET left the TTL alone: the cart ends with the session, and nothing has to clean it up.");
    // ANCHOR_END: field

    // ANCHOR: resurrection
    out.step("A plain HSET after logout brings the session back");
    out.say("A request has read the session and is about to save the cart. Meanwhile, /logout:");
    let _: u64 = con.del(&key).await?;
    out.say("... and the request carries on with its write:");
    let _: u64 = con.hset(&key, "data:cart", r#"["tea","milk"]"#).await?;
    let _: bool = con.exists(&key).await?;
    let _: i64 = con.ttl(&key).await?;
    let _: BTreeMap<String, String> = con.hgetall(&key).await?;
    out.note("HSET created the key again: a hash with no user_id and no TTL, which never expires.");
    out.note("Lesson 03's renewal avoids this by never writing a field; a write of your own must write.");
    let _: u64 = con.del(&key).await?;
    // ANCHOR_END: resurrection

    // ANCHOR: guarded
    out.step("The guarded write: one script checks EXISTS, then writes");
    out.say("The service writes values with one script: it checks that");
    out.say("the key exists and writes only then, with nothing in between, since Redis runs a script");
    out.say("whole. Building the store loads its scripts:");
    let store = SessionStore::new(con.clone(), Lifetimes::default(), Duration::from_secs(2))
        .await
        .map_err(io_error)?
        .with_keys(keys.clone());
    out.say("The last SCRIPT LOAD is the write script; the others are the login throttle's (lesson 09)");
    out.say("and the session index's (lesson 06).");
    let cart = Changes::new().insert("cart", &["tea", "milk"]).map_err(io_error)?;
    out.say("The same write, to the session that was logged out:");
    let refused = store.change_values(&id, &cart).await;
    out.say(&format!("change_values(...) = {:?}", refused.as_ref().map_err(ToString::to_string)));
    let _: bool = con.exists(&key).await?;
    out.say("Nothing was created. To a live session it writes, and the TTL is left as it was:");
    create_session(&mut con, &key, &session, IDLE, None).await?;
    let written = store.change_values(&id, &cart).await;
    out.say(&format!("change_values(...) = {:?}", written.as_ref().map_err(ToString::to_string)));
    let _: BTreeMap<String, String> = con.hgetall(&key).await?;
    let _: i64 = con.ttl(&key).await?;
    out.say("The service's script does this, with bounds around it; exercise 11a asks for the guard alone.");
    // ANCHOR_END: guarded

    // ANCHOR: counter
    out.step("Counters: HINCRBY adds in Redis");
    out.say("A counter is a field holding a whole number, and HINCRBY adds to it inside Redis: no");
    out.say("request reads it first, so no request can add to a stale value. A missing field is 0:");
    let _: i64 = con.hincr(&key, "data:visits", 1).await?;
    let _: i64 = con.hincr(&key, "data:visits", 1).await?;
    out.say("Like HSET, a plain HINCRBY on a missing key creates it: what protects a logged-out session");
    out.say("is the guard, not HINCRBY.");
    out.say("The service's script does the same HINCRBY, after its EXISTS check:");
    let visit = Changes::new().increment("visits", 1).map_err(io_error)?;
    let counted = store.change_values(&id, &visit).await;
    out.say(&format!("change_values(...) = {:?}", counted.as_ref().map_err(ToString::to_string)));
    // ANCHOR_END: counter

    // ANCHOR: blob
    out.step("The lost update: one blob, two requests");
    out.say("Most session libraries keep a session as one serialized record, read whole when a request");
    out.say(
        "first uses it and written whole at its end. Such a record, as a string (SETEX is SET with a TTL):",
    );
    let blob = format!("lesson11:blob:{id}");
    let record = serde_json::json!({"user_id": "user_1", "username": "alice", "cart": ["tea"], "visits": 3});
    let _: () = con.set_ex(&blob, record.to_string(), IDLE.as_secs()).await?;
    out.say("Request A adds milk to the cart; request B, at the same moment, counts a visit. Both read:");
    let read_a: String = con.get(&blob).await?;
    let read_b: String = con.get(&blob).await?;
    out.say("A writes back its record, with the milk; then B writes back its own, with the visit:");
    let mut a: serde_json::Value = serde_json::from_str(&read_a).map_err(io_error)?;
    let mut b: serde_json::Value = serde_json::from_str(&read_b).map_err(io_error)?;
    if let Some(cart) = a["cart"].as_array_mut() {
        cart.push("milk".into());
    }
    b["visits"] = (b["visits"].as_i64().unwrap_or(0) + 1).into();
    let _: () = con.set_ex(&blob, a.to_string(), IDLE.as_secs()).await?;
    let _: () = con.set_ex(&blob, b.to_string(), IDLE.as_secs()).await?;
    let _: String = con.get(&blob).await?;
    out.note("The milk is gone: B wrote back the record it read before A's write. The last writer wins.");
    out.say("Two visits counted at once lose one the same way: both read 4, both write 5.");
    let read_a: String = con.get(&blob).await?;
    let read_b: String = con.get(&blob).await?;
    for read in [read_a, read_b] {
        let mut record: serde_json::Value = serde_json::from_str(&read).map_err(io_error)?;
        record["visits"] = (record["visits"].as_i64().unwrap_or(0) + 1).into();
        let _: () = con.set_ex(&blob, record.to_string(), IDLE.as_secs()).await?;
    }
    let _: String = con.get(&blob).await?;
    // ANCHOR_END: blob

    // ANCHOR: fields
    out.step("Fields of their own: both writes kept");
    out.say("The same two requests on the hash. A reads and writes back the cart alone; B's HINCRBY");
    out.say("never reads. (Plain commands, to show the idea: the service sends both in its script.)");
    let _: Option<String> = con.hget(&key, "data:cart").await?;
    let _: i64 = con.hincr(&key, "data:visits", 1).await?;
    let _: u64 = con.hset(&key, "data:cart", r#"["tea","milk","honey"]"#).await?;
    out.say("And two visits counted at once:");
    let _: i64 = con.hincr(&key, "data:visits", 1).await?;
    let _: i64 = con.hincr(&key, "data:visits", 1).await?;
    let _: BTreeMap<String, String> = con.hgetall(&key).await?;
    out.note("Every write kept. But two requests that both read and write back the *same* value still");
    out.note("lose one: make such a value a counter, or give each part a field of its own (exercise 11b).");
    // ANCHOR_END: fields

    // ANCHOR: service
    out.step("The service: SessionData in your handlers");
    out.say("app_with(state, routes()) serves GET and POST /cart beside the service's routes:");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app_with(AppState::new(store), routes()), async move {
        let _ = stopped.await;
    }));
    let login = |username: &str| {
        reqwest::Client::new()
            .post(format!("{base}/login"))
            .json(&serde_json::json!({"username": username, "password": "secret"}))
    };
    out.count_from_here();
    let (cookies, _) = exchange(out, login("alice")).await?;
    out.cost("POST /login");
    let alice = cookie_named(&cookies, "session_id")?;
    let add = |sku: &str, quantity: i64| {
        reqwest::Client::new()
            .post(format!("{base}/cart"))
            .header("cookie", &alice)
            .json(&serde_json::json!({"sku": sku, "quantity": quantity}))
    };
    exchange(out, add("tea", 3)).await?;
    out.cost("POST /cart");
    exchange(out, add("milk", 2)).await?;
    out.cost("POST /cart");
    out.say("A read costs nothing more than the renewal: the values came with it.");
    exchange(out, reqwest::Client::new().get(format!("{base}/cart")).header("cookie", &alice)).await?;
    out.cost("GET /cart");
    let logout =
        |cookie: &str| reqwest::Client::new().post(format!("{base}/logout")).header("cookie", cookie);
    exchange(out, logout(&alice)).await?;
    out.cost("POST /logout");
    out.say("The cart ended with the session:");
    let _: bool = con.exists(keys.session(&id_of(&alice)?)).await?;
    // ANCHOR_END: service

    // ANCHOR: visitor
    out.step("A visitor's note moves into the session at login");
    out.say("Before login there is no session. The service's own PUT /note takes VisitorData: a visitor");
    out.say("gets a key and a cookie at its first write (no key for someone who only looks), and that");
    out.say("first write counts as an attempt of the client's login throttle:");
    let note =
        reqwest::Client::new().put(format!("{base}/note")).json(&serde_json::json!({"note": "tea for two"}));
    out.count_from_here();
    let (cookies, _) = exchange(out, note).await?;
    out.cost("PUT /note, a visitor's first save");
    let visitor = cookie_named(&cookies, "visitor_id")?;
    let visitor_key = keys.visitor(&id_of(&visitor)?);
    let _: i64 = con.ttl(&visitor_key).await?;
    out.say("Then the visitor logs in, with the visitor cookie:");
    out.count_from_here();
    let (cookies, _) = exchange(out, login("bob").header("cookie", &visitor)).await?;
    out.cost("POST /login carrying a visitor's note");
    let bob = cookie_named(&cookies, "session_id")?;
    out.say("The visitor's key is gone, its cookie cleared, and its values are the session's:");
    let _: bool = con.exists(&visitor_key).await?;
    let _: BTreeMap<String, String> = con.hgetall(keys.session(&id_of(&bob)?)).await?;
    out.count_from_here();
    exchange(out, reqwest::Client::new().get(format!("{base}/note")).header("cookie", &bob)).await?;
    out.cost("GET /note");
    exchange(out, logout(&bob)).await?;
    // ANCHOR_END: visitor

    out.step("Cleaning up");
    let _ = stop.send(());
    let _ = server.await;
    out.say("Both users logged out; the lesson's own keys, the login throttle's (lesson 09) and both");
    out.say("security logs (lesson 10) go now:");
    let client = "127.0.0.1";
    let mut written = vec![key.clone(), blob, keys.login_client(client)];
    for user in ["alice", "bob"] {
        let user_id = user_id_for(user);
        written.push(keys.login_user(client, &user_id));
        written.push(keys.user_events(&user_id));
    }
    let _: u64 = con.del(&written).await?;

    out.try_it_yourself(&[
        "HSET demo:session user_id user_1 username alice",
        "EXPIRE demo:session 600",
        "HINCRBY demo:session data:visits 1",
        "DEL demo:session",
        "HSET demo:session data:cart '[\"tea\"]'",
        "TTL demo:session        (-1: brought back, never expires)",
        "DEL demo:session",
    ]);
    Ok(())
}
