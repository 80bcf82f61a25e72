//! Lesson 09 (rate limiting): the transcript of `examples/09_rate_limit.rs`, one snapshot per
//! step, and the login throttle, the client address, the user ids and `/metrics` tried as an
//! attacker and an operator would, on a single Redis and on a cluster.

mod common;

#[allow(dead_code)]
#[path = "../examples/09_rate_limit.rs"]
mod lesson;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use session_storage::store::{LoginLimits, user_id_for};

#[tokio::test]
async fn transcript_per_step() {
    common::check_lesson("09_rate_limit", 6, lesson::run).await;
}

/// The service's defaults: 10 per username and client, 100 per client.
fn throttled() -> Settings {
    Settings { login_limits: LoginLimits::DEFAULT, ..Settings::default() }
}

/// A client whose connections come from `address` (any of 127.0.0.0/8 is this machine).
fn client_from(address: &str) -> reqwest::Client {
    let address: IpAddr = address.parse().expect("an address");
    reqwest::Client::builder().local_address(address).build().expect("client")
}

async fn login_as(
    client: &reqwest::Client,
    app: &TestApp,
    username: &str,
    forwarded: Option<&str>,
) -> reqwest::Response {
    let mut request =
        client.post(app.url("/login")).json(&serde_json::json!({"username": username, "password": "pw"}));
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    request.send().await.expect("login")
}

/// The value of one sample line of `/metrics` (name and labels as written).
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
}

