//! # Lesson 03: the sliding TTL
//!
//! What you will learn: how a session stays alive while it is used (renew on every request);
//! why the obvious two-command renewal is slow and, with one more write, dangerous (it can bring
//! a logged-out session back); a script that reads and renews in one atomic step, and the
//! pipeline without Lua that the service sends instead; and the absolute lifetime that no amount
//! of activity can extend.
//!
//! Run it: `cargo run --example 03_sliding_ttl`. Keys it writes start with `lesson03:` and are
//! deleted at the end.
//!
//! Redis commands: MULTI/HSET/EXPIRE/EXEC, HGETALL, EXPIRE, TTL, HSET, DEL, EXISTS, SCRIPT LOAD, EVALSHA,
//! TIME (and, inside the script, TIME, HMGET, EXPIRE, DEL), and the server's pipeline: HMGET,
//! EXPIRE, PEXPIRETIME.
//!
//! Test: `tests/03_sliding_ttl.rs`. Chapter: `book/src/03-sliding-ttl.md`.
//! Exercises: `lessons/src/ex03_sliding_ttl.rs`.

use std::collections::HashMap;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use session_storage::store::Lifetimes;
use session_storage::store::{
    Keys, Session, SessionId, create_session, renew, touch, touch_script, unix_now,
};
use session_storage::workbook::{Narrator, run_lesson};

/// The service's own defaults: 30 idle minutes, 8 hours at most.
const IDLE: Duration = Lifetimes::DEFAULT.idle;
const ABSOLUTE: Duration = Lifetimes::DEFAULT.absolute;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    run_lesson(run).await
}

