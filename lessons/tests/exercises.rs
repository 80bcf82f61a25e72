//! The exercise checks: one test per exercise, named `exNNx_...`, so `cargo exercise 02a`
//! runs exactly one (the list is `lessons::EXERCISES`). Each runs your code against a private Redis and compares what it did with
//! the committed snapshot in `tests/snapshots/`; a wrong answer shows the difference.

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
        feature = "l10"
    )),
    allow(dead_code, unused_imports)
)]

#[path = "../../tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use common::{lesson_redis, query as cmd, ttl_range_redaction, ttl_redaction, unix_time_redaction};
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
use redis::aio::ConnectionManager;
use serde_json::{Value, json};
use session_storage::store::{Session, SessionId, create_session, unix_now};
use session_storage::{AppState, Lifetimes, PrivateRedis, SessionStore, serve};

/// The service's defaults: 30 idle minutes, 8 hours at most.
const IDLE: Duration = Lifetimes::DEFAULT.idle;
const ABSOLUTE: Duration = Lifetimes::DEFAULT.absolute;

fn alice(created_at: u64) -> Session {
    Session { user_id: "user_1".into(), username: "alice".into(), created_at }
}

/// Every exercise snapshot: no expression line in the header, so the book can include the
/// result from line 4 on.
fn settings() -> insta::internals::SettingsBindDropGuard {
    let mut settings = insta::Settings::clone_current();
    settings.set_omit_expression(true);
    settings.bind_to_scope()
}

async fn hash(con: &mut ConnectionManager, key: &str) -> BTreeMap<String, String> {
    cmd(con, &["hgetall", key]).await
}

#[cfg(feature = "l01")]
#[tokio::test]
async fn ex01a_session_fields() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let session = alice(1_700_000_000);
    let fields = ex01_hash_basics::session_fields(&session);
    let mut hset = vec!["HSET".to_string(), "ex01:session".to_string()];
    for (field, value) in &fields {
        hset.push(field.to_string());
        hset.push(value.clone());
    }
    let hset: Vec<&str> = hset.iter().map(String::as_str).collect();
    let added: u64 = cmd(&mut con, &hset).await;
    let pairs: Vec<(String, String)> = fields.iter().map(|(f, v)| (f.to_string(), v.clone())).collect();
    let outcome = json!({
        "fields": pairs,
        "hset_added": added,
        "hgetall": hash(&mut con, "ex01:session").await,
    });
    insta::assert_yaml_snapshot!("ex01a_session_fields", outcome);
}

#[cfg(feature = "l01")]
#[tokio::test]
async fn ex01b_session_from_fields() {
    let _settings = settings();
    let full: HashMap<String, String> =
        [("user_id", "user_1"), ("username", "alice"), ("created_at", "1700000000")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let without = |field: &str| {
        let mut map = full.clone();
        map.remove(field);
        map
    };
    let mut not_a_number = full.clone();
    not_a_number.insert("created_at".into(), "yesterday".into());
    let mut extra = full.clone();
    extra.insert("last_seen".into(), "1700000100".into());
    let cases = [
        ("all three fields", full.clone()),
        ("an extra field", extra),
        ("empty (missing key)", HashMap::new()),
        ("no user_id", without("user_id")),
        ("no username", without("username")),
        ("no created_at", without("created_at")),
        ("created_at not a number", not_a_number),
    ];
    let results: Vec<Value> = cases
        .iter()
        .map(|(name, map)| json!({ "case": name, "session": ex01_hash_basics::session_from_fields(map) }))
        .collect();
    insta::assert_yaml_snapshot!("ex01b_session_from_fields", results);
}

#[cfg(feature = "l01")]
#[tokio::test]
async fn ex01c_username_of() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let _: () = cmd(&mut con, &["HSET", "ex01:session", "user_id", "user_1", "username", "alice"]).await;
    let _: () = cmd(&mut con, &["HSET", "ex01:nameless", "user_id", "user_2"]).await;
    let mut recorder = Recorder { inner: con.clone(), trips: Vec::new() };
    let outcome = json!({
        "a session": ex01_hash_basics::username_of(&mut recorder, "ex01:session").await.expect("HGET"),
        "a hash without the field": ex01_hash_basics::username_of(&mut recorder, "ex01:nameless").await.expect("HGET"),
        "no such key": ex01_hash_basics::username_of(&mut recorder, "ex01:missing").await.expect("HGET"),
        "commands sent": recorder.trips.iter().flat_map(|t| t.commands.clone()).collect::<Vec<_>>(),
    });
    insta::assert_yaml_snapshot!("ex01c_username_of", outcome);
}

#[cfg(feature = "l02")]
#[tokio::test]
async fn ex02a_ttl_state() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let _: () = cmd(&mut con, &["SET", "ex02:forever", "v"]).await;
    let _: () = cmd(&mut con, &["SET", "ex02:expiring", "v", "EX", "600"]).await;
    let outcome = json!({
        "missing": ex02_expire::ttl_state(&mut con, "ex02:missing").await.expect("TTL"),
        "forever": ex02_expire::ttl_state(&mut con, "ex02:forever").await.expect("TTL"),
        "expiring": ex02_expire::ttl_state(&mut con, "ex02:expiring").await.expect("TTL"),
    });
    insta::assert_yaml_snapshot!("ex02a_ttl_state", outcome, {
        ".expiring.ExpiresIn.secs" => ttl_redaction(600),
    });
}

