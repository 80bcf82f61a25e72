//! Load, faults and persistence: a soak test that checks the store's invariants afterwards,
//! Redis paused and killed under load, and what restarts of the server and of Redis do to
//! sessions.
//!
//! The soak runs 3 s with 16 clients by default; `SOAK_SECS=60 SOAK_CLIENTS=64 cargo test
//! --release --test resilience soak` is the long mode.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use session_storage::redis::PrivateRedis;
use session_storage::store::user_id_for;
use tokio::sync::Mutex;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The fault test's Redis deadline is 300 ms; under load from 8 clients sharing 2 cores with
/// the server, a 503 may take up to this long from request to answer.
const FAULT_503_BOUND: Duration = Duration::from_millis(300 + 500);

/// What the clients saw, shared between them.
#[derive(Default)]
struct Observed {
    statuses: BTreeMap<u16, u64>,
    user_ids: BTreeMap<String, BTreeSet<String>>,
    logged_out: Vec<String>,
    kept: Vec<String>,
    /// Visitors whose note moved into a session at login: their key must be gone.
    carried_visitors: Vec<String>,
    slow_503s: Vec<Duration>,
    /// Answers the mode does not allow, and requests that failed below HTTP.
    unexpected: Vec<String>,
}

impl Observed {
    fn count(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }
}

/// What each kind of request may answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A healthy Redis: every login, every first profile and every logout is a 200; only the
    /// profile that races its own logout may be a 401.
    Healthy,
    /// Redis paused and killed: any request may also be a 503, and sessions lost in the kill are
    /// a 401.
    Faults,
}

impl Mode {
    fn allows(self, kind: &str, status: u16) -> bool {
        match (self, kind) {
            (Mode::Healthy, "racing profile" | "racing note") => [200, 401].contains(&status),
            (Mode::Healthy, _) => status == 200,
            (Mode::Faults, _) => [200, 401, 503].contains(&status),
        }
    }
}

/// One client's loop: login (every third after saving a note as a visitor, which the login
/// carries into the session), profile, sometimes a profile and a note racing the logout, logout
/// (every fifth session is kept alive). Runs until `stop` is set.
async fn client_loop(
    app_url: String,
    client_no: u64,
    mode: Mode,
    stop: Arc<AtomicBool>,
    observed: Arc<Mutex<Observed>>,
) {
    let client = plain_client();
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let username = format!("user{}", (client_no + round) % 10);
        let mut visitor = None;
        if round.is_multiple_of(3) {
            let started = Instant::now();
            let saved = client.put(format!("{app_url}/note")).json(&json!({"note": "tea"})).send().await;
            if note(&observed, mode, "visitor note", saved.as_ref().map(|r| r.status()), started).await
                == Some(200)
            {
                visitor = saved.as_ref().ok().and_then(|r| {
                    let cookie = r.headers().get("set-cookie")?.to_str().ok()?;
                    Some(cookie.split(';').next()?.strip_prefix("visitor_id=")?.to_string())
                });
            }
        }
        let started = Instant::now();
        let mut login =
            client.post(format!("{app_url}/login")).json(&json!({"username": username, "password": "pw"}));
        if let Some(visitor) = &visitor {
            login = login.header("cookie", format!("visitor_id={visitor}"));
        }
        let response = login.send().await;
        let Some(status) =
            note(&observed, mode, "login", response.as_ref().map(|r| r.status()), started).await
        else {
            continue;
        };
        if status != 200 {
            continue;
        }
        let body: Value = response.expect("noted").json().await.expect("login JSON");
        let id = body["session_id"].as_str().expect("session_id").to_string();
        if let Some(visitor) = visitor {
            observed.lock().await.carried_visitors.push(visitor);
        }
        let cookie = format!("session_id={id}");

        let started = Instant::now();
        let profile = client.get(format!("{app_url}/profile")).header("cookie", &cookie).send().await;
        let status =
            note(&observed, mode, "first profile", profile.as_ref().map(|r| r.status()), started).await;
        if status == Some(200) {
            let body: Value = profile.expect("noted").json().await.expect("profile JSON");
            let user_id = body["user_id"].as_str().expect("user_id").to_string();
            observed.lock().await.user_ids.entry(username).or_default().insert(user_id);
        }
        if round.is_multiple_of(5) {
            observed.lock().await.kept.push(id);
            continue;
        }
        // A profile and a note's write racing the logout: the write must not bring it back.
        let racing = client.get(format!("{app_url}/profile")).header("cookie", &cookie).send();
        let racing_note = client
            .put(format!("{app_url}/note"))
            .header("cookie", &cookie)
            .json(&json!({"note": "late"}))
            .send();
        let logout = client.post(format!("{app_url}/logout")).header("cookie", &cookie).send();
        let started = Instant::now();
        let (racing, racing_note, logout) = tokio::join!(racing, racing_note, logout);
        note(&observed, mode, "racing profile", racing.as_ref().map(|r| r.status()), started).await;
        note(&observed, mode, "racing note", racing_note.as_ref().map(|r| r.status()), started).await;
        if note(&observed, mode, "logout", logout.as_ref().map(|r| r.status()), started).await == Some(200) {
            observed.lock().await.logged_out.push(id);
        }
    }
}

