//! Lesson 10 (the security log): the lesson's transcript, one snapshot per step, and the
//! service's device names, security log and privileged window over real HTTP against a private
//! Redis (and a private cluster): which device is which, what the log holds and bounds, who may
//! end other sessions, and what `POST /reauth` does.

mod common;

use std::collections::BTreeMap;

#[allow(dead_code)]
#[path = "../examples/10_security_log.rs"]
mod lesson;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use session_storage::store::user_id_for;

const FIREFOX_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

#[tokio::test]
async fn transcript_per_step() {
    common::check_lesson("10_security_log", 6, lesson::run).await;
}

/// A cookie-keeping client with a user agent, logged in as `user` through a proxy that says the
/// client is `forwarded`.
struct Device {
    client: reqwest::Client,
    forwarded: &'static str,
    id: String,
}

async fn device(app: &TestApp, user: &str, agent: &str, forwarded: &'static str) -> Device {
    let client = reqwest::Client::builder().cookie_store(true).user_agent(agent).build().expect("client");
    let response = client
        .post(app.url("/login"))
        .header("x-forwarded-for", forwarded)
        .json(&json!({"username": user, "password": "pw"}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    Device { client, forwarded, id: body["session_id"].as_str().expect("id").to_string() }
}

impl Device {
    async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.client.get(app.url(path)).header("x-forwarded-for", self.forwarded).send().await.expect("GET")
    }

    async fn json(&self, app: &TestApp, path: &str) -> Value {
        let response = self.get(app, path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("json")
    }

    async fn post(&self, app: &TestApp, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut request = self.client.post(app.url(path)).header("x-forwarded-for", self.forwarded);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("POST")
    }

    async fn revoke(&self, app: &TestApp, handle: &str) -> reqwest::Response {
        let url = app.url(&format!("/sessions/{handle}"));
        self.client.delete(url).header("x-forwarded-for", self.forwarded).send().await.expect("DELETE")
    }
}

fn handle_of(id: &str) -> String {
    session_storage::store::SessionId::parse(id).expect("id").handle()
}

fn proxied() -> Settings {
    Settings { trusted_proxies: "127.0.0.1", ..Settings::default() }
}

/// The events' `type`s, newest first.
fn kinds(events: &Value) -> Vec<String> {
    events["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().expect("type").into())
        .collect()
}

async fn two_devices_are_named_and_logged(kind: Kind) {
    let app = TestApp::start_on_with(kind, proxied()).await;
    let laptop = device(&app, "alice", FIREFOX_LINUX, "203.0.113.9").await;
    let phone = device(&app, "alice", SAFARI_IPHONE, "198.51.100.23").await;

    let list = phone.json(&app, "/sessions").await;
    let sessions = list["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 2, "{list}");
    let entry =
        |handle: String| sessions.iter().find(|s| s["handle"] == handle.as_str()).expect("listed").clone();
    let on_phone = entry(handle_of(&phone.id));
    let on_laptop = entry(handle_of(&laptop.id));
    assert_eq!(
        (&on_phone["device"], &on_phone["ip"], &on_phone["current"]),
        (&json!("Safari on iPhone"), &json!("198.51.100.23"), &json!(true))
    );
    assert_eq!(
        (&on_laptop["device"], &on_laptop["ip"], &on_laptop["current"]),
        (&json!("Firefox on Linux"), &json!("203.0.113.9"), &json!(false))
    );
    // The session hash holds the two fields; the renew path wrote nothing else.
    let fields: Vec<String> = app.cmd(&["HKEYS", &format!("session:{}", phone.id)]).await;
    assert_eq!(fields, ["user_id", "username", "created_at", "device", "ip"]);

    // The log: both logins, newest first, with device, address and Redis's time.
    let events = laptop.json(&app, "/security-events").await;
    assert_eq!(kinds(&events), ["login", "login"], "{events}");
    let newest = &events["events"][0];
    assert_eq!((&newest["device"], &newest["ip"]), (&json!("Safari on iPhone"), &json!("198.51.100.23")));
    assert_eq!(newest["handle"], handle_of(&phone.id).as_str());
    let now = session_storage::store::unix_now();
    let at = newest["at"].as_u64().expect("at");
    assert!(at + 60 >= now && at <= now + 60, "at {at}, now {now}");

    // The phone revokes the laptop (a fresh login is privileged): the log says which device.
    assert_eq!(phone.revoke(&app, &handle_of(&laptop.id)).await.status(), 200);
    let events = phone.json(&app, "/security-events").await;
    assert_eq!(kinds(&events), ["revoked", "login", "login"], "{events}");
    let revoked = &events["events"][0];
    assert_eq!((&revoked["device"], &revoked["ip"]), (&json!("Firefox on Linux"), &json!("203.0.113.9")));
    assert_eq!(revoked["handle"], handle_of(&laptop.id).as_str());

    // A logout is recorded in the user's log too, and no event holds a session id.
    assert_eq!(phone.post(&app, "/logout", None).await.status(), 200);
    let again = device(&app, "alice", SAFARI_IPHONE, "198.51.100.23").await;
    let events = again.json(&app, "/security-events").await;
    assert_eq!(kinds(&events), ["login", "logout", "revoked", "login", "login"], "{events}");
    let text = events.to_string();
    for id in [&laptop.id, &phone.id, &again.id] {
        assert!(!text.contains(id.as_str()) && !text.contains(&id.replace('-', "")[..12]), "{id} in {text}");
    }
    // The log is a stream with the user's hash tag and a TTL no longer than the absolute lifetime.
    let log = format!("user:{{{}}}:events", user_id_for("alice"));
    let kind_of: String = app.cmd(&["TYPE", &log]).await;
    assert_eq!(kind_of, "stream");
    let ttl: i64 = app.cmd(&["TTL", &log]).await;
    let absolute = app.settings.absolute_ttl.as_secs() as i64;
    assert!((absolute - 60..=absolute).contains(&ttl), "TTL {ttl}");
}

on_every_backend! {
    #[tokio::test]
    two_devices_are_named_and_logged;
    #[tokio::test]
    the_privileged_window_guards_ending_other_sessions;
}

/// A header woothee does not recognise, huge or with a control character, is "unknown device"
/// in the session, the list and the log: never text the client chose.
#[tokio::test]
async fn an_unrecognised_user_agent_is_an_unknown_device_everywhere() {
    let app = TestApp::start_with(proxied()).await;
    let agent = format!("SyncTool/1.0 ({})", "x".repeat(5000));
    let robot = device(&app, "bob", &agent, "192.0.2.1").await;
    let stored: String = app.cmd(&["HGET", &format!("session:{}", robot.id), "device"]).await;
    assert_eq!(stored, "unknown device", "a header woothee does not know is never shown as sent");
    let list = robot.json(&app, "/sessions").await;
    assert_eq!(list["sessions"][0]["device"], stored.as_str());

    // No header at all: "unknown device", and control characters never reach Redis.
    let bare = reqwest::Client::builder().cookie_store(true).build().expect("client");
    let response = bare
        .post(app.url("/login"))
        .json(&json!({"username": "bob", "password": "pw"}))
        .send()
        .await
        .expect("login");
    let id = response.json::<Value>().await.expect("json")["session_id"].as_str().expect("id").to_string();
    let stored: String = app.cmd(&["HGET", &format!("session:{id}"), "device"]).await;
    assert_eq!(stored, "unknown device");
    // A header may carry a tab (the only control character HTTP lets through): still unknown.
    let raw = reqwest::header::HeaderValue::from_bytes(b"Tool/1.0\t(evil)").expect("header");
    let response = plain_client()
        .post(app.url("/login"))
        .header("user-agent", raw)
        .json(&json!({"username": "bob", "password": "pw"}))
        .send()
        .await
        .expect("login");
    let id = response.json::<Value>().await.expect("json")["session_id"].as_str().expect("id").to_string();
    let stored: String = app.cmd(&["HGET", &format!("session:{id}"), "device"]).await;
    assert_eq!(stored, "unknown device");
    let events = robot.json(&app, "/security-events").await;
    let devices: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["device"].as_str().expect("device"))
        .collect();
    assert!(devices.iter().all(|device| *device == "unknown device"), "{devices:?}");
}

#[tokio::test]
async fn the_log_is_capped_and_shows_at_most_100() {
    let app = TestApp::start_with(Settings { max_sessions_per_user: 500, ..Settings::default() }).await;
    let mut last = String::new();
    for _ in 0..150 {
        last = login_id(&app, "carol").await;
    }
    let events: Value =
        get_with_session(&app.url("/security-events"), &last).await.json().await.expect("json");
    let shown = events["events"].as_array().expect("events");
    assert_eq!(shown.len(), 100);
    assert_eq!(shown[0]["handle"], handle_of(&last).as_str(), "newest first");
    let log = format!("user:{{{}}}:events", user_id_for("carol"));
    let length: u64 = app.cmd(&["XLEN", &log]).await;
    assert_eq!(length, 150, "under the cap nothing is trimmed");
    for _ in 0..250 {
        login_id(&app, "carol").await;
    }
    let length: u64 = app.cmd(&["XLEN", &log]).await;
    // MAXLEN ~ 200 trims whole nodes of 100 entries: the length stays within a node of the cap.
    assert!((200..300).contains(&length), "{length} entries after 400 logins");
    let ttl: i64 = app.cmd(&["TTL", &log]).await;
    assert!(ttl > 0, "the log has a TTL: {ttl}");
}

#[tokio::test]
async fn without_a_session_the_log_is_401() {
    let app = TestApp::start().await;
    let response = plain_client().get(app.url("/security-events")).send().await.expect("GET");
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({"detail": "Session expired or invalid"})
    );
    let response =
        get_with_session(&app.url("/security-events"), "0f8fad5b-d9cb-469f-a165-70867728950e").await;
    assert_eq!(response.status(), 401);
}

async fn the_privileged_window_guards_ending_other_sessions(kind: Kind) {
    let settings = Settings { privileged_window: Duration::from_secs(5), ..proxied() };
    let app = TestApp::start_on_with(kind, settings).await;
    let laptop = device(&app, "dave", FIREFOX_LINUX, "203.0.113.9").await;
    let phone = device(&app, "dave", SAFARI_IPHONE, "198.51.100.23").await;
    let me = device(&app, "dave", SAFARI_IPHONE, "198.51.100.23").await;
    tokio::time::sleep(Duration::from_secs(6)).await;

    // Six seconds after login, ending other sessions needs a fresh authentication.
    let refused = phone.post(&app, "/logout-everywhere", None).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.json::<Value>().await.expect("json"), json!({"detail": "Re-authentication required"}));
    let refused = phone.revoke(&app, &handle_of(&laptop.id)).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(profile_with(&app, &laptop.id).await.status(), 200, "nothing was ended");
    // Ending one's own session never needs it.
    assert_eq!(me.revoke(&app, &handle_of(&me.id)).await.status(), 200);

    // /reauth from another site is refused, and leaves the session as it was.
    let cross = phone
        .client
        .post(app.url("/reauth"))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"password": "pw"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(cross.status(), 403);
    assert_eq!(profile_with(&app, &phone.id).await.status(), 200);
    // A body that is not a reauth body is a 422, and changes nothing either.
    assert_eq!(phone.post(&app, "/reauth", Some(json!({"pass": "pw"}))).await.status(), 422);

    let reauth = phone.post(&app, "/reauth", Some(json!({"password": "pw"}))).await;
    assert_eq!(reauth.status(), 200);
    let cookie = set_cookie(&reauth).expect("a new cookie");
    let new_id =
        cookie.split(';').next().and_then(|c| c.strip_prefix("session_id=")).expect("id").to_string();
    assert_ne!(new_id, phone.id);
    assert_eq!(
        reauth.json::<Value>().await.expect("json"),
        json!({"message": "Re-authenticated", "privileged_for": 5})
    );
    assert_eq!(profile_with(&app, &phone.id).await.status(), 401, "the pre-reauth id is dead at once");
    assert_eq!(profile_with(&app, &new_id).await.status(), 200);

    let everywhere = phone.post(&app, "/logout-everywhere", None).await;
    assert_eq!(everywhere.status(), 200);
    assert_eq!(profile_with(&app, &laptop.id).await.status(), 401, "the other device is logged out");
    assert_eq!(profile_with(&app, &new_id).await.status(), 401);

    let fresh = device(&app, "dave", FIREFOX_LINUX, "203.0.113.9").await;
    let events = fresh.json(&app, "/security-events").await;
    assert_eq!(kinds(&events)[..5], ["login", "logout_everywhere", "reauth", "revoked", "login"], "{events}");
    assert_eq!(events["events"][2]["handle"], handle_of(&new_id).as_str());
}

#[tokio::test]
async fn reauth_is_throttled_like_login_and_refused_logins_are_logged() {
    let limits = session_storage::store::LoginLimits { per_user_and_client: 3, per_client: 100 };
    let app = TestApp::start_with(Settings { login_limits: limits, ..proxied() }).await;
    let erin = device(&app, "erin", FIREFOX_LINUX, "203.0.113.9").await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(erin.post(&app, "/reauth", Some(json!({"password": "pw"}))).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429], "one login and two reauths spend the three attempts");
    let events = erin.json(&app, "/security-events").await;
    assert_eq!(kinds(&events), ["throttled", "reauth", "reauth", "login"], "{events}");
    assert_eq!(events["events"][0]["handle"], Value::Null);
    assert_eq!(events["events"][0]["device"], "Firefox on Linux");

    // A refused login of a user with no log creates no key: anonymous clients cannot make state.
    let stranger = reqwest::Client::new();
    for _ in 0..4 {
        stranger
            .post(app.url("/login"))
            .header("x-forwarded-for", "192.0.2.77")
            .json(&json!({"username": "nobody-here", "password": "pw"}))
            .send()
            .await
            .expect("login");
    }
    let log = format!("user:{{{}}}:events", user_id_for("nobody-here"));
    let exists: u64 = app.cmd(&["EXISTS", &log]).await;
    assert_eq!(exists, 1, "three logins made it");
    let length: u64 = app.cmd(&["XLEN", &log]).await;
    assert_eq!(length, 3, "three logins; the refusal is kept apart");
    let refused = format!("user:{{{}}}:refused", user_id_for("nobody-here"));
    let clients: u64 = app.cmd(&["HLEN", &refused]).await;
    assert_eq!(clients, 1, "one refusing client");
    let (log_expiry, refused_expiry): (i64, i64) =
        (app.cmd(&["PEXPIRETIME", &log]).await, app.cmd(&["PEXPIRETIME", &refused]).await);
    assert!(log_expiry > 0, "{log_expiry}");
    assert_eq!(refused_expiry, log_expiry, "the refusals expire with the log, not after");
    // The log of a user whose sessions are all gone may be gone too: a refusal does not bring it back.
    let ghost = format!("user:{{{}}}:events", user_id_for("ghost"));
    let mut statuses = Vec::new();
    for attempt in 0..4 {
        if attempt == 3 {
            app.cmd::<i64>(&["DEL", &ghost]).await;
        }
        let response = stranger
            .post(app.url("/login"))
            .header("x-forwarded-for", "192.0.2.78")
            .json(&json!({"username": "ghost", "password": "pw"}))
            .send()
            .await
            .expect("login");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    let exists: u64 = app.cmd(&["EXISTS", &ghost]).await;
    assert_eq!(exists, 0, "a refusal never creates the log");
    let ghost_refused = format!("user:{{{}}}:refused", user_id_for("ghost"));
    let exists: u64 = app.cmd(&["EXISTS", &ghost_refused]).await;
    assert_eq!(exists, 0, "nor a record of refusals without it");
}

/// Anyone can make refused logins of any user. 300 of them, from one address with a
/// `User-Agent` of its own choosing (wrong passwords, then the throttle), leave the user's own
/// events alone: their last `login` is still shown, the refusals are one entry with a count, and
/// nothing shows the attacker's header. Refusals from many addresses keep at most 20 entries.
#[tokio::test]
async fn refused_logins_cannot_push_the_users_own_events_out() {
    fn only_wonderland(_: &str, password: &str) -> bool {
        password == "wonderland"
    }
    let limits = session_storage::store::LoginLimits { per_user_and_client: 10, per_client: 1000 };
    let settings = Settings { login_limits: limits, password_check: Some(only_wonderland), ..proxied() };
    let app = TestApp::start_with(settings).await;
    let client =
        reqwest::Client::builder().cookie_store(true).user_agent(FIREFOX_LINUX).build().expect("client");
    let login = client
        .post(app.url("/login"))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({"username": "frank", "password": "wonderland"}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let notice = "SECURITY NOTICE: your account is locked, call +1 555 0100";
    let attacker = reqwest::Client::builder().user_agent(notice).build().expect("client");
    let mut statuses = BTreeMap::new();
    for _ in 0..300 {
        let response = attacker
            .post(app.url("/login"))
            .header("x-forwarded-for", "198.51.100.66")
            .json(&json!({"username": "frank", "password": "guess"}))
            .send()
            .await
            .expect("login");
        *statuses.entry(response.status().as_u16()).or_insert(0) += 1;
    }
    assert_eq!(statuses, BTreeMap::from([(401, 10), (429, 290)]));
    let events: Value =
        client.get(app.url("/security-events")).send().await.expect("events").json().await.expect("json");
    assert_eq!(kinds(&events), ["throttled", "login"], "{events}");
    let refusal = &events["events"][0];
    assert_eq!(refusal["count"], 300, "{events}");
    assert_eq!(refusal["device"], "unknown device");
    assert_eq!(refusal["ip"], "198.51.100.66");
    assert_eq!(events["events"][1]["device"], "Firefox on Linux");
    assert_eq!(events["events"][1]["count"], 1);
    assert!(!events.to_string().contains("SECURITY NOTICE"), "{events}");

    // From 30 addresses: at most 20 entries, the newest clients' (one was the flood above).
    for n in 0..30 {
        attacker
            .post(app.url("/login"))
            .header("x-forwarded-for", format!("192.0.2.{n}"))
            .json(&json!({"username": "frank", "password": "guess"}))
            .send()
            .await
            .expect("login");
    }
    let events: Value =
        client.get(app.url("/security-events")).send().await.expect("events").json().await.expect("json");
    let shown = kinds(&events);
    assert_eq!(shown.len(), 21, "20 refusing clients and the login: {events}");
    assert_eq!(shown.last().map(String::as_str), Some("login"));
    assert!(shown[..20].iter().all(|kind| kind == "wrong_password"), "{shown:?}");
    let ips: Vec<&str> = events["events"].as_array().expect("events")[..20]
        .iter()
        .map(|e| e["ip"].as_str().expect("ip"))
        .collect();
    assert!(
        ips.contains(&"192.0.2.29") && !ips.contains(&"198.51.100.66"),
        "the oldest clients went first: {ips:?}"
    );
}

#[tokio::test]
async fn the_password_check_is_one_replaceable_place() {
    fn only_wonderland(_: &str, password: &str) -> bool {
        password == "wonderland"
    }
    let app =
        TestApp::start_with(Settings { password_check: Some(only_wonderland), ..Settings::default() }).await;
    let client = browser();
    let wrong = client
        .post(app.url("/login"))
        .json(&json!({"username": "alice", "password": "pw"}))
        .send()
        .await
        .expect("login");
    assert_eq!(wrong.status(), 401);
    assert!(set_cookie(&wrong).is_none(), "no cookie for a wrong password");
    assert_eq!(wrong.json::<Value>().await.expect("json"), json!({"detail": "Invalid username or password"}));
    assert!(app.session_keys().await.is_empty(), "nothing was written");
    let right = client
        .post(app.url("/login"))
        .json(&json!({"username": "alice", "password": "wonderland"}))
        .send()
        .await
        .expect("login");
    assert_eq!(right.status(), 200);
    let id = right.json::<Value>().await.expect("json")["session_id"].as_str().expect("id").to_string();
    let wrong =
        client.post(app.url("/reauth")).json(&json!({"password": "pw"})).send().await.expect("reauth");
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.json::<Value>().await.expect("json"), json!({"detail": "Invalid username or password"}));
    assert_eq!(profile_with(&app, &id).await.status(), 200, "a refused reauth leaves the session alone");
    let right = client
        .post(app.url("/reauth"))
        .json(&json!({"password": "wonderland"}))
        .send()
        .await
        .expect("reauth");
    assert_eq!(right.status(), 200);
    assert_eq!(profile_with(&app, &id).await.status(), 401);
}

/// `POST /reauth` racing `POST /logout` with the same cookie, 150 times, the logout a little
/// later each time: however they interleave, once the logout has answered 200 no session of
/// that login is alive, neither the old one nor the one the re-authentication made
/// (`rotate.rs`). Then a logout with the old cookie after a finished re-authentication ends the
/// new session too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reauth_racing_a_logout_leaves_nothing_alive() {
    let app = TestApp::start().await;
    let mut outcomes = BTreeMap::new();
    for n in 0..150 {
        let old = login_id(&app, &format!("racer{n}")).await;
        let reauth = plain_client()
            .post(app.url("/reauth"))
            .header("cookie", format!("session_id={old}"))
            .json(&json!({"password": "pw"}))
            .send();
        // The logout starts from 0 to 2.9 ms after the re-authentication, so that over the 150
        // races it lands before, between and after each of its steps.
        let logout_url = app.url("/logout");
        let delay = Duration::from_micros((n % 30) * 100);
        let logout = async {
            tokio::time::sleep(delay).await;
            post_with_session(&logout_url, &old).await
        };
        let (reauth, logout) = tokio::join!(reauth, logout);
        let reauth = reauth.expect("reauth");
        assert_eq!(logout, 200);
        let status = reauth.status().as_u16();
        *outcomes.entry(status).or_insert(0) += 1;
        let minted = set_cookie(&reauth).and_then(|cookie| {
            cookie.strip_prefix("session_id=").and_then(|rest| rest.split(';').next()).map(str::to_string)
        });
        assert_eq!(profile_with(&app, &old).await.status(), 401, "race {n}: the old session");
        if let Some(new) = minted.filter(|id| !id.is_empty()) {
            assert_eq!(
                profile_with(&app, &new).await.status(),
                401,
                "race {n}: the re-authenticated session"
            );
        }
        assert!(app.session_keys().await.is_empty(), "race {n}: {:?}", app.session_keys().await);
    }
    println!("150 races: re-authentication answered {outcomes:?}");
    let old = login_id(&app, "late").await;
    let reauth = plain_client()
        .post(app.url("/reauth"))
        .header("cookie", format!("session_id={old}"))
        .json(&json!({"password": "pw"}))
        .send()
        .await
        .expect("reauth");
    assert_eq!(reauth.status(), 200);
    assert_eq!(app.session_keys().await.len(), 1, "the new session alone");
    assert_eq!(post_with_session(&app.url("/logout"), &old).await, 200);
    assert!(app.session_keys().await.is_empty(), "the old cookie's logout ended what it became");
}

