//! The real binary (`src/main.rs`, `session-storage`), built by this test itself so it is never stale,
//! started with settings from the environment and stopped with SIGTERM, as an operator would:
//! every setting reaches the service, each start-up error says what to do, and no redis-server
//! is left behind.
//!
//! Three tests need 127.0.0.1:6379 in a known state (the default Redis the binary looks for).
//! They take turns through one lock. Where something else already listens there, they skip with
//! a message, except under `CI=true`, where they fail: CI must run them.

mod common;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use session_storage::redis::PrivateRedis;

/// Builds the `session-storage` binary once per test run (a no-op when `cargo test` already built it with the
/// same features) and returns its path.
fn server_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            escargot::CargoBuild::new()
                .bin("session-storage")
                .current_release()
                .run()
                .expect("build the session-storage binary")
                .path()
                .to_path_buf()
        })
        .clone()
}

fn command(env: &[(&str, &str)]) -> Command {
    command_skewed(None, env)
}

/// libfaketime (Debian's `faketime` package), multi-threaded flavour.
const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// The binary, with its clock moved by `skew` (e.g. `+9h`) through libfaketime when given. The
/// library is preloaded into the binary itself (not through the `faketime` wrapper), so the
/// process we signal is the server.
fn command_skewed(skew: Option<&str>, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(server_binary());
    if let Some(skew) = skew {
        command.env("LD_PRELOAD", LIBFAKETIME).env("FAKETIME", skew).env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    }
    command
        .env_remove("REDIS_URL")
        // Many servers start at once here: each gets its own free port for /metrics.
        .env("METRICS_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// Runs the server with `env`, expecting it to exit by itself within 15 s; kills it otherwise.
fn run_to_exit(env: &[(&str, &str)]) -> Output {
    let mut child = command(env).spawn().expect("start the server");
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    terminate(&mut child);
    let output = child.wait_with_output().expect("output");
    panic!("the server did not exit: {}", String::from_utf8_lossy(&output.stderr));
}

/// SIGTERM, as an operator or a service manager stops it; SIGKILL only if it does not exit
/// within 10 s (and then the test fails: graceful shutdown is what is being tested).
fn terminate(child: &mut Child) -> Option<ExitStatus> {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The binary, running, with its log collected as it is written.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts the binary and waits for its "listening on" line.
    fn start(env: &[(&str, &str)]) -> Server {
        Server::start_skewed(None, env)
    }

    /// Starts the binary with its clock moved by `skew`, under `faketime`.
    fn start_skewed(skew: Option<&str>, env: &[(&str, &str)]) -> Server {
        let mut child = command_skewed(skew, env).spawn().expect("start the server");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = sink.lock().expect("log");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = loop {
            let text = log.lock().expect("log").clone();
            if let Some(addr) = text
                .lines()
                .find_map(|line| line.split_once("listening on http://")?.1.split_whitespace().next())
            {
                break addr.parse().expect("a socket address");
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the server exited with {status}: {text}");
            }
            assert!(Instant::now() < deadline, "the server did not start within 20 s: {text}");
            std::thread::sleep(Duration::from_millis(20));
        };
        Server { child, addr, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    /// SIGTERM, and the exit status once it has exited by itself.
    fn stop(mut self) -> (ExitStatus, String) {
        let status = terminate(&mut self.child).expect("the server exits on SIGTERM within 10 s");
        // Let the reader thread take the last lines.
        std::thread::sleep(Duration::from_millis(100));
        (status, self.log())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            terminate(&mut self.child);
        }
    }
}

async fn login(server: &Server, username: &str) -> reqwest::Response {
    post_login_at(&plain_client(), &server.url("/login"), username).await
}

async fn profile(server: &Server, id: &str) -> reqwest::Response {
    get_with_session(&server.url("/profile"), id).await
}

async fn session_id(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    body["session_id"].as_str().expect("session_id").to_string()
}

async fn admin(redis: &PrivateRedis) -> redis::aio::MultiplexedConnection {
    admin_connection(redis).await
}

/// A loopback address with a port that was free a moment ago, for `METRICS_ADDR`.
fn free_metrics_addr() -> String {
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    format!("127.0.0.1:{port}")
}

fn answers(port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), Duration::from_millis(200))
        .is_ok()
}

/// Holds 127.0.0.1:6379 for one test at a time, and checks that nothing else listens there.
/// `None` means "skip": something we did not start answers on 6379 (never under `CI=true`).
fn default_port() -> Option<MutexGuard<'static, ()>> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if !answers(6379) {
        return Some(guard);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "something listens on 127.0.0.1:6379; under CI=true the default-Redis tests must run"
    );
    eprintln!("skipped: something listens on 127.0.0.1:6379, which the server would use");
    None
}

