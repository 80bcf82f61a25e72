//! # Lesson 09: rate limiting, a Redis pattern
//!
//! What you will learn: how a few lines of Lua turn Redis into a rate limiter that every
//! instance of a service shares (GCRA: one number per limit, with a TTL); why the login throttle
//! counts per username *and* client, so that an attacker cannot lock a victim out; why a refused
//! attempt spends nothing; how `429 Too Many Requests` and `Retry-After` tell a client when to come
//! back; why `X-Forwarded-For` is believed only from a proxy you trust; and what `/metrics`
//! counts.
//!
//! Run it: `cargo run --example 09_rate_limit`. Keys it writes start with `lesson09:` and are
//! deleted at the end.
//!
//! Redis commands of its own: the throttle script (EVALSHA), GET, PTTL, DEL. At start the service
//! sends SCRIPT LOAD and TIME. Then, all shown in the transcript with what each login cost: a
//! login the throttle allows is <!-- sends: 09_rate_limit | POST /login -->EVALSHA of the
//! throttle, then one pipeline (EVAL of the index script, MULTI/HSET/EXPIRE/EXEC,
//! MULTI/ZSCORE/XADD/PEXPIRE/EXEC); a refused one is <!-- sends: 09_rate_limit | POST /login
//! refused -->EVALSHA of the throttle, then EVALSHA of the script that records the refusal.
//!
//! Test: `tests/09_rate_limit.rs`. Chapter: `book/src/09-rate-limit.md`.
//! Exercises: `lessons/src/ex09_rate_limit.rs`.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use session_storage::AppState;
use session_storage::client::TrustedProxies;
use session_storage::http::app;
use session_storage::server::serve;
use session_storage::store::{
    Keys, Lifetimes, Limit, LoginLimits, SessionId, SessionStore, throttle, user_id_for,
};
use session_storage::workbook::{Narrator, run_lesson};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    run_lesson(run).await
}

fn io_error(error: impl std::fmt::Display) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::other(error.to_string()))
}

/// One login, printed as `curl -v` would show it: the request line, the status, `Retry-After`
/// when there is one, and the body.
async fn login(
    out: &Narrator,
    base: &str,
    username: &str,
    forwarded_for: Option<&str>,
) -> redis::RedisResult<u16> {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/login"))
        .json(&serde_json::json!({"username": username, "password": "secret"}));
    let mut line = format!("> POST /login as {username}");
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
        line.push_str(&format!(" (X-Forwarded-For: {address})"));
    }
    let response = request.send().await.map_err(io_error)?;
    let status = response.status().as_u16();
    let retry = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
    let mut body: serde_json::Value = response.json().await.map_err(io_error)?;
    if let Some(id) = body.get_mut("session_id") {
        *id = "<id>".into();
    }
    out.say(&line);
    match retry {
        Some(seconds) => out.say(&format!("< {status}, Retry-After: {seconds}, {body}")),
        None => out.say(&format!("< {status}, {body}")),
    }
    Ok(status)
}