/// One round trip a connection made: the command names it carried, and whether they went as
/// one `MULTI`/`EXEC` transaction.
#[derive(Debug, Default)]
struct RoundTrip {
    transaction: bool,
    commands: Vec<String>,
}

/// A connection that records every round trip it forwards, so a check can see not only what
/// reached Redis but how it was grouped.
struct Recorder<C> {
    inner: C,
    trips: Vec<RoundTrip>,
}

fn command_name(cmd: &redis::Cmd) -> String {
    match cmd.args_iter().next() {
        Some(redis::Arg::Simple(name)) => String::from_utf8_lossy(name).to_uppercase(),
        _ => String::new(),
    }
}

impl<C: redis::aio::ConnectionLike + Send> redis::aio::ConnectionLike for Recorder<C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        self.trips.push(RoundTrip { transaction: false, commands: vec![command_name(cmd)] });
        self.inner.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        let commands = pipeline.cmd_iter().map(command_name).collect();
        self.trips.push(RoundTrip { transaction: pipeline.is_transaction(), commands });
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

#[cfg(feature = "l02")]
#[tokio::test]
async fn ex02b_create_session_atomically() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let _: () = cmd(&mut con, &["HSET", "ex02:old", "user_id", "user_1"]).await;
    let session = alice(unix_now());
    let mut recorder = Recorder { inner: con.clone(), trips: Vec::new() };
    ex02_expire::create_session(&mut recorder, "ex02:new", &session, IDLE, Some("ex02:old"))
        .await
        .expect("create_session");
    let atomic = one_atomic_step(&recorder.trips);
    let ttl: i64 = cmd(&mut con, &["TTL", "ex02:new"]).await;
    let old_exists: bool = cmd(&mut con, &["EXISTS", "ex02:old"]).await;
    let outcome = json!({
        "one_atomic_step": atomic,
        "new_session": hash(&mut con, "ex02:new").await,
        "new_session_ttl": ttl,
        "old_session_exists": old_exists,
    });
    insta::assert_yaml_snapshot!("ex02b_create_session", outcome, {
        ".new_session.created_at" => unix_time_redaction(),
        ".new_session_ttl" => ttl_redaction(1800),
    });
}

#[cfg(feature = "l02")]
#[tokio::test]
async fn ex02c_ttls_in_one_round_trip() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let _: () = cmd(&mut con, &["SET", "ex02:forever", "v"]).await;
    let _: () = cmd(&mut con, &["SET", "ex02:expiring", "v", "EX", "600"]).await;
    let keys: Vec<String> = ["ex02:missing", "ex02:forever", "ex02:expiring"].map(String::from).to_vec();
    let mut recorder = Recorder { inner: con.clone(), trips: Vec::new() };
    let ttls = ex02_expire::ttls(&mut recorder, &keys).await.expect("TTLs");
    let none = ex02_expire::ttls(&mut recorder, &[]).await.expect("no keys");
    let outcome = json!({
        "ttls": ttls,
        "round_trips": recorder.trips.len(),
        "commands": recorder.trips.iter().flat_map(|t| t.commands.clone()).collect::<Vec<_>>(),
        "no_keys": none,
    });
    insta::assert_yaml_snapshot!("ex02c_ttls", outcome, {
        ".ttls[2]" => ttl_redaction(600),
    });
}

/// Redis's clock, in unix seconds: the clock the script judges the absolute lifetime by.
async fn redis_now(con: &mut ConnectionManager) -> u64 {
    let (secs, _micros): (u64, u64) = redis::cmd("TIME").query_async(con).await.expect("TIME");
    secs
}

#[cfg(feature = "l03")]
#[tokio::test]
async fn ex03a_touch() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let now = redis_now(&mut con).await;
    create_session(&mut con, "ex03:live", &alice(now), IDLE, None).await.expect("create");
    let _: () = cmd(&mut con, &["PEXPIRE", "ex03:live", "5000"]).await;
    let renewed = ex03_sliding_ttl::touch(&mut con, "ex03:live", IDLE, ABSOLUTE).await.expect("touch");
    let live_ttl: i64 = cmd(&mut con, &["TTL", "ex03:live"]).await;
    let live_fields = hash(&mut con, "ex03:live").await;

    let missing = ex03_sliding_ttl::touch(&mut con, "ex03:gone", IDLE, ABSOLUTE).await.expect("touch");
    let missing_exists: bool = cmd(&mut con, &["EXISTS", "ex03:gone"]).await;

    let _: () = cmd(&mut con, &["HSET", "ex03:partial", "last_seen", "1700000000"]).await;
    let partial = ex03_sliding_ttl::touch(&mut con, "ex03:partial", IDLE, ABSOLUTE).await.expect("touch");
    let partial_fields = hash(&mut con, "ex03:partial").await;

    // The absolute cap, by Redis's clock: 5 s left, none left, and a young session.
    let absolute = ABSOLUTE.as_secs();
    create_session(&mut con, "ex03:old", &alice(now - absolute + 5), IDLE, None).await.expect("create");
    let capped = ex03_sliding_ttl::touch(&mut con, "ex03:old", IDLE, ABSOLUTE).await.expect("touch");
    let capped_ttl: i64 = cmd(&mut con, &["TTL", "ex03:old"]).await;
    create_session(&mut con, "ex03:over", &alice(now - absolute), IDLE, None).await.expect("create");
    let over = ex03_sliding_ttl::touch(&mut con, "ex03:over", IDLE, ABSOLUTE).await.expect("touch");
    let over_exists: bool = cmd(&mut con, &["EXISTS", "ex03:over"]).await;
    create_session(&mut con, "ex03:young", &alice(now - 60), IDLE, None).await.expect("create");
    let young = ex03_sliding_ttl::touch(&mut con, "ex03:young", IDLE, ABSOLUTE).await.expect("touch");

    let outcome = json!({
        "live": renewed.as_ref().map(|t| json!({"session": t.session, "ttl_secs": t.ttl_secs})),
        "live_ttl_in_redis": live_ttl,
        "live_fields_unchanged": live_fields,
        "missing": missing.map(|t| t.ttl_secs),
        "missing_exists_afterwards": missing_exists,
        "partial": partial.map(|t| t.ttl_secs),
        "partial_fields_added": partial_fields.keys().filter(|k| *k != "last_seen").collect::<Vec<_>>(),
        "five_seconds_left_ttl_set": capped.map(|t| t.ttl_secs),
        "five_seconds_left_ttl_in_redis": capped_ttl,
        "lifetime_used_up": over.map(|t| t.ttl_secs),
        "lifetime_used_up_key_exists": over_exists,
        "minute_old_ttl_set": young.map(|t| t.ttl_secs),
    });
    insta::assert_yaml_snapshot!("ex03a_touch", outcome, {
        ".live.session.created_at" => unix_time_redaction(),
        ".live_fields_unchanged.created_at" => unix_time_redaction(),
        ".live_ttl_in_redis" => ttl_redaction(1800),
        // Redis's second may tick between the TIME above and the script's: 4 or 5 left.
        ".five_seconds_left_ttl_set" => ttl_range_redaction(3, 5),
        ".five_seconds_left_ttl_in_redis" => ttl_range_redaction(3, 5),
    });
}

