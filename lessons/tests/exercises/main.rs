//! The exercise checks: one test per exercise, named `exNNx_...`, so `cargo exercise 02a`
//! runs exactly one (the list is `lessons::EXERCISES`). Each runs your code against a private
//! Redis and compares what it did with the committed snapshot in `tests/snapshots/`; a wrong
//! answer shows the difference, fact by fact.
//!
//! Each lesson's checks are in a file of their own (`l03.rs` for lesson 03), included here so
//! that every check keeps its short name; this file holds what they share.

// With only some lessons' features on (`cargo exercise 04a`), the helpers of the others go unused.
#![cfg_attr(
    not(all(
        feature = "l01",
        feature = "l02",
        feature = "l03",
        feature = "l04",
        feature = "l05",
        feature = "l06",
        feature = "l07",
        feature = "l08",
        feature = "l09",
        feature = "l10",
        feature = "l11"
    )),
    allow(dead_code, unused_imports)
)]

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use common::{lesson_redis, query as cmd, ttl_range_redaction};
#[cfg(feature = "l01")]
use lessons::ex01_hash_basics;
#[cfg(feature = "l02")]
use lessons::ex02_expire;
#[cfg(feature = "l03")]
use lessons::ex03_sliding_ttl;
#[cfg(feature = "l04")]
use lessons::ex04_cookie_flow;
#[cfg(feature = "l05")]
use lessons::ex05_full_server;
#[cfg(feature = "l06")]
use lessons::ex06_every_device;
#[cfg(feature = "l07")]
use lessons::ex07_scale_out;
#[cfg(feature = "l08")]
use lessons::ex08_your_app;
#[cfg(feature = "l09")]
use lessons::ex09_rate_limit;
#[cfg(feature = "l10")]
use lessons::ex10_security_log;
#[cfg(feature = "l11")]
use lessons::ex11_your_data;
use redis::aio::ConnectionManager;
use serde_json::{Value, json};
use session_storage::AppState;
use session_storage::redis::PrivateRedis;
use session_storage::server::serve;
use session_storage::store::{Lifetimes, Session, SessionId, SessionStore, create_session, unix_now};

/// The service's default idle lifetime: 30 minutes.
const IDLE: Duration = Lifetimes::DEFAULT.idle;

fn alice(created_at: u64) -> Session {
    Session::new("user_1", "alice", created_at)
}

/// Every exercise snapshot: no expression line in the header, so the book can include the
/// result from line 4 on.
fn settings() -> insta::internals::SettingsBindDropGuard {
    let mut settings = insta::Settings::clone_current();
    settings.set_omit_expression(true);
    // The checks live in `tests/exercises/`, their answer keys in `tests/snapshots/`.
    settings.set_snapshot_path("../snapshots");
    settings.bind_to_scope()
}

/// How far this process's clock runs ahead of Redis's in a check run by
/// [`with_the_app_clock_ahead`]: 1 h 7 min 13 s. An answer that reads the application's clock
/// (`SystemTime::now()`) where the chapter says "Redis's clock" is off by that much, and its check
/// shows it.
const APP_CLOCK_AHEAD: i64 = 4033;

/// Set in the copy of this test binary that [`with_the_app_clock_ahead`] starts.
const SKEWED: &str = "EXERCISE_APP_CLOCK_AHEAD";

/// Runs the check `test` again in a copy of this test binary whose clock runs
/// [`APP_CLOCK_AHEAD`] seconds ahead (libfaketime, Debian's `faketime` package), and answers
/// `true` when the caller is that copy and should go on with the check. In the first process it
/// answers `false` after the copy has run, failing with the copy's output if the copy failed.
///
/// Without libfaketime the check runs with both clocks agreeing and says that it could not
/// tell them apart (CI sets `EXERCISES_REQUIRE_FAKETIME=1`: there, it fails instead).
fn with_the_app_clock_ahead(test: &str) -> bool {
    if std::env::var_os(SKEWED).is_some() {
        return true;
    }
    let Some(library) = libfaketime() else {
        let help = "install faketime (Debian/Ubuntu: sudo apt-get install -y faketime) so that this \
                    check can move the application's clock away from Redis's";
        assert!(std::env::var_os("EXERCISES_REQUIRE_FAKETIME").is_none(), "libfaketime is missing: {help}");
        eprintln!("note: this check cannot tell Redis's clock from your application's: {help}");
        return true;
    };
    let exe = std::env::current_exe().expect("the test binary");
    let output = std::process::Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads", "1"])
        .env("LD_PRELOAD", library)
        .env("FAKETIME", format!("{APP_CLOCK_AHEAD:+}"))
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env(SKEWED, "1")
        .output()
        .expect("run the check again with the application's clock moved");
    if !output.status.success() {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // The copy's own report, without libtest's lines around it.
        let report: Vec<&str> = stdout
            .lines()
            .chain(stderr.lines())
            .filter(|line| !line.starts_with("running ") && !line.starts_with("test ") && !line.is_empty())
            .filter(|line| !line.starts_with("test result:") && !line.starts_with("failures:"))
            .collect();
        println!("{}", report.join("\n"));
        panic!(
            "not right yet (this check ran your code with the application's clock {APP_CLOCK_AHEAD} s ahead \
             of Redis's; the difference above is what it did then, whatever its cause)"
        );
    }
    // A copy that ran no test (a name that matches nothing) passes too: it must have run this one.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("test {test} ... ok")) && stdout.contains("1 passed"),
        "the copy with the application's clock moved did not run `{test}`:\n{stdout}"
    );
    false
}

