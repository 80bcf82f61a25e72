//! Lesson 05: the full server, over real HTTP against a private Redis.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use session_storage::store::{NewSession, user_id_for};

/// What the walkthrough snapshots at each step: the HTTP exchange and what Redis then holds.
async fn step(app: &TestApp, request: &str, response: reqwest::Response, session_id: &str) -> Value {
    let status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().expect("ascii").to_string());
    let headers = json!({
        "content-type": header("content-type"),
        "cache-control": header("cache-control"),
        "set-cookie": header("set-cookie"),
    });
    let body: Value = response.json().await.expect("JSON body");
    let key = format!("session:{session_id}");
    let fields: BTreeMap<String, String> = app.cmd(&["HGETALL", &key]).await;
    let ttl: i64 = app.cmd(&["TTL", &key]).await;
    json!({
        "request": request,
        "status": status,
        "headers": headers,
        "body": body,
        "redis": { "key": "session:[uuid]", "fields": fields, "ttl": ttl },
    })
}

async fn walkthrough_login_profile_logout_profile(kind: Kind) {
    let mut settings = insta::Settings::clone_current();
    settings.set_omit_expression(true);
    let _guard = settings.bind_to_scope();
    let app = TestApp::start_on(kind).await;
    let client = browser();

    let response = post_login(&client, &app, "alice").await;
    let cookie = set_cookie(&response).expect("login sets a cookie");
    let session_id = cookie
        .strip_prefix("session_id=")
        .and_then(|rest| rest.split(';').next())
        .expect("cookie value")
        .to_string();
    assert!(is_uuid_v4(&session_id));
    let login_step =
        step(&app, "POST /login {\"username\":\"alice\",\"password\":\"pw\"}", response, &session_id).await;
    assert_eq!(login_step["body"]["session_id"], session_id.as_str());
    insta::assert_yaml_snapshot!("step_1_login", login_step, {
        ".body.session_id" => uuid_redaction(),
        ".headers[\"set-cookie\"]" => embedded_uuid_redaction(),
        ".redis.fields.created_at" => unix_time_redaction(),
        ".redis.ttl" => ttl_redaction(1800),
    });

    // Age the session a little, so the renewal is visible.
    let _: i64 = app.cmd(&["EXPIRE", &format!("session:{session_id}"), "600"]).await;
    let response = client.get(app.url("/profile")).send().await.expect("profile");
    let profile_step = step(&app, "GET /profile (cookie sent by the client)", response, &session_id).await;
    insta::assert_yaml_snapshot!("step_2_profile", profile_step, {
        ".headers[\"set-cookie\"]" => embedded_uuid_redaction(),
        ".redis.fields.created_at" => unix_time_redaction(),
        ".redis.ttl" => ttl_redaction(1800),
    });

    let response = client.post(app.url("/logout")).send().await.expect("logout");
    let logout_step = step(&app, "POST /logout", response, &session_id).await;
    insta::assert_yaml_snapshot!("step_3_logout", logout_step);

    let response = client.get(app.url("/profile")).send().await.expect("profile again");
    let after_step = step(&app, "GET /profile (after logout)", response, &session_id).await;
    insta::assert_yaml_snapshot!("step_4_profile_after_logout", after_step);

    assert!(app.session_keys().await.is_empty());
}

async fn profile_slides_the_ttl_and_the_cookie(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    let id = login_id(&app, "alice").await;
    let key = format!("session:{id}");
    let _: i64 = app.cmd(&["PEXPIRE", &key, "5000"]).await;
    let before: i64 = app.cmd(&["TTL", &key]).await;
    assert!((1..=5).contains(&before), "aged TTL {before}");

    let response = profile_with(&app, &id).await;
    assert_eq!(response.status(), 200);
    assert_eq!(max_age(&set_cookie(&response).expect("renewal re-sends the cookie")), 1800);
    let after: i64 = app.cmd(&["TTL", &key]).await;
    assert!((1790..=1800).contains(&after), "renewed TTL {after}");
    let fields: BTreeMap<String, String> = app.cmd(&["HGETALL", &key]).await;
    // The renewal wrote no field: the login's five are all there is.
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["created_at", "device", "ip", "user_id", "username"]);
}