#[cfg(feature = "l03")]
#[tokio::test]
async fn ex03b_user_ids_are_stable() {
    let _settings = settings();
    let names = [
        "alice",
        "Alice",
        "carol",
        "Zoë Ångström",
        "a name of sixty-four characters is the longest one allowed....",
    ];
    let ids: Vec<_> = names
        .iter()
        .map(|name| json!({"username": name, "user_id": ex03_sliding_ttl::user_id_for(name)}))
        .collect();
    let again: Vec<_> = names.iter().map(|name| ex03_sliding_ttl::user_id_for(name)).collect();
    let first: Vec<_> = ids.iter().map(|entry| entry["user_id"].clone()).collect();
    let outcome = json!({
        "ids": ids,
        "same_name_same_id": first.iter().zip(&again).all(|(one, two)| one == two),
        "every_id_fits_96_bits": again.iter().all(|id| id
            .strip_prefix("user_")
            .and_then(|digits| digits.parse::<u128>().ok())
            .is_some_and(|n| n < 1 << 96)),
    });
    insta::assert_yaml_snapshot!("ex03b_user_id_for", outcome);
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

#[cfg(feature = "l04")]
#[tokio::test]
async fn ex04a_session_cookie() {
    let _settings = settings();
    let id = SessionId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").expect("canonical");
    let outcome = json!({
        "plain_http": cookie_attributes(&ex04_cookie_flow::session_cookie(&id, IDLE, false)),
        "secure_five_minutes_left": cookie_attributes(&ex04_cookie_flow::session_cookie(&id, Duration::from_secs(300), true)),
    });
    insta::assert_yaml_snapshot!("ex04a_session_cookie", outcome);
}

#[cfg(feature = "l04")]
#[tokio::test]
async fn ex04b_clear_session_cookie() {
    let _settings = settings();
    let outcome = json!({
        "plain_http": cookie_attributes(&ex04_cookie_flow::clear_session_cookie(false)),
        "secure": cookie_attributes(&ex04_cookie_flow::clear_session_cookie(true)),
    });
    insta::assert_yaml_snapshot!("ex04b_clear_session_cookie", outcome);
}

#[cfg(feature = "l04")]
#[tokio::test]
async fn ex04c_read_session_cookies() {
    use axum::http::{HeaderMap, HeaderValue, header::COOKIE};
    let _settings = settings();
    let ids = [
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "16fd2706-8baf-433b-82eb-8c7fada847da",
        "886313e1-3b8a-4372-9b90-0c9aee199e5d",
        "a3bb189e-8bf9-4888-9912-ace4e6543002",
        "b5c1d7e2-0f3a-4c6b-8d9e-1f2a3b4c5d6e",
        "c0ffee00-1234-4abc-9def-0123456789ab",
        "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6",
        "e9f8a7b6-c5d4-4e3f-a2b1-c0d9e8f7a6b5",
    ];
    let [a, b, c, d, ..] = ids;
    let cases: Vec<(&str, bool, Vec<Vec<u8>>)> = vec![
        ("no Cookie header", false, vec![]),
        ("other cookies only", false, vec![b"theme=dark; lang=en".to_vec()]),
        ("among other cookies", false, vec![format!("theme=dark; session_id={a}; lang=en").into_bytes()]),
        (
            "in the second Cookie header",
            false,
            vec![b"theme=dark".to_vec(), format!("session_id={a}").into_bytes()],
        ),
        ("not a session id", false, vec![b"session_id=not-an-id".to_vec()]),
        ("upper-case id", false, vec![format!("session_id={}", a.to_uppercase()).into_bytes()]),
        ("a planted one first", false, vec![format!("session_id={b}; session_id={a}").into_bytes()]),
        (
            "in two headers",
            false,
            vec![format!("session_id={a}").into_bytes(), format!("session_id={b}").into_bytes()],
        ),
        ("the same id twice", false, vec![format!("session_id={a}; session_id={a}").into_bytes()]),
        (
            "garbage between",
            false,
            vec![format!("session_id=x; session_id={a}; session_id=; session_id={b}").into_bytes()],
        ),
        (
            "four of them",
            false,
            vec![format!("session_id={a}; session_id={b}; session_id={c}; session_id={d}").into_bytes()],
        ),
        (
            "nine of them: at most eight",
            false,
            vec![ids.iter().map(|id| format!("session_id={id}")).collect::<Vec<_>>().join("; ").into_bytes()],
        ),
        (
            "after a cookie whose value is UTF-8",
            false,
            vec![format!("theme=caf\u{e9}; session_id={a}").into_bytes()],
        ),
        (
            "after a cookie that is not even UTF-8",
            false,
            vec![[&b"x=\xff\xfe; "[..], format!("session_id={a}").as_bytes()].concat()],
        ),
        (
            "a header that is not text",
            false,
            vec![b"session_id=\xff".to_vec(), format!("session_id={a}").into_bytes()],
        ),
        ("secure: only __Host-", true, vec![format!("session_id={b}; __Host-session_id={a}").into_bytes()]),
    ];
    let results: Vec<Value> = cases
        .into_iter()
        .map(|(case, secure, values)| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(COOKIE, HeaderValue::from_bytes(&value).expect("a header value"));
            }
            let found: Vec<String> = ex04_cookie_flow::read_session_cookies(&headers, secure)
                .iter()
                .map(|id| {
                    let id = id.to_string();
                    let n = ids.iter().position(|known| *known == id).map_or(0, |i| i + 1);
                    format!("id {n}")
                })
                .collect();
            json!({ "case": case, "ids": found })
        })
        .collect();
    insta::assert_yaml_snapshot!("ex04c_read_session_cookies", results);
}

