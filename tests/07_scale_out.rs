//! Lesson 07 (scale out): the lesson's transcript, one snapshot per step, and the service on a
//! real local Redis Cluster: the whole walkthrough with sessions on every shard, two server
//! instances with no sticky routing, round trips from every node's counters, a dead shard, a
//! paused shard, and a failover with the unavailability window and lost writes measured.

mod common;

#[allow(dead_code)]
#[path = "../examples/07_scale_out.rs"]
mod lesson;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use session_storage::redis::{PrivateCluster, PrivateRedis, Shard, hash_slot, shards_from_cluster_slots};
use session_storage::store::{Lifetimes, SessionStore};

#[tokio::test]
async fn transcript_per_step() {
    let cluster = PrivateCluster::start_with(3, 1, Duration::from_secs(5)).expect("start a private cluster");
    let out = session_storage::workbook::Narrator::capture();
    lesson::run(&out, &cluster).await.expect("the lesson runs");
    assert_steps("07_scale_out", &out, 7);
    assert_no_keys_on(&cluster).await;
}

/// A login at the instance whose base URL is `base`: the new session id.
async fn login(base: &str, username: &str) -> String {
    let response = post_login_at(&plain_client(), &format!("{base}/login"), username).await;
    assert_eq!(response.status(), 200, "login of {username}");
    let body: Value = response.json().await.expect("json");
    body["session_id"].as_str().expect("id").to_string()
}

/// `GET /profile` at `base` with session `id`: the status.
async fn profile(base: &str, id: &str) -> u16 {
    get_with_session(&format!("{base}/profile"), id).await.status().as_u16()
}

/// The shards as the cluster reports them now.
async fn slot_map(app: &TestApp) -> Vec<Shard> {
    let reply: redis::Value = app.cmd(&["CLUSTER", "SLOTS"]).await;
    shards_from_cluster_slots(&reply)
}

fn with_timeout(ms: u64) -> Settings {
    Settings { timeout: Duration::from_millis(ms), ..Settings::default() }
}

/// Which of `shards` serves `key`.
fn shard_of(shards: &[Shard], key: &str) -> usize {
    let slot = hash_slot(key);
    shards
        .iter()
        .position(|shard| shard.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
        .expect("every slot is served")
}

/// The node of `cluster` at `port`.
fn node_index(cluster: &PrivateCluster, port: u16) -> usize {
    cluster.nodes().iter().position(|node| node.port() == port).expect("a node of ours")
}

/// Every key of every node (SCAN on each, through a plain connection).
async fn keys_on(cluster: &PrivateCluster) -> Vec<(u16, String, i64)> {
    let mut found = Vec::new();
    for node in cluster.nodes() {
        let Ok(mut con) = session_storage::redis::connect(&node.url(), Duration::from_secs(1)).await else {
            continue;
        };
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut con).await.unwrap_or_default();
        for key in keys {
            let ttl: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut con).await.unwrap_or(-3);
            found.push((node.port(), key, ttl));
        }
    }
    found
}