async fn an_idle_session_expires(kind: Kind) {
    let app =
        TestApp::start_on_with(kind, Settings { idle_ttl: Duration::from_secs(1), ..Settings::default() })
            .await;
    let id = login_id(&app, "alice").await;
    assert_eq!(profile_with(&app, &id).await.status(), 200);
    let key = format!("session:{id}");
    let ttl: i64 = app.cmd(&["PTTL", &key]).await;
    assert!((1..=1000).contains(&ttl), "PTTL {ttl}: the idle TTL of 1 s was renewed");
    // Redis's clock decides: wait until Redis itself has expired the key (no fixed sleep).
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.cmd::<bool>(&["EXISTS", &key]).await {
        assert!(Instant::now() < deadline, "the key outlived its 1 s TTL by 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let response = profile_with(&app, &id).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({"detail": "Session expired or invalid"})
    );
    assert!(app.session_keys().await.is_empty());
}

/// The absolute cap, driven from Redis's side instead of by waiting: the test moves the
/// session's `created_at` back, so no sleep and no second boundary decides the outcome.
async fn the_absolute_lifetime_caps_a_busy_session(kind: Kind) {
    let settings = Settings {
        idle_ttl: Duration::from_secs(600),
        absolute_ttl: Duration::from_secs(3600),
        ..Settings::default()
    };
    let app = TestApp::start_on_with(kind, settings).await;
    let id = login_id(&app, "alice").await;
    let key = format!("session:{id}");
    let now = session_storage::store::unix_now();
    // Young: the idle TTL applies in full.
    let response = profile_with(&app, &id).await;
    assert_eq!(response.status(), 200);
    assert_eq!(max_age(&set_cookie(&response).expect("cookie")), 600);
    // 3590 s old: 10 s of the hour are left, however busy the session is. Max-Age and the Redis
    // TTL never promise more (a range: the test's clock and the server's may tick apart).
    let _: () = app.cmd(&["HSET", &key, "created_at", &(now - 3590).to_string()]).await;
    for _ in 0..3 {
        let response = profile_with(&app, &id).await;
        assert_eq!(response.status(), 200);
        let cookie_age = max_age(&set_cookie(&response).expect("cookie"));
        assert!((8..=10).contains(&cookie_age), "Max-Age {cookie_age} with 10 s left");
        let ttl: i64 = app.cmd(&["TTL", &key]).await;
        assert!((7..=10).contains(&ttl), "TTL {ttl} with 10 s left");
    }
    // Past the hour: deleted, not renewed.
    let _: () = app.cmd(&["HSET", &key, "created_at", &(now - 3601).to_string()]).await;
    assert_eq!(profile_with(&app, &id).await.status(), 401);
    assert!(app.session_keys().await.is_empty());
}

async fn login_with_a_session_replaces_it(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    let client = browser();
    let first = post_login(&client, &app, "alice").await.json::<Value>().await.expect("json");
    let first_id = first["session_id"].as_str().expect("id").to_string();
    let second = post_login(&client, &app, "alice").await.json::<Value>().await.expect("json");
    let second_id = second["session_id"].as_str().expect("id").to_string();
    assert_ne!(first_id, second_id);
    assert_eq!(app.session_keys().await, vec![format!("session:{second_id}")]);
    assert_eq!(profile_with(&app, &first_id).await.status(), 401);
    assert_eq!(profile_with(&app, &second_id).await.status(), 200);

    // A planted id (fixation): the attacker's cookie is replaced, not adopted.
    let planted = login_id(&app, "mallory").await;
    let victim = plain_client()
        .post(app.url("/login"))
        .header("cookie", format!("session_id={planted}"))
        .json(&json!({"username": "bob", "password": "pw"}))
        .send()
        .await
        .expect("login");
    let victim_id =
        victim.json::<Value>().await.expect("json")["session_id"].as_str().expect("id").to_string();
    assert_ne!(victim_id, planted);
    assert_eq!(profile_with(&app, &planted).await.status(), 401);
}

async fn user_ids_are_stable_even_when_first_logins_race(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    let user_id = |app: &TestApp, name: &'static str| {
        let client = plain_client();
        let url = app.url("/login");
        async move {
            let body: Value = client
                .post(url)
                .json(&json!({"username": name, "password": "pw"}))
                .send()
                .await
                .expect("login")
                .json()
                .await
                .expect("json");
            let id = body["session_id"].as_str().expect("id").to_string();
            (id, body)
        }
    };
    let mut racing = Vec::new();
    for _ in 0..20 {
        racing.push(tokio::spawn(user_id(&app, "carol")));
    }
    let mut ids = Vec::new();
    for task in racing {
        let (session, _) = task.await.expect("task");
        let profile: Value = profile_with(&app, &session).await.json().await.expect("json");
        ids.push(profile["user_id"].as_str().expect("user_id").to_string());
    }
    ids.dedup();
    assert_eq!(ids, vec![user_id_for("carol")], "20 racing first logins of one name share one id");

    let (dave, _) = user_id(&app, "dave").await;
    let (carol, _) = user_id(&app, "carol").await;
    let dave: Value = profile_with(&app, &dave).await.json().await.expect("json");
    let carol: Value = profile_with(&app, &carol).await.json().await.expect("json");
    assert_eq!(dave, json!({"user_id": user_id_for("dave"), "username": "dave"}));
    assert_eq!(carol, json!({"user_id": user_id_for("carol"), "username": "carol"}));
    assert_ne!(user_id_for("carol"), user_id_for("dave"));
    // Nothing is stored per user but the index of their sessions and their security log.
    let keys: Vec<String> = app.all_keys().await.into_iter().filter(|k| !k.starts_with("session:")).collect();
    let mut expected = vec![
        format!("user:{{{}}}:events", user_id_for("carol")),
        format!("user:{{{}}}:events", user_id_for("dave")),
        format!("user:{{{}}}:sessions", user_id_for("carol")),
        format!("user:{{{}}}:sessions", user_id_for("dave")),
    ];
    expected.sort();
    assert_eq!(keys, expected);
}