#[cfg(feature = "l05")]
#[tokio::test]
async fn ex05b_session_route() {
    let _settings = settings();
    let (_redis, con) = lesson_redis().await;
    let store = SessionStore::new(con, Lifetimes::DEFAULT, Duration::from_secs(2)).await.expect("store");
    let router = Router::new()
        .route("/login", post(session_storage::http::login))
        .route("/session", get(ex05_full_server::session_info))
        .layer(axum::middleware::from_fn(session_storage::renew_cookie))
        .with_state(AppState::new(store));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(serve(listener, router, std::future::pending()));
    let client = common::browser();
    client
        .post(format!("{base}/login"))
        .json(&json!({"username": "alice", "password": "pw"}))
        .send()
        .await
        .expect("login");
    let response = client.get(format!("{base}/session")).send().await.expect("GET /session");
    let status = response.status().as_u16();
    let max_age = common::set_cookie(&response).map(|c| common::max_age(&c));
    let body: Value = response.json().await.expect("JSON");
    let anonymous = reqwest::get(format!("{base}/session")).await.expect("GET /session");
    let anonymous_status = anonymous.status().as_u16();
    let anonymous_body: Value = anonymous.json().await.expect("JSON");
    let outcome = json!({
        "with_cookie": { "status": status, "cookie_max_age": max_age, "body": body },
        "without_cookie": { "status": anonymous_status, "body": anonymous_body },
    });
    insta::assert_yaml_snapshot!("ex05b_session_route", outcome, {
        ".with_cookie.body.created_at" => unix_time_redaction(),
    });
}

