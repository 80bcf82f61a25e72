//! Lesson 06 (every device): the lesson's transcript, one snapshot per step, and the service's
//! "my sessions" routes over real HTTP against a private Redis: the list, revoking one device,
//! logging out everywhere, the index that cannot leak, the race with logins, what each route
//! costs in round trips, and cross-site requests refused.

mod common;

#[allow(dead_code)]
#[path = "../examples/06_every_device.rs"]
mod lesson;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use session_storage::store::user_id_for;

#[tokio::test]
async fn transcript_per_step() {
    common::check_lesson("06_every_device", 7, lesson::run).await;
}

/// One device: a cookie-keeping client logged in as `user`, and its session id.
struct Device {
    client: reqwest::Client,
    id: String,
}

async fn device(app: &TestApp, user: &str) -> Device {
    let client = browser();
    let response = post_login(&client, app, user).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    Device { client, id: body["session_id"].as_str().expect("id").to_string() }
}

impl Device {
    async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.client.get(app.url(path)).send().await.expect("GET")
    }

    async fn sessions(&self, app: &TestApp) -> Value {
        let response = self.get(app, "/sessions").await;
        assert_eq!(response.status(), 200);
        let text = response.text().await.expect("body");
        serde_json::from_str(&text).expect("json")
    }

    async fn revoke(&self, app: &TestApp, handle: &str) -> reqwest::Response {
        self.client.delete(app.url(&format!("/sessions/{handle}"))).send().await.expect("DELETE")
    }

    async fn logout_everywhere(&self, app: &TestApp) -> reqwest::Response {
        self.client.post(app.url("/logout-everywhere")).send().await.expect("POST")
    }
}

/// The handle the service shows for a session id.
fn handle_of(id: &str) -> String {
    session_storage::store::SessionId::parse(id).expect("id").handle()
}

/// No 8 consecutive hex digits of any of `ids` appear in `text`: neither a whole id nor a part.
fn assert_no_id_in(text: &str, ids: &[&str]) {
    let flat = text.replace('-', "");
    for id in ids {
        let hex = id.replace('-', "");
        for start in 0..=hex.len() - 8 {
            let part = &hex[start..start + 8];
            assert!(!flat.contains(part), "{part} of session {id} appears in {text}");
        }
    }
}

