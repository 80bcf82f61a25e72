//! # Lesson 02: expire
//!
//! What you will learn: how Redis forgets a key by itself (EXPIRE, TTL, PTTL, PERSIST), what the
//! special TTL answers -1 and -2 mean, which writes keep a TTL and which drop it, and why a session
//! must be created with its TTL in one atomic step.
//!
//! Run it: `cargo run --example 02_expire`. Keys it writes start with `lesson02:` and are deleted
//! at the end.
//!
//! Redis commands: HSET, EXPIRE, PEXPIRE, TTL, PTTL, PERSIST, EXISTS, HGETALL, SET, SETEX, MULTI, EXEC,
//! DEL.
//!
//! Test: `tests/02_expire.rs`. Chapter: `book/src/02-expire.md`.
//! Exercises: `lessons/src/ex02_expire.rs`.

use std::collections::HashMap;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use session_storage::store::{Keys, Lifetimes, Session, SessionId, create_session, unix_now};
use session_storage::workbook::{Narrator, cli_reply, run_lesson};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    run_lesson(run).await
}

/// The lesson, step by step. The test calls this with a capturing narrator.
pub async fn run(out: &Narrator, con: ConnectionManager) -> redis::RedisResult<()> {
    out.title("Lesson 02: expire");
    let mut con = out.connection(con);
    let keys = Keys::prefixed("lesson02:");
    let key = keys.session(&SessionId::new());
    let session = Session::new("user_1", "alice", unix_now());
    let fields = session.to_fields();
    let idle = Lifetimes::DEFAULT.idle.as_secs() as i64;

    // ANCHOR: ttl_answers
    out.step("A key lives forever until told otherwise");
    let () = redis::cmd("HSET").arg(&key).arg(&fields).query_async(&mut con).await?;
    let ttl: i64 = con.ttl(&key).await?;
    out.say(&format!("{ttl}: the key exists and has no expiry. Give it 30 minutes:"));
    let _: bool = con.expire(&key, idle).await?;
    let _: i64 = con.ttl(&key).await?;
    let _: i64 = con.pttl(&key).await?;
    out.say("TTL counts in seconds, PTTL in milliseconds; both count down from now on.");
    // ANCHOR_END: ttl_answers

    out.step("PERSIST takes the expiry away");
    let _: bool = con.persist(&key).await?;
    let _: i64 = con.ttl(&key).await?;
    out.note("A session without a TTL never ends. The service never calls PERSIST.");

    // ANCHOR: watch_expire
    out.step("Watch a key expire");
    let _: bool = con.pexpire(&key, 2000).await?;
    let _: bool = con.exists(&key).await?;
    // PTTL answers -1 or -2 for a key without expiry or no key: read it as a signed number.
    let left: i64 = con.pttl(&key).await?;
    out.say("... waiting that many milliseconds (and a little more) ...");
    tokio::time::sleep(Duration::from_millis(left.max(0) as u64 + 50)).await;
    let _: bool = con.exists(&key).await?;
    let ttl: i64 = con.ttl(&key).await?;
    let _: HashMap<String, String> = con.hgetall(&key).await?;
    out.say(&format!("{ttl}: no such key. Redis deleted it by itself; nobody had to clean up."));
    // ANCHOR_END: watch_expire

    out.step("EXPIRE on a missing key does nothing");
    let renewed: bool = con.expire(&key, idle).await?;
    let _: bool = con.exists(&key).await?;
    out.say(&format!("expire() = {renewed}: nothing was there, and nothing was created."));
    out.say("That is why renewing with EXPIRE alone is safe.");

    out.step("Which writes keep a TTL");
    let () = redis::cmd("HSET").arg(&key).arg(&fields).query_async(&mut con).await?;
    let _: bool = con.expire(&key, idle).await?;
    let _: u64 = con.hset(&key, "username", "alice").await?;
    let _: i64 = con.ttl(&key).await?;
    out.say("Changing a field with HSET keeps the TTL. SET replaces the whole value, and drops it:");
    let string_key = "lesson02:string";
    let () = con.set_ex(string_key, "v1", 1800).await?;
    let () = con.set(string_key, "v2").await?;
    let _: i64 = con.ttl(string_key).await?;
    let _: u64 = con.del(&[&key, string_key]).await?;

    // ANCHOR: two_commands
    out.step("Creating a session with HSET, then EXPIRE");
    let () = redis::cmd("HSET").arg(&key).arg(&fields).query_async(&mut con).await?;
    out.note("Suppose the server crashes here, before it sends EXPIRE.");
    let _: i64 = con.ttl(&key).await?;
    out.say("-1: this session will never expire. Nobody holds its id, and it costs memory forever.");
    let _: u64 = con.del(&key).await?;
    // ANCHOR_END: two_commands

    // ANCHOR: multi
    out.step("Creating a session in one transaction");
    out.say("redis::pipe() collects commands and sends them in one write; .atomic() wraps them in");
    out.say("MULTI ... EXEC, so Redis runs them together, with nothing from anyone else in between.");
    out.say("If the connection dies before EXEC arrives, none of them runs.");
    out.count_from_here();
    let () = redis::pipe()
        .atomic()
        .cmd("HSET")
        .arg(&key)
        .arg(&fields)
        .ignore()
        .expire(&key, idle)
        .ignore()
        .query_async(&mut con)
        .await?;
    out.cost("the transaction");
    let _: i64 = con.ttl(&key).await?;
    out.say("store::create_session() is this pipeline (and deletes a replaced session in it too):");
    let other = keys.session(&SessionId::new());
    out.count_from_here();
    create_session(&mut con, &other, &session, Lifetimes::DEFAULT.idle, None).await?;
    out.cost("create_session");
    let _: i64 = con.ttl(&other).await?;
    out.note("Atomic is not all-or-nothing: a command that fails while EXEC runs does not undo the");
    out.note("others. It means nothing else runs in between.");
    // ANCHOR_END: multi

    // ANCHOR: shared_multi
    out.step("Never type MULTI on a shared connection");
    out.say("Why the pipeline, and not MULTI, HSET, EXPIRE, EXEC sent one by one? Because the");
    out.say("connection is shared. Here task A sends MULTI by hand, and task B, on a clone of the");
    out.say("same connection, writes in between:");
    let mut task_b = con.clone();
    let () = redis::cmd("MULTI").query_async(&mut con).await?;
    let told_b: redis::Value = task_b.set("lesson02:b", "b's value").await?;
    let () = redis::cmd("HSET").arg(&key).arg(&fields).query_async(&mut con).await?;
    let exec: redis::Value = redis::cmd("EXEC").query_async(&mut con).await?;
    out.say(&format!(
        "B was told {} instead of OK: its SET joined A's transaction, and A's",
        cli_reply(&told_b)
    ));
    out.say(&format!(
        "EXEC got {} answers, B's among them. Had A sent DISCARD, B's write would be gone.",
        if let redis::Value::Array(answers) = &exec { answers.len() } else { 0 }
    ));
    out.note("A transaction on a shared connection must be one pipeline: redis::pipe().atomic().");
    let _: u64 = con.del("lesson02:b").await?;
    // ANCHOR_END: shared_multi

    out.step("Cleaning up");
    let _: u64 = con.del(&[&key, &other]).await?;

    out.try_it_yourself(&[
        "HSET demo:session user_id user_1 username alice",
        "TTL demo:session",
        "EXPIRE demo:session 30",
        "TTL demo:session",
        "PEXPIRE demo:session 2000",
        "EXISTS demo:session",
        "MULTI",
        "HSET demo:session user_id user_1",
        "EXPIRE demo:session 1800",
        "EXEC",
    ]);
    Ok(())
}