#[cfg(feature = "l05")]
#[tokio::test]
async fn ex05a_validate_username() {
    let _settings = settings();
    let names = [
        "alice".to_string(),
        "Zoë".to_string(),
        String::new(),
        "a".repeat(64),
        "a".repeat(65),
        "é".repeat(64),
        "tab\there".to_string(),
        "new\nline".to_string(),
        "nul\0".to_string(),
    ];
    let results: Vec<Value> = names
        .iter()
        .map(|name| {
            let shown = if name.chars().count() > 12 {
                format!("{} x{}", name.chars().next().unwrap_or(' '), name.chars().count())
            } else {
                format!("{name:?}")
            };
            json!({ "username": shown, "answer": ex05_full_server::validate_username(name) })
        })
        .collect();
    insta::assert_yaml_snapshot!("ex05a_validate_username", results);
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

#[cfg(feature = "l05")]
#[tokio::test]
async fn ex05c_error_status() {
    use axum::body::Body;
    use session_storage::{ApiError, Unavailable};
    let _settings = settings();
    let json = Some("application/json");
    let broken =
        futures_util::stream::iter([Err::<axum::body::Bytes, _>(std::io::Error::other("connection reset"))]);
    let errors: Vec<(&str, ApiError)> = vec![
        ("no session", ApiError::InvalidSession),
        ("bad username", ApiError::InvalidUsername("username must be 1 to 64 characters".into())),
        ("no such route", ApiError::NotFound),
        ("no such method", ApiError::MethodNotAllowed),
        ("request too long", ApiError::RequestTimeout),
        ("Redis failed", ApiError::Unavailable(Unavailable::Redis(std::io::Error::other("refused").into()))),
        ("body: not JSON", ApiError::BadBody(json_rejection(Some("text/plain"), Body::from("{}")).await)),
        ("body: no content type", ApiError::BadBody(json_rejection(None, Body::from("{}")).await)),
        ("body: broken JSON", ApiError::BadBody(json_rejection(json, Body::from("{\"username\":")).await)),
        ("body: not a login", ApiError::BadBody(json_rejection(json, Body::from("[1, 2]")).await)),
        (
            "body: over the limit",
            ApiError::BadBody(json_rejection(json, Body::from(vec![b' '; 3 << 20])).await),
        ),
        ("body: unreadable", ApiError::BadBody(json_rejection(json, Body::from_stream(broken)).await)),
    ];
    let results: Vec<Value> = errors
        .iter()
        .map(
            |(case, error)| json!({ "case": case, "status": ex05_full_server::error_status(error).as_u16() }),
        )
        .collect();
    insta::assert_yaml_snapshot!("ex05c_error_status", results);
}

#[cfg(feature = "l05")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex05d_logout_keeps_the_cookie_when_redis_is_down() {
    let _settings = settings();
    let redis = PrivateRedis::start().expect("redis");
    let con = session_storage::connect(&redis.url(), Duration::from_millis(300)).await.expect("connect");
    let mut admin = con.clone();
    let store = SessionStore::new(con, Lifetimes::DEFAULT, Duration::from_millis(300)).await.expect("store");
    let router = Router::new()
        .route("/login", post(session_storage::http::login))
        .route("/logout", post(ex05_full_server::logout))
        .with_state(AppState::new(store));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(serve(listener, router, std::future::pending()));
    let client = common::plain_client();
    let login = |name: &'static str| {
        client.post(format!("{base}/login")).json(&json!({"username": name, "password": "pw"})).send()
    };
    let logout = |cookie: Option<String>| {
        let request = client.post(format!("{base}/logout"));
        match cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        }
        .send()
    };
    async fn answer(response: reqwest::Response) -> Value {
        let status = response.status().as_u16();
        let set_cookie = common::set_cookie(&response);
        let body: Value = response.json().await.expect("JSON");
        json!({ "status": status, "set_cookie": set_cookie, "body": body })
    }
    let session_of =
        |body: &Value| format!("session_id={}", body["session_id"].as_str().expect("session_id"));

    let alice: Value = login("alice").await.expect("login").json().await.expect("JSON");
    let live = answer(logout(Some(session_of(&alice))).await.expect("logout")).await;
    let alice_key = format!("session:{}", alice["session_id"].as_str().expect("id"));
    let left_in_redis: bool = cmd(&mut admin, &["EXISTS", &alice_key]).await;
    let anonymous = answer(logout(None).await.expect("logout")).await;

    let bob: Value = login("bob").await.expect("login").json().await.expect("JSON");
    redis.pause().expect("SIGSTOP");
    let down = answer(logout(Some(session_of(&bob))).await.expect("logout")).await;
    redis.resume().expect("SIGCONT");

    let outcome = json!({
        "with a session": live,
        "the session left in Redis": left_in_redis,
        "without a session": anonymous,
        "while Redis does not answer": down,
    });
    insta::assert_yaml_snapshot!("ex05d_logout", outcome);
}

/// A fixed session id, so that the answer key can name it: `...0001`, `...0002`, ...
fn fixed_id(n: u32) -> SessionId {
    SessionId::parse(&format!("00000000-0000-4000-8000-{n:012}")).expect("canonical")
}

#[cfg(feature = "l06")]
#[tokio::test]
async fn ex06a_index_session() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let index = "ex06:user:{user_1}:sessions";
    let now_ms = redis_now(&mut con).await * 1000;
    // An entry whose absolute expiry passed a second ago: the first write must drop it.
    let past = (now_ms - 1000).to_string();
    let _: u64 = cmd(&mut con, &["ZADD", index, &past, &fixed_id(99).to_string()]).await;
    let mut recorder = Recorder { inner: con.clone(), trips: Vec::new() };
    let mut logins = Vec::new();
    let mut clock_ok = true;
    for n in 1..=4 {
        let indexed = ex06_every_device::index_session(&mut recorder, index, &fixed_id(n), ABSOLUTE, 3, None)
            .await
            .expect("index_session");
        clock_ok &= indexed.now_ms.abs_diff(now_ms) < 5_000;
        let named: Vec<String> = indexed.evicted.iter().map(SessionId::to_string).collect();
        logins.push(json!({"added": fixed_id(n).to_string(), "named_beyond_the_bound": named}));
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let atomic = recorder.trips.len() >= 4 && one_atomic_step(&recorder.trips);
    let after_four: Vec<String> = cmd(&mut con, &["ZRANGE", index, "0", "-1"]).await;
    // The caller ends the named session and takes it out; then a login that replaces the
    // browser's previous session (fixation): the replaced one leaves the index.
    let _: u64 = cmd(&mut con, &["ZREM", index, &fixed_id(1).to_string()]).await;
    let replacing =
        ex06_every_device::index_session(&mut con, index, &fixed_id(5), ABSOLUTE, 3, Some(&fixed_id(4)))
            .await
            .expect("index_session replacing");
    let entries: Vec<(String, f64)> = cmd(&mut con, &["ZRANGE", index, "0", "-1", "WITHSCORES"]).await;
    let scores_ok = entries.iter().all(|(_, score)| (*score as u64).abs_diff(now_ms + 28_800_000) < 5_000);
    let pttl: i64 = cmd(&mut con, &["PTTL", index]).await;
    let largest = entries.iter().map(|(_, score)| *score as i64).max().unwrap_or(0);
    let expires_with_largest = (largest - now_ms as i64 - pttl).abs() < 5_000;
    // An entry that outlives the new one, with a fractional score (a score is a double, and
    // any writer may store one): the index must expire with it, the largest score, not with
    // the entry just added, and `PEXPIREAT` must get whole milliseconds.
    let other = "ex06:user:{user_2}:sessions";
    let longer = format!("{}.5", now_ms + 2 * 28_800_000);
    let _: u64 = cmd(&mut con, &["ZADD", other, &longer, &fixed_id(7).to_string()]).await;
    let beside_a_longer_entry =
        ex06_every_device::index_session(&mut con, other, &fixed_id(8), ABSOLUTE, 3, None).await;
    let other_pttl: i64 = cmd(&mut con, &["PTTL", other]).await;
    let expires_with_the_longer_entry = (2 * 28_800_000 - other_pttl).abs() < 5_000;
    let outcome = json!({
        "logins_with_max_3": logins,
        "each_in_one_atomic_step": atomic,
        "now_is_redis_clock_in_ms": clock_ok,
        "named_entries_stay_until_the_caller_removes_them": after_four,
        "replacing_the_4th_with_the_5th": {
            "named": replacing.evicted.iter().map(SessionId::to_string).collect::<Vec<_>>(),
        },
        "members": entries.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        "scores_are_now_plus_absolute_ms": scores_ok,
        "index_expires_at_its_largest_score": expires_with_largest,
        "beside_an_entry_that_lives_longer": {
            "added": beside_a_longer_entry.as_ref().map(|_| "ok").map_err(ToString::to_string),
            "index_expires_with_the_longer_entry": expires_with_the_longer_entry,
        },
    });
    insta::assert_yaml_snapshot!("ex06a_index_session", outcome);
}

