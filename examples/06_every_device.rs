//! # Lesson 06: every device
//!
//! What you will learn: how to answer "which devices am I logged in on?" with a secondary index
//! in Redis, a sorted set per user, and how to make that index unable to leak: scores that
//! expire, a size bound, and a TTL of its own. Then handles (names for sessions that are not the
//! sessions), and the race between a login and "log out everywhere".
//!
//! Run it: `cargo run --example 06_every_device`. Keys it writes start with `lesson06:` and are
//! deleted at the end.
//!
//! Redis commands: ZADD, ZRANGE (WITHSCORES, BYSCORE, REV), ZSCORE, ZREMRANGEBYSCORE, ZCARD, ZREM,
//! PTTL, DBSIZE, TIME, MULTI/HSET/EXPIRE/EXEC, HMGET, DEL, and the service's index scripts
//! (EVALSHA; inside them TIME, ZREMRANGEBYSCORE, ZREM, ZCOUNT, ZADD, ZRANGE, PEXPIREAT).
//!
//! Test: `tests/06_every_device.rs`. Chapter: `book/src/06-every-device.md`.
//! Exercises: `lessons/src/ex06_every_device.rs`.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use session_storage::store::Lifetimes;
use session_storage::store::{
    Keys, Session, SessionId, create_session, destroy_sessions, index_entries, index_session, read_sessions,
    unindex,
};
use session_storage::workbook::{Narrator, run_lesson};

/// The service's own defaults: 30 idle minutes, 8 hours at most.
const IDLE: Duration = Lifetimes::DEFAULT.idle;
const ABSOLUTE: Duration = Lifetimes::DEFAULT.absolute;
/// A small bound, so that the lesson reaches it: the service's is 50.
const MAX: usize = 3;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    run_lesson(run).await
}

