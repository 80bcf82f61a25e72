//! Hardening, tried as an attacker would: slow request heads, idle keep-alive connections,
//! trickling and stalled bodies, and thousands of half-open connections. Each test sets short
//! limits and measures how long the server takes to act, against the limit plus a margin.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use session_storage::server::Limits;

/// How much later than a limit the server may act on a busy 2-core machine.
const MARGIN: Duration = Duration::from_millis(700);

fn limits(header: u64, idle: u64, body: u64, request: u64) -> Limits {
    Limits {
        header_timeout: Duration::from_millis(header),
        idle_timeout: Duration::from_millis(idle),
        body_timeout: Duration::from_millis(body),
        request_timeout: Duration::from_millis(request),
        ..Limits::DEFAULT
    }
}

async fn app_with_limits(limits: Limits) -> TestApp {
    TestApp::start_with(Settings { limits, ..Settings::default() }).await
}

/// Connects and sends `bytes`, with a read timeout well past every limit in this file.
fn connect(addr: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("read timeout");
    stream.write_all(bytes).expect("write");
    stream
}

/// Reads until the server closes the connection; returns what it sent and when it closed.
fn read_until_closed(mut stream: TcpStream, started: Instant) -> (String, Duration) {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
    (String::from_utf8_lossy(&answer).into_owned(), started.elapsed())
}

/// Blocking socket work, off the runtime that serves the app.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.expect("blocking task")
}