/// 40 rapid logins of one user from one client: 10 pass, then 429 with `Retry-After` and the
/// detail the issue names; a refused login writes nothing. The same user from another address
/// still logs in: the attacker's flood cannot lock the victim out.
async fn a_flood_of_one_user_stops_at_the_limit_and_locks_nobody_else_out(kind: Kind) {
    let app = TestApp::start_on_with(kind, throttled()).await;
    let attacker = client_from("127.0.0.1");
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..40 {
        let response = login_as(&attacker, &app, "victim", None).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 && refused.is_none() {
            let retry: u64 =
                response.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
            let body: Value = response.json().await.expect("json");
            refused = Some((retry, body["detail"].as_str().expect("detail").to_string()));
        }
    }
    assert_eq!(statuses[..10], [200; 10], "{statuses:?}");
    assert_eq!(statuses[10..], [429; 30], "{statuses:?}");
    let (retry, detail) = refused.expect("a 429");
    // 10 per minute: the next attempt is due 6 s after the burst.
    assert!((5..=6).contains(&retry), "Retry-After {retry}");
    assert_eq!(detail, format!("Too many login attempts; try again in {retry} s"));
    assert_eq!(app.session_keys().await.len(), 10, "the refused logins wrote no session");

    let victim = client_from("127.0.0.2");
    assert_eq!(login_as(&victim, &app, "victim", None).await.status(), 200, "the victim from elsewhere");
    let metrics = app.metrics();
    assert_eq!(sample(&metrics, r#"session_logins_total{outcome="ok"}"#), 11.0);
    assert_eq!(sample(&metrics, r#"session_logins_total{outcome="throttled"}"#), 30.0);
}

/// 300 usernames from one client: each is new, so only the per-client cap (100) stops them;
/// a throttled-per-user client may still log in as another user until that cap.
async fn a_spray_of_usernames_stops_at_the_client_cap(kind: Kind) {
    let app = TestApp::start_on_with(kind, throttled()).await;
    let client = client_from("127.0.0.1");
    // The client's budget starts with the first login; from then on it earns one more login
    // every 600 ms (100 a minute), so a slow run may see a few late 200s, never more.
    let started = Instant::now();
    for _ in 0..11 {
        login_as(&client, &app, "first", None).await;
    }
    assert_eq!(login_as(&client, &app, "first", None).await.status(), 429, "first is throttled here");
    let mut statuses = Vec::new();
    for n in 0..300 {
        statuses.push(login_as(&client, &app, &format!("user-{n:03}"), None).await.status().as_u16());
    }
    // 10 attempts of "first" were allowed and spent the client's budget too: 90 more, plus
    // what the budget earned back while the test ran.
    let earned = (started.elapsed().as_millis() / 600) as usize + 1;
    let allowed = statuses.iter().filter(|s| **s == 200).count();
    assert!(statuses[..90].iter().all(|s| *s == 200), "{statuses:?}");
    assert!((90..=90 + earned).contains(&allowed), "{allowed} allowed, earned {earned}: {statuses:?}");
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 300 - 90 - earned, "{statuses:?}");
    assert_eq!(login_as(&client_from("127.0.0.3"), &app, "user-299", None).await.status(), 200);
}

/// From a peer that is not a trusted proxy, `X-Forwarded-For` is ignored: a fresh forged address
/// on every attempt still hits the same limit. Behind a trusted proxy the right-most untrusted
/// entry is the client, so a real second client gets its own budget, and a forged entry in
/// front of the proxy's does not.
#[tokio::test]
async fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let app = TestApp::start_with(throttled()).await;
    let client = client_from("127.0.0.1");
    let mut statuses = Vec::new();
    for n in 0..12 {
        let forged = format!("203.0.113.{n}");
        statuses.push(login_as(&client, &app, "alice", Some(&forged)).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 429, 429]);

    let app = TestApp::start_with(Settings { trusted_proxies: "127.0.0.1", ..throttled() }).await;
    for _ in 0..10 {
        assert_eq!(login_as(&client, &app, "alice", Some("198.51.100.1")).await.status(), 200);
    }
    assert_eq!(login_as(&client, &app, "alice", Some("198.51.100.1")).await.status(), 429);
    assert_eq!(login_as(&client, &app, "alice", Some("6.6.6.6, 198.51.100.1")).await.status(), 429);
    assert_eq!(login_as(&client, &app, "alice", Some("198.51.100.2")).await.status(), 200);
    // The proxy itself, from an address it does not trust, is just a client.
    let keys = app.all_keys().await;
    assert!(keys.contains(&"login:{198.51.100.1}".to_string()), "{keys:?}");
    assert!(!keys.iter().any(|key| key.contains("6.6.6.6")), "{keys:?}");
}

/// Every throttle key has a TTL of at most a minute, and a limit of 0 turns the throttle off:
/// then a login costs no throttle round trip and writes no throttle key.
#[tokio::test]
async fn throttle_keys_expire_within_the_period_and_zero_turns_it_off() {
    let app = TestApp::start_with(throttled()).await;
    assert_eq!(post_login(&plain_client(), &app, "alice").await.status(), 200);
    for key in app.all_keys().await {
        let pttl: i64 = app.cmd(&["PTTL", &key]).await;
        assert!(pttl > 0, "{key} has no TTL");
        if key.starts_with("login:") {
            assert!(pttl <= 60_000, "{key}: {pttl} ms");
        }
    }
    let off = TestApp::start_with(Settings::default()).await;
    for _ in 0..30 {
        assert_eq!(post_login(&plain_client(), &off, "alice").await.status(), 200);
    }
    assert!(!off.all_keys().await.iter().any(|key| key.starts_with("login:")));
    let only_per_client = LoginLimits { per_user_and_client: 0, per_client: 3 };
    let app = TestApp::start_with(Settings { login_limits: only_per_client, ..Settings::default() }).await;
    let client = plain_client();
    let statuses: Vec<u16> =
        futures_util::future::join_all((0..4).map(|_| post_login(&client, &app, "alice")))
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 1, "{statuses:?}");
    assert!(!app.all_keys().await.iter().any(|key| key.starts_with("login:{127.0.0.1}:")));
}

/// With Redis gone the throttle cannot be asked, and a login is the 503, never a silent bypass.
#[tokio::test]
async fn no_redis_is_a_503_not_a_bypass() {
    let mut app = TestApp::start_with(Settings { timeout: Duration::from_millis(300), ..throttled() }).await;
    app.redis_mut().kill();
    let started = std::time::Instant::now();
    let response = post_login(&plain_client(), &app, "alice").await;
    assert_eq!(response.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["detail"], "Session store unavailable");
    assert_eq!(sample(&app.metrics(), r#"session_logins_total{outcome="unavailable"}"#), 1.0);
}

/// No registry: 2,000 users who log in and out leave nothing behind but their security log
/// (two events, with a TTL no longer than the absolute lifetime, so it ends too), and each name
/// keeps its id on its next login.
async fn users_leave_nothing_behind_and_keep_their_id(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    let client = plain_client();
    // First as many other users, so that Redis's own tables have grown to this size already:
    // what is left to measure is what each user leaves behind.
    let log_in_and_out = async |prefix: &str| {
        for n in 0..2000 {
            let response = post_login(&client, &app, &format!("{prefix}-{n:04}")).await;
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.expect("json");
            let id = body["session_id"].as_str().expect("id").to_string();
            let out =
                client.post(app.url("/logout")).header("cookie", format!("session_id={id}")).send().await;
            assert_eq!(out.expect("logout").status(), 200);
        }
    };
    log_in_and_out("warm").await;
    let before = app.info_number("memory", "used_memory").await;
    let logs_before = app.all_keys().await.len();
    log_in_and_out("anon").await;
    let keys = app.all_keys().await;
    assert_eq!(keys.len() - logs_before, 2000, "one log per departed user");
    let absolute = app.settings.absolute_ttl.as_millis() as i64;
    for key in keys.iter().step_by(97) {
        assert!(key.starts_with("user:{") && key.ends_with("}:events"), "left behind: {key}");
        let ttl: i64 = app.cmd(&["PTTL", key]).await;
        assert!((1..=absolute).contains(&ttl), "{key}: PTTL {ttl}");
        let kinds: Vec<(String, Vec<(String, String)>)> = app.cmd(&["XRANGE", key, "-", "+"]).await;
        let kinds: Vec<&str> = kinds.iter().map(|(_, fields)| fields[0].1.as_str()).collect();
        assert_eq!(kinds, ["login", "logout"], "{key}");
    }
    let after = app.info_number("memory", "used_memory").await;
    let per_user = after.saturating_sub(before) as f64 / 2000.0;
    eprintln!("memory per departed user (their security log): {per_user:.1} bytes ({before} -> {after})");
    // On one Redis the figure is exact enough to bound: a stream's first node is a listpack
    // allocated at `stream-node-max-bytes` (4096 by default) at once, so a log of two events
    // costs about 4.5 KB (README, "Memory"). Summed over a cluster's three nodes, their own
    // bookkeeping moves by more than the bound's slack either way.
    if kind == Kind::Single {
        assert!(per_user <= 5120.0, "{per_user} bytes per user");
    }

    let id = login_id(&app, "anon-0007").await;
    let profile: Value = profile_with(&app, &id).await.json().await.expect("json");
    assert_eq!(profile["user_id"], user_id_for("anon-0007"));
    let again = app.another_instance().await;
    let response = post_login_at(&plain_client(), &again.url("/login"), "anon-0007").await;
    let other: Value = response.json().await.expect("json");
    let id = other["session_id"].as_str().expect("id");
    let profile: Value = get_with_session(&again.url("/profile"), id).await.json().await.expect("json");
    assert_eq!(profile["user_id"], user_id_for("anon-0007"), "the same id on another instance");
}

/// `/metrics` counts what was sent: logins by outcome, authenticated requests by outcome, a
/// Redis round trip per call, and the connections open now.
async fn metrics_count_every_outcome(kind: Kind) {
    let app = TestApp::start_on_with(kind, throttled()).await;
    let client = plain_client();
    let id = login_id(&app, "alice").await;
    for _ in 0..5 {
        assert_eq!(profile_with(&app, &id).await.status(), 200);
    }
    assert_eq!(profile_with(&app, "0f8fad5b-d9cb-469f-a165-70867728950e").await.status(), 401);
    assert_eq!(client.get(app.url("/profile")).send().await.expect("profile").status(), 401);
    let bad = client.post(app.url("/login")).json(&serde_json::json!({"username": ""})).send().await;
    assert_eq!(bad.expect("login").status(), 422);
    let cross = client
        .post(app.url("/login"))
        .header("sec-fetch-site", "cross-site")
        .json(&serde_json::json!({"username": "alice", "password": "x"}))
        .send()
        .await;
    assert_eq!(cross.expect("login").status(), 403);
    let held = reqwest::Client::builder().pool_max_idle_per_host(4).build().expect("client");
    held.get(app.url("/health")).send().await.expect("health");

    let metrics = app.metrics();
    assert_eq!(sample(&metrics, r#"session_logins_total{outcome="ok"}"#), 1.0);
    assert_eq!(sample(&metrics, r#"session_logins_total{outcome="invalid"}"#), 1.0);
    assert_eq!(sample(&metrics, r#"session_logins_total{outcome="cross_site"}"#), 1.0);
    assert_eq!(sample(&metrics, r#"session_logins_total{outcome="throttled"}"#), 0.0);
    assert_eq!(sample(&metrics, r#"session_authenticated_requests_total{outcome="ok"}"#), 5.0);
    assert_eq!(sample(&metrics, r#"session_authenticated_requests_total{outcome="unauthorized"}"#), 2.0);
    // One login (throttle, index, create) and six touches, plus /health's INFO.
    assert!(sample(&metrics, "session_redis_call_seconds_count") >= 9.0, "{metrics}");
    assert!(sample(&metrics, "session_connections") >= 1.0, "the held connection is open: {metrics}");
}

on_every_backend! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_flood_of_one_user_stops_at_the_limit_and_locks_nobody_else_out;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_spray_of_usernames_stops_at_the_client_cap;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    users_leave_nothing_behind_and_keep_their_id;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    metrics_count_every_outcome;
}
