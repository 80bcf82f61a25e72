//! # Lesson 07: scale out
//!
//! What you will learn: how Redis Cluster splits the keys over several servers (hash slots),
//! what a plain connection sees when it asks the wrong one (`MOVED`), why a script that names two
//! keys can fail (`CROSSSLOT`) and how a hash tag fixes it, why the session ids carry no tag while
//! a client's throttle keys do, and what asynchronous replication means for a logout (`WAIT`).
//!
//! Run it: `cargo run --example 07_scale_out`. It starts a private cluster of its own (3
//! masters, one replica each, on free ports) and stops it at the end; keys start with
//! `lesson07:`.
//!
//! Redis commands: CLUSTER KEYSLOT, HSET, HGETALL, DEL, WAIT, and the service's scripts and
//! transactions (EVALSHA, MULTI/HSET/EXPIRE/EXEC, MULTI/ZSCORE/XADD/PEXPIRE/EXEC), through a
//! plain connection and through redis-rs's cluster connection.
//!
//! Test: `tests/07_scale_out.rs`. Chapter: `book/src/07-scale-out.md`.
//! Exercises: `lessons/src/ex07_scale_out.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::AsyncCommands;
use session_storage::redis::{
    PrivateCluster, connect, connect_cluster, hash_slot, shards_from_cluster_slots,
};
use session_storage::store::{
    Keys, Lifetimes, Limit, Login, LoginLimits, NewSession, Session, SessionId, SessionStore,
    THROTTLE_SOURCE, create_session, throttle, user_id_for,
};
use session_storage::workbook::Narrator;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let out = Narrator::stdout();
    out.note("starting a private Redis Cluster: 3 masters with one replica each, on free ports");
    let started =
        tokio::task::spawn_blocking(|| PrivateCluster::start_with(3, 1, Duration::from_secs(5))).await;
    let cluster = match started {
        Ok(Ok(cluster)) => cluster,
        Ok(Err(error)) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    out.note(&format!(
        "explore it while the lesson runs with: redis-cli -c -p {}",
        cluster.nodes()[0].port()
    ));
    // Ctrl-C ends the lesson early, and the cluster is still stopped (dropped) on the way out.
    let result = tokio::select! {
        result = run(&out, &cluster) => result,
        _ = tokio::signal::ctrl_c() => Err(redis::RedisError::from(std::io::Error::other("interrupted"))),
    };
    drop(cluster);
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A fixed session id, so that the lesson's keys (and their slots) are the same on every run.
fn fixed_id(n: u32) -> SessionId {
    SessionId::parse(&format!("00000000-0000-4000-8000-{n:012}")).expect("canonical")
}

/// The lesson, step by step, against `cluster`. The test calls this with a capturing narrator.
pub async fn run(out: &Narrator, cluster: &PrivateCluster) -> redis::RedisResult<()> {
    out.title("Lesson 07: scale out");
    let timeout = Duration::from_secs(2);
    let keys = Keys::prefixed("lesson07:");
    // The cluster connection, narrated: what a cluster-aware application uses.
    let mut con = out.connection(connect_cluster(&cluster.urls(), timeout).await?);

    // ANCHOR: shards
    out.step("Three shards, each a master with a replica");
    // Asked without narration: CLUSTER SLOTS and CLUSTER NODES answer with long lists.
    let mut quiet = connect_cluster(&cluster.urls(), timeout).await?;
    let reply: redis::Value = redis::cmd("CLUSTER").arg("SLOTS").query_async(&mut quiet).await?;
    let shards = shards_from_cluster_slots(&reply);
    let nodes: String = redis::cmd("CLUSTER").arg("NODES").query_async(&mut quiet).await?;
    let replicas = nodes
        .lines()
        .filter(|line| line.split_whitespace().nth(2).is_some_and(|f| f.contains("slave")))
        .count();
    out.say("CLUSTER SLOTS lists which master serves which slots. Every key belongs to one of 16384");
    out.say("hash slots, and each shard serves a range of them:");
    for (n, shard) in shards.iter().enumerate() {
        out.say(&format!("  shard {}: {shard}", n + 1));
    }
    out.say(&format!(
        "CLUSTER NODES lists {replicas} replicas, one per master: each copies its master's writes"
    ));
    out.say("and takes over if the master fails.");
    // ANCHOR_END: shards

    // ANCHOR: keyslot
    out.step("Every key has a slot: CLUSTER KEYSLOT");
    let session_key = keys.session(&fixed_id(1));
    for key in [
        session_key.as_str(),
        "login:198.51.100.7",
        "login:198.51.100.7:user_7",
        "login:{198.51.100.7}",
        "login:{198.51.100.7}:user_7",
        "user:{user_7}:sessions",
    ] {
        let slot: u16 = redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query_async(&mut con).await?;
        out.say(&format!("hash_slot({key:?}) = {} (computed here, exercise 07a)", hash_slot(key)));
        debug_assert_eq!(slot, hash_slot(key));
    }
    out.say("A slot is CRC16(key) mod 16384. With a hash tag, {...}, only the part inside the braces");
    out.say("is hashed: login:{198.51.100.7} and login:{198.51.100.7}:user_7 share a slot; the two");
    out.say("untagged names do not.");
    // ANCHOR_END: keyslot

    // ANCHOR: moved
    out.step("MOVED: a plain connection asks the wrong shard");
    let shard_of = |key: &str| {
        let slot = hash_slot(key);
        shards.iter().position(|s| s.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot))).unwrap_or(0)
    };
    // A session key that the first shard does not serve.
    let elsewhere =
        (1..100).map(|n| keys.session(&fixed_id(n))).find(|key| shard_of(key) != 0).unwrap_or_default();
    let first = &shards[0];
    let mut plain =
        out.connection(connect(&format!("redis://{}:{}", first.host, first.port), timeout).await?);
    out.say("A plain connection to shard 1, asking for a key of another shard:");
    let answer: redis::RedisResult<BTreeMap<String, String>> = plain.hgetall(&elsewhere).await;
    out.say(&format!("redis-rs: {}", if answer.is_err() { "an error, MOVED" } else { "an answer" }));
    out.say("The shard names the slot and the node that serves it. The cluster connection read the");
    out.say("slot map when it connected, so it asks the right shard at once (and when a MOVED comes,");
    out.say("after a failover or a resharding, it follows it and reads the map again):");
    let session = Session::new("user_1", "alice", 1_800_000_000);
    create_session(&mut con, &elsewhere, &session, Lifetimes::DEFAULT.idle, None).await?;
    let _: BTreeMap<String, String> = con.hgetall(&elsewhere).await?;
    // ANCHOR_END: moved

    // ANCHOR: crossslot
    out.step("CROSSSLOT, caused and fixed with a hash tag");
    out.say("The login throttle's script (lesson 09) names two keys per login: the client's count and");
    out.say("the count of one username from that client. Without a tag they live in two slots:");
    let alice = user_id_for("alice");
    let client = "198.51.100.7";
    let untagged = redis::Script::new(THROTTLE_SOURCE);
    let refused: redis::RedisResult<u64> = untagged
        .key(format!("lesson07:login:{client}"))
        .key(format!("lesson07:login:{client}:{alice}"))
        .arg(100)
        .arg(10)
        .arg(60_000)
        .invoke_async(&mut con)
        .await;
    out.say(&format!("refused: {}", refused.is_err()));
    out.say("A script runs on one shard, so Redis refuses it. With the client in a {tag} both keys");
    out.say("share a slot, and store::throttle() works on a cluster as on one Redis:");
    let limits = [
        Limit { key: keys.login_client(client), limit: 100 },
        Limit { key: keys.login_user(client, &alice), limit: 10 },
    ];
    let wait = throttle(&mut con, &limits, LoginLimits::PERIOD).await?;
    out.say(&format!("throttle(...) = {wait:?}: allowed"));
    // ANCHOR_END: crossslot

    // ANCHOR: spread
    out.step("Session ids carry no tag: logins spread, and so do clients");
    let mut per_shard = vec![0; shards.len()];
    for n in 0..3000 {
        per_shard[shard_of(&keys.session(&fixed_id(n)))] += 1;
    }
    out.say(&format!("3000 session keys, by shard: {per_shard:?}: the load spreads evenly."));
    out.say("The service's own login on the cluster (SessionStore over the cluster connection):");
    let store = SessionStore::new(con.clone(), Lifetimes::DEFAULT, timeout)
        .await
        .map_err(io_error)?
        .with_keys(keys.clone());
    let address = client.parse().map_err(io_error)?;
    let device = session_storage::store::Device::new("Firefox on Linux", Some(address));
    out.count_from_here();
    let login = NewSession::new("alice").on(device).throttled_for(address);
    let id = match store.start_session(login).await.map_err(io_error)? {
        Login::Started(id, _) => id,
        other => return Err(io_error(format!("no session: {other:?}"))),
    };
    out.cost("the login on a cluster");
    out.say(&format!(
        "The client's throttle keys are on shard {}, alice's index on shard {}, and the session on",
        shard_of(&keys.login_client(client)) + 1,
        shard_of(&keys.user_sessions(&alice)) + 1,
    ));
    out.say("whichever shard its random id hashes to: three steps, each naming the keys of one slot.");
    out.say("No slot sees every login: alice's id is derived from her name (no registry to ask), and");
    out.say("each client counts on its own slot. Tagging the sessions by user would put a user's index");
    out.say("and sessions together, and make every busy user a hot spot; untagged, sessions and their");
    out.say("reads spread over every shard.");
    // ANCHOR_END: spread

    // ANCHOR: wait
    out.step("A logout, then a failover: WAIT");
    out.say("A master acknowledges a write before its replica has it. If the master dies in that");
    out.say("moment, the replica that takes over never saw the DEL, and the session is back.");
    out.say("WAIT 1 1000 blocks until 1 replica has every earlier write of this connection, or 1 s:");
    // WAIT counts the replicas of the master that ran the write, on the same connection, so
    // this step talks to that master directly.
    let master = &shards[shard_of(&keys.session(&id))];
    let mut direct =
        out.connection(connect(&format!("redis://{}:{}", master.host, master.port), timeout).await?);
    let _: u64 = direct.del(keys.session(&id)).await?;
    let replicas: u64 = redis::cmd("WAIT").arg(1).arg(1000).query_async(&mut direct).await?;
    out.say(&format!("acknowledged by {replicas} replica(s): now a failover cannot bring it back."));
    out.say("It costs the replication delay on every logout, and 0 replicas after the timeout is still");
    out.say("possible. The service WAITs like this after every logout (LOGOUT_REPLICAS); the production");
    out.say("notes say what it promises and what not.");
    // ANCHOR_END: wait

    out.step("Cleaning up");
    for key in [
        elsewhere,
        keys.login_client(client),
        keys.login_user(client, &alice),
        keys.user_sessions(&alice),
        keys.user_events(&alice),
    ] {
        let _: u64 = con.del(&key).await?;
    }
    out.try_it_yourself(&[
        "(with REDIS_CLUSTER=3 cargo run --example 05_full_server, redis-cli -c -p <port from its log>)",
        "CLUSTER SHARDS",
        "CLUSTER KEYSLOT login:{127.0.0.1}",
        "CLUSTER COUNTKEYSINSLOT <slot>",
        "GET login:{127.0.0.1}        (after a login; -c follows the MOVED for you)",
    ]);
    Ok(())
}

fn io_error(error: impl std::fmt::Display) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::other(error.to_string()))
}