/// A re-authentication restarts the privileged window, not the session's life: the new
/// session keeps the old one's `created_at` and absolute deadline (its index score and TTL),
/// and records when the password was checked (`authenticated_at`), from which it may end other
/// sessions.
#[tokio::test]
async fn a_reauth_keeps_the_absolute_deadline() {
    let settings = Settings {
        idle_ttl: Duration::from_secs(20),
        absolute_ttl: Duration::from_secs(25),
        privileged_window: Duration::from_secs(2),
        ..proxied()
    };
    let app = TestApp::start_with(settings).await;
    let laptop = device(&app, "grace", FIREFOX_LINUX, "203.0.113.9").await;
    let phone = device(&app, "grace", SAFARI_IPHONE, "203.0.113.10").await;
    let old_created: u64 = app.cmd(&["HGET", &format!("session:{}", phone.id), "created_at"]).await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(phone.post(&app, "/logout-everywhere", None).await.status(), 403, "past the window");
    let reauth = phone.post(&app, "/reauth", Some(json!({"password": "pw"}))).await;
    assert_eq!(reauth.status(), 200);
    let cookie = set_cookie(&reauth).expect("a new cookie");
    let new =
        cookie.strip_prefix("session_id=").and_then(|rest| rest.split(';').next()).expect("id").to_string();
    let key = format!("session:{new}");
    let created: u64 = app.cmd(&["HGET", &key, "created_at"]).await;
    assert_eq!(created, old_created, "created_at is kept");
    let authenticated: u64 = app.cmd(&["HGET", &key, "authenticated_at"]).await;
    assert!(authenticated >= old_created + 3, "{authenticated} {old_created}");
    let ttl: i64 = app.cmd(&["TTL", &key]).await;
    assert!((19..=22).contains(&ttl), "the TTL stops at the old deadline (25 s from login, 3 s ago): {ttl}");
    let index = format!("user:{{{}}}:sessions", user_id_for("grace"));
    let score: f64 = app.cmd(&["ZSCORE", &index, &new]).await;
    let deadline_ms = (old_created + 25) as f64 * 1000.0;
    assert!(
        (score - deadline_ms).abs() <= 1000.0,
        "the index keeps the deadline: {score} against {deadline_ms}"
    );
    // Privileged again, from authenticated_at: it may end the laptop's session.
    let everywhere = phone
        .client
        .post(app.url("/logout-everywhere"))
        .header("x-forwarded-for", phone.forwarded)
        .header("cookie", format!("session_id={new}"))
        .send()
        .await
        .expect("logout everywhere");
    assert_eq!(everywhere.status(), 200);
    assert_eq!(profile_with(&app, &laptop.id).await.status(), 401);
}