/// The lesson, step by step. The test calls this with a capturing narrator.
pub async fn run(out: &Narrator, con: ConnectionManager) -> redis::RedisResult<()> {
    out.title("Lesson 06: every device");
    let mut con = out.connection(con);
    let keys = Keys::prefixed("lesson06:");

    // ANCHOR: sorted_set
    out.step("A sorted set keeps members in order of a score");
    out.say("ZADD adds members with a number each; Redis keeps them sorted by it, whatever the order:");
    let demo = "lesson06:demo";
    let _: u64 = con.zadd_multiple(demo, &[(30, "c"), (10, "a"), (20, "b")]).await?;
    let _: Vec<(String, f64)> = con.zrange_withscores(demo, 0, -1).await?;
    out.say("ZSCORE reads one member's score; ZRANGE ... BYSCORE reads a range of scores:");
    let _: Option<f64> = con.zscore(demo, "b").await?;
    let _: Vec<String> =
        redis::cmd("ZRANGE").arg(demo).arg(15).arg("+inf").arg("BYSCORE").query_async(&mut con).await?;
    out.say("ZREMRANGEBYSCORE deletes a range of scores in one command:");
    let _: u64 = con.zrembyscore(demo, "-inf", 15).await?;
    let _: Vec<(String, f64)> = con.zrange_withscores(demo, 0, -1).await?;
    let _: u64 = con.del(demo).await?;
    out.say("Make the members session ids and the scores the moments they expire, and one command");
    out.say("drops every expired one.");
    // ANCHOR_END: sorted_set

    // ANCHOR: no_scan
    out.step("Whose sessions are these? Not with KEYS or SCAN");
    out.say("Alice logs in on a phone and a laptop, Bob on one device (lesson 02's create_session):");
    let now = redis_now(&mut con).await?;
    let alice = Session::new("user_1", "alice", now);
    let bob = Session::new("user_2", "bob", now);
    let mut unindexed = Vec::new();
    for session in [&alice, &alice, &bob] {
        let key = keys.session(&SessionId::new());
        create_session(&mut con, &key, session, IDLE, None).await?;
        unindexed.push(key);
    }
    let _: u64 = redis::cmd("DBSIZE").query_async(&mut con).await?;
    out.say("Nothing in Redis says which keys are Alice's. To find out, you would have to visit every");
    out.say("session of every user: KEYS lesson06:session:* walks the whole keyspace in one command and");
    out.say("blocks Redis while it does; SCAN does the same walk in small steps, and on a cluster on");
    out.say("every shard. Then one HGET user_id per key. With a million sessions, a million reads to");
    out.say("list two. The answer is an index: a key per user that names that user's sessions.");
    // ANCHOR_END: no_scan

    // ANCHOR: index
    out.step("The index: one sorted set per user, that cannot leak");
    out.say("At login, store::index_session() adds the new session to its user's sorted set BEFORE the");
    out.say("session is written, scored by its absolute expiry (Redis's clock, in milliseconds):");
    let index = keys.user_sessions(&alice.user_id);
    let mut devices = Vec::new();
    for _ in 0..3 {
        let id = SessionId::new();
        let indexed = index_session(&mut con, &index, &id, ABSOLUTE, MAX, None).await?;
        let session = Session::new(&alice.user_id, &alice.username, indexed.now_ms / 1000);
        create_session(&mut con, &keys.session(&id), &session, IDLE, None).await?;
        devices.push(id);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _: Vec<(String, f64)> = con.zrange_withscores(&index, 0, -1).await?;
    out.say("Three ways it cannot grow without end, and not one needs a cleanup job:");
    out.say("  1. every login and every listing first drops past scores (ZREMRANGEBYSCORE in the script);");
    out.say(&format!("  2. a bound: at most {MAX} entries here (the service allows 50);"));
    out.say("  3. its own TTL, set to its largest score: untouched, it disappears with its last entry.");
    let _: i64 = con.pttl(&index).await?;
    out.say("A fourth login finds the index full: the script names the oldest entry, and the login");
    out.say("ends that session, then takes it out of the index, in one pipeline (in that order: a");
    out.say("session is never alive outside its index):");
    let fourth = SessionId::new();
    let indexed = index_session(&mut con, &index, &fourth, ABSOLUTE, MAX, None).await?;
    let session = Session::new(&alice.user_id, &alice.username, indexed.now_ms / 1000);
    create_session(&mut con, &keys.session(&fourth), &session, IDLE, None).await?;
    let evicted: Vec<String> = indexed.evicted.iter().map(SessionId::to_string).collect();
    let mut end = redis::pipe();
    for old in &indexed.evicted {
        end.del(keys.session(old));
    }
    end.zrem(&index, &evicted);
    out.count_from_here();
    let _: Vec<u64> = end.query_async(&mut con).await?;
    out.cost("ending the named sessions");
    out.say(&format!("evicted: {evicted:?}"));
    devices.remove(0);
    devices.push(fourth);
    let _: u64 = con.zcard(&index).await?;
    // ANCHOR_END: index

    // ANCHOR: read
    out.step("Listing: the index, then every listed session in one pipeline");
    out.say("An entry whose absolute expiry has passed (written here by hand, a minute ago):");
    let now_ms = redis_now(&mut con).await? * 1000;
    let stale = SessionId::new();
    let _: u64 = con.zadd(&index, stale.to_string(), now_ms - 60_000).await?;
    out.say("store::index_entries() drops it and returns the rest, newest first, in one script:");
    let (_, entries) = index_entries(&mut con, &index).await?;
    out.say("Then store::read_sessions() reads each listed session's owner, created_at and TTL in one");
    out.say("pipeline; the oldest of them has just idled out (a DEL stands in for its TTL):");
    let _: u64 = con.del(keys.session(&devices[0])).await?;
    let ids: Vec<SessionId> = entries.iter().map(|entry| entry.id).collect();
    out.count_from_here();
    let read = read_sessions(&mut con, &keys, &ids).await?;
    out.cost("read_sessions");
    let gone: Vec<SessionId> =
        ids.iter().zip(&read).filter(|(_, l)| l.user_id.is_none()).map(|(id, _)| *id).collect();
    out.say("A session without its hash is gone: the listing leaves it out and removes its entry.");
    unindex(&mut con, &index, &gone).await?;
    let _: u64 = con.zcard(&index).await?;
    out.note("The service keeps an entry younger than its Redis deadline (plus a second) even without");
    out.note("a session: it may be a login that has added its entry and not yet written its session.");
    // ANCHOR_END: read

    // ANCHOR: handles
    out.step("Handles, not ids");
    out.say("The list is shown to every one of Alice's devices. A session id IS the login: whoever");
    out.say("holds it is Alice. So the list names each session by a handle instead, the first 16 hex");
    out.say("characters of the SHA-256 of the id: one-way, stable for the session's life, stored nowhere.");
    for id in &devices[1..] {
        out.say(&format!("{id}  ->  handle {}", id.handle()));
    }
    out.say("DELETE /sessions/{handle} compares the handle with those of the ids in Alice's index; a");
    out.say("handle from another user's list matches nothing there, and is a 404.");
    // ANCHOR_END: handles

    // ANCHOR: race
    out.step("Log out everywhere, while a login is on its way");
    out.say("A login on a tablet has added its entry and not yet written its session:");
    let tablet = SessionId::new();
    let indexed = index_session(&mut con, &index, &tablet, ABSOLUTE, MAX, None).await?;
    out.say("Now \"log out everywhere\" reads the index and deletes every session it names:");
    let (_, entries) = index_entries(&mut con, &index).await?;
    let ids: Vec<SessionId> = entries.iter().map(|entry| entry.id).collect();
    out.count_from_here();
    let deleted = destroy_sessions(&mut con, &keys, &ids).await?;
    out.cost("destroy_sessions");
    let ended: Vec<SessionId> = ids.iter().zip(&deleted).filter(|(_, d)| **d).map(|(id, _)| *id).collect();
    unindex(&mut con, &index, &ended).await?;
    out.say("The tablet's DEL found nothing (0), so its entry stays. Its login now writes the session:");
    let tablet_session = Session::new(&alice.user_id, &alice.username, indexed.now_ms / 1000);
    create_session(&mut con, &keys.session(&tablet), &tablet_session, IDLE, None).await?;
    let _: Vec<String> = con.zrange(&index, 0, -1).await?;
    out.say("The guarantee: every session that existed when the index was read is gone. A login");
    out.say("that writes its session after that read is a new login: it survives, and because its");
    out.say("entry was written first, it is still listed, so the next \"log out everywhere\" ends it.");
    out.note("Had the login written its session first and its entry second, a \"log out everywhere\"");
    out.note("between the two would miss a live session, and nothing would ever list it.");
    // ANCHOR_END: race

    out.step("Cleaning up");
    for key in unindexed.iter().chain([&keys.session(&tablet), &index]) {
        let _: u64 = con.del(key).await?;
    }
    out.say("The sessions from step 2, the tablet's, and the index: nothing of the lesson is left.");

    out.try_it_yourself(&[
        "(with the server running: cargo run --example 05_full_server)",
        "ZRANGE user:{user_1}:sessions 0 -1 WITHSCORES",
        "PTTL user:{user_1}:sessions",
        "ZRANGE user:{user_1}:sessions (<now in ms> +inf BYSCORE",
        "ZSCORE user:{user_1}:sessions <a session id>",
    ]);
    Ok(())
}

/// Redis's clock, in unix seconds.
async fn redis_now(con: &mut impl redis::aio::ConnectionLike) -> redis::RedisResult<u64> {
    let (secs, _micros): (u64, u64) = redis::cmd("TIME").query_async(con).await?;
    Ok(secs)
}