/// The lesson, step by step. The test calls this with a capturing narrator.
pub async fn run(out: &Narrator, con: ConnectionManager) -> redis::RedisResult<()> {
    out.title("Lesson 09: rate limiting, a Redis pattern");
    let keys = Keys::prefixed("lesson09:");
    let mut con = out.connection(con);
    let client = "198.51.100.7";

    // ANCHOR: one_limit
    out.step("One limit, one key: GCRA");
    out.say("5 attempts a minute from one client. The script keeps one number per limit: when the");
    out.say("next attempt would be due if attempts came at exactly the allowed pace (12 s apart).");
    out.say("A client may spend its minute's budget at once; then it gets one attempt every 12 s.");
    let per_client = [Limit { key: keys.login_client(client), limit: 5 }];
    for attempt in 1..=6 {
        let wait = throttle(&mut con, &per_client, LoginLimits::PERIOD).await?;
        out.say(&match wait {
            None => format!("attempt {attempt}: allowed"),
            Some(wait) => {
                format!("attempt {attempt}: refused, come back in {} s", wait.as_millis().div_ceil(1000))
            }
        });
    }
    out.say("The key holds that time (unix ms, Redis's clock) and expires when it is reached:");
    let _: Option<String> = con.get(&per_client[0].key).await?;
    let _: i64 = con.pttl(&per_client[0].key).await?;
    // ANCHOR_END: one_limit

    // ANCHOR: two_limits
    out.step("Two limits in one script: all or nothing");
    out.say("The login throttle checks two limits at once: per username and client (here 3), and per");
    out.say("client (here 10). Both keys name the client in a {hash tag}, so one script may touch both,");
    out.say("on a cluster too. A refused attempt spends neither budget.");
    let other = "203.0.113.9";
    let limits = |username: &str| {
        [
            Limit { key: keys.login_client(other), limit: 10 },
            Limit { key: keys.login_user(other, &user_id_for(username)), limit: 3 },
        ]
    };
    for username in ["alice", "alice", "alice", "alice", "bob"] {
        let wait = throttle(&mut con, &limits(username), LoginLimits::PERIOD).await?;
        out.say(&format!("{username}: {}", if wait.is_none() { "allowed" } else { "refused" }));
    }
    out.say("alice's fourth is refused by her own limit; bob, from the same client, is not affected.");
    out.say("The client's count moved 4 times, not 5: the refused attempt spent nothing.");
    // ANCHOR_END: two_limits

    // ANCHOR: service
    out.step("The service's login: 429 and Retry-After");
    out.say("The same throttle in front of every login (LOGIN_ATTEMPTS_PER_MINUTE=3 here, default 10):");
    let store = SessionStore::new(con.clone(), Lifetimes::default(), Duration::from_secs(2))
        .await
        .map_err(io_error)?
        .with_keys(keys.clone())
        .with_login_limits(LoginLimits { per_user_and_client: 3, per_client: 100 });
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
    for _ in 0..4 {
        out.count_from_here();
        let status = login(out, &base, "carol", Some("192.0.2.10")).await?;
        out.cost(if status == 429 { "POST /login refused" } else { "POST /login" });
    }
    out.say("No session and no index entry for the refused one: only a record of the refusal in");
    out.say("carol's refusals (lesson 10), one entry per client with its count, beside her log; it is");
    out.say("written only while her log exists, and lives no longer.");
    // ANCHOR_END: service

    // ANCHOR: another_client
    out.step("Another client is not affected; a forged address is not believed");
    out.say("This server trusts one proxy, 127.0.0.1 (TRUSTED_PROXIES), so the address that proxy");
    out.say("writes last in X-Forwarded-For is the client. carol from another address gets in:");
    login(out, &base, "carol", Some("192.0.2.20")).await?;
    out.say("An attacker who floods carol's account throttles only the attacker's own address.");
    out.say("Behind no proxy, the TCP peer is the client, and the header is ignored: a forged");
    out.say("X-Forwarded-For changes nothing. Nor does a forged entry in front of the proxy's own:");
    login(out, &base, "carol", Some("6.6.6.6, 192.0.2.10")).await?;
    // ANCHOR_END: another_client

    // ANCHOR: metrics
    out.step("What /metrics counts");
    out.say("Every answer is counted, in memory (no Redis call): what an operator's Prometheus scrapes");
    out.say("from METRICS_ADDR (default 127.0.0.1:9102). The login lines, after this lesson:");
    let text = store.metrics().render();
    let mut logins: Vec<&str> =
        text.lines().filter(|line| line.starts_with("session_logins_total{")).collect();
    logins.sort();
    for line in logins {
        out.say(line);
    }
    // ANCHOR_END: metrics

    out.step("Cleaning up");
    let _ = stop.send(());
    let _ = server.await;
    let carol = user_id_for("carol");
    let mut written = vec![
        keys.login_client(client),
        keys.user_sessions(&carol),
        keys.user_events(&carol),
        keys.user_refusals(&carol),
    ];
    for address in [other, "192.0.2.10", "192.0.2.20"] {
        written.push(keys.login_client(address));
    }
    for (address, username) in
        [(other, "alice"), (other, "bob"), ("192.0.2.10", "carol"), ("192.0.2.20", "carol")]
    {
        written.push(keys.login_user(address, &user_id_for(username)));
    }
    let sessions: Vec<String> = con.zrange(keys.user_sessions(&carol), 0, -1).await?;
    written.extend(sessions.iter().filter_map(|id| SessionId::parse(id)).map(|id| keys.session(&id)));
    let _: u64 = con.del(&written).await?;

    out.try_it_yourself(&[
        "(with the server running: cargo run --example 05_full_server)",
        "for i in $(seq 12); do curl -s -o /dev/null -w '%{http_code} ' -H 'content-type: application/json' -d '{\"username\":\"eve\",\"password\":\"x\"}' localhost:8002/login; done",
        "curl -s localhost:9102/metrics | grep session_logins_total",
        "redis-cli --scan --pattern 'login:*'",
        "redis-cli PTTL 'login:{127.0.0.1}'",
    ]);
    Ok(())
}