async fn logout_racing_profiles_leaves_nothing_behind(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    for round in 0..5 {
        let id = login_id(&app, &format!("racer{round}")).await;
        let mut tasks = Vec::new();
        for i in 0..40 {
            let client = plain_client();
            let cookie = format!("session_id={id}");
            let url = if i == 20 { app.url("/logout") } else { app.url("/profile") };
            tasks.push(tokio::spawn(async move {
                let request = if i == 20 { client.post(url) } else { client.get(url) };
                request.header("cookie", cookie).send().await.expect("request").status().as_u16()
            }));
        }
        for task in tasks {
            let status = task.await.expect("task");
            assert!(status == 200 || status == 401, "status {status}");
        }
        let exists: i64 = app.cmd(&["EXISTS", &format!("session:{id}")]).await;
        assert_eq!(exists, 0, "round {round}: the session came back after logout");
    }
    for key in app.session_keys().await {
        let ttl: i64 = app.cmd(&["TTL", &key]).await;
        assert!(ttl > 0, "{key} has no TTL");
    }
}

/// One bad request and the answer it must get.
struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    cookie: Option<String>,
    body: Vec<u8>,
    status: u16,
    detail: &'static str,
}

fn case(
    name: &'static str,
    method: &'static str,
    path: &'static str,
    status: u16,
    detail: &'static str,
) -> Case {
    Case { name, method, path, content_type: None, cookie: None, body: Vec::new(), status, detail }
}

fn login_body(name: &'static str, body: impl Into<Vec<u8>>, status: u16, detail: &'static str) -> Case {
    Case {
        content_type: Some("application/json"),
        body: body.into(),
        ..case(name, "POST", "/login", status, detail)
    }
}

fn profile_cookie(name: &'static str, cookie: String) -> Case {
    Case { cookie: Some(cookie), ..case(name, "GET", "/profile", 401, "Session expired or invalid") }
}