fn handles(list: &Value) -> Vec<String> {
    list["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| s["handle"].as_str().expect("h").into())
        .collect()
}

async fn three_devices_list_revoke_and_log_out_everywhere(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    let phone = device(&app, "alice").await;
    let laptop = device(&app, "alice").await;
    let tablet = device(&app, "alice").await;
    let devices = [&phone, &laptop, &tablet];
    let all_handles: BTreeSet<String> = devices.iter().map(|d| handle_of(&d.id)).collect();

    for me in devices {
        let list = me.sessions(&app).await;
        let sessions = list["sessions"].as_array().expect("array");
        assert_eq!(sessions.len(), 3, "{list}");
        assert_eq!(handles(&list).into_iter().collect::<BTreeSet<_>>(), all_handles);
        let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
        assert_eq!(current.len(), 1, "exactly one current: {list}");
        assert_eq!(current[0]["handle"], handle_of(&me.id).as_str());
        let others: Vec<&str> = devices.iter().map(|d| d.id.as_str()).filter(|id| *id != me.id).collect();
        assert_no_id_in(&list.to_string(), &others);
        for session in sessions {
            let handle = session["handle"].as_str().expect("handle");
            assert!(
                handle.len() == 16
                    && handle.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
            let created = session["created_at"].as_u64().expect("created_at");
            let active = session["last_active"].as_u64().expect("last_active");
            assert!(active >= created, "{session}");
            assert!((1795..=1800).contains(&session["expires_in"].as_u64().expect("ttl")), "{session}");
        }
        let created: Vec<u64> = sessions.iter().map(|s| s["created_at"].as_u64().expect("n")).collect();
        assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first: {created:?}");
    }

    // The phone revokes the laptop: the laptop is out, the other two are not.
    let revoked = phone.revoke(&app, &handle_of(&laptop.id)).await;
    assert_eq!(revoked.status(), 200);
    let cookie = set_cookie(&revoked).expect("the caller's cookie is renewed");
    assert!(cookie.contains(&phone.id) && max_age(&cookie) > 0, "{cookie}");
    assert_eq!(revoked.json::<Value>().await.expect("json"), json!({"message": "Session revoked"}));
    assert_eq!(laptop.get(&app, "/profile").await.status(), 401);
    assert_eq!(phone.get(&app, "/profile").await.status(), 200);
    assert_eq!(tablet.get(&app, "/profile").await.status(), 200);
    assert_eq!(handles(&tablet.sessions(&app).await).len(), 2);
    // Revoking it again: it is no longer a live session.
    let again = phone.revoke(&app, &handle_of(&laptop.id)).await;
    assert_eq!(again.status(), 404);
    assert_eq!(again.json::<Value>().await.expect("json"), json!({"detail": "No such session"}));

    // Log out everywhere from the tablet: all three are out, the cookie is cleared.
    let everywhere = tablet.logout_everywhere(&app).await;
    assert_eq!(everywhere.status(), 200);
    assert!(set_cookie(&everywhere).expect("cleared").contains("Max-Age=0"));
    assert_eq!(
        everywhere.json::<Value>().await.expect("json"),
        json!({"message": "Logged out everywhere", "revoked": 2})
    );
    for device in devices {
        assert_eq!(profile_with(&app, &device.id).await.status(), 401);
    }
    assert!(app.session_keys().await.is_empty());
    let index: u64 = app.cmd(&["EXISTS", &alices_index()]).await;
    assert_eq!(index, 0, "the index went with its last entry");
}

async fn revoking_yourself_clears_your_cookie(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    let me = device(&app, "alice").await;
    let response = me.revoke(&app, &handle_of(&me.id)).await;
    assert_eq!(response.status(), 200);
    assert!(set_cookie(&response).expect("cleared").contains("Max-Age=0"));
    assert_eq!(profile_with(&app, &me.id).await.status(), 401);
    assert_eq!(me.get(&app, "/sessions").await.status(), 401);
}

async fn lists_are_per_user_and_foreign_handles_are_404(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    let alice = device(&app, "alice").await;
    let alice2 = device(&app, "alice").await;
    let bob = device(&app, "bob").await;
    let bobs = bob.sessions(&app).await;
    assert_eq!(handles(&bobs), vec![handle_of(&bob.id)]);
    assert_no_id_in(&bobs.to_string(), &[&alice.id, &alice2.id]);
    let alices = alice.sessions(&app).await;
    assert!(!handles(&alices).contains(&handle_of(&bob.id)));

    app.reset_stats().await;
    for handle in [
        handle_of(&bob.id),
        "0000000000000000".into(),
        "not-a-handle".into(),
        "ABCDEF0123456789".into(),
        "%FF%FE".into(),
        "%00".into(),
    ] {
        let response = alice.revoke(&app, &handle).await;
        assert_eq!(response.status(), 404, "{handle}");
        assert_eq!(response.json::<Value>().await.expect("json"), json!({"detail": "No such session"}));
    }
    let calls = app.command_calls().await;
    assert_eq!(calls.get("del"), None, "a 404 deletes nothing: {calls:?}");
    assert_eq!(bob.get(&app, "/profile").await.status(), 200);
    assert_eq!(handles(&alice.sessions(&app).await).len(), 2);

    // Without a session, each route is a 401 before anything else.
    let stranger = plain_client();
    for (method, path) in
        [("GET", "/sessions"), ("DELETE", "/sessions/0000000000000000"), ("POST", "/logout-everywhere")]
    {
        let request = stranger.request(method.parse().expect("method"), app.url(path));
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 401, "{method} {path}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body, json!({"detail": "Session expired or invalid"}));
    }
}

/// alice's index of sessions.
fn alices_index() -> String {
    format!("user:{{{}}}:sessions", user_id_for("alice"))
}

/// Every key has a TTL (there is no registry: nothing is kept per user for ever).
async fn assert_every_key_expires(app: &TestApp) {
    for key in app.all_keys().await {
        let pttl: i64 = app.cmd(&["PTTL", &key]).await;
        assert!(pttl > 0, "{key} has no TTL ({pttl})");
    }
}

async fn the_index_disappears_by_itself(kind: Kind) {
    let settings = Settings {
        idle_ttl: Duration::from_secs(1),
        absolute_ttl: Duration::from_secs(3),
        ..Settings::default()
    };
    let app = TestApp::start_on_with(kind, settings).await;
    let first = device(&app, "alice").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let _second = device(&app, "alice").await;
    let index = &alices_index();
    let members: u64 = app.cmd(&["ZCARD", index]).await;
    assert_eq!(members, 2);
    let pttl: i64 = app.cmd(&["PTTL", index]).await;
    assert!((2_000..=3_000).contains(&pttl), "the index expires with its newest entry: {pttl} ms");
    assert_every_key_expires(&app).await;

    // Both sessions idle out after 1 s; the index outlives them until the absolute lifetime.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(app.session_keys().await.is_empty(), "idled out");
    assert_eq!(profile_with(&app, &first.id).await.status(), 401);
    let exists: u64 = app.cmd(&["EXISTS", index]).await;
    assert_eq!(exists, 1, "no one read it: it waits for its own expiry");

    // Nobody reads it again: it is gone once the newest absolute expiry (3.4 s) has passed.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let exists: u64 = app.cmd(&["EXISTS", index]).await;
    assert_eq!(exists, 0, "the index expired by itself");
    assert!(app.all_keys().await.is_empty(), "{:?}", app.all_keys().await);
}

async fn a_stale_entry_is_pruned_when_the_index_is_read(kind: Kind) {
    // Entries younger than the store's deadline (plus 1 s) may be logins in flight: the
    // deadline here is short so that the test can wait that out.
    let settings = Settings {
        idle_ttl: Duration::from_secs(1),
        timeout: Duration::from_millis(400),
        ..Settings::default()
    };
    let app = TestApp::start_on_with(kind, settings).await;
    let _gone = device(&app, "alice").await;
    // Past the idle TTL (1 s) and past a login in flight (deadline + 1 s = 1.4 s).
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let me = device(&app, "alice").await;
    let members: u64 = app.cmd(&["ZCARD", &alices_index()]).await;
    assert_eq!(members, 2, "the idle-expired session's entry is still there");
    assert_eq!(handles(&me.sessions(&app).await), vec![handle_of(&me.id)]);
    let members: u64 = app.cmd(&["ZCARD", &alices_index()]).await;
    assert_eq!(members, 1, "the listing pruned it");
}

async fn a_thousand_logins_stay_bounded(kind: Kind) {
    let app = TestApp::start_on(kind).await;
    let max = session_storage::store::MAX_SESSIONS_PER_USER;
    let url = app.url("/login");
    let mut ids = Vec::new();
    for batch in 0..100 {
        let logins = (0..10).map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let response = post_login_at(&plain_client(), &url, "alice").await;
                assert_eq!(response.status(), 200);
                let body: Value = response.json().await.expect("json");
                body["session_id"].as_str().expect("id").to_string()
            })
        });
        for login in logins {
            ids.push(login.await.expect("login"));
        }
        assert!(app.session_keys().await.len() <= max, "after batch {batch}");
    }
    assert_eq!(ids.len(), 1000);
    let live = app.session_keys().await;
    assert_eq!(live.len(), max, "exactly the bound is left");
    // The newest login is one of the survivors; the oldest ones are gone.
    assert!(live.contains(&format!("session:{}", ids[999])));
    assert!(!live.contains(&format!("session:{}", ids[0])));
    let last = ids.last().expect("a login");
    let list = get_with_session(&app.url("/sessions"), last).await;
    let list: Value = list.json().await.expect("json");
    assert_eq!(list["sessions"].as_array().expect("array").len(), max);
    let members: Vec<String> = app.cmd(&["ZRANGE", &alices_index(), "0", "-1"]).await;
    assert!(members.len() <= live.len(), "{} entries for {} live sessions", members.len(), live.len());
    for member in &members {
        assert!(live.contains(&format!("session:{member}")), "entry {member} has no session");
    }
    assert_every_key_expires(&app).await;
}