#[test]
fn each_bad_setting_stops_the_server_naming_the_variable() {
    for (var, value) in [
        ("PORT", "99999"),
        ("HOST", "localhost:1"),
        ("SESSION_TTL_SECS", "0"),
        ("SESSION_ABSOLUTE_TTL_SECS", "60"),
        ("COOKIE_SECURE", "maybe"),
        ("COOKIE_SECURE", ""),
        ("SESSION_KEY_HASHING", ""),
        ("ALLOWED_ORIGINS", "https://*.example.com"),
        ("ALLOWED_ORIGINS", "https://user:pw@app.example.com"),
        ("REDIS_TIMEOUT_MS", "0"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("LOGIN_ATTEMPTS_PER_MINUTE", "many"),
        ("LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT", "-3"),
        ("TRUSTED_PROXIES", "10.0.0.0/8,proxy"),
        ("TRUSTED_PROXIES", "0.0.0.0/0"),
        ("METRICS_ADDR", "9102"),
        ("LOGOUT_REPLICAS", "all"),
    ] {
        let output = run_to_exit(&[(var, value)]);
        assert!(!output.status.success(), "{var}={value} should stop the server");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&format!("error: invalid {var}: ")), "{var}: {stderr}");
    }
}

#[test]
fn an_unreachable_redis_url_stops_the_server() {
    let closed_port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("redis://127.0.0.1:{closed_port}");
    let output = run_to_exit(&[("REDIS_URL", &url), ("PORT", "0")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("error: cannot reach Redis at {url} (REDIS_URL)")), "{stderr}");
}

/// A Redis password never reaches a log line or an error, at any `RUST_LOG`: not when Redis is
/// unreachable, not when the service starts, serves and stops against a Redis that needs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_password_is_never_logged() {
    const SECRET: &str = "hunter2-correct-horse";
    let closed_port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("redis://app:{SECRET}@127.0.0.1:{closed_port}/0");
    let output = run_to_exit(&[("REDIS_URL", &url), ("PORT", "0"), ("RUST_LOG", "trace")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains(&format!("error: cannot reach Redis at redis://127.0.0.1:{closed_port}/0 (REDIS_URL)")),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET), "the password is in the error:\n{stderr}");
    let output = run_to_exit(&[("REDIS_URL", &format!("http://:{SECRET}@x")), ("RUST_LOG", "trace")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error: invalid REDIS_URL: "), "{stderr}");
    assert!(!stderr.contains(SECRET), "the password is in the setting's error:\n{stderr}");

    let redis = PrivateRedis::start().expect("redis");
    let mut admin = admin(&redis).await;
    let _: () = query(&mut admin, &["CONFIG", "SET", "requirepass", SECRET]).await;
    let url = format!("redis://:{SECRET}@127.0.0.1:{}", redis.port());
    let server = Server::start(&[("REDIS_URL", &url), ("PORT", "0"), ("RUST_LOG", "trace")]);
    let response = login(&server, "alice").await;
    let id = session_id(response).await;
    assert_eq!(profile(&server, &id).await.status(), 200);
    let (status, log) = server.stop();
    assert!(status.success(), "{log}");
    assert!(log.contains(&format!("using Redis at redis://127.0.0.1:{} (REDIS_URL)", redis.port())), "{log}");
    assert!(!log.contains(SECRET), "the password is in the log:\n{log}");
}

#[test]
fn a_port_in_use_stops_the_server() {
    let redis = PrivateRedis::start().expect("redis");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let output = run_to_exit(&[("REDIS_URL", &redis.url()), ("PORT", &port)]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("error: cannot listen on 127.0.0.1:{port}")), "{stderr}");
    assert!(stderr.contains("give this one another PORT (PORT=0 picks a free port"), "{stderr}");
}