async fn bad_input_gets_a_json_4xx_and_never_reaches_redis_when_malformed(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    let live = login_id(&app, "alice").await;
    let huge_name = format!(r#"{{"username":"{}","password":"pw"}}"#, "a".repeat(65));
    let cases = vec![
        login_body("malformed JSON", "{\"username\": \"alice\",", 422, "Malformed JSON: "),
        login_body("not an object", "[1,2]", 422, "Invalid body: "),
        login_body("missing username", r#"{"password":"pw"}"#, 422, "Invalid body: missing field `username`"),
        login_body(
            "missing password",
            r#"{"username":"alice"}"#,
            422,
            "Invalid body: missing field `password`",
        ),
        login_body("username is a number", r#"{"username":7,"password":"pw"}"#, 422, "Invalid body: "),
        login_body(
            "empty username",
            r#"{"username":"","password":"pw"}"#,
            422,
            "username must be 1 to 64 characters",
        ),
        login_body("65-character username", huge_name, 422, "username must be 1 to 64 characters"),
        login_body(
            "control character",
            r#"{"username":"al\u0007ice","password":"pw"}"#,
            422,
            "username must not contain control characters",
        ),
        login_body("2 MB body", vec![b' '; 2 * 1024 * 1024], 413, "Request body too large"),
        login_body("one byte over 16 KiB", vec![b' '; 16 * 1024 + 1], 413, "Request body too large"),
        login_body(
            "exactly 16 KiB is read (and judged on its content)",
            format!("{:<16384}", r#"{"username":"","password":"pw"}"#),
            422,
            "username must be 1 to 64 characters",
        ),
        Case {
            content_type: Some("text/plain"),
            body: br#"{"username":"alice","password":"pw"}"#.to_vec(),
            ..case("wrong content type", "POST", "/login", 415, "Content-Type must be application/json")
        },
        Case {
            body: br#"{"username":"alice","password":"pw"}"#.to_vec(),
            ..case("no content type", "POST", "/login", 415, "Content-Type must be application/json")
        },
        case("no cookie", "GET", "/profile", 401, "Session expired or invalid"),
        profile_cookie("non-UUID cookie", "session_id=not-a-uuid".into()),
        profile_cookie("empty cookie", "session_id=".into()),
        profile_cookie("upper-case UUID", format!("session_id={}", live.to_uppercase())),
        profile_cookie("UUID without hyphens", format!("session_id={}", live.replace('-', ""))),
        profile_cookie("oversized cookie", format!("session_id={}", "a".repeat(6000))),
        profile_cookie("only malformed cookies, twice", "session_id=abc; session_id=def".into()),
        profile_cookie("glob pattern", "session_id=*".into()),
        profile_cookie("percent-encoded CRLF and a command", "session_id=%0D%0AFLUSHALL".into()),
        profile_cookie("quoted UUID", format!("session_id=\"{live}\"")),
        case("unknown route", "GET", "/admin", 404, "Not Found"),
        case("unknown method", "DELETE", "/login", 405, "Method Not Allowed"),
        case("GET on logout", "GET", "/logout", 405, "Method Not Allowed"),
    ];

    let client = plain_client();
    for case in cases {
        app.reset_stats().await;
        let method = reqwest::Method::from_bytes(case.method.as_bytes()).expect("method");
        let mut request = client.request(method, app.url(case.path)).body(case.body.clone());
        if let Some(content_type) = case.content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(cookie) = &case.cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let status = response.status().as_u16();
        assert_eq!(status, case.status, "{}", case.name);
        assert_eq!(
            response.headers().get("content-type").map(|v| v.to_str().expect("ascii")),
            Some("application/json"),
            "{}",
            case.name
        );
        let body: Value = response.json().await.unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let detail = body["detail"].as_str().unwrap_or_else(|| panic!("{}: no detail in {body}", case.name));
        assert!(detail.starts_with(case.detail), "{}: detail {detail:?}", case.name);
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{}: {body}", case.name);
        // Nothing malformed is worth a Redis command.
        assert_eq!(app.command_calls().await, BTreeMap::new(), "{}: Redis was asked", case.name);
    }
    // And nothing was lost: the live session still works.
    assert_eq!(profile_with(&app, &live).await.status(), 200);
    assert_eq!(app.session_keys().await.len(), 1);
}

/// The store estimates Redis's clock from its answers (`src/store/clock.rs`), for `created_at`.
/// A machine that slept, or a Redis whose clock was set, makes the estimate stale: the login
/// checks it against its own index step's answer (read before the session was written) and
/// writes the right `created_at`, one `EVAL` more, only then; and the store learns the clock
/// again from that answer.
#[tokio::test]
async fn a_stale_estimate_of_redis_s_clock_is_corrected_at_login() {
    let app = TestApp::start().await;
    let cases = [
        ("in step", 0, 1),
        ("behind: this machine slept for 9 hours", -9 * 3600 * 1000, 2),
        ("ahead: Redis's clock was set back an hour", 3600 * 1000, 2),
        ("learned again from the last answer", 0, 1),
    ];
    for (case, shift_ms, evals) in cases {
        app.store.shift_redis_clock_estimate(shift_ms);
        app.reset_stats().await;
        let (before, _): (u64, u64) = app.cmd(&["TIME"]).await;
        let (id, session) = common::log_in(&app.store, "alice").await;
        let (after, _): (u64, u64) = app.cmd(&["TIME"]).await;
        let key = app.store.keys().session(&id);
        let stored: u64 = app.cmd(&["HGET", &key, "created_at"]).await;
        assert!(
            (before.saturating_sub(1)..=after).contains(&stored),
            "{case}: created_at {stored} is not Redis's time ({before} to {after})"
        );
        assert_eq!(session.created_at, stored, "{case}: the login answers what Redis holds");
        let calls = app.command_calls().await;
        assert_eq!(
            calls.get("eval").copied(),
            Some(evals),
            "{case}: the index step, and the correction only if needed"
        );
        let ttl: i64 = app.cmd(&["TTL", &key]).await;
        assert!((1790..=1800).contains(&ttl), "{case}: the session keeps its TTL ({ttl})");
    }
}

/// On one Redis a login's steps go in one pipeline, so the session's write runs even when the
/// index step before it failed. The login answers the error and ends that session: nothing is
/// left outside its user's index. (The index key is made a string here; Redis answers its
/// sorted-set commands `WRONGTYPE`.)
#[tokio::test]
async fn a_failed_index_step_leaves_no_session_behind() {
    let app = TestApp::start().await;
    let index = app.store.keys().user_sessions(&session_storage::store::user_id_for("mallory"));
    let _: () = app.cmd(&["SET", &index, "not a sorted set", "EX", "60"]).await;
    let login = app.store.start_session(NewSession::new("mallory")).await;
    assert!(login.is_err(), "the index step failed, so the login fails: {login:?}");
    assert_eq!(app.session_keys().await, Vec::<String>::new(), "no session outside the index");
    let _: () = app.cmd(&["DEL", &index]).await;
    let (id, _) = common::log_in(&app.store, "mallory").await;
    assert_eq!(app.session_keys().await, [app.store.keys().session(&id)]);
}

async fn round_trips_counted_by_redis(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    let client = browser();
    post_login(&client, &app, "warmup").await;

    app.reset_stats().await;
    assert_eq!(post_login(&client, &app, "alice").await.status(), 200);
    // One round trip with the throttle off, one pipeline (a round trip per step on a cluster):
    // the DEL of the session this browser held before, the index script (which takes it out of
    // the index: ZREM), the session's transaction (MULTI, HSET, EXPIRE, EXEC; created_at is
    // Redis's clock as the store learned it from the index step's answers, so no TIME and no
    // script), then MULTI ... EXEC on the user's slot: a ZSCORE checking that the session's
    // index entry survived, and the `login` event (XADD, PEXPIRE) in the user's security log.
    // No registry: the user id is derived from the name. On a cluster, where the index step is
    // a round trip of its own, its script goes by its SHA-1 (EVALSHA, retried after NOSCRIPT).
    // (Every route's cost: tests/06_every_device.rs.)
    let cluster = u64::from(kind == Kind::Cluster);
    assert_eq!(
        app.command_calls().await,
        calls(&[
            ("del", 1),
            ("eval", 1 - cluster),
            ("evalsha", cluster),
            ("exec", 2),
            ("expire", 1),
            ("hset", 1),
            ("multi", 2),
            ("pexpire", 1),
            ("pexpireat", 1),
            ("time", 1),
            ("xadd", 1),
            ("zadd", 1),
            ("zcount", 1),
            ("zrange", 1),
            ("zrem", 1),
            ("zremrangebyscore", 1),
            ("zscore", 1),
        ])
    );

    app.reset_stats().await;
    assert_eq!(client.get(app.url("/profile")).send().await.expect("profile").status(), 200);
    // One round trip: one pipeline of HMGET, EXPIRE and PEXPIRETIME (store::renew). No HSET.
    assert_eq!(app.command_calls().await, calls(&[("expire", 1), ("hmget", 1), ("pexpiretime", 1)]));

    app.reset_stats().await;
    assert_eq!(client.post(app.url("/logout")).send().await.expect("logout").status(), 200);
    // Read the owner, delete, and take the re-authentication marker in one pipeline (no MULTI, so
    // it works when Redis is full), then
    // one script takes the session out of its index and appends the `logout` event.
    assert_eq!(app.command_calls().await, calls(&LOGOUT_COMMANDS));
}

/// With `COOKIE_SECURE=true` the cookie is `__Host-session_id`: Secure, `Path=/`, no Domain (the
/// prefix's rules), set at login, renewed, and cleared with the same attributes; a plain
/// `session_id` (say, planted by a sibling subdomain) is ignored without asking Redis.
async fn cookie_secure_uses_the_host_prefix(kind: Kind) {
    let app = TestApp::start_on_with(kind, Settings { cookie_secure: true, ..Settings::default() }).await;
    let response = post_login(&plain_client(), &app, "alice").await;
    let cookie = set_cookie(&response).expect("cookie");
    let body: Value = response.json().await.expect("json");
    let id = body["session_id"].as_str().expect("id").to_string();
    assert_eq!(
        cookie,
        format!("__Host-session_id={id}; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=1800")
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    let secure_cookie = format!("__Host-session_id={id}");
    let profile = plain_client()
        .get(app.url("/profile"))
        .header("cookie", &secure_cookie)
        .send()
        .await
        .expect("profile");
    assert_eq!(profile.status(), 200);
    assert!(set_cookie(&profile).expect("renewed").starts_with("__Host-session_id="));
    app.reset_stats().await;
    let plain = profile_with(&app, &id).await;
    assert_eq!(plain.status(), 401, "only the __Host- name counts over HTTPS");
    assert_eq!(app.command_calls().await, BTreeMap::new(), "and it never reached Redis");
    let logout = plain_client()
        .post(app.url("/logout"))
        .header("cookie", &secure_cookie)
        .send()
        .await
        .expect("logout");
    assert_eq!(
        set_cookie(&logout).expect("cookie"),
        "__Host-session_id=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0"
    );
    assert_eq!(profile_with(&app, &id).await.status(), 401);
    assert!(app.session_keys().await.is_empty(), "the logout deleted it");
}

/// Planted cookies cannot lock anyone out: every well-formed `session_id` is tried in order (at
/// most eight) and the first live one wins; malformed ones never reach Redis, and other
/// cookies' bytes (UTF-8, anything) never hide ours.
async fn several_session_cookies_the_first_live_one_wins(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    let live = login_id(&app, "alice").await;
    let [dead_1, dead_2, dead_3] = [uuid_v4(), uuid_v4(), uuid_v4()];
    let dead: Vec<String> = (0..8).map(|_| format!("session_id={}", uuid_v4())).collect();
    let cases = [
        ("two, the live one second", format!("session_id={dead_1}; session_id={live}"), 200, 2),
        (
            "four, the live one fourth",
            format!("session_id={dead_1}; session_id={dead_2}; session_id={dead_3}; session_id={live}"),
            200,
            4,
        ),
        ("eight, the live one eighth", format!("{}; session_id={live}", dead[..7].join("; ")), 200, 8),
        (
            "nine, the live one ninth: past the eight tried",
            format!("{}; session_id={live}", dead.join("; ")),
            401,
            8,
        ),
        ("a non-ASCII cookie before it", format!("theme=caf\u{e9}; session_id={live}"), 200, 1),
        (
            "four, the live one third",
            format!("session_id={dead_1}; session_id=junk; session_id={dead_2}; session_id={live}"),
            200,
            3,
        ),
        ("two, none live", format!("session_id={dead_1}; session_id={dead_2}"), 401, 2),
        ("malformed only", "session_id=junk; session_id=*; session_id=".to_string(), 401, 0),
    ];
    for (case, cookie, status, renewals) in cases {
        app.reset_stats().await;
        let response =
            plain_client().get(app.url("/profile")).header("cookie", &cookie).send().await.expect("profile");
        assert_eq!(response.status(), status, "{case}");
        if status == 200 {
            assert_eq!(
                set_cookie(&response).map(|c| c.contains(&live)),
                Some(true),
                "{case}: the live id is renewed"
            );
        }
        let calls = app.command_calls().await;
        // One renewal pipeline (its HMGET) per id tried.
        assert_eq!(calls.get("hmget").copied().unwrap_or(0), renewals, "{case}: {calls:?}");
    }
}

async fn logout_without_a_session_still_clears_the_cookie(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    for cookie in [None, Some("session_id=garbage".to_string()), Some(format!("session_id={}", uuid_v4()))] {
        let mut request = plain_client().post(app.url("/logout"));
        if let Some(cookie) = &cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.expect("logout");
        assert_eq!(response.status(), 200, "{cookie:?}");
        assert_eq!(
            set_cookie(&response).as_deref(),
            Some("session_id=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0")
        );
        assert_eq!(
            response.json::<Value>().await.expect("json"),
            json!({"message": "Logged out successfully"})
        );
    }
}

fn uuid_v4() -> String {
    session_storage::store::SessionId::new().to_string()
}

async fn docs_and_openapi_are_served(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    let client = plain_client();
    let page = client.get(app.url("/docs/")).send().await.expect("docs");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains("swagger-ui"));
    let spec: Value =
        client.get(app.url("/openapi.json")).send().await.expect("spec").json().await.expect("json");
    let paths = spec["paths"].as_object().expect("paths");
    assert_eq!(
        paths.keys().collect::<Vec<_>>(),
        [
            "/",
            "/health",
            "/login",
            "/logout",
            "/logout-everywhere",
            "/note",
            "/profile",
            "/reauth",
            "/security-events",
            "/session",
            "/session/details",
            "/sessions",
            "/sessions/{handle}"
        ]
    );
    for (path, method, statuses) in [
        ("/login", "post", vec!["200", "400", "401", "403", "413", "415", "422", "429", "503"]),
        ("/reauth", "post", vec!["200", "400", "401", "403", "413", "415", "422", "429", "503"]),
        ("/security-events", "get", vec!["200", "401", "503"]),
        ("/profile", "get", vec!["200", "401", "503"]),
        ("/session", "get", vec!["200", "401", "503"]),
        ("/session/details", "get", vec!["200", "401", "503"]),
        ("/logout", "post", vec!["200", "403", "503"]),
        ("/sessions", "get", vec!["200", "401", "503"]),
        ("/sessions/{handle}", "delete", vec!["200", "401", "403", "404", "503"]),
        ("/logout-everywhere", "post", vec!["200", "401", "403", "503"]),
        ("/health", "get", vec!["200", "503"]),
        ("/note", "get", vec!["200", "503"]),
        ("/note", "put", vec!["200", "400", "401", "403", "413", "415", "422", "429", "503"]),
    ] {
        let responses = spec["paths"][path][method]["responses"].as_object().expect("responses");
        assert_eq!(responses.keys().collect::<Vec<_>>(), statuses, "{path}");
    }
    // The username's rules, as far as a pattern says them, and the rest in words.
    let username = &spec["components"]["schemas"]["LoginRequest"]["properties"]["username"];
    assert_eq!((username["minLength"].as_u64(), username["maxLength"].as_u64()), (Some(1), Some(64)));
    assert!(username["pattern"].as_str().is_some_and(|p| p.starts_with("^[^ \\u0000-")), "{username}");
    assert!(username["description"].as_str().is_some_and(|d| d.contains("RFC 8265")), "{username}");
    // Login links its session to every operation that reads the cookie, by `operationId`.
    let links = spec["paths"]["/login"]["post"]["responses"]["200"]["links"].as_object().expect("links");
    assert_eq!(links.len(), 11, "{links:?}");
    for (id, link) in links {
        assert_eq!(link["operationId"], id.as_str());
        assert_eq!(link["parameters"]["session_id"], "$response.body#/session_id");
    }
    assert!(links.contains_key("profile") && links.contains_key("logout") && !links.contains_key("health"));
    let health = client.get(app.url("/health")).send().await.expect("health");
    assert_eq!(health.status(), 200);
}

/// How much later than `REDIS_TIMEOUT_MS` an answer may come: the HTTP exchange itself, on a
/// busy 2-core machine. The README and the API docs state the same bound.
const DEADLINE_MARGIN: Duration = Duration::from_millis(250);

#[tokio::test]
async fn outage_answers_503_in_time_and_recovers_without_a_restart() {
    let settings = Settings { timeout: Duration::from_millis(300), ..Settings::default() };
    let mut app = TestApp::start_with(settings).await;
    let id = login_id(&app, "alice").await;
    let client = plain_client();

    // Paused: connections stay open, nothing answers.
    // (The logout names another session: a command that timed out on our side is still queued
    // on the socket, and a paused Redis runs it when it wakes up.)
    app.redis().pause().expect("SIGSTOP");
    let other = uuid_v4();
    for (method, path, cookie) in [
        ("GET", "/profile", &id),
        ("GET", "/session", &id),
        ("POST", "/login", &id),
        ("POST", "/logout", &other),
        ("GET", "/sessions", &id),
        ("GET", "/session/details", &id),
        ("DELETE", "/sessions/0123456789abcdef", &id),
        ("POST", "/logout-everywhere", &id),
        ("GET", "/health", &id),
    ] {
        let started = Instant::now();
        let request = client
            .request(reqwest::Method::from_bytes(method.as_bytes()).expect("method"), app.url(path))
            .json(&json!({"username": "bob", "password": "pw"}));
        // A login with the cookie would delete that session first; its DEL, queued behind the
        // stall, would run when Redis resumes. The login goes without it here.
        let request =
            if path == "/login" { request } else { request.header("cookie", format!("session_id={cookie}")) };
        let response = request.send().await.expect("request");
        let took = started.elapsed();
        assert_eq!(response.status(), 503, "{method} {path} while paused");
        assert_eq!(
            response.json::<Value>().await.expect("json"),
            json!({"detail": "Session store unavailable"})
        );
        assert!(took < settings.timeout + DEADLINE_MARGIN, "{method} {path} took {took:?}");
    }
    let docs = client.get(app.url("/docs/")).send().await.expect("docs");
    assert_eq!(docs.status(), 200, "docs do not need Redis");
    app.redis().resume().expect("SIGCONT");
    assert_eq!(profile_with(&app, &id).await.status(), 200, "back after SIGCONT");

    // Killed: the connection drops.
    app.redis_mut().kill();
    for _ in 0..3 {
        let started = Instant::now();
        let response = profile_with(&app, &id).await;
        assert_eq!(response.status(), 503);
        assert!(started.elapsed() < settings.timeout + DEADLINE_MARGIN, "took {:?}", started.elapsed());
    }
    // Back (empty: no persistence): the same server reconnects by itself; old sessions are a
    // clean 401, new logins work.
    app.redis_mut().restart().expect("restart redis");
    let deadline = Instant::now() + Duration::from_secs(10);
    let recovered = loop {
        let response = post_login(&client, &app, "alice").await;
        if response.status() == 200 {
            break response.json::<Value>().await.expect("json");
        }
        assert_eq!(response.status(), 503);
        assert!(Instant::now() < deadline, "no recovery within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(profile_with(&app, &id).await.status(), 401);
    let new_id = recovered["session_id"].as_str().expect("id");
    assert_eq!(profile_with(&app, new_id).await.status(), 200);
}

async fn session_route_shows_the_remaining_lifetime(kind: Kind) {
    let settings = Settings { absolute_ttl: Duration::from_secs(3600), ..Settings::default() };
    let app = TestApp::start_on_with(kind, settings).await;
    let id = login_id(&app, "alice").await;
    let response = plain_client()
        .get(app.url("/session"))
        .header("cookie", format!("session_id={id}"))
        .send()
        .await
        .expect("session");
    assert_eq!(response.status(), 200);
    assert_eq!(max_age(&set_cookie(&response).expect("renewed cookie")), 1800);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["user_id"], user_id_for("alice"));
    assert_eq!(body["username"], "alice");
    assert_eq!(body["expires_in"], 1800);
    let created_at = body["created_at"].as_u64().expect("created_at");
    assert!(session_storage::store::unix_now() - created_at < 60);
    let anonymous = plain_client().get(app.url("/session")).send().await.expect("session");
    assert_eq!(anonymous.status(), 401);
}

async fn extra_routes_get_the_same_middleware(kind: Kind) {
    use axum::routing::get;
    let extra = axum::Router::new().route("/extra", get(|| async { "extra" }));
    let app = TestApp::start_with_extra(kind, Settings::default(), extra).await;
    let base = app.url("");
    let response = plain_client().get(format!("{base}/extra")).send().await.expect("extra");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("cache-control").map(|v| v.to_str().expect("ascii")), Some("no-store"));
    assert_eq!(response.text().await.expect("text"), "extra");
    let post = plain_client().post(format!("{base}/extra")).send().await.expect("post");
    assert_eq!(post.status(), 405);
    assert_eq!(post.json::<Value>().await.expect("json"), json!({"detail": "Method Not Allowed"}));
}

/// One deadline per request, however many round trips it makes: with every Redis command
/// delayed by up to 280 ms (back-to-back `DEBUG SLEEP`s), each round trip stays under the
/// 300 ms deadline, so a deadline per round trip would let login's two of them take up to
/// 560 ms. One deadline for the whole request answers within 300 ms plus the margin: a 200 or
/// a 503, never later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_within_one_deadline_when_redis_is_slow() {
    let redis = session_storage::redis::PrivateRedis::start_with_args(&["--enable-debug-command", "local"])
        .expect("redis");
    let settings = Settings { timeout: Duration::from_millis(300), ..Settings::default() };
    let app = TestApp::serve_on(redis, settings).await;
    let id = login_id(&app, "alice").await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut sleeper = app.admin.clone();
    let stopping = stop.clone();
    let slow = tokio::spawn(async move {
        while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
            let _: () = query(&mut sleeper, &["DEBUG", "SLEEP", "0.28"]).await;
        }
    });
    let client = plain_client();
    let mut statuses = BTreeMap::new();
    for round in 0..6 {
        for (method, path) in
            [("POST", "/login"), ("GET", "/profile"), ("GET", "/session"), ("POST", "/logout")]
        {
            let started = Instant::now();
            let cookie = if path.starts_with("/log") { uuid_v4() } else { id.clone() };
            let response = client
                .request(reqwest::Method::from_bytes(method.as_bytes()).expect("method"), app.url(path))
                .header("cookie", format!("session_id={cookie}"))
                .json(&json!({"username": format!("user{round}"), "password": "pw"}))
                .send()
                .await
                .expect("request");
            let took = started.elapsed();
            let status = response.status().as_u16();
            assert!([200, 503].contains(&status), "{method} {path}: {status}");
            assert!(
                took < settings.timeout + DEADLINE_MARGIN,
                "{method} {path} answered {status} after {took:?}"
            );
            *statuses.entry(status).or_insert(0u32) += 1;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    slow.await.expect("sleeper");
    eprintln!("slow Redis: statuses {statuses:?}");
}

/// A body that cannot be read at all (here a broken chunked encoding, sent over a raw socket
/// because no HTTP client will write one) is the client's fault: 400 with a JSON detail.
async fn an_unreadable_body_is_a_400(kind: Kind) {
    use std::io::{Read, Write};
    let app = TestApp::start_on(kind).await;
    app.reset_stats().await;
    let addr = app.addr;
    let answer = tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(addr).expect("connect");
        socket.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        socket
            .write_all(
                b"POST /login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                  Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nnot-a-chunk-size\r\n\r\n",
            )
            .expect("write");
        let mut answer = Vec::new();
        socket.read_to_end(&mut answer).expect("an answer within 5 s");
        answer
    })
    .await
    .expect("raw request");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    let body = answer.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{body:?}: {e}"));
    let detail = body["detail"].as_str().expect("detail");
    assert!(detail.starts_with("Could not read the body"), "{detail}");
    assert_eq!(app.command_calls().await, BTreeMap::new(), "Redis was asked");
}

// Every test above that takes a `Kind` runs twice: on a single Redis and on a 3-master cluster.
on_every_backend! {
    #[tokio::test]
    walkthrough_login_profile_logout_profile;
    #[tokio::test]
    profile_slides_the_ttl_and_the_cookie;
    #[tokio::test]
    an_idle_session_expires;
    #[tokio::test]
    the_absolute_lifetime_caps_a_busy_session;
    #[tokio::test]
    login_with_a_session_replaces_it;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    user_ids_are_stable_even_when_first_logins_race;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    logout_racing_profiles_leaves_nothing_behind;
    #[tokio::test]
    bad_input_gets_a_json_4xx_and_never_reaches_redis_when_malformed;
    #[tokio::test]
    round_trips_counted_by_redis;
    #[tokio::test]
    cookie_secure_uses_the_host_prefix;
    #[tokio::test]
    several_session_cookies_the_first_live_one_wins;
    #[tokio::test]
    logout_without_a_session_still_clears_the_cookie;
    #[tokio::test]
    docs_and_openapi_are_served;
    #[tokio::test]
    session_route_shows_the_remaining_lifetime;
    #[tokio::test]
    extra_routes_get_the_same_middleware;
    #[tokio::test]
    an_unreadable_body_is_a_400;
}

/// Only `bob` (by its canonical name) with `pw`, recording what it was told.
struct CanonicalBob(std::sync::Mutex<Vec<(String, String)>>);

impl session_storage::PasswordCheck for CanonicalBob {
    fn verify<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        Box::pin(std::future::ready(false))
    }

    fn verify_named<'a>(
        &'a self,
        username: &'a str,
        canonical: &'a str,
        password: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        self.0.lock().expect("lock").push((username.to_string(), canonical.to_string()));
        Box::pin(std::future::ready(canonical == "bob" && password == "pw"))
    }
}