#[cfg(feature = "l06")]
#[tokio::test]
async fn ex06b_handle() {
    let _settings = settings();
    let ids =
        [fixed_id(1), fixed_id(2), SessionId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").expect("id")];
    let handles: Vec<(String, String)> =
        ids.iter().map(|id| (id.to_string(), ex06_every_device::handle(id))).collect();
    let stable = ids.iter().all(|id| ex06_every_device::handle(id) == ex06_every_device::handle(id));
    insta::assert_yaml_snapshot!("ex06b_handle", json!({"handles": handles, "stable": stable}));
}

#[cfg(feature = "l07")]
#[tokio::test]
async fn ex07a_hash_slot() {
    let _settings = settings();
    let cluster = session_storage::PrivateCluster::start(3).expect("a private cluster");
    let mut con = session_storage::connect(&cluster.urls()[0], Duration::from_secs(2)).await.expect("node");
    let keys = [
        "foo",
        "session:0f8fad5b-d9cb-469f-a165-70867728950e",
        "users:ids",
        "users:next_id",
        "{users}:ids",
        "{users}:next_id",
        "user:{user_1}:sessions",
        "{}empty-tag",
        "a{b}{c}",
        "{unclosed",
        "",
    ];
    let mut slots = Vec::new();
    let mut all_match = true;
    for key in keys {
        let yours = ex07_scale_out::hash_slot(key);
        let redis_says: u16 = cmd(&mut con, &["CLUSTER", "KEYSLOT", key]).await;
        all_match &= yours == redis_says;
        slots.push(json!({"key": key, "slot": yours}));
    }
    insta::assert_yaml_snapshot!(
        "ex07a_hash_slot",
        json!({"slots": slots, "every_slot_matches_cluster_keyslot": all_match})
    );
}

#[cfg(feature = "l07")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex07b_delete_all_on_a_cluster() {
    let _settings = settings();
    let cluster = session_storage::PrivateCluster::start(3).expect("a private cluster");
    let con =
        session_storage::connect_cluster(&cluster.urls(), Duration::from_secs(2)).await.expect("cluster");
    let keys: Vec<String> = (0..30).map(|n| format!("ex07:session:{n:02}")).collect();
    let mut writer = con.clone();
    for key in &keys[..20] {
        let _: () = cmd(&mut writer, &["SET", key, "1"]).await;
    }
    let shards: std::collections::BTreeSet<u16> =
        keys[..20].iter().map(|key| session_storage::hash_slot(key) / 5461).collect();
    let deleted = ex07_scale_out::delete_all(&con, &keys).await;
    let mut left = 0;
    for key in &keys {
        let exists: u64 = cmd(&mut writer, &["EXISTS", key]).await;
        left += exists;
    }
    let none = ex07_scale_out::delete_all(&con, &[]).await;
    insta::assert_yaml_snapshot!(
        "ex07b_delete_all",
        json!({
            "keys_written_on_shards": shards.len(),
            "deleted": deleted.map_err(|e| e.to_string()),
            "left": left,
            "no_keys": none.map_err(|e| e.to_string()),
        })
    );
}