/// libfaketime's multi-threaded library where Debian and Fedora put it, or `FAKETIME_LIBRARY`.
fn libfaketime() -> Option<std::path::PathBuf> {
    let arch = std::env::consts::ARCH;
    let known = [
        format!("/usr/lib/{arch}-linux-gnu/faketime/libfaketimeMT.so.1"),
        "/usr/lib64/faketime/libfaketimeMT.so.1".to_string(),
        "/usr/lib/faketime/libfaketimeMT.so.1".to_string(),
        "/usr/local/lib/faketime/libfaketimeMT.so.1".to_string(),
    ];
    std::env::var_os("FAKETIME_LIBRARY")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(known.into_iter().map(std::path::PathBuf::from))
        .find(|path| path.is_file())
}

/// Redaction for unix seconds by Redis's clock: within a minute before `redis_now`.
fn redis_time_redaction(redis_now: u64) -> insta::internals::Redaction {
    insta::dynamic_redaction(move |value, _path| {
        let secs = value.as_str().and_then(|s| s.parse::<u64>().ok()).or_else(|| value.as_u64());
        match secs {
            Some(secs) if secs <= redis_now + 1 && redis_now - secs.min(redis_now) < 60 => {
                insta::internals::Content::from("[unix time, by Redis's clock]")
            }
            _ => common::unexpected(&value, "unix seconds by Redis's clock, within a minute of now"),
        }
    })
}

#[tokio::test]
async fn the_app_clock_can_run_ahead_of_redis() {
    if !with_the_app_clock_ahead("the_app_clock_can_run_ahead_of_redis") {
        return;
    }
    let (_redis, mut con) = lesson_redis().await;
    let behind = unix_now() as i64 - redis_now(&mut con).await as i64;
    if libfaketime().is_some() {
        assert!((APP_CLOCK_AHEAD - 2..=APP_CLOCK_AHEAD + 2).contains(&behind), "the app is {behind} s ahead");
    }
}

async fn hash(con: &mut ConnectionManager, key: &str) -> BTreeMap<String, String> {
    cmd(con, &["hgetall", key]).await
}

/// One round trip a connection made: the commands it carried (each by name, and with all its
/// arguments), and whether they went as one `MULTI`/`EXEC` transaction.
#[derive(Debug, Default)]
struct RoundTrip {
    transaction: bool,
    /// Each command's name, upper-cased: `HSET`.
    commands: Vec<String>,
    /// Each command's arguments, its name first, as sent.
    args: Vec<Vec<String>>,
}

impl RoundTrip {
    fn of<'a>(transaction: bool, cmds: impl Iterator<Item = &'a redis::Cmd>) -> Self {
        let args: Vec<Vec<String>> = cmds.map(command_args).collect();
        let commands =
            args.iter().map(|args| args.first().map(|name| name.to_uppercase()).unwrap_or_default());
        RoundTrip { transaction, commands: commands.collect(), args }
    }
}

/// A connection that records every round trip it forwards, so a check can see not only what
/// reached Redis but how it was grouped, and with which arguments.
struct Recorder<C> {
    inner: C,
    trips: Vec<RoundTrip>,
}

impl<C> Recorder<C> {
    fn new(inner: C) -> Self {
        Recorder { inner, trips: Vec::new() }
    }
}

fn command_args(cmd: &redis::Cmd) -> Vec<String> {
    cmd.args_iter()
        .map(|arg| match arg {
            redis::Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => "<cursor>".to_string(),
        })
        .collect()
}