/// A second instance on one host finds `METRICS_ADDR` taken by the first: the error names the
/// setting and the ways out. With `METRICS_ADDR=127.0.0.1:0` each instance picks a free port,
/// says which, and both serve their metrics.
#[tokio::test]
async fn a_second_instance_on_one_host_needs_its_own_metrics_address() {
    let redis = PrivateRedis::start().expect("redis");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let metrics = taken.local_addr().expect("addr").to_string();
    let output = run_to_exit(&[("REDIS_URL", &redis.url()), ("PORT", "0"), ("METRICS_ADDR", &metrics)]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("error: cannot listen on {metrics} (METRICS_ADDR)")), "{stderr}");
    assert!(stderr.contains("METRICS_ADDR (127.0.0.1:0 picks a free port"), "{stderr}");
    assert!(stderr.contains("METRICS_ADDR=off"), "{stderr}");

    let env = [("REDIS_URL", redis.url()), ("PORT", "0".to_string()), ("METRICS_ADDR", "127.0.0.1:0".into())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (one, two) = (Server::start(&env), Server::start(&env));
    let metrics_url = |server: &Server| {
        let log = server.log();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(url) = server.log().lines().find_map(|line| {
                line.split_once("metrics at ")?.1.split_whitespace().next().map(str::to_string)
            }) {
                return url;
            }
            assert!(Instant::now() < deadline, "no metrics address in the log: {log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let (first, second) = (metrics_url(&one), metrics_url(&two));
    assert_ne!(first, second, "each instance its own port");
    for url in [first, second] {
        let body = reqwest::get(&url).await.expect("GET /metrics").text().await.expect("text");
        assert!(body.contains("session_logins_total"), "{url}: {body}");
    }
}

#[test]
fn without_redis_server_on_path_it_says_how_to_install_it() {
    let Some(_port) = default_port() else { return };
    let empty = tempfile::tempdir().expect("empty dir");
    let path = empty.path().to_str().expect("utf-8 path");
    let output = run_to_exit(&[("PATH", path), ("PORT", "0")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("redis-server was not found on PATH"), "{stderr}");
    assert!(
        stderr.contains("sudo apt-get install -y redis-server") && stderr.contains("brew install redis"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_setting_reaches_the_service() {
    let redis = PrivateRedis::start().expect("redis");
    let mut admin = admin(&redis).await;
    let server = Server::start(&[
        ("REDIS_URL", &redis.url()),
        ("HOST", "127.0.0.2"),
        ("PORT", "0"),
        ("SESSION_TTL_SECS", "60"),
        ("SESSION_ABSOLUTE_TTL_SECS", "90"),
        ("COOKIE_SECURE", "true"),
        ("REDIS_TIMEOUT_MS", "1500"),
    ]);
    // HOST and PORT: bound where it was told, on a port the system picked.
    assert_eq!(server.addr.ip().to_string(), "127.0.0.2");
    assert_ne!(server.addr.port(), 0);
    assert!(
        TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, server.addr.port())),
            Duration::from_millis(200)
        )
        .is_err(),
        "HOST=127.0.0.2 must not listen on 127.0.0.1"
    );

    // SESSION_TTL_SECS and COOKIE_SECURE: the cookie and the key's TTL.
    let response = login(&server, "alice").await;
    let cookie = set_cookie(&response).expect("cookie");
    assert!(cookie.starts_with("__Host-session_id=") && cookie.contains("; Secure"), "{cookie}");
    assert_eq!(max_age(&cookie), 60, "{cookie}");
    let id = session_id(response).await;
    let key = format!("session:{id}");
    let ttl: i64 = query(&mut admin, &["TTL", &key]).await;
    assert!((50..=60).contains(&ttl), "TTL {ttl}, expected the idle lifetime of 60 s");

    // SESSION_ABSOLUTE_TTL_SECS: a session created 85 s ago has at most 5 s left of its 90.
    let aged = (session_storage::store::unix_now() - 85).to_string();
    let _: () = query(&mut admin, &["HSET", &key, "created_at", &aged]).await;
    let secure_profile = |id: &str| {
        plain_client().get(server.url("/profile")).header("cookie", format!("__Host-session_id={id}")).send()
    };
    let response = secure_profile(&id).await.expect("profile");
    assert_eq!(response.status(), 200);
    let left = max_age(&set_cookie(&response).expect("renewed cookie"));
    assert!((1..=5).contains(&left), "Max-Age {left}: the absolute lifetime is 90 s");

    // REDIS_TIMEOUT_MS: a stalled Redis is a 503 after 1.5 s, not after the 0.5 s default.
    redis.pause().expect("SIGSTOP");
    let started = Instant::now();
    let response = secure_profile(&id).await.expect("profile");
    let took = started.elapsed();
    redis.resume().expect("SIGCONT");
    assert_eq!(response.status(), 503);
    assert!(took >= Duration::from_millis(1450), "503 after {took:?}: REDIS_TIMEOUT_MS=1500 was ignored");
    assert!(took < Duration::from_millis(1500 + 500), "503 after {took:?}");

    let response = plain_client()
        .post(server.url("/logout"))
        .header("cookie", format!("__Host-session_id={id}"))
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), 200);
    let (status, log) = server.stop();
    assert!(status.success(), "SIGTERM is a clean exit: {status}\n{log}");
    // The log names sessions by a short prefix only; a full id is a credential.
    assert!(log.contains(&format!("session={}", &id[..8])), "the log should mention the session: {log}");
    assert!(!log.contains(&id), "the log holds a full session id:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_variables_count_as_unset() {
    let redis = PrivateRedis::start().expect("redis");
    let mut env = vec![("REDIS_URL", redis.url()), ("PORT", "0".to_string())];
    // Not COOKIE_SECURE or SESSION_KEY_HASHING: for those an empty value stops the start (below).
    for var in
        ["HOST", "SESSION_TTL_SECS", "SESSION_ABSOLUTE_TTL_SECS", "REDIS_TIMEOUT_MS", "ALLOWED_ORIGINS"]
    {
        env.push((var, String::new()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(&env);
    assert_eq!(server.addr.ip().to_string(), "127.0.0.1");
    let response = login(&server, "alice").await;
    let cookie = set_cookie(&response).expect("cookie");
    assert_eq!(max_age(&cookie), 1800, "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    let (status, _) = server.stop();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unix_socket_redis_url_works() {
    let dir = tempfile::tempdir().expect("dir");
    let socket = dir.path().join("redis.sock");
    let socket = socket.to_str().expect("utf-8");
    let redis =
        PrivateRedis::start_with_args(&["--unixsocket", socket, "--unixsocketperm", "700"]).expect("redis");
    let mut admin = admin(&redis).await;
    let server = Server::start(&[("REDIS_URL", &format!("unix://{socket}")), ("PORT", "0")]);
    assert!(
        server.log().contains(&format!("using Redis at unix://{socket} (REDIS_URL)")),
        "{}",
        server.log()
    );
    let id = session_id(login(&server, "alice").await).await;
    assert_eq!(profile(&server, &id).await.status(), 200);
    let exists: bool = query(&mut admin, &["EXISTS", &format!("session:{id}")]).await;
    assert!(exists, "the session went to the Redis behind the socket");
    let (status, _) = server.stop();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::await_holding_lock, reason = "the lock serialises whole tests, each on its own runtime")]
async fn without_redis_url_it_uses_the_redis_on_6379() {
    let Some(_port) = default_port() else { return };
    let redis = PrivateRedis::start_on_port(6379).expect("a redis-server of ours on 6379");
    let mut admin = admin(&redis).await;
    let server = Server::start(&[("PORT", "0")]);
    assert!(
        server.log().contains("using the Redis already running at redis://127.0.0.1:6379"),
        "{}",
        server.log()
    );
    let id = session_id(login(&server, "alice").await).await;
    let exists: bool = query(&mut admin, &["EXISTS", &format!("session:{id}")]).await;
    assert!(exists, "the session went to the Redis on 6379");
    let (status, _) = server.stop();
    assert!(status.success());
    assert!(answers(6379), "a Redis the binary did not start is left running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::await_holding_lock, reason = "the lock serialises whole tests, each on its own runtime")]
async fn with_no_redis_it_starts_a_private_one_and_stops_it_on_sigterm() {
    let Some(_port) = default_port() else { return };
    let server = Server::start(&[("PORT", "0")]);
    let log = server.log();
    let port: u16 = log
        .split_once("a private redis-server was started on port ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no private redis-server in the log: {log}"));
    assert!(answers(port), "the private redis-server answers on {port}");
    let id = session_id(login(&server, "alice").await).await;
    assert_eq!(profile(&server, &id).await.status(), 200);
    let (status, log) = server.stop();
    assert!(status.success(), "{status}\n{log}");
    assert!(log.contains(&format!("stopping the private redis-server on port {port}")), "{log}");
    assert!(!answers(port), "the private redis-server on {port} outlived the binary");
}

/// A private redis-server counts as started only when the server answering on its port reports
/// the child's PID: one that finds another Redis on its port refuses it instead of adopting it.
#[test]
fn a_private_redis_never_adopts_another_server() {
    let first = PrivateRedis::start().expect("redis");
    let error = PrivateRedis::start_on_port(first.port()).expect_err("the port is held by another server");
    let message = error.to_string();
    assert!(message.contains("held by another redis-server"), "{message}");
    assert!(answers(first.port()), "the first server is untouched");
}

/// One clock: two instances of the service on one Redis, one of them with its clock 9 hours
/// ahead (past the 8-hour absolute lifetime). Sessions are judged by Redis's clock (`TIME`), so
/// both agree: a session created on one is live on the other, and `created_at` is Redis's time.
/// With each instance's own clock, the skewed one would call every session expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_with_skewed_clocks_agree() {
    if !std::path::Path::new(LIBFAKETIME).is_file() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "faketime is missing; CI installs it (apt-get install -y faketime)"
        );
        eprintln!("skipped: faketime is not installed (sudo apt-get install -y faketime)");
        return;
    }
    let redis = PrivateRedis::start().expect("redis");
    let mut admin = admin(&redis).await;
    let env = [("REDIS_URL", redis.url()), ("PORT", "0".to_string())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let honest = Server::start(&env);
    let skewed = Server::start_skewed(Some("+9h"), &env);

    for (created_on, used_on) in [(&honest, &skewed), (&skewed, &honest)] {
        let (before, _micros): (u64, u64) = query(&mut admin, &["TIME"]).await;
        let id = session_id(login(created_on, "alice").await).await;
        let (after, _micros): (u64, u64) = query(&mut admin, &["TIME"]).await;
        let response = get_with_session(&used_on.url("/session"), &id).await;
        assert_eq!(response.status(), 200, "a session is live on both instances");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["expires_in"], 1800, "the full idle TTL, not capped by a skewed clock");
        let created_at = body["created_at"].as_u64().expect("created_at");
        // Redis's second when the login ran, or (the store's estimate at a second's turn) the one before.
        assert!(
            (before.saturating_sub(1)..=after).contains(&created_at),
            "created_at {created_at} is Redis's time ({before} to {after})"
        );
    }
    for server in [honest, skewed] {
        let (status, _) = server.stop();
        assert!(status.success());
    }
}

/// At start the binary raises its open-files limit and logs it with the connection cap. Past the
/// cap, new connections are closed at once, the cap is logged once (not per connection), and
/// once connections finish a normal client is served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_are_closed_and_it_is_logged_once() {
    let redis = PrivateRedis::start().expect("redis");
    let server = Server::start(&[
        ("REDIS_URL", &redis.url()),
        ("PORT", "0"),
        ("MAX_CONNECTIONS", "20"),
        ("HEADER_TIMEOUT_SECS", "60"),
    ]);
    let log = server.log();
    assert!(log.contains("open files: ") && log.contains("at most 20 connections"), "{log}");
    let addr = server.addr;
    let (held, refused) = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut held = Vec::new();
        for _ in 0..20 {
            let mut stream = TcpStream::connect(addr).expect("connect");
            stream.write_all(b"GET /health HTTP/1.1\r\nHost: te").expect("half a request");
            held.push(stream);
        }
        // Let the server take all 20 before the next ones arrive.
        std::thread::sleep(Duration::from_millis(300));
        let mut refused = 0;
        for _ in 0..40 {
            let mut stream = TcpStream::connect(addr).expect("connect");
            stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
            let _ = stream.write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n");
            let mut buffer = [0u8; 64];
            // Closed at once: end of file (or a reset), no answer.
            if matches!(stream.read(&mut buffer), Ok(0) | Err(_)) {
                refused += 1;
            }
        }
        (held, refused)
    })
    .await
    .expect("clients");
    assert_eq!(refused, 40, "every connection past the cap is closed at once");
    drop(held);
    // The held connections are gone: a normal client is served again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match plain_client().get(server.url("/health")).send().await {
            Ok(response) if response.status() == 200 => break,
            _ => assert!(Instant::now() < deadline, "not served again within 10 s"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, log) = server.stop();
    assert!(status.success());
    assert_eq!(log.matches("connection cap reached").count(), 1, "logged once, not per connection:\n{log}");
}