#[test]
fn the_atomicity_check_tells_atomic_from_not() {
    let trip = |transaction: bool, commands: &[&str]| RoundTrip {
        transaction,
        commands: commands.iter().map(|c| c.to_string()).collect(),
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

#[cfg(feature = "l08")]
#[tokio::test]
async fn ex08a_a_route_of_your_own() {
    let _settings = settings();
    let (_redis, con) = lesson_redis().await;
    let store = SessionStore::new(con, Lifetimes::DEFAULT, Duration::from_secs(2)).await.expect("store");
    let base = serve_with_routes(store, Router::new().route("/me", get(ex08_your_app::me))).await;
    let client = common::plain_client();
    let anonymous = text_answer(client.get(format!("{base}/me")).send().await.expect("GET /me")).await;
    let login: Value =
        common::post_login_at(&client, &format!("{base}/login"), "alice").await.json().await.expect("JSON");
    let id = login["session_id"].as_str().expect("session_id").to_string();
    let handle = SessionId::parse(&id).expect("id").handle();
    let cookie = format!("session_id={id}");
    let mut live =
        text_answer(client.get(format!("{base}/me")).header("cookie", &cookie).send().await.expect("me"))
            .await;
    // The handle is the session's (random) own: named, not shown.
    let body = live["body"].as_str().unwrap_or_default().replace(&handle, "<its handle>");
    live["body"] = json!(body);
    let dead = format!("session_id={}", SessionId::new());
    let unknown =
        text_answer(client.get(format!("{base}/me")).header("cookie", dead).send().await.expect("me")).await;
    let outcome = json!({ "without a cookie": anonymous, "logged in": live, "a dead session": unknown });
    insta::assert_yaml_snapshot!("ex08a_me", outcome);
}

#[cfg(feature = "l08")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex08b_a_route_for_everyone() {
    let _settings = settings();
    let redis = PrivateRedis::start().expect("redis");
    let con = session_storage::connect(&redis.url(), Duration::from_millis(300)).await.expect("connect");
    let store = SessionStore::new(con, Lifetimes::DEFAULT, Duration::from_millis(300)).await.expect("store");
    let base = serve_with_routes(store, Router::new().route("/greeting", get(ex08_your_app::greeting))).await;
    let client = common::plain_client();
    let greet = |cookie: Option<String>| {
        let request = client.get(format!("{base}/greeting"));
        match cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        }
        .send()
    };
    let anonymous = text_answer(greet(None).await.expect("greeting")).await;
    let dead =
        text_answer(greet(Some(format!("session_id={}", SessionId::new()))).await.expect("greeting")).await;
    let login: Value =
        common::post_login_at(&client, &format!("{base}/login"), "alice").await.json().await.expect("JSON");
    let cookie = format!("session_id={}", login["session_id"].as_str().expect("session_id"));
    let live = text_answer(greet(Some(cookie.clone())).await.expect("greeting")).await;
    redis.pause().expect("SIGSTOP");
    let down = text_answer(greet(Some(cookie)).await.expect("greeting")).await;
    redis.resume().expect("SIGCONT");
    let outcome = json!({
        "without a cookie": anonymous,
        "a dead session": dead,
        "logged in": live,
        "logged in, while Redis does not answer": down,
    });
    insta::assert_yaml_snapshot!("ex08b_greeting", outcome);
}

/// Every check in this file is one of `lessons::EXERCISES` (which is in order), and every
/// exercise has its check, its anchor and both hints: `cargo exercise` lists what is checked.
#[test]
fn every_exercise_is_listed() {
    let source = include_str!("exercises.rs");
    let mut checks: Vec<&str> = source
        .lines()
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
        // The second level names commands, API and shape, but holds no code: no listing and
        // no call with its arguments (`redis.call('TIME')`), which belong to the answer.
        let more = std::fs::read_to_string(format!("hints/{}/more.md", exercise.id)).expect("more.md");
        assert!(!more.contains("```"), "hints/{}/more.md holds a code listing", exercise.id);
        assert!(
            call.find(&more).is_none(),
            "hints/{}/more.md holds code: {:?}",
            exercise.id,
            call.find(&more)
        );
    }
}

/// The limiter against the service's own keys: five attempts under "3 per user, 4 per client"
/// for alice, then bob from the same client; what each answered, what the keys hold, and that a
/// refusal wrote nothing. Waits are given in whole seconds (rounded up), TTLs as ranges.
#[cfg(feature = "l09")]
#[tokio::test]
async fn ex09a_throttle() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let keys = session_storage::store::Keys::prefixed("ex09:");
    let client = "198.51.100.7";
    let limits = |user: &str| {
        [
            session_storage::store::Limit { key: keys.login_client(client), limit: 4 },
            session_storage::store::Limit { key: keys.login_user(client, user), limit: 3 },
        ]
    };
    let period = Duration::from_secs(60);
    let seconds = |wait: Option<Duration>| wait.map(|wait| wait.as_millis().div_ceil(1000) as u64);
    let mut answers = Vec::new();
    let mut refused_wrote = None;
    for user in ["alice", "alice", "alice", "alice", "bob", "carol"] {
        let before: Vec<Option<String>> =
            cmd(&mut con, &["MGET", &limits(user)[0].key, &limits(user)[1].key]).await;
        let wait = ex09_rate_limit::throttle(&mut con, &limits(user), period).await.expect("throttle");
        let after: Vec<Option<String>> =
            cmd(&mut con, &["MGET", &limits(user)[0].key, &limits(user)[1].key]).await;
        if wait.is_some() {
            refused_wrote = Some(refused_wrote.unwrap_or(false) || before != after);
        }
        answers.push(json!({ "user": user, "wait_s": seconds(wait) }));
    }
    let now: Vec<String> = cmd(&mut con, &["TIME"]).await;
    let now_ms = now[0].parse::<u64>().expect("s") * 1000 + now[1].parse::<u64>().expect("us") / 1000;
    let mut stored = BTreeMap::new();
    for (name, key) in [
        ("client", keys.login_client(client)),
        ("alice", keys.login_user(client, "alice")),
        ("bob", keys.login_user(client, "bob")),
    ] {
        let tat: Option<u64> = cmd(&mut con, &["GET", &key]).await;
        let pttl: i64 = cmd(&mut con, &["PTTL", &key]).await;
        // How far ahead of now the TAT is, in whole seconds, and whether the TTL ends there.
        let ahead = tat.map(|tat| (tat.saturating_sub(now_ms) as f64 / 1000.0).round() as u64);
        let ttl_ends_at_tat = tat.is_some_and(|tat| (tat as i64 - now_ms as i64 - pttl).abs() <= 50);
        stored.insert(name, json!({ "ahead_s": ahead, "ttl_ends_at_tat": ttl_ends_at_tat }));
    }
    let off = [session_storage::store::Limit { key: keys.login_client("192.0.2.1"), limit: 0 }];
    let wait_when_off = ex09_rate_limit::throttle(&mut con, &off, period).await.expect("throttle");
    let off_key: u64 = cmd(&mut con, &["EXISTS", &off[0].key]).await;
    let outcome = json!({
        "answers": answers,
        "a_refusal_wrote_nothing": refused_wrote == Some(false),
        "stored": stored,
        "a_limit_of_0": { "wait_s": seconds(wait_when_off), "key_written": off_key == 1 },
    });
    insta::assert_yaml_snapshot!("ex09a_throttle", outcome);
}