impl<C: redis::aio::ConnectionLike + Send> redis::aio::ConnectionLike for Recorder<C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        self.trips.push(RoundTrip::of(false, std::iter::once(cmd)));
        self.inner.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        self.trips.push(RoundTrip::of(pipeline.is_transaction(), pipeline.cmd_iter()));
        self.inner.req_packed_commands(pipeline, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

/// Atomic means: every write went in one `MULTI`/`EXEC`, or in one script, and nothing was
/// written outside it. Loading a script (`SCRIPT LOAD`) writes nothing.
fn one_atomic_step(trips: &[RoundTrip]) -> bool {
    let is_script = |c: &String| ["EVAL", "EVALSHA", "FCALL"].contains(&c.as_str());
    let transactions = trips.iter().filter(|t| t.transaction).count();
    let scripts = trips.iter().filter(|t| !t.transaction && t.commands.iter().any(is_script)).count();
    let loose = trips
        .iter()
        .filter(|t| !t.transaction)
        .flat_map(|t| &t.commands)
        .filter(|c| !is_script(c) && c.as_str() != "SCRIPT")
        .count();
    loose == 0 && transactions + scripts >= 1 && (transactions == 0 || (transactions == 1 && scripts == 0))
}

/// Redis's clock (`TIME`), since the unix epoch, to the microsecond.
async fn redis_time(con: &mut ConnectionManager) -> Duration {
    let (secs, micros): (u64, u32) = redis::cmd("TIME").query_async(con).await.expect("TIME");
    Duration::from_secs(secs) + Duration::from_micros(micros.into())
}

/// Redis's clock, in unix seconds: the clock the script judges the absolute lifetime by.
async fn redis_now(con: &mut ConnectionManager) -> u64 {
    redis_time(con).await.as_secs()
}

/// Redis's clock in unix milliseconds, as a script computes it from `TIME`.
async fn redis_now_ms(con: &mut ConnectionManager) -> u64 {
    redis_time(con).await.as_millis() as u64
}

/// A Set-Cookie value, attribute by attribute, so attribute order does not matter.
fn cookie_attributes(value: &axum::http::HeaderValue) -> Value {
    let text = value.to_str().expect("ASCII header");
    let cookie = cookie::Cookie::parse(text.to_string()).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    json!({
        "name": cookie.name(),
        "value": cookie.value(),
        "HttpOnly": cookie.http_only(),
        "SameSite": cookie.same_site().map(|s| s.to_string()),
        "Path": cookie.path(),
        "Max-Age": cookie.max_age().map(|d| d.whole_seconds()),
        "Secure": cookie.secure(),
        "Domain": cookie.domain(),
        "Expires": cookie.expires().is_some(),
    })
}

/// A real rejection from axum's `Json` extractor, for a request with this content type and body.
async fn json_rejection(
    content_type: Option<&str>,
    body: axum::body::Body,
) -> axum::extract::rejection::JsonRejection {
    use axum::extract::FromRequest;
    let mut request = axum::http::Request::builder().method("POST").uri("/login");
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let request = request.body(body).expect("request");
    match axum::Json::<session_storage::http::LoginRequest>::from_request(request, &()).await {
        Ok(_) => panic!("the body was accepted"),
        Err(rejection) => rejection,
    }
}

/// A fixed session id, so that the answer key can name it: `...0001`, `...0002`, ...
fn fixed_id(n: u32) -> SessionId {
    SessionId::parse(&format!("00000000-0000-4000-8000-{n:012}")).expect("canonical")
}

#[test]
fn the_atomicity_check_tells_atomic_from_not() {
    let trip = |transaction: bool, commands: &[&str]| RoundTrip {
        transaction,
        commands: commands.iter().map(|c| c.to_string()).collect(),
        args: commands.iter().map(|c| vec![c.to_string()]).collect(),
    };
    assert!(one_atomic_step(&[trip(true, &["DEL", "HSET", "EXPIRE"])]));
    assert!(one_atomic_step(&[trip(false, &["EVALSHA"])]));
    assert!(one_atomic_step(&[
        trip(false, &["EVALSHA"]),
        trip(false, &["SCRIPT"]),
        trip(false, &["EVALSHA"])
    ]));
    // A plain pipeline is one round trip but not atomic; a transaction with a write outside it
    // leaves a moment where the key exists without its TTL.
    assert!(!one_atomic_step(&[trip(false, &["DEL", "HSET", "EXPIRE"])]));
    assert!(!one_atomic_step(&[trip(true, &["DEL", "HSET"]), trip(false, &["EXPIRE"])]));
    assert!(!one_atomic_step(&[trip(false, &["HSET"]), trip(false, &["EXPIRE"])]));
    assert!(!one_atomic_step(&[trip(true, &["HSET"]), trip(true, &["EXPIRE"])]));
    assert!(!one_atomic_step(&[]));
}

/// A real server: the service's routes plus `extra`, as `session_storage::run` mounts yours.
async fn serve_with_routes(store: SessionStore, extra: Router<AppState>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let router = session_storage::app_with(AppState::new(store), extra);
    tokio::spawn(serve(listener, router, std::future::pending()));
    base
}

/// Status, the renewed cookie's Max-Age (if any) and the body text of one answer.
async fn text_answer(response: reqwest::Response) -> Value {
    let status = response.status().as_u16();
    let max_age = common::set_cookie(&response).map(|c| common::max_age(&c));
    let body = response.text().await.expect("body");
    json!({ "status": status, "cookie_max_age": max_age, "body": body })
}

/// Every check in this file is one of `lessons::EXERCISES` (which is in order), and every
/// exercise has its check, its anchor and both hints: `cargo exercise` lists what is checked.
#[test]
fn every_exercise_is_listed() {
    let sources = [
        include_str!("l01.rs"),
        include_str!("l02.rs"),
        include_str!("l03.rs"),
        include_str!("l04.rs"),
        include_str!("l05.rs"),
        include_str!("l06.rs"),
        include_str!("l07.rs"),
        include_str!("l08.rs"),
        include_str!("l09.rs"),
        include_str!("l10.rs"),
        include_str!("l11.rs"),
    ];
    let mut checks: Vec<&str> = sources
        .iter()
        .flat_map(|source| source.lines())
        .filter_map(|line| line.strip_prefix("async fn ex").map(|_| line))
        .filter_map(|line| line.strip_prefix("async fn ")?.split('(').next())
        .collect();
    checks.sort_unstable();
    let listed: Vec<&str> = lessons::EXERCISES.iter().map(|exercise| exercise.test).collect();
    assert_eq!(checks, listed, "lessons::EXERCISES must list every check, in order");
    let call = regex::Regex::new(r"`[^`]*\w\([^)`]+\)[^`]*`").expect("regex");
    for exercise in lessons::EXERCISES {
        assert!(exercise.test.starts_with(&format!("ex{}_", exercise.id)), "{exercise:?}");
        let source = std::fs::read_to_string(format!("../{}", exercise.file)).expect("starter file");
        assert!(source.contains(&format!("ANCHOR: ex{}", exercise.id)), "no anchor for {}", exercise.id);
        for level in ["nudge", "more", "answer"] {
            let hint = format!("hints/{}/{level}.md", exercise.id);
            assert!(std::path::Path::new(&hint).is_file(), "no {hint}");
        }
        // The first two levels name where to look, the commands, API and shape, but hold no
        // code: no listing and no call with its arguments (`redis.call('TIME')`), which belong
        // to the answer.
        for level in ["nudge", "more"] {
            let hint = std::fs::read_to_string(format!("hints/{}/{level}.md", exercise.id)).expect("hint");
            assert!(!hint.contains("```"), "hints/{}/{level}.md holds a code listing", exercise.id);
            let code = call.find(&hint).map(|found| found.as_str().to_string());
            assert!(code.is_none(), "hints/{}/{level}.md holds code: {code:?}", exercise.id);
        }
        // The answer is a listing that compiles against today's API and passes the check
        // (`--features hints`, see build.rs), with words around it.
        let answer = std::fs::read_to_string(format!("hints/{}/answer.md", exercise.id)).expect("answer.md");
        assert!(answer.contains("```rust"), "hints/{}/answer.md has no ```rust listing", exercise.id);
    }
}

/// Redis's own count of each command since the last `CONFIG RESETSTAT`.
async fn command_counts(con: &mut ConnectionManager) -> BTreeMap<String, u64> {
    let info: String = cmd(con, &["INFO", "commandstats"]).await;
    session_storage::workbook::parse_commandstats(&info)
}

#[cfg(feature = "l01")]
include!("l01.rs");

#[cfg(feature = "l02")]
include!("l02.rs");

#[cfg(feature = "l03")]
include!("l03.rs");

#[cfg(feature = "l04")]
include!("l04.rs");

#[cfg(feature = "l05")]
include!("l05.rs");

#[cfg(feature = "l06")]
include!("l06.rs");

#[cfg(feature = "l07")]
include!("l07.rs");

#[cfg(feature = "l08")]
include!("l08.rs");

#[cfg(feature = "l09")]
include!("l09.rs");

#[cfg(feature = "l10")]
include!("l10.rs");

#[cfg(feature = "l11")]
include!("l11.rs");