/// Records one answer; a transport error or a status the mode does not allow for `kind` is
/// unexpected. Returns the status, if there was one.
async fn note(
    observed: &Mutex<Observed>,
    mode: Mode,
    kind: &str,
    answer: Result<reqwest::StatusCode, &reqwest::Error>,
    started: Instant,
) -> Option<u16> {
    let took = started.elapsed();
    let mut observed = observed.lock().await;
    match answer {
        Ok(status) => {
            let status = status.as_u16();
            *observed.statuses.entry(status).or_default() += 1;
            if status == 503 && took > FAULT_503_BOUND {
                observed.slow_503s.push(took);
            }
            if !mode.allows(kind, status) {
                observed.unexpected.push(format!("{kind}: {status}"));
            }
            Some(status)
        }
        Err(error) => {
            observed.unexpected.push(format!("{kind}: {error}"));
            None
        }
    }
}

/// Runs `clients` client loops until `during` completes. `during` gets the shared observations,
/// so a fault schedule can wait for what the clients have seen instead of sleeping.
async fn run_clients<F: std::future::Future<Output = ()>>(
    app_url: String,
    clients: u64,
    mode: Mode,
    during: impl FnOnce(Arc<Mutex<Observed>>) -> F,
) -> Observed {
    let stop = Arc::new(AtomicBool::new(false));
    let observed = Arc::new(Mutex::new(Observed::default()));
    let tasks: Vec<_> = (0..clients)
        .map(|n| tokio::spawn(client_loop(app_url.clone(), n, mode, stop.clone(), observed.clone())))
        .collect();
    during(observed.clone()).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("client task");
    }
    Arc::try_unwrap(observed).map_err(|_| "clients still running").expect("clients done").into_inner()
}