/// Redis's own count of each command since the last `CONFIG RESETSTAT`.
async fn command_counts(con: &mut ConnectionManager) -> BTreeMap<String, u64> {
    let info: String = cmd(con, &["INFO", "commandstats"]).await;
    session_storage::workbook::parse_commandstats(&info)
}

/// 250 events appended under a cap of 200 and a TTL of an hour: how long the stream is, whether
/// its TTL is the hour, what its newest entry holds, and what Redis ran (one transaction each).
#[cfg(feature = "l10")]
#[tokio::test]
async fn ex10a_append_event() {
    use session_storage::store::{Device, EventKind, NewEvent};
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let key = "ex10:user:{user_1}:events";
    let ttl = Duration::from_secs(3600);
    let _: () = cmd(&mut con, &["CONFIG", "RESETSTAT"]).await;
    for n in 0..250u32 {
        let device = Device::new(
            if n % 2 == 0 { "Firefox on Linux" } else { "Safari on iPhone" },
            "203.0.113.9".parse().ok(),
        );
        let handle = format!("{n:016x}");
        let kind = if n % 10 == 9 { EventKind::Logout } else { EventKind::Login };
        let event = NewEvent { kind, device: &device, handle: Some(&handle) };
        ex10_security_log::append_event(&mut con, key, &event, 200, ttl).await.expect("append_event");
    }
    let calls = command_counts(&mut con).await;
    let length: u64 = cmd(&mut con, &["XLEN", key]).await;
    let pttl: i64 = cmd(&mut con, &["PTTL", key]).await;
    let newest: Vec<(String, Vec<(String, String)>)> =
        cmd(&mut con, &["XREVRANGE", key, "+", "-", "COUNT", "1"]).await;
    let newest_fields: Vec<(String, String)> =
        newest.into_iter().next().map(|(_, fields)| fields).unwrap_or_default();
    let commands: BTreeMap<&str, u64> = ["multi", "xadd", "pexpire", "exec"]
        .into_iter()
        .map(|name| (name, calls.get(name).copied().unwrap_or(0)))
        .collect();
    let length = if (200..300).contains(&length) {
        "within one node of the cap (200..300)".to_string()
    } else {
        length.to_string()
    };
    let outcome = json!({
        "length": length,
        "ttl_within_the_lifetime": pttl > 3_590_000 && pttl <= 3_600_000,
        "newest_entry": newest_fields,
        "commands": commands,
    });
    insta::assert_yaml_snapshot!("ex10a_append_event", outcome);
}

/// Five events written by hand, read back newest first: 3 of them, all of them with a larger
/// count, and none from a missing stream; `at` is checked against Redis's clock.
#[cfg(feature = "l10")]
#[tokio::test]
async fn ex10b_latest_events() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let key = "ex10:user:{user_2}:events";
    let written = [
        ("login", "Firefox on Linux", "203.0.113.9", "00000000000000a1"),
        ("login", "Safari on iPhone", "198.51.100.23", "00000000000000a2"),
        ("revoked", "Firefox on Linux", "203.0.113.9", "00000000000000a1"),
        ("throttled", "unknown device", "192.0.2.7", ""),
        ("logout", "Safari on iPhone", "", "00000000000000a2"),
    ];
    for (kind, device, ip, handle) in written {
        let _: String =
            cmd(&mut con, &["XADD", key, "*", "type", kind, "device", device, "ip", ip, "handle", handle])
                .await;
    }
    let now: Vec<String> = cmd(&mut con, &["TIME"]).await;
    let now: u64 = now[0].parse().expect("seconds");
    let shown = |events: &[session_storage::store::SecurityEvent]| -> Vec<Value> {
        events
            .iter()
            .map(|event| {
                json!({
                    "type": event.kind,
                    "device": event.device,
                    "ip": event.ip,
                    "handle": event.handle,
                    "at_is_redis_time": event.at <= now && event.at + 60 >= now,
                })
            })
            .collect()
    };
    let newest = ex10_security_log::latest_events(&mut con, key, 3).await.expect("latest_events");
    let all = ex10_security_log::latest_events(&mut con, key, 100).await.expect("latest_events");
    let missing =
        ex10_security_log::latest_events(&mut con, "ex10:nobody", 100).await.expect("latest_events");
    let outcome = json!({ "newest": shown(&newest), "count_above_the_length": all.len(), "missing_stream": shown(&missing) });
    insta::assert_yaml_snapshot!("ex10b_latest_events", outcome);
}