/// The password check is told the name's canonical form as well as the name as typed: an
/// application whose accounts differ by case looks them up by the identity the service uses.
#[tokio::test]
async fn the_password_check_is_told_the_canonical_name() {
    let app = TestApp::start().await;
    let check = CanonicalBob(std::sync::Mutex::new(Vec::new()));
    let typed = "\u{FF22}ob"; // a fullwidth B
    let login =
        app.store.start_session(NewSession::new(typed).with_password(&check, "pw")).await.expect("redis");
    let (_, session) = login.started().expect("accepted by its canonical name");
    assert_eq!(session.user_id, user_id_for("bob"));
    let refused =
        app.store.start_session(NewSession::new("Bob").with_password(&check, "nope")).await.expect("redis");
    assert!(refused.started().is_none());
    let told = check.0.lock().expect("lock").clone();
    assert_eq!(told, [(typed.to_string(), "bob".to_string()), ("Bob".to_string(), "bob".to_string())]);
}

/// Only ids this service mints are cookies. With `SESSION_KEY_HASHING` on at one instance and
/// off at another (a rolling deploy, or another app on the same Redis), the digest the first
/// keeps in Redis (`session:<digest>`) is a key the second would find: it must still be no
/// cookie there, for reading or for ending sessions.
#[tokio::test]
async fn a_digest_read_from_redis_is_never_a_cookie() {
    let app = TestApp::start_with(Settings { key_hashing: true, ..Settings::default() }).await;
    let plain = app.another_instance_with(Settings { key_hashing: false, ..app.settings }).await;
    let id = login_id(&app, "alice").await;
    let keys = app.session_keys().await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let digest = keys[0].strip_prefix("session:").expect("a session key").to_string();
    assert_ne!(digest, id);
    assert_eq!(get_with_session(&plain.url("/profile"), &digest).await.status(), 401);
    assert_eq!(post_with_session(&plain.url("/logout-everywhere"), &digest).await, 401);
    assert_eq!(post_with_session(&plain.url("/logout"), &digest).await, 200, "a logout always answers 200");
    assert_eq!(profile_with(&app, &id).await.status(), 200, "the real session is untouched");
}
