//! # Lesson 10: the security log, a Redis Stream
//!
//! What you will learn: what a Redis Stream is (entries with fields, appended with `XADD`, each
//! with an id that is Redis's clock); how `MAXLEN` caps one, and why `MAXLEN ~` is the cheap
//! cap; how `XREVRANGE ... COUNT` reads the newest first; why a list does less well; and how the
//! service uses one per user: every login, logout and revocation, with the device's name and
//! address, and the privileged window that makes a stolen cookie unable to end other sessions.
//!
//! Run it: `cargo run --example 10_security_log`. Keys it writes start with `lesson10:` and are
//! deleted at the end.
//!
//! Redis commands of its own: XADD, XLEN, XRANGE, XREVRANGE, MULTI/XADD/PEXPIRE/EXEC, LPUSH,
//! LTRIM, LRANGE, DEL. Then the service's routes (log in, list, re-authenticate, log out
//! everywhere), each shown with what it cost.
//!
//! Test: `tests/10_security_log.rs`. Chapter: `book/src/10-security-log.md`.
//! Exercises: `lessons/src/ex10_security_log.rs`.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use session_storage::AppState;
use session_storage::client::TrustedProxies;
use session_storage::http::app;
use session_storage::server::serve;
use session_storage::store::{
    Device, EventKind, Keys, LoginLimits, MAX_EVENTS, NewEvent, append_event, latest_events, user_id_for,
};
use session_storage::store::{Lifetimes, SessionId, SessionStore};
use session_storage::workbook::{Narrator, run_lesson};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    run_lesson(run).await
}

fn io_error(error: impl std::fmt::Display) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::other(error.to_string()))
}

const FIREFOX_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/// A browser of the lesson: a cookie jar, a user agent, and the address its proxy reports.
struct Browser {
    client: reqwest::Client,
    forwarded: &'static str,
}

impl Browser {
    fn new(agent: &str, forwarded: &'static str) -> redis::RedisResult<Browser> {
        let client =
            reqwest::Client::builder().cookie_store(true).user_agent(agent).build().map_err(io_error)?;
        Ok(Browser { client, forwarded })
    }

    /// One request, printed as `curl` would show it: the request line, the status, the body
    /// (with any session id left out); the body as it came.
    async fn send(
        &self,
        out: &Narrator,
        (method, base, path): (reqwest::Method, &str, &str),
        body: Option<serde_json::Value>,
    ) -> redis::RedisResult<serde_json::Value> {
        let mut request = self
            .client
            .request(method.clone(), format!("{base}{path}"))
            .header("x-forwarded-for", self.forwarded);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(io_error)?;
        let status = response.status().as_u16();
        let raw: serde_json::Value = response.json().await.map_err(io_error)?;
        let mut answer = raw.clone();
        if let Some(id) = answer.get_mut("session_id") {
            *id = "<id>".into();
        }
        out.say(&format!("> {method} {path} (from {})", self.forwarded));
        out.say(&format!("< {status}, {answer}"));
        Ok(raw)
    }
}