/// `logout-everywhere` racing 20 logins of the same user, round after round. Redis's own record
/// (MONITOR) gives the order in which it ran the commands: every session whose `HSET` ran
/// before logout-everywhere's read of the index must be gone; every one written after it must
/// be alive and in the index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_everywhere_racing_logins() {
    let app = TestApp::start().await;
    let url = app.url("/login");
    let (mut before, mut after) = (0, 0);
    for round in 0..16 {
        let user = format!("racer{round}");
        let caller = device(&app, &user).await;
        let profile: Value = caller.get(&app, "/profile").await.json().await.expect("json");
        let index = format!("user:{{{}}}:sessions", profile["user_id"].as_str().expect("user_id"));
        let monitor = Monitor::start(app.redis());
        // A login is one round trip, fewer than logout-everywhere needs to reach its read (the
        // touch first), so the logins start spread over 5 ms: in the early rounds some write
        // their sessions after the read, in the later ones all before it.
        let logins: Vec<_> = (0..20u64)
            .map(|n| {
                let (url, user) = (url.clone(), user.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_micros(250 * n)).await;
                    let response = post_login_at(&plain_client(), &url, &user).await;
                    assert_eq!(response.status(), 200);
                    let body: Value = response.json().await.expect("json");
                    body["session_id"].as_str().expect("id").to_string()
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_micros(1_500 * round)).await;
        let everywhere = caller.logout_everywhere(&app).await;
        assert_eq!(everywhere.status(), 200);
        let mut ids = Vec::new();
        for login in logins {
            ids.push(login.await.expect("login"));
        }
        let lines = monitor.lines(app.redis());
        let read = lines
            .iter()
            .position(|line| {
                line.contains(" lua] ")
                    && line.contains("\"ZRANGE\"")
                    && line.contains("\"REV\"")
                    && line.contains(&index)
            })
            .expect("logout-everywhere read the index");
        for id in &ids {
            let written = lines
                .iter()
                .position(|line| line.contains("\"HSET\"") && line.contains(&format!("session:{id}")))
                .expect("the login wrote its session");
            let key = format!("\"session:{id}\"");
            let deleted = lines.iter().position(|line| line.contains("\"DEL\"") && line.contains(&key));
            let alive = profile_with(&app, id).await.status() == 200;
            if written < read {
                before += 1;
                assert!(!alive, "round {round}: session written before the index was read survived");
            } else {
                // Written after the read: it survives unless logout-everywhere had read its
                // (earlier) index entry and its DEL ran after the HSET.
                after += 1;
                let expected = deleted.is_none_or(|deleted| deleted < written);
                assert_eq!(alive, expected, "round {round}: written at {written}, deleted at {deleted:?}");
            }
        }
        // After a listing, every index entry has its session, and every session its entry.
        let keys = app.session_keys().await;
        let live: Vec<String> =
            ids.iter().filter(|id| keys.contains(&format!("session:{id}"))).cloned().collect();
        if let Some(survivor) = ids.iter().find(|id| live.contains(id)) {
            let list: Value =
                get_with_session(&app.url("/sessions"), survivor).await.json().await.expect("json");
            assert_eq!(list["sessions"].as_array().expect("array").len(), live.len());
        }
        let mut members: Vec<String> = app.cmd(&["ZRANGE", &index, "0", "-1"]).await;
        let mut expected = live.clone();
        members.sort();
        expected.sort();
        assert_eq!(members, expected, "round {round}: the index holds exactly the live sessions");
        assert_every_key_expires(&app).await;
    }
    println!("sessions written before the read: {before}, after it: {after}");
    assert!(before > 0 && after > 0, "the race was not exercised: {before} before, {after} after");
}

