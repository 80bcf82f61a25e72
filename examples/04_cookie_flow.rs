//! # Lesson 04: the cookie flow
//!
//! What you will learn: how the browser and the server pass the session id back and forth in a
//! cookie, what each `Set-Cookie` attribute is for, and what Redis holds after each step. The
//! lesson starts the real service in-process on a free port and talks to it over real HTTP.
//!
//! Run it: `cargo run --example 04_cookie_flow`. Keys it writes start with `lesson04:` and are
//! deleted at the end.
//!
//! Redis commands of its own: HGETALL, TTL, EXPIRE, EXISTS, DEL. At start the service sends
//! SCRIPT LOAD and TIME. Then, all shown in the transcript with what each request cost: for a
//! login, <!-- sends: 04_cookie_flow | POST /login -->EVALSHA (the login throttle), then one
//! pipeline (EVAL of the index script, MULTI/HSET/EXPIRE/EXEC for the session, then
//! MULTI/ZSCORE/XADD/PEXPIRE/EXEC: a check of its index entry and the `login` event); for a
//! read, <!-- sends: 04_cookie_flow | GET /profile -->one pipeline of HMGET, EXPIRE and
//! PEXPIRETIME (read-and-renew); for a logout, <!-- sends: 04_cookie_flow | POST /logout -->one
//! pipeline of HGET and DEL, then EVALSHA of the unlist script. Then the same login with
//! SESSION_KEY_HASHING, where Redis never sees the cookie.
//!
//! Test: `tests/04_cookie_flow.rs`. Chapter: `book/src/04-cookie-flow.md`.
//! Exercises: `lessons/src/ex04_cookie_flow.rs`.

use std::collections::HashMap;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use session_storage::AppState;
use session_storage::http::app;
use session_storage::server::serve;
use session_storage::store::{Device, Keys, Lifetimes, NewSession, SessionIds, SessionStore, user_id_for};
use session_storage::workbook::{Narrator, run_lesson};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    run_lesson(run).await
}

fn io_error(error: impl std::fmt::Display) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::other(error.to_string()))
}

/// Prints one HTTP exchange the way `curl -v` would, and returns the response's Set-Cookie and
/// body.
async fn exchange(
    out: &Narrator,
    request: reqwest::RequestBuilder,
) -> redis::RedisResult<(Option<String>, serde_json::Value)> {
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
    let body: serde_json::Value = serde_json::from_str(&text).map_err(io_error)?;
    Ok((set_cookie, body))
}