async fn assert_no_keys_on(cluster: &PrivateCluster) {
    let left = keys_on(cluster).await;
    assert!(left.is_empty(), "keys left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walkthrough_on_a_three_master_cluster() {
    let cluster = PrivateCluster::start(3).expect("cluster");
    let app = TestApp::start_on_cluster(cluster, with_timeout(500)).await;
    let shards = slot_map(&app).await;
    assert_eq!(shards.len(), 3);
    let mut per_shard = BTreeMap::new();
    let mut ids = Vec::new();
    for n in 0..30 {
        let id = login(&app.url(""), &format!("user{}", n % 5)).await;
        *per_shard.entry(shard_of(&shards, &format!("session:{id}"))).or_insert(0) += 1;
        ids.push(id);
    }
    assert_eq!(per_shard.len(), 3, "sessions land on every shard: {per_shard:?}");
    for id in &ids {
        assert_eq!(profile(&app.url(""), id).await, 200);
    }
    // Every device route, on sessions spread over the shards.
    let user0: Vec<&String> = ids.iter().step_by(5).collect();
    let list: Value = get_with_session(&app.url("/sessions"), user0[0]).await.json().await.expect("json");
    assert_eq!(list["sessions"].as_array().expect("array").len(), user0.len(), "{list}");
    let other = session_storage::store::SessionId::parse(user0[1]).expect("id").handle();
    let revoke = plain_client()
        .delete(app.url(&format!("/sessions/{other}")))
        .header("cookie", format!("session_id={}", user0[0]))
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoke.status(), 200);
    assert_eq!(profile(&app.url(""), user0[1]).await, 401);
    let everywhere = plain_client()
        .post(app.url("/logout-everywhere"))
        .header("cookie", format!("session_id={}", user0[0]))
        .send()
        .await
        .expect("logout everywhere");
    assert_eq!(everywhere.json::<Value>().await.expect("json")["revoked"], json!(user0.len() - 1));
    for id in &user0 {
        assert_eq!(profile(&app.url(""), id).await, 401);
    }
    let logout = plain_client()
        .post(app.url("/logout"))
        .header("cookie", format!("session_id={}", ids[1]))
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), 200);
    assert_eq!(profile(&app.url(""), &ids[1]).await, 401);
    let health = plain_client().get(app.url("/health")).send().await.expect("health");
    assert_eq!(health.status(), 200);
    // The layout: every key with a TTL, and no registry.
    let keys = keys_on(app.cluster()).await;
    for (port, key, ttl) in &keys {
        assert!(*ttl > 0, "{key} on {port} has no TTL");
        assert!(!key.starts_with("{users}:"), "no registry: {key}");
    }
}