/// What one request cost: Redis's own per-command counters, and the store's round trips.
async fn cost(
    app: &TestApp,
    request: impl Future<Output = reqwest::Response>,
) -> (BTreeMap<String, u64>, u64) {
    app.reset_stats().await;
    let trips = app.store.round_trips();
    let response = request.await;
    assert!(response.status().is_success(), "{}", response.status());
    (app.command_calls().await, app.store.round_trips() - trips)
}

async fn round_trips_counted_by_redis(kind: Kind) {
    // The throttle on, as the service runs by default (with room for the 100 other users).
    let login_limits = session_storage::store::LoginLimits { per_user_and_client: 10, per_client: 1000 };
    let app = TestApp::start_on_with(kind, Settings { login_limits, ..Settings::default() }).await;
    // Other users, so that a cost growing with the number of users would show.
    for n in 0..100 {
        login_id(&app, &format!("other{n}")).await;
    }
    let laptop = device(&app, "alice").await;
    let phone = device(&app, "alice").await;

    let (profile, trips) = cost(&app, phone.get(&app, "/profile")).await;
    assert_eq!(trips, 1);
    // The renewal without Lua: one pipeline (store::renew), no field written.
    assert_eq!(profile, calls(&[("expire", 1), ("hmget", 1), ("pexpiretime", 1)]));

    let tablet = browser();
    let (login, trips) = cost(&app, post_login(&tablet, &app, "alice")).await;
    // One pipeline after the throttle; on a cluster each of its three steps (index, session,
    // the entry's check) is a round trip of its own, and the index script goes by its SHA-1.
    // The session is written by a transaction, not a script: one script (the index's) and
    // two transactions (the session's, the check's), with `TIME` read by the throttle and the
    // index step only.
    let cluster = u64::from(kind == Kind::Cluster);
    assert_eq!(trips, 2 + 2 * cluster, "throttle, then index, session and the entry's check");
    assert_eq!(
        login,
        calls(&[
            ("eval", 1 - cluster),
            ("evalsha", 1 + cluster),
            ("exec", 2),
            ("expire", 1),
            ("get", 2),
            ("hset", 1),
            ("multi", 2),
            ("pexpire", 1),
            ("pexpireat", 1),
            ("set", 2),
            ("time", 2),
            ("xadd", 1),
            ("zadd", 1),
            ("zcount", 1),
            ("zrange", 1),
            ("zremrangebyscore", 1),
            ("zscore", 1),
        ])
    );
    // Logging in again from the same browser also deletes the session it held: one more.
    let (_, trips) = cost(&app, post_login(&tablet, &app, "alice")).await;
    assert_eq!(
        trips,
        2 + 3 * cluster,
        "the DEL of the previous one joins the pipeline (on a cluster: one more)"
    );

    let (list, trips) = cost(&app, phone.get(&app, "/sessions")).await;
    assert_eq!(trips, 3, "touch, index, one pipeline over the 3 sessions");
    assert_eq!(
        list,
        calls(&[
            ("evalsha", 1),
            ("expire", 1),
            ("hmget", 4),
            ("pexpiretime", 1),
            ("pttl", 3),
            ("time", 1),
            ("zrange", 1),
            ("zremrangebyscore", 1),
        ])
    );

    let (revoke, trips) = cost(&app, phone.revoke(&app, &handle_of(&laptop.id))).await;
    assert_eq!(
        trips, 4,
        "touch, index, one pipeline reading the device and deleting, one script: ZREM and the event"
    );
    assert_eq!(
        revoke,
        calls(&[
            ("del", 1),
            ("evalsha", 2),
            ("expire", 1),
            ("hmget", 2),
            ("pexpire", 1),
            ("pexpiretime", 1),
            ("time", 1),
            ("xadd", 1),
            ("zrange", 1),
            ("zrem", 1),
            ("zremrangebyscore", 1),
        ])
    );

    let (log, trips) = cost(&app, phone.get(&app, "/security-events")).await;
    assert_eq!(trips, 2, "touch, one pipeline: XREVRANGE and the refusals' HVALS");
    assert_eq!(
        log,
        calls(&[("expire", 1), ("hmget", 1), ("hvals", 1), ("pexpiretime", 1), ("xrevrange", 1)])
    );

    let reauth = async {
        phone.client.post(app.url("/reauth")).json(&json!({"password": "pw"})).send().await.expect("reauth")
    };
    let (_, trips) = cost(&app, reauth).await;
    assert_eq!(
        trips,
        5 + 2 * cluster,
        "touch, throttle, the old session read and marked (its values move along), the login's pipeline (index, session and the entry's check), then the old session ended"
    );

    let (everywhere, trips) = cost(&app, phone.logout_everywhere(&app)).await;
    assert_eq!(trips, 4, "touch, index, one pipeline of DELs, one script: ZREM and the event");
    assert_eq!(
        everywhere,
        calls(&[
            ("del", 2),
            ("evalsha", 2),
            ("expire", 1),
            ("hmget", 1),
            ("pexpire", 1),
            ("pexpiretime", 1),
            ("time", 1),
            ("xadd", 1),
            ("zrange", 1),
            ("zrem", 1),
            ("zremrangebyscore", 1),
        ])
    );

    let other = device(&app, "bob").await;
    let (logout, trips) =
        cost(&app, async { other.client.post(app.url("/logout")).send().await.expect("logout") }).await;
    assert_eq!(trips, 2, "read the owner, delete and take the marker, then one script: ZREM and the event");
    assert_eq!(logout, calls(&LOGOUT_COMMANDS), "no MULTI: it works when Redis is full");
}