/// The lesson, step by step. The test calls this with a capturing narrator.
pub async fn run(out: &Narrator, con: ConnectionManager) -> redis::RedisResult<()> {
    out.title("Lesson 03: the sliding TTL");
    let mut con = out.connection(con);
    let keys = Keys::prefixed("lesson03:");
    let key = keys.session(&SessionId::new());
    let session = Session::new("user_1", "alice", unix_now());
    let idle = IDLE.as_secs() as i64;

    out.step("A session that has been idle for a while");
    out.say("store::create_session() writes it in one MULTI, as in lesson 02; then we age it.");
    create_session(&mut con, &key, &session, IDLE, None).await?;
    let _: bool = con.expire(&key, 600).await?;
    let _: i64 = con.ttl(&key).await?;
    out.say("Twenty minutes of its thirty are gone. The user now makes a request.");

    // ANCHOR: naive
    out.step("The naive renewal: read, then EXPIRE");
    out.count_from_here();
    let fields: HashMap<String, String> = con.hgetall(&key).await?;
    if Session::from_fields(&fields).is_some() {
        let _: bool = con.expire(&key, idle).await?;
    }
    out.cost("the naive renewal");
    let _: i64 = con.ttl(&key).await?;
    out.say("It works, but every request waits for each round trip counted above, and a logout can land between them.");
    // ANCHOR_END: naive

    // ANCHOR: resurrection
    out.step("The resurrection bug");
    out.say("Many implementations also record activity with HSET last_seen. Watch two requests");
    out.say("interleave: a /profile has read the session, then a /logout runs, then /profile writes.");
    let _: HashMap<String, String> = con.hgetall(&key).await?;
    out.say("... meanwhile, /logout:");
    let _: u64 = con.del(&key).await?;
    out.say("... and /profile carries on:");
    let _: u64 = con.hset(&key, "last_seen", unix_now()).await?;
    let _: HashMap<String, String> = con.hgetall(&key).await?;
    let _: i64 = con.ttl(&key).await?;
    out.note("HSET created the key again: a partial session with no TTL, after the user logged out.");
    out.note("It never expires. Rule: the renew path never writes a field; EXPIRE alone is safe.");
    // ANCHOR_END: resurrection

    // ANCHOR: script
    out.step("Read and renew in one script");
    out.say("store::touch() sends one Lua script, src/store/scripts/touch.lua: the read, the check,");
    out.say("the cap and the renewal. Redis runs it atomically, so nothing can land in between, and");
    out.say("it reads the time from Redis itself (TIME), so every app server uses one clock. (Its");
    out.say("source is exercise 03a's answer: write your own first; the book shows it after.)");
    out.say("redis::Script sends it by its SHA-1 (EVALSHA); loading it first stores it in Redis:");
    let _: String = touch_script().load_async(&mut con).await?;
    out.say("The partial session above is not a session: the script deletes it and answers (nil).");
    let gone = touch(&mut con, &key, IDLE, ABSOLUTE).await?;
    let _: bool = con.exists(&key).await?;
    out.say(&format!("store::touch(...) = {gone:?}"));
    out.say("Now a whole session (created again, aged to 600 s) is read and renewed in one call:");
    create_session(&mut con, &key, &session, IDLE, None).await?;
    let _: bool = con.expire(&key, 600).await?;
    out.count_from_here();
    let touched = touch(&mut con, &key, IDLE, ABSOLUTE).await?;
    out.cost("touch");
    let _: i64 = con.ttl(&key).await?;
    out.say(&format!("store::touch(...) = {touched:?}"));
    out.note("Atomic is not all-or-nothing here either: a script that fails half-way keeps the");
    out.note("writes it already made. This one writes only with EXPIRE or DEL, and only at the end.");
    // ANCHOR_END: script

    // ANCHOR: absolute
    out.step("The absolute cap");
    out.say("Sliding alone lets a busy (or stolen) session live forever. The script caps the TTL at");
    out.say("what is left of an 8-hour lifetime since created_at, by Redis's clock. Ask it the time:");
    let (now, _micros): (u64, u64) = redis::cmd("TIME").query_async(&mut con).await?;
    out.say("A session created 7h59m55s ago, by that clock:");
    let old_key = keys.session(&SessionId::new());
    let old = Session::new(&session.user_id, &session.username, now - ABSOLUTE.as_secs() + 5);
    create_session(&mut con, &old_key, &old, IDLE, None).await?;
    let capped = touch(&mut con, &old_key, IDLE, ABSOLUTE).await?;
    let _: i64 = con.ttl(&old_key).await?;
    let ttl_set = capped.map(|t| t.ttl_secs);
    out.say(&format!("At most 5 seconds left, not 1800: {}.", ttl_set.is_some_and(|ttl| ttl <= 5)));
    out.say("And a session past its lifetime is deleted, not renewed:");
    let expired = Session::new(&session.user_id, &session.username, now - ABSOLUTE.as_secs() - 1);
    create_session(&mut con, &old_key, &expired, IDLE, None).await?;
    let _ = touch(&mut con, &old_key, IDLE, ABSOLUTE).await?;
    let _: bool = con.exists(&old_key).await?;
    // ANCHOR_END: absolute

    // ANCHOR: library
    out.step("The function the server calls");
    out.say("The script is one EVALSHA, but Lua costs Redis about twice the CPU of plain commands.");
    out.say("So the server calls store::renew() on every authenticated request: one pipeline of");
    out.say("HMGET, EXPIRE and PEXPIRETIME, with the script's guarantees. EXPIRE on a missing key does");
    out.say("nothing, so it cannot resurrect; PEXPIRETIME minus the idle TTL is Redis's clock, for the cap:");
    out.count_from_here();
    let live = renew(&mut con, &key, Lifetimes { idle: IDLE, absolute: ABSOLUTE }).await?;
    out.cost("renew");
    out.say(&format!("store::renew(...) = {live:?}"));
    out.say("After a logout (DEL) it finds nothing and renews nothing:");
    let _: u64 = con.del(&key).await?;
    let after = renew(&mut con, &key, Lifetimes { idle: IDLE, absolute: ABSOLUTE }).await?;
    let _: bool = con.exists(&key).await?;
    out.say(&format!("after DEL, store::renew(...) = {after:?}"));
    out.say("Nothing came back: renewing a deleted session is a no-op, never a resurrection.");
    // ANCHOR_END: library

    out.try_it_yourself(&[
        "HSET demo:session user_id user_1 username alice created_at 1700000000",
        "EXPIRE demo:session 600",
        "TTL demo:session",
        "DEL demo:session",
        "HSET demo:session last_seen 1700000100",
        "TTL demo:session        (-1: resurrected, never expires)",
        "DEL demo:session",
    ]);
    Ok(())
}