/// SIGTERM while a request is in flight: the listener closes, but the request is answered
/// before the process exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_a_request_in_flight_finish() {
    let redis = PrivateRedis::start().expect("redis");
    let server = Server::start(&[("REDIS_URL", &redis.url()), ("PORT", "0"), ("REDIS_TIMEOUT_MS", "1500")]);
    let id = session_id(login(&server, "alice").await).await;
    // Redis paused: the request waits its 1.5 s deadline, and SIGTERM arrives meanwhile.
    redis.pause().expect("SIGSTOP");
    let url = server.url("/profile");
    let in_flight = tokio::spawn(async move { get_with_session(&url, &id).await.status().as_u16() });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = server.child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let status = in_flight.await.expect("request");
    redis.resume().expect("SIGCONT");
    assert_eq!(status, 503, "the request in flight was answered (Redis stayed paused past its deadline)");
    let (exit, log) = server.stop();
    assert!(exit.success(), "{exit}\n{log}");
}

/// `REDIS_CLUSTER=3` with no `REDIS_URL`: the binary starts a private Redis Cluster, serves on
/// it, and stops every node when it exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_starts_a_private_cluster_and_stops_it_on_sigterm() {
    let server = Server::start(&[("PORT", "0"), ("REDIS_CLUSTER", "3"), ("REDIS_URL", "")]);
    let log = server.log();
    assert!(log.contains("started a private Redis Cluster of 3 masters"), "{log}");
    let port: u16 = log
        .split_once("redis-cli -c -p ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no node port in the log: {log}"));
    assert!(answers(port), "the first node answers on {port}");
    let id = session_id(login(&server, "alice").await).await;
    assert_eq!(profile(&server, &id).await.status(), 200);
    let health = reqwest::get(server.url("/health")).await.expect("health");
    assert_eq!(health.status(), 200);
    let (status, log) = server.stop();
    assert!(status.success(), "{status}\n{log}");
    assert!(log.contains("stopping the private Redis Cluster (3 nodes)"), "{log}");
    assert!(!answers(port), "a node of the private cluster outlived the binary");
}