/// One state-changing request, with the headers a browser on `origin` would send.
async fn state_change(
    app: &TestApp,
    route: &str,
    session: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let client = plain_client();
    let request = match route {
        "login" => client.post(app.url("/login")).json(&json!({"username": "alice", "password": "pw"})),
        "logout" => client.post(app.url("/logout")),
        "logout-everywhere" => client.post(app.url("/logout-everywhere")),
        _ => client.delete(app.url(&format!("/sessions/{}", handle_of(session)))),
    };
    let mut request = request.header("cookie", format!("session_id={session}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request")
}

async fn cross_site_requests_are_refused(kind: Kind) {
    let app = TestApp::start_on_with(
        kind,
        Settings { allowed_origins: "https://app.example.com", ..Settings::default() },
    )
    .await;
    let same = format!("http://{}", app.addr);
    /// A case's name, the headers it sends, and whether it is served.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, bool);
    let cases: [Case; 6] = [
        ("Sec-Fetch-Site: cross-site", vec![("sec-fetch-site", "cross-site")], false),
        ("a foreign Origin", vec![("origin", "https://evil.example")], false),
        ("the same host on another port", vec![("origin", "http://127.0.0.1:1")], false),
        ("a matching Origin", vec![("origin", same.as_str()), ("sec-fetch-site", "same-origin")], true),
        (
            "an Origin in ALLOWED_ORIGINS",
            vec![("origin", "https://app.example.com"), ("sec-fetch-site", "cross-site")],
            true,
        ),
        ("neither header (curl)", vec![], true),
    ];
    for route in ["login", "logout", "logout-everywhere", "revoke"] {
        for (name, headers, served) in &cases {
            let session = login_id(&app, "alice").await;
            let before = app.session_keys().await;
            let response = state_change(&app, route, &session, headers).await;
            if *served {
                assert_eq!(response.status(), 200, "{route} with {name}");
            } else {
                assert_eq!(response.status(), 403, "{route} with {name}");
                let body: Value = response.json().await.expect("json");
                assert_eq!(body, json!({"detail": "Cross-site request refused"}), "{route} with {name}");
                assert_eq!(app.session_keys().await, before, "{route} with {name} changed nothing");
                assert_eq!(profile_with(&app, &session).await.status(), 200, "{route} with {name}");
            }
        }
    }
    // Reading is not a state change: a cross-site GET is answered (SameSite=Lax decides whether
    // a browser sends the cookie with it).
    let session = login_id(&app, "alice").await;
    let response = plain_client()
        .get(app.url("/sessions"))
        .header("cookie", format!("session_id={session}"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
}

/// The walkthrough the README and chapter 06 show: two devices, the list, a revoke, and
/// logging out everywhere, snapshotted step by step.
async fn walkthrough_two_devices(kind: Kind) {
    let mut settings = insta::Settings::clone_current();
    settings.set_omit_expression(true);
    let _guard = settings.bind_to_scope();
    let app = TestApp::start_on(kind).await;
    let laptop = device(&app, "alice").await;
    // Logins a few milliseconds apart, so that "newest first" has one answer.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let phone = device(&app, "alice").await;
    let list = phone.sessions(&app).await;
    assert_eq!(handles(&list), vec![handle_of(&phone.id), handle_of(&laptop.id)]);
    insta::assert_yaml_snapshot!("walkthrough_1_list_from_the_phone", list, {
        ".sessions[].handle" => handle_redaction(),
        ".sessions[].created_at" => unix_time_redaction(),
        ".sessions[].last_active" => unix_time_redaction(),
        ".sessions[].expires_in" => ttl_range_redaction(1790, 1800),
    });
    let revoke = phone.revoke(&app, &handle_of(&laptop.id)).await;
    let step =
        json!({"status": revoke.status().as_u16(), "body": revoke.json::<Value>().await.expect("json")});
    insta::assert_yaml_snapshot!("walkthrough_2_revoke_the_laptop", step);
    let laptop_profile = laptop.get(&app, "/profile").await;
    let step = json!({
        "status": laptop_profile.status().as_u16(),
        "body": laptop_profile.json::<Value>().await.expect("json"),
    });
    insta::assert_yaml_snapshot!("walkthrough_3_the_laptop_is_out", step);
    let everywhere = phone.logout_everywhere(&app).await;
    let step = json!({
        "status": everywhere.status().as_u16(),
        "set-cookie": set_cookie(&everywhere),
        "body": everywhere.json::<Value>().await.expect("json"),
    });
    insta::assert_yaml_snapshot!("walkthrough_4_log_out_everywhere", step);
}

/// Redaction for a session handle: checks the shape (16 lowercase hex), then hides it.
fn handle_redaction() -> insta::internals::Redaction {
    insta::dynamic_redaction(|value, path| {
        let text = value.as_str().unwrap_or_else(|| panic!("{path}: not a string"));
        assert!(
            text.len() == 16 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{path}: {text:?} is not a handle"
        );
        "[handle]"
    })
}

// Every test above that takes a `Kind` runs twice: on a single Redis and on a 3-master cluster.
/// Everything Redis holds, as text: every key, and its value (hash fields, set members and
/// scores, strings), read on every node.
async fn everything_in_redis(app: &TestApp) -> String {
    let mut text = String::new();
    for key in app.all_keys().await {
        let kind: String = app.cmd(&["TYPE", &key]).await;
        let value: redis::Value = match kind.as_str() {
            "hash" => app.cmd(&["HGETALL", &key]).await,
            "zset" => app.cmd(&["ZRANGE", &key, "0", "-1", "WITHSCORES"]).await,
            "string" => app.cmd(&["GET", &key]).await,
            "stream" => app.cmd(&["XRANGE", &key, "-", "+"]).await,
            other => {
                panic!("{key} is a {other}: the service writes hashes, sorted sets, strings and streams")
            }
        };
        text.push_str(&format!("{key} = {value:?}\n"));
    }
    text
}

/// `SESSION_KEY_HASHING=on`: every route works, and at every step no key, field or member in
/// Redis holds any part of a cookie's id (nor any 8 hex digits of one).
async fn with_key_hashing_nothing_in_redis_is_a_cookie(kind: Kind) {
    let settings = Settings {
        key_hashing: true,
        login_limits: session_storage::store::LoginLimits::DEFAULT,
        ..Settings::default()
    };
    let app = TestApp::start_on_with(kind, settings).await;
    let phone = device(&app, "alice").await;
    let laptop = device(&app, "alice").await;
    let bob = device(&app, "bob").await;
    let ids = [phone.id.as_str(), laptop.id.as_str(), bob.id.as_str()];
    assert_no_id_in(&everything_in_redis(&app).await, &ids);
    let hashed = session_storage::store::SessionId::parse(&phone.id).expect("id").hashed();
    assert!(app.session_keys().await.contains(&format!("session:{hashed}")), "named by the digest");

    assert_eq!(phone.get(&app, "/profile").await.status(), 200);
    let list: Value = phone.get(&app, "/sessions").await.json().await.expect("json");
    let listed = handles(&list);
    assert_eq!(listed.len(), 2, "{list}");
    let laptop_handle = session_storage::store::SessionId::parse(&laptop.id).expect("id").hashed().handle();
    assert!(listed.contains(&laptop_handle), "{list}");
    let current: Vec<&Value> =
        list["sessions"].as_array().expect("sessions").iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "this device is marked: {list}");
    assert_no_id_in(&list.to_string(), &ids);
    assert_no_id_in(&everything_in_redis(&app).await, &ids);

    let revoked = phone.revoke(&app, &laptop_handle).await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(laptop.get(&app, "/profile").await.status(), 401, "the laptop is out");
    assert_eq!(phone.logout_everywhere(&app).await.status(), 200);
    assert_eq!(phone.get(&app, "/profile").await.status(), 401);
    assert_no_id_in(&everything_in_redis(&app).await, &ids);
    assert_eq!(bob.get(&app, "/profile").await.status(), 200);
    assert_eq!(bob.client.post(app.url("/logout")).send().await.expect("logout").status(), 200);
    assert_eq!(bob.get(&app, "/profile").await.status(), 401);
    assert!(app.session_keys().await.is_empty());
}

/// The login race at the per-user bound, forced: login A has added its index entry and is
/// held just before it writes its session; login B of the same user (another instance, bound
/// 1) ends A's not-yet-written session and removes its entry; then A goes on. A's session must
/// not live outside the index (an orphan that "log out everywhere" cannot find).
#[tokio::test]
async fn a_login_ended_by_the_bound_before_it_wrote_leaves_no_orphan() {
    use session_storage::redis::{PrivateRedis, connect};
    use session_storage::store::{Lifetimes, SessionStore};
    let redis = PrivateRedis::start().expect("redis");
    let proxy = HoldingProxy::start(redis.port()).await;
    let timeout = Duration::from_secs(5);
    let store = |url: String| async move {
        let con = connect(&url, timeout).await.expect("connect");
        SessionStore::new(con, Lifetimes::DEFAULT, timeout)
            .await
            .expect("store")
            .with_max_sessions_per_user(1)
    };
    let held = store(format!("redis://127.0.0.1:{}", proxy.port)).await;
    let other = store(redis.url()).await;
    proxy.hold_next_session_write();
    let login_a = tokio::spawn(async move { common::log_in(&held, "alice").await });
    proxy.wait_until_holding().await;
    // The proxy has handed A's index step to the kernel, not to Redis: wait until Redis has
    // run it (A's entry is listed), or B's step could run first and the race would not happen.
    let mut admin = connect(&redis.url(), timeout).await.expect("admin");
    let index = session_storage::store::Keys::default().user_sessions(&user_id_for("alice"));
    let deadline = tokio::time::Instant::now() + timeout;
    while query::<u64>(&mut admin, &["ZCARD", &index]).await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "login A's index step never reached Redis");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (b, _) = common::log_in(&other, "alice").await;
    proxy.release();
    let (a, _) = login_a.await.expect("login A");

    let listed: Vec<String> = query(&mut admin, &["ZRANGE", &index, "0", "-1"]).await;
    assert_eq!(listed, [b.to_string()], "B is the one session the bound allows");
    let orphan: bool = query(&mut admin, &["EXISTS", &format!("session:{a}")]).await;
    assert!(!orphan, "login A's session lives outside the index");
    let live: bool = query(&mut admin, &["EXISTS", &format!("session:{b}")]).await;
    assert!(live, "login B's session is live");
    proxy.stop();
}

/// Where the transaction that writes a session (`MULTI`, then `HSET session:...`) starts in
/// `chunk`: the `*` of the `MULTI` right before the first `HSET` of a session key.
fn session_write_at(chunk: &[u8]) -> Option<usize> {
    let find = |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).position(|w| w == needle);
    let rfind = |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).rposition(|w| w == needle);
    let hset = find(chunk, b"$4\r\nHSET\r\n")?;
    find(&chunk[hset..], b"session:")?;
    let multi = rfind(&chunk[..hset], b"MULTI")?;
    rfind(&chunk[..multi], b"*")
}