/// The lesson, step by step. The test calls this with a capturing narrator.
pub async fn run(out: &Narrator, con: ConnectionManager) -> redis::RedisResult<()> {
    out.title("Lesson 10: the security log, a Redis Stream");
    let keys = Keys::prefixed("lesson10:");
    let mut con = out.connection(con);
    let demo = "lesson10:demo:events";

    // ANCHOR: stream
    out.step("A stream: entries with fields, each id a time");
    out.say("XADD appends an entry of field-value pairs. With `*` Redis picks the id: its own clock in");
    out.say("milliseconds, a dash, and a sequence number for entries of the same millisecond. So an event");
    out.say("needs no time field, and every app server agrees on the time: it is Redis's.");
    for (device, ip) in [("Firefox on Linux", "203.0.113.9"), ("Safari on iPhone", "198.51.100.23")] {
        let _: String = redis::cmd("XADD")
            .arg(demo)
            .arg("*")
            .arg(&[("type", "login"), ("device", device), ("ip", ip), ("handle", "0123456789abcdef")])
            .query_async(&mut con)
            .await?;
    }
    let _: u64 = redis::cmd("XLEN").arg(demo).query_async(&mut con).await?;
    let _: redis::Value = redis::cmd("XRANGE").arg(demo).arg("-").arg("+").query_async(&mut con).await?;
    out.say("XRANGE reads oldest first, from `-` (the smallest id) to `+` (the largest).");
    // ANCHOR_END: stream

    // ANCHOR: cap
    out.step("A cap: MAXLEN, exact or ~");
    out.say("A log must not grow forever. `MAXLEN 3` keeps exactly the 3 newest entries:");
    let exact = "lesson10:demo:exact";
    for n in 1..=5 {
        let _: String = redis::cmd("XADD")
            .arg(exact)
            .arg("MAXLEN")
            .arg(3)
            .arg("*")
            .arg("n")
            .arg(n)
            .query_async(&mut con)
            .await?;
    }
    let _: u64 = redis::cmd("XLEN").arg(exact).query_async(&mut con).await?;
    out.say("Exact trimming may cut into the middle of one of the stream's internal nodes (a listpack of");
    out.say("up to 100 entries). `MAXLEN ~ 3` lets Redis trim only whole nodes, which is much cheaper:");
    let rough = "lesson10:demo:rough";
    for n in 1..=5 {
        let _: String = redis::cmd("XADD")
            .arg(rough)
            .arg("MAXLEN")
            .arg("~")
            .arg(3)
            .arg("*")
            .arg("n")
            .arg(n)
            .query_async(&mut con)
            .await?;
    }
    let _: u64 = redis::cmd("XLEN").arg(rough).query_async(&mut con).await?;
    out.say("All 5 are still there: no whole node is beyond the cap yet. The service writes `MAXLEN ~ 200`,");
    out.say("so a user's log holds at least 200 entries and less than 300 once it is full.");
    out.say("And a log must end: at login the service appends and sets the TTL in one transaction");
    out.say("(exercise 10a), and every later event of the user's own sets the TTL again. It is as long");
    out.say("as a session can live, so the log outlives the last session it describes by at most that:");
    let log = keys.user_events(&user_id_for("alice"));
    let laptop = Device::new("Firefox on Linux", "203.0.113.9".parse().ok());
    let event = NewEvent { kind: EventKind::Login, device: &laptop, handle: Some("0123456789abcdef") };
    out.count_from_here();
    append_event(&mut con, &log, &event, MAX_EVENTS, Lifetimes::DEFAULT.absolute).await?;
    out.cost("append_event");
    let _: i64 = con.pttl(&log).await?;
    // ANCHOR_END: cap

    // ANCHOR: newest
    out.step("Newest first: XREVRANGE with COUNT");
    out.say("A user wants the latest events: XREVRANGE reads from `+` down to `-`, and COUNT stops it");
    out.say("after n entries, whatever the length (exercise 10b):");
    let newest = latest_events(&mut con, demo, 1).await?;
    for event in &newest {
        out.say(&format!("{} on {} from {}", event.kind, event.device, event.ip.as_deref().unwrap_or("?")));
    }
    // ANCHOR_END: newest

    // ANCHOR: list
    out.step("Why not a list");
    out.say("A list can be capped too: LPUSH the newest at the head, LTRIM the rest away:");
    let list = "lesson10:demo:list";
    let _: u64 = con.lpush(list, "login Firefox on Linux 203.0.113.9").await?;
    let _: () = con.ltrim(list, 0, 199).await?;
    let _: Vec<String> = con.lrange(list, 0, 0).await?;
    out.say("But an entry is one opaque string: no fields, no time. We would encode both ourselves, and");
    out.say("trim in a second command. A stream entry has named fields and its time in its id, and XADD");
    out.say("appends and trims in one command. (A sorted set would need a unique member per event.)");
    // ANCHOR_END: list

    // ANCHOR: service
    out.step("The service: device names, the log and the privileged window");
    out.say("The service names each device from its User-Agent and stores name and address in the");
    out.say("session hash. Here the privileged window is 2 s (PRIVILEGED_WINDOW_SECS, default 300):");
    let store = SessionStore::new(con.clone(), Lifetimes::default(), Duration::from_secs(2))
        .await
        .map_err(io_error)?
        .with_keys(keys.clone())
        .with_login_limits(LoginLimits::OFF)
        .with_privileged_window(Duration::from_secs(2));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = AppState {
        trusted_proxies: TrustedProxies::parse("127.0.0.1").map_err(io_error)?,
        ..AppState::new(store.clone())
    };
    let server = tokio::spawn(serve(listener, app(state), async move {
        let _ = stopped.await;
    }));
    let login = serde_json::json!({"username": "bob", "password": "secret"});
    let laptop = Browser::new(FIREFOX_LINUX, "203.0.113.9")?;
    let phone = Browser::new(SAFARI_IPHONE, "198.51.100.23")?;
    out.count_from_here();
    laptop.send(out, (reqwest::Method::POST, &base, "/login"), Some(login.clone())).await?;
    out.cost("POST /login with the throttle off");
    // A second apart: the list is newest login first, by the second, on every run.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let phone_login = phone.send(out, (reqwest::Method::POST, &base, "/login"), Some(login)).await?;
    let phone_id = phone_login["session_id"].as_str().and_then(SessionId::parse);
    out.cost("POST /login with the throttle off");
    phone.send(out, (reqwest::Method::GET, &base, "/sessions"), None).await?;
    out.cost("GET /sessions");
    out.say(
        "Two seconds later, the phone is no longer privileged: ending other sessions needs the password.",
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    out.count_from_here();
    phone.send(out, (reqwest::Method::POST, &base, "/logout-everywhere"), None).await?;
    out.cost("POST /logout-everywhere past the privileged window");
    let password = serde_json::json!({"password": "secret"});
    phone.send(out, (reqwest::Method::POST, &base, "/reauth"), Some(password)).await?;
    out.cost("POST /reauth with the throttle off");
    phone.send(out, (reqwest::Method::POST, &base, "/logout-everywhere"), None).await?;
    out.cost("POST /logout-everywhere");
    out.say("The log outlives the sessions it describes, until its TTL. Its newest events:");
    let bob_log = keys.user_events(&user_id_for("bob"));
    for event in latest_events(&mut con, &bob_log, 10).await? {
        out.say(&format!("{}: {} from {}", event.kind, event.device, event.ip.as_deref().unwrap_or("?")));
    }
    // ANCHOR_END: service

    out.step("Cleaning up");
    let _ = stop.send(());
    let _ = server.await;
    let mut written: Vec<String> = [demo, exact, rough, list, log.as_str(), bob_log.as_str()]
        .iter()
        .map(|key| key.to_string())
        .collect();
    // The phone's re-authentication left a marker naming its new session (60 s TTL).
    written.extend(phone_id.map(|id| keys.moved(&id)));
    out.say("Every session of bob has ended (and his index with them); the logs go now, and the demo keys:");
    let _: u64 = con.del(&written).await?;

    out.try_it_yourself(&[
        "(with the server running: cargo run --example 05_full_server, and a login in the page at /)",
        "redis-cli --scan --pattern 'user:*:events'",
        "redis-cli XREVRANGE 'user:{user_...}:events' + - COUNT 5",
        "redis-cli XINFO STREAM 'user:{user_...}:events'",
        "curl -s -b 'session_id=...' localhost:8002/security-events",
    ]);
    Ok(())
}