/// Polls the clients' observations until `ready` holds; fails after 20 s.
async fn wait_until(observed: &Mutex<Observed>, what: &str, ready: impl Fn(&Observed) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        {
            let observed = observed.lock().await;
            if ready(&observed) {
                return;
            }
            assert!(Instant::now() < deadline, "waited 20 s for {what}; statuses {:?}", observed.statuses);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The invariants that must hold after any amount of load: every key is in the documented
/// layout, every key has a TTL, every session that was logged out is gone (no racing write
/// brought it back), and so is every visitor a login carried into a session.
async fn assert_invariants(app: &TestApp, observed: &Observed) {
    let logged_out = &observed.logged_out;
    for visitor in &observed.carried_visitors {
        let exists: bool = app.cmd(&["EXISTS", &format!("visitor:{visitor}")]).await;
        assert!(!exists, "visitor {visitor} survived the login that carried its values");
    }
    let layout = regex::Regex::new(
        r"^((session|visitor):[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|user:\{user_[0-9]+\}:(sessions|events)|login:\{[0-9a-f.:/]+\}(:user_[0-9]+)?)$",
    )
    .expect("regex");
    for key in app.all_keys().await {
        assert!(layout.is_match(&key), "key outside the documented layout: {key}");
        let ttl: i64 = app.cmd(&["PTTL", &key]).await;
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
    }
    for id in logged_out {
        let exists: bool = app.cmd(&["EXISTS", &format!("session:{id}")]).await;
        assert!(!exists, "session {id} survived its logout");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_with_invariants() {
    let seconds = env_number("SOAK_SECS", 3);
    let clients = env_number("SOAK_CLIENTS", 16);
    // Ten usernames share hundreds of kept sessions here: lift the per-user bound (50 by
    // default, tested in tests/06_every_device.rs), or it would end the oldest kept ones.
    let app = TestApp::start_with(Settings { max_sessions_per_user: 100_000, ..Settings::default() }).await;
    let started = Instant::now();
    let observed = run_clients(app.url(""), clients, Mode::Healthy, |_| {
        tokio::time::sleep(Duration::from_secs(seconds))
    })
    .await;
    let total: u64 = observed.statuses.values().sum();
    eprintln!(
        "soak: {total} requests from {clients} clients in {:.1} s, statuses {:?}, {} logged out, {} kept",
        started.elapsed().as_secs_f64(),
        observed.statuses,
        observed.logged_out.len(),
        observed.kept.len()
    );
    assert!(total > 100, "the soak made only {total} requests");
    assert!(observed.unexpected.is_empty(), "unexpected answers: {:?}", observed.unexpected);
    assert!(observed.logged_out.len() > 10);
    assert!(
        observed.carried_visitors.len() > 3,
        "too few visitors logged in: {}",
        observed.carried_visitors.len()
    );
    // Stable ids: each name always got one id, and no two names share one.
    let mut seen = BTreeSet::new();
    for (name, ids) in &observed.user_ids {
        assert_eq!(ids.len(), 1, "{name} got several user ids: {ids:?}");
        assert!(seen.insert(ids.iter().next().cloned()), "two names share {ids:?}");
    }
    assert_invariants(&app, &observed).await;
    for id in &observed.kept {
        assert_eq!(profile_with(&app, id).await.status(), 200, "a kept session was lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_paused_and_killed_under_load() {
    let settings = Settings {
        timeout: Duration::from_millis(300),
        max_sessions_per_user: 100_000,
        ..Settings::default()
    };
    let mut app = TestApp::start_with(settings).await;
    let redis_pid = app.redis().pid().expect("pid");
    let url = app.url("");
    let redis = app.redis_mut();
    // The schedule follows what the clients see, not the clock: each fault lasts until the
    // clients have noticed it, and each recovery until they have been served again.
    let observed = run_clients(url, 8, Mode::Faults, |seen| async move {
        wait_until(&seen, "load", |o| o.count(200) >= 200).await;
        let before = seen.lock().await.count(503);
        redis.pause().expect("SIGSTOP");
        wait_until(&seen, "503s while paused", |o| o.count(503) >= before + 8).await;
        redis.resume().expect("SIGCONT");
        let served = seen.lock().await.count(200);
        wait_until(&seen, "200s after SIGCONT", |o| o.count(200) >= served + 100).await;
        let before = seen.lock().await.count(503);
        // Signals and restarts block briefly: keep them off the runtime's scheduler.
        tokio::task::block_in_place(|| redis.kill());
        wait_until(&seen, "503s while killed", |o| o.count(503) >= before + 8).await;
        tokio::task::block_in_place(|| redis.restart()).expect("restart");
        let served = seen.lock().await.count(200);
        wait_until(&seen, "200s after the restart", |o| o.count(200) >= served + 200).await;
    })
    .await;
    assert_ne!(app.redis().pid(), Some(redis_pid), "Redis was restarted");
    app.reconnect_admin().await;
    eprintln!("faults: statuses {:?}", observed.statuses);
    assert!(observed.unexpected.is_empty(), "unexpected answers: {:?}", observed.unexpected);
    assert!(observed.count(503) >= 16, "the faults were not seen");
    assert!(observed.slow_503s.is_empty(), "503s slower than {FAULT_503_BOUND:?}: {:?}", observed.slow_503s);
    // Recovered without restarting the server: a fresh session works end to end.
    let id = login_id(&app, "after").await;
    assert_eq!(profile_with(&app, &id).await.status(), 200);
    // Sessions logged out after the restart must be gone; earlier ones died with Redis anyway.
    assert_invariants(&app, &observed).await;
}

#[tokio::test]
async fn sessions_survive_a_server_restart() {
    let app = TestApp::start().await;
    let settings = app.settings;
    let id = login_id(&app, "alice").await;
    let redis = app.stop_server().await;
    let app = TestApp::serve_on(redis, settings).await;
    let response = profile_with(&app, &id).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.expect("json"),
        json!({"user_id": user_id_for("alice"), "username": "alice"})
    );
}

/// Polls until Redis answers again after a restart, then returns the answer for `id`.
async fn profile_after_recovery(app: &TestApp, id: &str) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = profile_with(app, id).await.status().as_u16();
        if status != 503 {
            return status;
        }
        assert!(Instant::now() < deadline, "Redis did not come back within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// True when any file of the AOF (Redis 7 keeps several in `appendonlydir/`) contains `text`.
fn aof_contains(dir: &std::path::Path, text: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir.join("appendonlydir")) else { return false };
    entries.flatten().any(|entry| {
        std::fs::read(entry.path()).is_ok_and(|bytes| bytes.windows(text.len()).any(|w| w == text.as_bytes()))
    })
}

#[tokio::test]
async fn with_aof_sessions_survive_a_redis_crash() {
    let redis =
        PrivateRedis::start_with_args(&["--appendonly", "yes", "--appendfsync", "everysec"]).expect("redis");
    let mut app = TestApp::serve_on(redis, Settings::default()).await;
    let id = login_id(&app, "alice").await;
    // What survives a crash is what reached the AOF file: SIGKILL loses nothing the kernel
    // already holds. So the proof is the file itself: wait until the session's write is in it.
    // The key, not the bare id: the id reaches the file first as a member of the user's index,
    // and with `everysec` Redis may postpone the next write while an fsync is in flight.
    let dir = app.redis().dir().to_path_buf();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !aof_contains(&dir, &format!("session:{id}")) {
        assert!(Instant::now() < deadline, "the login never reached the AOF file in 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.redis_mut().kill();
    app.redis_mut().restart().expect("restart with the same AOF");
    assert_eq!(profile_after_recovery(&app, &id).await, 200, "the session should survive");
    app.reconnect_admin().await;
    let ttl: i64 = app.cmd(&["TTL", &format!("session:{id}")]).await;
    assert!(ttl > 0, "the TTL survived too ({ttl})");
}

#[tokio::test]
async fn without_persistence_a_redis_restart_is_a_clean_401() {
    let mut app = TestApp::start().await;
    let id = login_id(&app, "alice").await;
    app.redis_mut().kill();
    app.redis_mut().restart().expect("restart");
    let response_status = profile_after_recovery(&app, &id).await;
    assert_eq!(response_status, 401, "the session is gone, and that is a 401, not an error");
    let body: Value = profile_with(&app, &id).await.json().await.expect("json");
    assert_eq!(body, json!({"detail": "Session expired or invalid"}));
    // Users simply log in again, under the same user id (derived from the name).
    assert_eq!(post_login(&plain_client(), &app, "alice").await.status(), 200);
}

/// The service as the binary runs it: `SERVE_THREADS=4` serving threads, each with a Redis
/// connection of its own, on `redis_url`; the address, and the trigger that stops it.
async fn threaded_service(redis_url: &str) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let config = session_storage::Config::from_lookup(|name| {
        let value = match name {
            "REDIS_URL" => redis_url,
            "HOST" => "127.0.0.1",
            "PORT" => "0",
            "METRICS_ADDR" => "off",
            "SERVE_THREADS" => "4",
            "REDIS_TIMEOUT_MS" => "500",
            _ => return None,
        };
        Some(value.to_string())
    })
    .expect("config");
    let service = session_storage::Service::start(config, axum::Router::new()).await.expect("start");
    let addr = service.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(service.serve(async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// One request on a connection of its own, so that requests spread over the serving threads;
/// its status and, for a login, the session id.
async fn fresh(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    session: Option<&str>,
) -> (u16, Option<String>) {
    static LOGINS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
    let url = format!("http://{addr}{path}");
    let mut request = match method {
        "POST" => client.post(&url),
        _ => client.get(&url),
    };
    if path == "/login" {
        // A name per login: the per-username throttle is not what this test is about.
        let n = LOGINS.fetch_add(1, Ordering::Relaxed);
        request = request.json(&json!({"username": format!("restart-{n}"), "password": "pw"}));
    }
    if let Some(id) = session {
        request = request.header("cookie", format!("session_id={id}"));
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let id = if path == "/login" && status == 200 {
        let body: Value = response.json().await.expect("json");
        body["session_id"].as_str().map(str::to_string)
    } else {
        None
    };
    (status, id)
}

/// Redis (a single one, or one master of a cluster) killed and started again empty on its port
/// under the service with four serving threads. Every serving thread's connection was cut, and
/// each must find the new Redis by itself: once one request has succeeded, no request answers
/// 503, whichever thread serves it (each request comes on a connection of its own).
async fn after_a_redis_restart_no_request_answers_503(kind: Kind) {
    let mut redis = TestRedis::start(kind);
    let url = redis.urls().join(",");
    let (addr, _stop) = threaded_service(&url).await;
    let (status, old) = fresh(addr, "POST", "/login", None).await;
    assert_eq!(status, 200);
    let old = old.expect("session id");
    for _ in 0..16 {
        assert_eq!(fresh(addr, "GET", "/profile", Some(&old)).await.0, 200, "before the restart");
    }
    let server = match &mut redis {
        TestRedis::Single(redis) => redis,
        // The master holding the old session: its shard is the one that fails.
        TestRedis::Cluster(cluster) => {
            let slot = session_storage::redis::hash_slot(&format!("session:{old}"));
            let mut admin = admin_connection(&cluster.nodes()[0]).await;
            let reply: redis::Value = query(&mut admin, &["CLUSTER", "SLOTS"]).await;
            let shards = session_storage::redis::shards_from_cluster_slots(&reply);
            let holds = |shard: &&session_storage::redis::Shard| {
                shard.slots.iter().any(|&(low, high)| (low..=high).contains(&slot))
            };
            let port = shards.iter().find(holds).expect("the slot's shard").port;
            let index = cluster.nodes().iter().position(|node| node.port() == port).expect("node");
            cluster.node_mut(index)
        }
    };
    tokio::task::block_in_place(|| {
        server.kill();
        server.restart()
    })
    .expect("restart");
    // The first success. On a single Redis, `restart` returned once the new server answered,
    // so no request may answer 503 at all. On a cluster, the restarted master refuses its
    // slots (`CLUSTERDOWN`) for a rejoin delay of up to 5 s, which Redis imposes: the first
    // success that counts is the failed shard's, polled with the old session's id (a 401).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut before_first = Vec::new();
    loop {
        let status = match kind {
            Kind::Single => fresh(addr, "POST", "/login", None).await.0,
            Kind::Cluster => fresh(addr, "GET", "/profile", Some(&old)).await.0,
        };
        if status != 503 {
            break;
        }
        before_first.push(status);
        assert!(
            Instant::now() < deadline,
            "no request succeeded within 20 s of the restart: {before_first:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if kind == Kind::Single {
        assert!(before_first.is_empty(), "Redis was back before the first request: {before_first:?}");
    }
    let (status, new) = fresh(addr, "POST", "/login", None).await;
    assert_eq!(status, 200, "the first login after the first success");
    let new = new.expect("session id");
    // Then every kind of request, each on a new connection: reads, the renewal, logins and logouts.
    let mut seen = Vec::new();
    for _ in 0..12 {
        let (login, id) = fresh(addr, "POST", "/login", None).await;
        let id = id.unwrap_or_default();
        let profile = fresh(addr, "GET", "/profile", Some(&id)).await.0;
        let old_profile = fresh(addr, "GET", "/profile", Some(&old)).await.0;
        let new_profile = fresh(addr, "GET", "/profile", Some(&new)).await.0;
        let logout = fresh(addr, "POST", "/logout", Some(&id)).await.0;
        let after_logout = fresh(addr, "GET", "/profile", Some(&id)).await.0;
        seen.push([login, profile, old_profile, new_profile, logout, after_logout]);
    }
    eprintln!("{kind:?}: before the first 200 {before_first:?}; after it {seen:?}");
    for round in &seen {
        let [login, profile, old_profile, new_profile, logout, after_logout] = *round;
        assert_eq!(
            [login, profile, new_profile, logout, after_logout],
            [200, 200, 200, 200, 401],
            "{seen:?}"
        );
        // The old session died with the restarted Redis (no persistence).
        assert_eq!(old_profile, 401, "{seen:?}");
    }
}

on_every_backend! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    after_a_redis_restart_no_request_answers_503;
}

/// A single Redis with one replica (`LOGOUT_REPLICAS=auto`): a logout sends one `WAIT 1`,
/// which the running replica acknowledges at once; with the replica paused, the logout still
/// answers 200 after `LOGOUT_REPLICAS_TIMEOUT_MS`, well within the deadline, and is counted
/// as unreplicated. Without replicas nothing waits (`route_costs`: logout stays two round trips).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_waits_for_the_replica_within_its_timeout() {
    let master = PrivateRedis::start().expect("master");
    let replica = PrivateRedis::start_with_args(&["--replicaof", "127.0.0.1", &master.port().to_string()])
        .expect("replica");
    let mut admin = admin_connection(&replica).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !query::<String>(&mut admin, &["INFO", "replication"]).await.contains("master_link_status:up") {
        assert!(Instant::now() < deadline, "the replica never synced");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let wait = Duration::from_millis(150);
    let settings = Settings {
        logout_replicas: (session_storage::store::LogoutReplicas::Auto, wait),
        ..Settings::default()
    };
    let app = TestApp::serve_on(master, settings).await;
    // The master lists a replica once it has its first acknowledgement, a moment after the
    // replica says its link is up: asked until it does, as the service asks every 5 s.
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.store.learn_replicas().await.expect("ROLE") < 1 {
        assert!(Instant::now() < deadline, "the master never listed its replica");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.reset_stats().await;
    let id = login_id(&app, "alice").await;
    let started = Instant::now();
    assert_eq!(post_with_session(&app.url("/logout"), &id).await, 200);
    let acknowledged = started.elapsed();
    assert_eq!(app.command_calls().await.get("wait").copied(), Some(1), "one WAIT");
    assert!(app.metrics().contains("session_logouts_unreplicated_total 0"));
    let replica_has: u64 = query(&mut admin, &["EXISTS", &format!("session:{id}")]).await;
    assert_eq!(replica_has, 0, "the replica had the deletion when the logout answered");

    let id = login_id(&app, "bob").await;
    replica.pause().expect("pause the replica");
    let started = Instant::now();
    let status = post_with_session(&app.url("/logout"), &id).await;
    let unacknowledged = started.elapsed();
    replica.resume().expect("resume the replica");
    assert_eq!(status, 200, "the session is gone from the master: the logout succeeded");
    assert!(unacknowledged >= wait, "it waited the timeout ({unacknowledged:?})");
    assert!(unacknowledged < app.settings.timeout, "and answered within the deadline ({unacknowledged:?})");
    assert!(app.metrics().contains("session_logouts_unreplicated_total 1"), "{}", app.metrics());

    // A revocation and a "log out everywhere" wait too: one WAIT each.
    let (first, second, third) =
        (login_id(&app, "carol").await, login_id(&app, "carol").await, login_id(&app, "carol").await);
    app.reset_stats().await;
    let handle = session_storage::store::SessionId::parse(&second).expect("id").handle();
    let revoke = plain_client()
        .delete(app.url(&format!("/sessions/{handle}")))
        .header("cookie", format!("session_id={first}"))
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoke.status(), 200);
    assert_eq!(app.command_calls().await.get("wait").copied(), Some(1), "the revocation's WAIT");
    assert_eq!(post_with_session(&app.url("/logout-everywhere"), &third).await, 200);
    assert_eq!(app.command_calls().await.get("wait").copied(), Some(2), "log out everywhere's WAIT");
    for id in [&first, &second, &third] {
        let on_replica: u64 = query(&mut admin, &["EXISTS", &format!("session:{id}")]).await;
        assert_eq!(on_replica, 0, "every ended session is gone from the replica too");
    }
    println!(
        "logout acknowledged by the replica in {acknowledged:?}; with the replica paused, answered in {unacknowledged:?}"
    );
}