/// A TCP proxy to a Redis that can hold the login's write of its session (after its index
/// step) until released: the interleaving a flood would produce, on demand.
struct HoldingProxy {
    port: u16,
    hold: std::sync::Arc<std::sync::atomic::AtomicBool>,
    holding: std::sync::Arc<tokio::sync::Notify>,
    go: std::sync::Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl HoldingProxy {
    async fn start(redis_port: u16) -> HoldingProxy {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let hold = Arc::new(AtomicBool::new(false));
        let holding = Arc::new(tokio::sync::Notify::new());
        let go = Arc::new(tokio::sync::Notify::new());
        let (h, ing, g) = (hold.clone(), holding.clone(), go.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                let server = tokio::net::TcpStream::connect(("127.0.0.1", redis_port)).await.expect("redis");
                let (mut from_client, mut to_client) = client.into_split();
                let (mut from_server, mut to_server) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
                });
                let (h, ing, g) = (h.clone(), ing.clone(), g.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match from_client.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        let chunk = &buf[..n];
                        // The login's pipeline sends its steps in one write: forward what
                        // comes before the session's command (the index step), hold the rest.
                        let split = session_write_at(chunk).filter(|_| h.swap(false, Ordering::SeqCst));
                        if let Some(at) = split {
                            if to_server.write_all(&chunk[..at]).await.is_err() {
                                return;
                            }
                            ing.notify_one();
                            g.notified().await;
                        }
                        if to_server.write_all(&chunk[split.unwrap_or(0)..]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        HoldingProxy { port, hold, holding, go, task }
    }

    fn hold_next_session_write(&self) {
        self.hold.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    async fn wait_until_holding(&self) {
        tokio::time::timeout(Duration::from_secs(5), self.holding.notified())
            .await
            .expect("the login reached its write");
    }

    fn release(&self) {
        self.go.notify_one();
    }

    fn stop(self) {
        self.task.abort();
    }
}

on_every_backend! {
    #[tokio::test]
    with_key_hashing_nothing_in_redis_is_a_cookie;
    #[tokio::test]
    three_devices_list_revoke_and_log_out_everywhere;
    #[tokio::test]
    revoking_yourself_clears_your_cookie;
    #[tokio::test]
    lists_are_per_user_and_foreign_handles_are_404;
    #[tokio::test]
    the_index_disappears_by_itself;
    #[tokio::test]
    a_stale_entry_is_pruned_when_the_index_is_read;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_thousand_logins_stay_bounded;
    #[tokio::test]
    round_trips_counted_by_redis;
    #[tokio::test]
    cross_site_requests_are_refused;
    #[tokio::test]
    walkthrough_two_devices;
}