/// `REDIS_URL` naming one node of a cluster, or several nodes separated by commas (any one of
/// which answers), is detected as a cluster (`INFO cluster`: `cluster_enabled:1`), and the store
/// works through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_is_detected_from_any_node_or_a_list() {
    let cluster = PrivateCluster::start(3).expect("cluster");
    let single = PrivateRedis::start().expect("a plain redis-server");
    // One node; every node; and a list whose first node is down (port 1 answers nothing).
    for url in [cluster.urls()[1].clone(), cluster.url(), format!("redis://127.0.0.1:1,{}", cluster.url())] {
        let handle = session_storage::redis::connect_or_start(Some(&url), Duration::from_millis(500))
            .await
            .expect("connect");
        assert!(handle.backend.topology().is_cluster(), "{url} is a cluster");
        assert!(handle.describe().contains("Redis Cluster"), "{}", handle.describe());
        let store =
            SessionStore::new(handle.backend.clone(), Lifetimes::default(), Duration::from_millis(500))
                .await
                .expect("store");
        let mut ids = Vec::new();
        for n in 0..10 {
            ids.push(common::log_in(&store, &format!("u{n}")).await.0);
        }
        for id in ids {
            let mut one = session_storage::store::SessionIds::default();
            one.push(id);
            assert_eq!(
                store
                    .destroy_cookie_sessions(&one, &session_storage::store::Device::unknown(None))
                    .await
                    .expect("logout"),
                1
            );
        }
    }
    let handle = session_storage::redis::connect_or_start(Some(&single.url()), Duration::from_millis(500))
        .await
        .expect("connect");
    assert!(!handle.backend.topology().is_cluster(), "a plain Redis is not a cluster");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_sessions_without_sticky_routing() {
    let cluster = PrivateCluster::start(3).expect("cluster");
    let app = TestApp::start_on_cluster(cluster, with_timeout(500)).await;
    let b = app.another_instance().await;
    let id = login(&app.url(""), "alice").await;
    assert_eq!(profile(&b.url(""), &id).await, 200, "logged in on A, known on B");
    let second = login(&b.url(""), "alice").await;
    let list: Value = get_with_session(&app.url("/sessions"), &id).await.json().await.expect("json");
    assert_eq!(list["sessions"].as_array().expect("array").len(), 2, "B's login is listed on A");
    for path in ["/session/details", "/session", "/profile", "/sessions"] {
        assert_eq!(get_with_session(&b.url(path), &second).await.status(), 200, "{path} on B");
    }
    assert_eq!(plain_client().get(b.url("/health")).send().await.expect("health").status(), 200);
    let handle = session_storage::store::SessionId::parse(&second).expect("id").handle();
    let revoke = plain_client()
        .delete(app.url(&format!("/sessions/{handle}")))
        .header("cookie", format!("session_id={id}"))
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoke.status(), 200, "A revokes B's session");
    assert_eq!(profile(&b.url(""), &second).await, 401);
    let logout = plain_client()
        .post(b.url("/logout"))
        .header("cookie", format!("session_id={id}"))
        .send()
        .await
        .expect("logout on B");
    assert_eq!(logout.status(), 200);
    assert_eq!(profile(&app.url(""), &id).await, 401, "logged out on B, gone on A");
    let third = login(&b.url(""), "bob").await;
    let everywhere = plain_client()
        .post(app.url("/logout-everywhere"))
        .header("cookie", format!("session_id={third}"))
        .send()
        .await
        .expect("everywhere on A");
    assert_eq!(everywhere.status(), 200);
    assert_eq!(profile(&b.url(""), &third).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_is_one_round_trip_on_a_cluster() {
    let cluster = PrivateCluster::start(3).expect("cluster");
    let app = TestApp::start_on_cluster(cluster, with_timeout(500)).await;
    let id = login(&app.url(""), "alice").await;
    login(&app.url(""), "alice").await;
    app.reset_stats().await;
    let trips = app.store.round_trips();
    assert_eq!(profile(&app.url(""), &id).await, 200);
    assert_eq!(app.store.round_trips() - trips, 1);
    assert_eq!(
        app.command_calls().await,
        calls(&[("expire", 1), ("hmget", 1), ("pexpiretime", 1)]),
        "one pipeline on the session's node, for the whole cluster"
    );
    let busy: Vec<BTreeMap<String, u64>> =
        app.command_calls_per_node().await.into_iter().filter(|calls| !calls.is_empty()).collect();
    assert_eq!(busy.len(), 1, "the three commands ran on one node, as one pipeline: {busy:?}");

    app.reset_stats().await;
    let trips = app.store.round_trips();
    let list = get_with_session(&app.url("/sessions"), &id).await;
    assert_eq!(list.status(), 200);
    assert_eq!(app.store.round_trips() - trips, 3, "touch, index, the sessions (one per shard, at once)");
    let counted = app.command_calls().await;
    assert_eq!((counted.get("hmget"), counted.get("pttl")), (Some(&3), Some(&2)), "{counted:?}");
}

/// How much later than the store's deadline an answer may come (see tests/05_full_server.rs).
const MARGIN: Duration = Duration::from_millis(250);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_shard_costs_only_its_own_sessions_and_health_names_it() {
    let cluster = PrivateCluster::start(3).expect("cluster");
    let mut app = TestApp::start_on_cluster(cluster, with_timeout(300)).await;
    let shards = slot_map(&app).await;
    let mut ids = Vec::new();
    for n in 0..24 {
        ids.push(login(&app.url(""), &format!("u{n}")).await);
    }
    // The shard of the first session dies (SIGKILL, no replica to take over).
    let dead = shard_of(&shards, &format!("session:{}", ids[0]));
    let dead_port = shards[dead].port;
    let node = node_index(app.cluster(), dead_port);
    app.cluster_mut().node_mut(node).kill();
    let (mut served, mut refused) = (0, 0);
    for id in &ids {
        let started = Instant::now();
        let status = profile(&app.url(""), id).await;
        let took = started.elapsed();
        if shard_of(&shards, &format!("session:{id}")) == dead {
            assert_eq!(status, 503, "a session on the dead shard");
            assert!(took < app.settings.timeout + MARGIN, "answered in {took:?}");
            refused += 1;
        } else {
            assert_eq!(status, 200, "a session on a live shard");
            served += 1;
        }
    }
    assert!(served > 0 && refused > 0, "{served} served, {refused} refused");
    let started = Instant::now();
    let health = plain_client().get(app.url("/health")).send().await.expect("health");
    assert!(started.elapsed() < app.settings.timeout + MARGIN, "health took {:?}", started.elapsed());
    assert_eq!(health.status(), 503);
    let detail = health.json::<Value>().await.expect("json")["detail"].as_str().expect("detail").to_string();
    assert_eq!(detail, "Session store degraded", "no shard address for anonymous callers");
    // The store's own answer, which the service logs, names the shard.
    let session_storage::store::Health::Degraded(logged) = app.store.health().await.expect("health") else {
        panic!("a dead shard is degraded")
    };
    assert!(
        logged.contains(&format!("127.0.0.1:{dead_port}")) && logged.contains("did not answer"),
        "{logged}"
    );
    println!("dead shard: {served} sessions served, {refused} refused; /health: {detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_shard_gives_bounded_503s_then_recovers() {
    let cluster = PrivateCluster::start(3).expect("cluster");
    let app = TestApp::start_on_cluster(cluster, with_timeout(300)).await;
    let shards = slot_map(&app).await;
    let mut ids = Vec::new();
    for n in 0..12 {
        ids.push(login(&app.url(""), &format!("u{n}")).await);
    }
    let paused = shard_of(&shards, &format!("session:{}", ids[0]));
    let node = &app.cluster().nodes()[node_index(app.cluster(), shards[paused].port)];
    node.pause().expect("SIGSTOP");
    for id in &ids {
        let started = Instant::now();
        let status = profile(&app.url(""), id).await;
        let on_paused = shard_of(&shards, &format!("session:{id}")) == paused;
        assert_eq!(status, if on_paused { 503 } else { 200 }, "paused shard: {on_paused}");
        assert!(started.elapsed() < app.settings.timeout + MARGIN, "took {:?}", started.elapsed());
    }
    node.resume().expect("SIGCONT");
    let deadline = Instant::now() + Duration::from_secs(10);
    while profile(&app.url(""), &ids[0]).await != 200 {
        assert!(Instant::now() < deadline, "no recovery after SIGCONT");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in &ids {
        assert_eq!(profile(&app.url(""), id).await, 200, "every session is back");
    }
}

/// One replica per master and a 1 s `cluster-node-timeout`: a master is killed, its replica
/// takes over, and the service serves that shard again without a restart. Measured: how long
/// the shard answered 503, and how many logins acknowledged just before the kill are lost
/// (replication is asynchronous).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_is_followed_without_a_restart() {
    let cluster =
        PrivateCluster::start_with(3, 1, Duration::from_millis(1000)).expect("cluster with replicas");
    let mut app = TestApp::start_on_cluster(cluster, with_timeout(300)).await;
    let shards = slot_map(&app).await;
    let victim = 0;
    let victim_port = shards[victim].port;
    // The probe: a session on the victim's shard that its replica has acknowledged (`WAIT`), so
    // that it survives the failover whatever the replication lag of the logins after it.
    let mut n = 0;
    let probe = loop {
        let id = login(&app.url(""), &format!("probe{n}")).await;
        n += 1;
        if shard_of(&shards, &format!("session:{id}")) == victim {
            break id;
        }
    };
    let waited = std::process::Command::new("redis-cli")
        .args(["-p", &victim_port.to_string(), "WAIT", "1", "5000"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    assert_eq!(waited, "1", "the victim's replica acknowledged the probe's session");
    // Logins as fast as they come for 300 ms; the ones on the victim's shard are watched.
    let mut acknowledged = Vec::new();
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        let id = login(&app.url(""), &format!("u{n}")).await;
        if shard_of(&shards, &format!("session:{id}")) == victim {
            acknowledged.push(id);
        }
        n += 1;
    }
    let killed_at = Instant::now();
    let node = node_index(app.cluster(), victim_port);
    app.cluster_mut().node_mut(node).kill();
    // Probe the shard with the replicated session until it answers again. The logins of the
    // last 300 ms may be lost (replication is asynchronous, and under load a replica lags); the
    // probe may not.
    let mut first_refusal = None;
    let back = loop {
        let status = profile(&app.url(""), &probe).await;
        if status == 503 && first_refusal.is_none() {
            first_refusal = Some(killed_at.elapsed());
        }
        assert_ne!(status, 401, "a session the replica had acknowledged was lost in the failover");
        if status == 200 && first_refusal.is_some() {
            break killed_at.elapsed();
        }
        if killed_at.elapsed() > Duration::from_secs(20) {
            let live = app.cluster().nodes().iter().find(|n| n.port() != victim_port).expect("a live node");
            let nodes = std::process::Command::new("redis-cli")
                .args(["-p", &live.port().to_string(), "CLUSTER", "NODES"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            panic!("no failover within 20 s (last status {status}); CLUSTER NODES:\n{nodes}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Every node learns of the failover by gossip; wait until the one asked has.
    let deadline = Instant::now() + Duration::from_secs(10);
    while slot_map(&app).await[victim].port == victim_port {
        assert!(Instant::now() < deadline, "the cluster still names the dead master for the slots");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut lost = 0;
    for id in &acknowledged {
        if profile(&app.url(""), id).await == 401 {
            lost += 1;
        }
    }
    println!(
        "failover: shard {} unavailable from {:?} to {back:?} after the kill; {lost} of {} logins acknowledged in the last 300 ms before it lost",
        victim_port,
        first_refusal.unwrap_or_default(),
        acknowledged.len()
    );
    assert!(back < Duration::from_secs(20));
    let fresh = login(&app.url(""), "after-failover").await;
    assert_eq!(profile(&app.url(""), &fresh).await, 200, "new sessions work after the failover");
}

/// The replica of the master at `master_port`, from the master's `INFO replication`.
fn replica_of(cluster: &PrivateCluster, master_port: u16) -> usize {
    let info = std::process::Command::new("redis-cli")
        .args(["-p", &master_port.to_string(), "INFO", "replication"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let port: u16 = info
        .lines()
        .find_map(|line| line.strip_prefix("slave0:"))
        .and_then(|fields| fields.split(',').find_map(|field| field.strip_prefix("port=")))
        .and_then(|port| port.trim().parse().ok())
        .unwrap_or_else(|| panic!("the master at {master_port} has no replica:\n{info}"));
    node_index(cluster, port)
}

/// `LOGOUT_REPLICAS=auto` on a cluster with a replica per master: the logout answers only once
/// the session's replica has the deletion (held back here by pausing the replica), so when the
/// master dies right after the answer, the promoted replica does not bring the session back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_acknowledged_by_the_replica_survives_a_failover() {
    let cluster =
        PrivateCluster::start_with(3, 1, Duration::from_millis(1000)).expect("cluster with replicas");
    let settings = Settings {
        timeout: Duration::from_millis(2000),
        logout_replicas: (session_storage::store::LogoutReplicas::Auto, Duration::from_millis(1500)),
        ..Settings::default()
    };
    let mut app = TestApp::start_on_cluster(cluster, settings).await;
    // The master lists a replica once it has its first acknowledgement, a moment after the
    // replica says its link is up: asked until it does, as the service asks every 5 s.
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.store.learn_replicas().await.expect("ROLE") < 1 {
        assert!(Instant::now() < deadline, "the master never listed its replica");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let shards = slot_map(&app).await;
    let victim_port = shards[0].port;
    let mut n = 0;
    let id = loop {
        let id = login(&app.url(""), &format!("leaver{n}")).await;
        n += 1;
        if shard_of(&shards, &format!("session:{id}")) == 0 {
            break id;
        }
    };
    let replica = replica_of(app.cluster(), victim_port);
    app.cluster().nodes()[replica].pause().expect("pause the replica");
    let base = app.url("");
    let (logout_id, started) = (id.clone(), Instant::now());
    let logging_out =
        tokio::spawn(async move { post_with_session(&format!("{base}/logout"), &logout_id).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let waited = !logging_out.is_finished();
    app.cluster().nodes()[replica].resume().expect("resume the replica");
    assert!(waited, "the logout answered while its replica was paused: it did not wait for it");
    assert_eq!(logging_out.await.expect("logout task"), 200);
    let took = started.elapsed();
    // The master dies right after the logout's answer.
    let victim = node_index(app.cluster(), victim_port);
    app.cluster_mut().node_mut(victim).kill();
    let deadline = Instant::now() + Duration::from_secs(20);
    while slot_map(&app).await.iter().any(|shard| shard.port == victim_port) {
        assert!(Instant::now() < deadline, "no failover within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let status = profile(&app.url(""), &id).await;
        if status != 503 || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, 401, "the session came back with the promoted replica");
    let metrics = app.metrics();
    assert!(metrics.contains("session_logouts_unreplicated_total 0"), "{metrics}");
    println!("logout waited {took:?} for its paused replica; after the failover the cookie answers {status}");
}
