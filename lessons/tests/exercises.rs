//! The exercise checks: one test per exercise, named `exNNx_...`, so `cargo exercise ex02a`
//! runs exactly one. Each runs your code against a private Redis and compares what it did with
//! the committed snapshot in `tests/snapshots/`; a wrong answer shows the difference.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use common::{lesson_redis, query as cmd, ttl_range_redaction, ttl_redaction, unix_time_redaction};
use lessons::{ex01_hash_basics, ex02_expire, ex03_sliding_ttl, ex04_cookie_flow, ex05_full_server};
use redis::aio::ConnectionManager;
use serde_json::{Value, json};
use session_storage::store::{Keys, Session, SessionId, create_session, unix_now};
use session_storage::{AppState, Lifetimes, SessionStore, serve};

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

#[tokio::test]
async fn ex02a_create_session_atomically() {
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
    insta::assert_yaml_snapshot!("ex02a_create_session", outcome, {
        ".new_session.created_at" => unix_time_redaction(),
        ".new_session_ttl" => ttl_redaction(1800),
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex02b_user_ids_are_stable() {
    let _settings = settings();
    let (_redis, con) = lesson_redis().await;
    let keys = Keys::prefixed("ex02:");
    let mut racing = Vec::new();
    for _ in 0..20 {
        let mut con = con.clone();
        let keys = keys.clone();
        racing.push(tokio::spawn(async move { ex02_expire::user_id_for(&mut con, &keys, "carol").await }));
    }
    let mut carol = Vec::new();
    for task in racing {
        carol.push(task.await.expect("task").expect("user_id_for"));
    }
    carol.dedup();
    let mut con = con.clone();
    let dave = ex02_expire::user_id_for(&mut con, &keys, "dave").await.expect("dave");
    let carol_again = ex02_expire::user_id_for(&mut con, &keys, "carol").await.expect("carol");
    let counter: String = cmd(&mut con, &["GET", &keys.user_counter()]).await;
    let outcome = json!({
        "carol_racing_first_logins": carol,
        "dave": dave,
        "carol_again": carol_again,
        "registry": hash(&mut con, &keys.user_ids()).await,
        "counter": counter,
    });
    insta::assert_yaml_snapshot!("ex02b_user_id_for", outcome);
}

#[tokio::test]
async fn ex03a_read_and_renew() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let now = unix_now();
    create_session(&mut con, "ex03:live", &alice(now), IDLE, None).await.expect("create");
    let _: () = cmd(&mut con, &["PEXPIRE", "ex03:live", "5000"]).await;
    let renewed = ex03_sliding_ttl::touch(&mut con, "ex03:live", now, IDLE, ABSOLUTE).await.expect("touch");
    let live_ttl: i64 = cmd(&mut con, &["TTL", "ex03:live"]).await;
    let live_fields = hash(&mut con, "ex03:live").await;

    let missing = ex03_sliding_ttl::touch(&mut con, "ex03:gone", now, IDLE, ABSOLUTE).await.expect("touch");
    let missing_exists: bool = cmd(&mut con, &["EXISTS", "ex03:gone"]).await;

    let _: () = cmd(&mut con, &["HSET", "ex03:partial", "last_seen", "1700000000"]).await;
    let partial =
        ex03_sliding_ttl::touch(&mut con, "ex03:partial", now, IDLE, ABSOLUTE).await.expect("touch");
    let partial_fields = hash(&mut con, "ex03:partial").await;

    let outcome = json!({
        "live": renewed.as_ref().map(|t| json!({"session": t.session, "ttl_secs": t.ttl_secs})),
        "live_ttl_in_redis": live_ttl,
        "live_fields_unchanged": live_fields,
        "missing": missing.map(|t| t.ttl_secs),
        "missing_exists_afterwards": missing_exists,
        "partial": partial.map(|t| t.ttl_secs),
        "partial_fields_added": partial_fields.keys().filter(|k| *k != "last_seen").collect::<Vec<_>>(),
    });
    insta::assert_yaml_snapshot!("ex03a_touch", outcome, {
        ".live.session.created_at" => unix_time_redaction(),
        ".live_fields_unchanged.created_at" => unix_time_redaction(),
        ".live_ttl_in_redis" => ttl_redaction(1800),
    });
}

#[tokio::test]
async fn ex03b_absolute_cap() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let now = unix_now();
    let absolute = ABSOLUTE.as_secs();
    create_session(&mut con, "ex03:old", &alice(now - absolute + 5), IDLE, None).await.expect("create");
    let capped = ex03_sliding_ttl::touch(&mut con, "ex03:old", now, IDLE, ABSOLUTE).await.expect("touch");
    let capped_ttl: i64 = cmd(&mut con, &["TTL", "ex03:old"]).await;
    create_session(&mut con, "ex03:over", &alice(now - absolute), IDLE, None).await.expect("create");
    let over = ex03_sliding_ttl::touch(&mut con, "ex03:over", now, IDLE, ABSOLUTE).await.expect("touch");
    let over_exists: bool = cmd(&mut con, &["EXISTS", "ex03:over"]).await;
    create_session(&mut con, "ex03:young", &alice(now - 60), IDLE, None).await.expect("create");
    let young = ex03_sliding_ttl::touch(&mut con, "ex03:young", now, IDLE, ABSOLUTE).await.expect("touch");
    let outcome = json!({
        "five_seconds_left_ttl_set": capped.map(|t| t.ttl_secs),
        "five_seconds_left_ttl_in_redis": capped_ttl,
        "lifetime_used_up": over.map(|t| t.ttl_secs),
        "lifetime_used_up_key_exists": over_exists,
        "minute_old_ttl_set": young.map(|t| t.ttl_secs),
    });
    insta::assert_yaml_snapshot!("ex03b_absolute_cap", outcome, {
        // Read back from Redis a moment after it was set to 5: a range, not an exact second.
        ".five_seconds_left_ttl_in_redis" => ttl_range_redaction(3, 5),
    });
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

#[tokio::test]
async fn ex04b_clear_session_cookie() {
    let _settings = settings();
    let outcome = json!({
        "plain_http": cookie_attributes(&ex04_cookie_flow::clear_session_cookie(false)),
        "secure": cookie_attributes(&ex04_cookie_flow::clear_session_cookie(true)),
    });
    insta::assert_yaml_snapshot!("ex04b_clear_session_cookie", outcome);
}

#[tokio::test]
async fn ex05a_session_route() {
    let _settings = settings();
    let (_redis, con) = lesson_redis().await;
    let store = SessionStore::new(con, Lifetimes::DEFAULT, Duration::from_secs(2)).await.expect("store");
    let router = Router::new()
        .route("/login", post(session_storage::http::login))
        .route("/session", get(ex05_full_server::session_info))
        .with_state(AppState { store, cookie_secure: false });
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
    insta::assert_yaml_snapshot!("ex05a_session_route", outcome, {
        ".with_cookie.body.created_at" => unix_time_redaction(),
    });
}

#[tokio::test]
async fn ex05b_validate_username() {
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
    insta::assert_yaml_snapshot!("ex05b_validate_username", results);
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