/// The lesson, step by step. The test calls this with a capturing narrator.
pub async fn run(out: &Narrator, con: ConnectionManager) -> redis::RedisResult<()> {
    out.title("Lesson 04: the cookie flow");
    let keys = Keys::prefixed("lesson04:");
    // The lesson's own connection, and the service's (a clone of it): both narrated, so the
    // transcript shows every command the service sends while it answers a request.
    let mut con = out.connection(con);

    // ANCHOR: start_server
    out.step("Start the service on a free port");
    out.say("SessionStore::new() loads the four scripts the service uses:");
    out.count_from_here();
    let store = SessionStore::new(con.clone(), Lifetimes::default(), Duration::from_secs(2))
        .await
        .map_err(io_error)?
        .with_keys(keys.clone());
    out.cost("SessionStore::new");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app(AppState::new(store)), async move {
        let _ = stopped.await;
    }));
    out.say(&format!("app(state) is serving on {base}, with its keys under lesson04:"));
    // ANCHOR_END: start_server
    let client = reqwest::Client::new();

    // ANCHOR: login
    out.step("Log in: the server sets the cookie");
    let login = client
        .post(format!("{base}/login"))
        .json(&serde_json::json!({"username": "alice", "password": "secret"}));
    out.count_from_here();
    let (set_cookie, body) = exchange(out, login).await?;
    out.cost("POST /login");
    let set_cookie = set_cookie.ok_or_else(|| io_error("login set no cookie"))?;
    out.say("The attributes, one by one:");
    out.say("  session_id=<id>  the only thing the browser stores: a random id, no user data");
    out.say("  HttpOnly         page JavaScript cannot read it through document.cookie");
    out.say("  SameSite=Lax     not sent with cross-site POSTs: a first defence against CSRF");
    out.say("  Path=/           sent with every path of this site");
    out.say("  Max-Age=1800     dropped after 30 idle minutes, as Redis does; kept across restarts");
    out.say("  (Secure)         added with COOKIE_SECURE=true: only ever sent over HTTPS");
    let session_id = body["session_id"].as_str().ok_or_else(|| io_error("no session_id"))?.to_string();
    let key = keys
        .session(&session_storage::store::SessionId::parse(&session_id).ok_or_else(|| io_error("bad id"))?);
    out.say("Redis now holds:");
    let _: HashMap<String, String> = con.hgetall(&key).await?;
    let _: i64 = con.ttl(&key).await?;
    // ANCHOR_END: login

    // ANCHOR: profile
    out.step("Use the session: the browser sends the cookie back");
    let cookie = set_cookie.split(';').next().unwrap_or_default().to_string();
    let _: bool = con.expire(&key, 900).await?;
    out.say("(Aged to 15 minutes, so the renewal shows.) The browser sends only name=value:");
    let profile = client.get(format!("{base}/profile")).header("cookie", &cookie);
    out.count_from_here();
    exchange(out, profile).await?;
    out.cost("GET /profile");
    out.say("The server renewed the session in Redis and sent the cookie again with a fresh Max-Age:");
    let _: i64 = con.ttl(&key).await?;
    // ANCHOR_END: profile

    // ANCHOR: logout
    out.step("Log out: the session is deleted and the cookie cleared");
    let logout = client.post(format!("{base}/logout")).header("cookie", &cookie);
    out.count_from_here();
    exchange(out, logout).await?;
    out.cost("POST /logout");
    out.say("Max-Age=0 with the same name and Path tells the browser to delete its cookie now.");
    let _: bool = con.exists(&key).await?;
    // ANCHOR_END: logout

    out.step("An old cookie is worthless");
    out.say("Someone who copied the cookie before logout tries it:");
    let replay = client.get(format!("{base}/profile")).header("cookie", &cookie);
    out.count_from_here();
    exchange(out, replay).await?;
    out.cost("GET /profile with the old cookie");
    out.say("The session is gone from Redis, so the id means nothing: logout is instant and central.");

    // ANCHOR: key_hashing
    out.step("The cookie at rest: SESSION_KEY_HASHING");
    out.say("Above, the key was session:<the cookie's value>: whoever can read Redis (MONITOR, a");
    out.say("replica, a backup, a read-only user) holds working cookies. With SESSION_KEY_HASHING=on");
    out.say("the store names each session by a SHA-256 of its id instead. The same login:");
    let hashing = SessionStore::new(con.clone(), Lifetimes::default(), Duration::from_secs(2))
        .await
        .map_err(io_error)?
        .with_keys(keys.clone())
        .with_key_hashing(true);
    let login = hashing.start_session(NewSession::new("alice")).await.map_err(io_error)?;
    let (id, _) = login.started().ok_or_else(|| io_error("no session started"))?;
    let at_rest = hashing.at_rest(&id);
    out.say(&format!("The cookie carries {id}; Redis names the session {at_rest}:"));
    let _: bool = con.exists(keys.session(&id)).await?;
    let _: bool = con.exists(keys.session(&at_rest)).await?;
    out.say("A request's cookie is hashed on the way in (one SHA-256), then read and renewed as before:");
    let mut ids = SessionIds::default();
    ids.push(id);
    let found = hashing.touch_first(&ids).await.map_err(io_error)?;
    out.say(&format!("Found and renewed: {}", found.is_some()));
    hashing.destroy_cookie_sessions(&ids, &Device::unknown(None)).await.map_err(io_error)?;
    // ANCHOR_END: key_hashing

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
        "(with the server running: cargo run --example 05_full_server)",
        "SCAN 0 MATCH session:* COUNT 100",
        "HGETALL session:<id from the login answer>",
        "TTL session:<id>",
        "DEL session:<id>        (logs that user out at once)",
    ]);
    Ok(())
}