fn json_body(answer: &str) -> Value {
    let body = answer.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{body:?}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_head_is_cut_off_at_the_header_timeout() {
    let app = app_with_limits(limits(1000, 5000, 5000, 30_000)).await;
    let addr = app.addr;
    let (answer, took) = blocking(move || {
        let started = Instant::now();
        // Half a request: the line and one header, then nothing.
        let stream = connect(addr, b"GET /health HTTP/1.1\r\nHost: test\r\n");
        read_until_closed(stream, started)
    })
    .await;
    eprintln!("slow request head: closed after {took:?} (header timeout 1 s)");
    assert!(answer.is_empty(), "nothing is answered to half a request: {answer:?}");
    assert!(took >= Duration::from_millis(900), "closed after {took:?}, before the header timeout");
    assert!(took < Duration::from_millis(1000) + MARGIN, "closed after {took:?}");
    // A connection that sends nothing at all owes its first request head just the same.
    let (_, took) = blocking(move || read_until_closed(connect(addr, b""), Instant::now())).await;
    assert!(took < Duration::from_millis(1000) + MARGIN, "a silent connection lived {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    // The idle timeout (2 s) is longer than the header timeout (0.5 s): a keep-alive connection
    // may wait for its next request longer than a request head may take to arrive.
    let app = app_with_limits(limits(500, 2000, 5000, 30_000)).await;
    let addr = app.addr;
    let (first, second, took) = blocking(move || {
        let request = b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n";
        let mut stream = connect(addr, request);
        let mut buffer = [0u8; 4096];
        let n = stream.read(&mut buffer).expect("first answer");
        let first = String::from_utf8_lossy(&buffer[..n]).into_owned();
        // Idle for three header timeouts, then a second request on the same connection.
        std::thread::sleep(Duration::from_millis(1500));
        stream.write_all(request).expect("second request");
        let n = stream.read(&mut buffer).expect("second answer");
        let second = String::from_utf8_lossy(&buffer[..n]).into_owned();
        // Now idle for good: closed after the idle timeout.
        let (_, took) = read_until_closed(stream, Instant::now());
        (first, second, took)
    })
    .await;
    eprintln!("idle keep-alive connection: closed after {took:?} (idle timeout 2 s)");
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(second.starts_with("HTTP/1.1 200"), "kept alive through 1.5 s of idling: {second}");
    assert!(took >= Duration::from_millis(1900), "closed after {took:?}, before the idle timeout");
    assert!(took < Duration::from_millis(2000) + MARGIN, "closed after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_body_gets_408_at_the_request_timeout() {
    let app = app_with_limits(limits(5000, 5000, 5000, 1500)).await;
    let addr = app.addr;
    let (answer, took) = blocking(move || {
        let started = Instant::now();
        let mut stream = connect(
            addr,
            b"POST /login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 16384\r\n\r\n",
        );
        // One byte every 100 ms: never stalled, never done.
        let mut answer = Vec::new();
        stream.set_nonblocking(true).expect("nonblocking");
        while started.elapsed() < Duration::from_secs(10) {
            let _ = stream.write_all(b" ");
            let mut buffer = [0u8; 4096];
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                        break;
                    }
                }
                Err(_) => {}
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        (String::from_utf8_lossy(&answer).into_owned(), started.elapsed())
    })
    .await;
    eprintln!("trickling body: 408 after {took:?} (request timeout 1.5 s)");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(json_body(&answer)["detail"], "Request took too long");
    assert!(took < Duration::from_millis(1500) + MARGIN, "answered after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_gets_408_at_the_body_timeout() {
    let app = app_with_limits(limits(5000, 5000, 800, 30_000)).await;
    let addr = app.addr;
    let (answer, took) = blocking(move || {
        let started = Instant::now();
        let stream = connect(
            addr,
            b"POST /login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\
              Connection: close\r\n\r\n{\"user",
        );
        read_until_closed(stream, started)
    })
    .await;
    eprintln!("stalled body: 408 after {took:?} (body timeout 0.8 s)");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(json_body(&answer)["detail"], "Request body too slow");
    assert!(took < Duration::from_millis(800) + MARGIN, "answered after {took:?}");
}

/// 2,000 connections that each sent half a request and wait: the server holds them (up to its
/// cap), keeps accepting, and a normal client is served at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_half_open_connections_do_not_starve_a_normal_client() {
    let (soft, _) = session_storage::server::raise_open_files_limit().expect("raise the open-files limit");
    assert!(soft >= 5000, "this test needs 4,000 descriptors (server and client side); the limit is {soft}");
    let app = app_with_limits(limits(30_000, 30_000, 30_000, 30_000)).await;
    let id = login_id(&app, "alice").await;
    let addr = app.addr;
    let held = blocking(move || {
        (0..2000)
            .map(|_| {
                let mut stream = TcpStream::connect(addr).expect("connect");
                stream.write_all(b"GET /health HTTP/1.1\r\nHost: te").expect("half a request");
                stream
            })
            .collect::<Vec<_>>()
    })
    .await;
    for path in ["/health", "/profile"] {
        let started = Instant::now();
        let response = get_with_session(&app.url(path), &id).await;
        let took = started.elapsed();
        eprintln!("{path} with 2,000 half-open connections held: {took:?}");
        assert_eq!(response.status(), 200, "{path}");
        assert!(took < Duration::from_secs(1), "{path} took {took:?} with 2,000 half-open connections");
    }
    drop(held);
}

/// Pins Redis at its current memory use plus `headroom` bytes, under `policy`: once that is used
/// up, a write that needs memory is refused (`noeviction`) or evicts (`volatile-ttl`).
async fn fill_redis(app: &TestApp, policy: &str, headroom: u64) {
    let _: () = app.cmd(&["CONFIG", "SET", "maxmemory-policy", policy]).await;
    let used = app.info_number("memory", "used_memory").await;
    let _: () = app.cmd(&["CONFIG", "SET", "maxmemory", &(used + headroom).to_string()]).await;
}

async fn detail(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("json");
    (status, body["detail"].as_str().or(body["message"].as_str()).unwrap_or_default().to_string())
}

/// Under `noeviction` a full Redis keeps the sessions it has and refuses new ones: `/profile`
/// still works, login is a 503 that says why, and `/health` reports it. Freed, all is well again.
#[tokio::test]
async fn a_full_redis_under_noeviction_keeps_sessions_and_refuses_new_ones() {
    let app = TestApp::start().await;
    let alice = login_id(&app, "alice").await;
    fill_redis(&app, "noeviction", 0).await;

    assert_eq!(profile_with(&app, &alice).await.status(), 200, "an existing session keeps working");
    // One message for one condition, whoever logs in: a new user (bob) and one with a session
    // already (alice), with the throttle off and on.
    for (who, limits) in [("bob", "off"), ("alice", "off")] {
        let (status, why) = detail(post_login(&plain_client(), &app, who).await).await;
        eprintln!("noeviction, full: login of {who} (throttle {limits}) {status} {why:?}");
        assert_eq!(
            (status, why.as_str()),
            (503, "Session store is full: no new sessions until memory is freed"),
            "{who}"
        );
    }
    let throttled = TestApp::start_with(Settings {
        login_limits: session_storage::store::LoginLimits::DEFAULT,
        ..Settings::default()
    })
    .await;
    let carol = login_id(&throttled, "carol").await;
    fill_redis(&throttled, "noeviction", 0).await;
    for who in ["dave", "carol"] {
        let (status, why) = detail(post_login(&plain_client(), &throttled, who).await).await;
        eprintln!("noeviction, full: login of {who} (throttle on) {status} {why:?}");
        assert_eq!(
            (status, why.as_str()),
            (503, "Session store is full: no new sessions until memory is freed"),
            "{who}"
        );
    }
    assert_eq!(profile_with(&throttled, &carol).await.status(), 200);
    let (status, why) = detail(plain_client().get(app.url("/health")).send().await.expect("health")).await;
    eprintln!("noeviction, full: health {status} {why:?}");
    assert_eq!((status, why.as_str()), (503, "Session store degraded"), "no figure for anonymous callers");
    // The figures are for the log (the store's own answer) and /metrics.
    let session_storage::store::Health::Degraded(logged) = app.store.health().await.expect("health") else {
        panic!("a full Redis is degraded")
    };
    assert!(logged.starts_with("Redis is full: used_memory "), "{logged}");
    let metrics = app.metrics();
    let gauge = |name: &str| {
        metrics.lines().find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok()).unwrap_or(0.0)
    };
    let (used, max) = (gauge("session_redis_used_memory_bytes"), gauge("session_redis_maxmemory_bytes"));
    assert!(max > 0.0 && used >= max, "used {used} of {max}:\n{metrics}");

    let _: () = app.cmd(&["CONFIG", "SET", "maxmemory", "0"]).await;
    assert_eq!(profile_with(&app, &alice).await.status(), 200);
    assert_eq!(post_login(&plain_client(), &app, "bob").await.status(), 200);
    assert_eq!(plain_client().get(app.url("/health")).send().await.expect("health").status(), 200);
}

/// Every route that deletes still works at `maxmemory` under `noeviction`: logout, revoking a
/// session and logging out everywhere each answer 200 and the keys are gone. (Inside `MULTI`,
/// Redis refuses every queued command when full, even a `DEL`; the store deletes outside one.)
#[tokio::test]
async fn every_deleting_route_works_when_redis_is_full() {
    let app = TestApp::start().await;
    let alice = login_id(&app, "alice").await;
    let [bob_phone, bob_laptop, bob_tablet] =
        [login_id(&app, "bob").await, login_id(&app, "bob").await, login_id(&app, "bob").await];
    let handle = session_storage::store::SessionId::parse(&bob_laptop).expect("id").handle();
    fill_redis(&app, "noeviction", 0).await;
    assert_eq!(post_login(&plain_client(), &app, "carol").await.status(), 503, "Redis is full");

    let logout = plain_client()
        .post(app.url("/logout"))
        .header("cookie", format!("session_id={alice}"))
        .send()
        .await
        .expect("logout");
    assert_eq!(detail(logout).await, (200, "Logged out successfully".to_string()), "logout");
    let exists: bool = app.cmd(&["EXISTS", &format!("session:{alice}")]).await;
    assert!(!exists, "logout deleted the session");

    let revoke = plain_client()
        .delete(app.url(&format!("/sessions/{handle}")))
        .header("cookie", format!("session_id={bob_phone}"))
        .send()
        .await
        .expect("revoke");
    assert_eq!(detail(revoke).await, (200, "Session revoked".to_string()), "revoke");
    let exists: bool = app.cmd(&["EXISTS", &format!("session:{bob_laptop}")]).await;
    assert!(!exists, "revoke deleted the session");

    let everywhere = plain_client()
        .post(app.url("/logout-everywhere"))
        .header("cookie", format!("session_id={bob_phone}"))
        .send()
        .await
        .expect("logout everywhere");
    assert_eq!(everywhere.status(), 200, "logout everywhere");
    for id in [&bob_phone, &bob_tablet] {
        let exists: bool = app.cmd(&["EXISTS", &format!("session:{id}")]).await;
        assert!(!exists, "logout everywhere deleted {id}");
    }
    assert!(app.session_keys().await.is_empty());
    let _: () = app.cmd(&["CONFIG", "SET", "maxmemory", "0"]).await;
}

/// Under `volatile-ttl` a full Redis makes room by evicting keys that have a TTL, those closest
/// to expiry first (by sampling, as Redis does): logins keep working, and `/health` says Redis
/// is at its limit. (Every key has a TTL, so any may be evicted; none is kept for ever.)
#[tokio::test]
async fn a_full_redis_under_volatile_ttl_evicts_sessions_closest_to_expiry() {
    // Bob may hold thousands of sessions here, so that his logins fill Redis instead of ending
    // his oldest sessions at the default bound of 50.
    let app = TestApp::start_with(Settings { max_sessions_per_user: 10_000, ..Settings::default() }).await;
    // Fifty sessions with a minute left, then Redis with room for a few hundred more.
    let mut short = Vec::new();
    for n in 0..50 {
        let id = login_id(&app, &format!("user{n}")).await;
        let _: () = app.cmd(&["EXPIRE", &format!("session:{id}"), "60"]).await;
        short.push(id);
    }
    fill_redis(&app, "volatile-ttl", 64 * 1024).await;

    // Log in (always as bob) until Redis has had to evict.
    let evicted = || app.info_number("stats", "evicted_keys");
    let mut logins = 0;
    while evicted().await < 20 {
        assert!(logins < 5000, "no eviction after {logins} logins");
        let (status, why) = detail(post_login(&plain_client(), &app, "bob").await).await;
        assert_eq!(status, 200, "login {logins}: Redis makes room instead of refusing: {why}");
        logins += 1;
    }
    let mut short_gone = 0;
    for id in &short {
        let exists: bool = app.cmd(&["EXISTS", &format!("session:{id}")]).await;
        short_gone += u64::from(!exists);
    }
    let evicted = evicted().await;
    eprintln!(
        "volatile-ttl, full: {logins} logins all 200, {evicted} keys evicted, {short_gone} of 50 short-lived sessions among them"
    );
    assert!(short_gone >= 1, "the sessions closest to expiry go first");
    let (status, why) = detail(plain_client().get(app.url("/health")).send().await.expect("health")).await;
    eprintln!("volatile-ttl, full: health {status} {why:?}");
    assert_eq!((status, why.as_str()), (503, "Session store degraded"));
    let session_storage::store::Health::Degraded(logged) = app.store.health().await.expect("health") else {
        panic!("a Redis at its limit is degraded")
    };
    assert!(logged.starts_with("Redis is near maxmemory"), "{logged}");
}

/// A client that sends requests and never reads the answers stalls the server's writes. It has
/// the idle timeout to read again; then its connection is closed and its slot freed. Here it
/// holds the only slot (`MAX_CONNECTIONS=1`), so a normal client is served as soon as it is cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_off_at_the_idle_timeout() {
    let limits = Limits { max_connections: 1, ..limits(5000, 1000, 5000, 30_000) };
    let app = app_with_limits(limits).await;
    let addr = app.addr;
    // Twenty requests for the largest file the service has (Swagger UI's bundle), never read.
    let slow = blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        let request = b"GET /docs/swagger-ui-bundle.js HTTP/1.1\r\nHost: test\r\n\r\n".repeat(20);
        stream.write_all(&request).expect("requests");
        stream
    })
    .await;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(10);
    let served_after = loop {
        if let Ok(response) = plain_client().get(app.url("/health")).send().await
            && response.status() == 200
        {
            break started.elapsed();
        }
        assert!(Instant::now() < deadline, "the slot was never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "client that stopped reading: cut off, next client served after {served_after:?} (idle timeout 1 s)"
    );
    assert!(
        served_after >= Duration::from_millis(800),
        "served after {served_after:?}: the slot was not held"
    );
    assert!(served_after < Duration::from_millis(1000) + MARGIN, "served after {served_after:?}");
    // The stalled connection was closed before it had all its answers.
    let (received, _) = blocking(move || read_until_closed(slow, Instant::now())).await;
    assert!(received.matches("HTTP/1.1 200").count() < 20, "every answer arrived: nothing was stalled");
}