/// `LOGIN_ATTEMPTS_PER_MINUTE`, `TRUSTED_PROXIES` and `METRICS_ADDR` reach the binary: the third
/// login of one user from one client is a 429, the same user behind the trusted proxy from
/// another address is not, and `/metrics` on its own address (not on the API's) counts both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_and_metrics_settings_reach_the_service() {
    let redis = PrivateRedis::start().expect("redis");
    let metrics_addr = free_metrics_addr();
    let server = Server::start(&[
        ("REDIS_URL", &redis.url()),
        ("PORT", "0"),
        ("LOGIN_ATTEMPTS_PER_MINUTE", "2"),
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("METRICS_ADDR", &metrics_addr),
    ]);
    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(login(&server, "alice").await.status().as_u16());
        }
        statuses
    };
    assert_eq!(statuses, [200, 200, 429]);
    let elsewhere = plain_client()
        .post(server.url("/login"))
        .header("x-forwarded-for", "198.51.100.9")
        .json(&serde_json::json!({"username": "alice", "password": "pw"}))
        .send()
        .await
        .expect("login");
    assert_eq!(elsewhere.status(), 200, "another client behind the trusted proxy");
    let not_public = plain_client().get(server.url("/metrics")).send().await.expect("metrics");
    assert_eq!(not_public.status(), 404, "/metrics is not on the API's address");
    let mut metrics = String::new();
    for _ in 0..50 {
        if let Ok(response) = plain_client().get(format!("http://{metrics_addr}/metrics")).send().await {
            metrics = response.text().await.expect("text");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(metrics.contains("session_logins_total{outcome=\"ok\"} 3"), "{metrics}");
    assert!(metrics.contains("session_logins_total{outcome=\"throttled\"} 1"), "{metrics}");
    let (status, log) = server.stop();
    assert!(status.success(), "{log}");
    assert!(log.contains(&format!("metrics at http://{metrics_addr}/metrics")), "{log}");
}

/// `SERVE_THREADS`: one thread on the main runtime, or several serving threads each with its
/// own Redis connection; either way every request reaches the same store. Twelve logins and
/// their `/profile`s, each on a connection of its own (so the threads share them out), all
/// succeed, and `/metrics` counts all of them, whichever thread served each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_threads_share_one_store_and_one_set_of_metrics() {
    let redis = PrivateRedis::start().expect("redis");
    for threads in ["1", "3"] {
        let metrics_addr = free_metrics_addr();
        let server = Server::start(&[
            ("REDIS_URL", &redis.url()),
            ("PORT", "0"),
            ("SERVE_THREADS", threads),
            ("METRICS_ADDR", &metrics_addr),
            ("LOGIN_ATTEMPTS_PER_MINUTE", "0"),
            ("LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT", "0"),
        ]);
        for n in 0..12 {
            // `login` and `profile` each build a client of their own: a new connection.
            let id = session_id(login(&server, &format!("user{n}")).await).await;
            assert_eq!(profile(&server, &id).await.status(), 200, "SERVE_THREADS={threads}");
        }
        let metrics = plain_client()
            .get(format!("http://{metrics_addr}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        assert!(
            metrics.contains("session_logins_total{outcome=\"ok\"} 12"),
            "SERVE_THREADS={threads}: {metrics}"
        );
        assert!(
            metrics.contains("session_authenticated_requests_total{outcome=\"ok\"} 12"),
            "SERVE_THREADS={threads}: {metrics}"
        );
        let (status, log) = server.stop();
        assert!(status.success(), "{log}");
        let said = log.contains("serving on 3 threads, each with its own Redis connection");
        assert_eq!(said, threads == "3", "SERVE_THREADS={threads}: {log}");
    }
}

/// Idle connections to `METRICS_ADDR` cannot starve the API: the metrics listener holds at most
/// 16 at once (the rest are closed at once), closes the held ones after `HEADER_TIMEOUT_SECS`,
/// and the API answers meanwhile. Any other path there is the API's JSON 404.
#[tokio::test]
async fn idle_connections_to_the_metrics_address_cannot_starve_the_api() {
    use std::io::Read;
    let redis = PrivateRedis::start().expect("redis");
    let metrics = free_metrics_addr();
    let env = [
        ("REDIS_URL", redis.url()),
        ("PORT", "0".into()),
        ("METRICS_ADDR", metrics.clone()),
        ("HEADER_TIMEOUT_SECS", "2".into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(&env);
    let mut idle: Vec<TcpStream> = (0..64).map(|_| TcpStream::connect(&metrics).expect("connect")).collect();
    std::thread::sleep(Duration::from_millis(500));
    // Closed: the end of the stream (after an answer, if the server sent one) or a reset; open:
    // nothing to read within 20 ms.
    let is_closed = |stream: &mut TcpStream| {
        stream.set_read_timeout(Some(Duration::from_millis(20))).expect("timeout");
        let mut buf = [0u8; 512];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) => {
                    return !matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    );
                }
            }
        }
    };
    let closed =
        |streams: &mut Vec<TcpStream>| streams.iter_mut().map(&is_closed).filter(|closed| *closed).count();
    let refused = closed(&mut idle);
    assert!((48..64).contains(&refused), "{refused} of 64 idle connections closed at once; 16 may be held");
    let health = reqwest::get(server.url("/health")).await.expect("the API answers");
    assert_eq!(health.status(), 200);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(closed(&mut idle), 64, "the held ones are closed after the header timeout");
    let missing = reqwest::get(format!("http://{metrics}/nope")).await.expect("GET");
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.expect("a JSON 404");
    assert!(body["detail"].is_string(), "{body}");
}
