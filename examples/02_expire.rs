//! # Lesson 02: expire
//!
//! What you will learn: how Redis forgets a key by itself (EXPIRE, TTL, PTTL, PERSIST), what the
//! special TTL answers -1 and -2 mean, which writes keep a TTL and which drop it, and why a session
//! must be created with its TTL in one atomic step.
//!
//! Run it: `cargo run --example 02_expire`. Keys it writes start with `lesson02:` and are deleted
//! at the end.
//!
//! Redis commands: HSET, EXPIRE, PEXPIRE, TTL, PTTL, PERSIST, EXISTS, HGETALL, SET, MULTI, EXEC, DEL.
//!
//! Test: `tests/02_expire.rs`. Chapter: `book/src/02-expire.md`.
//! Exercises: `lessons/src/ex02_expire.rs`.

use std::time::Duration;

use redis::aio::ConnectionManager;
use session_storage::Lifetimes;
use session_storage::store::{Keys, Session, SessionId, create_session, unix_now};
use session_storage::workbook::{Narrator, run_lesson};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    run_lesson(run).await
}

/// The lesson, step by step. The test calls this with a capturing narrator.
pub async fn run(out: &mut Narrator, con: &mut ConnectionManager) -> redis::RedisResult<()> {
    out.title("Lesson 02: expire");
    let keys = Keys::prefixed("lesson02:");
    let key = keys.session(&SessionId::new());
    let session = Session { user_id: "user_1".into(), username: "alice".into(), created_at: unix_now() };
    let fields = session.to_fields();
    let mut hset = vec!["HSET", key.as_str()];
    for (field, value) in &fields {
        hset.push(field);
        hset.push(value);
    }

    // ANCHOR: ttl_answers
    out.step("A key lives forever until told otherwise");
    let _: u64 = out.redis(con, &hset).await?;
    let _: i64 = out.redis(con, &["TTL", &key]).await?;
    out.say("-1: the key exists and has no expiry. Give it 30 minutes:");
    let _: bool = out.redis(con, &["EXPIRE", &key, "1800"]).await?;
    let _: i64 = out.redis(con, &["TTL", &key]).await?;
    let _: i64 = out.redis(con, &["PTTL", &key]).await?;
    out.say("TTL counts in seconds, PTTL in milliseconds; both count down from now on.");
    // ANCHOR_END: ttl_answers

    out.step("PERSIST takes the expiry away");
    let _: bool = out.redis(con, &["PERSIST", &key]).await?;
    let _: i64 = out.redis(con, &["TTL", &key]).await?;
    out.note("A session without a TTL never ends. The service never calls PERSIST.");

    // ANCHOR: watch_expire
    out.step("Watch a key expire");
    let _: bool = out.redis(con, &["PEXPIRE", &key, "2000"]).await?;
    let _: bool = out.redis(con, &["EXISTS", &key]).await?;
    let left: u64 = out.redis(con, &["PTTL", &key]).await?;
    out.say("... waiting that many milliseconds (and a little more) ...");
    tokio::time::sleep(Duration::from_millis(left + 50)).await;
    let _: bool = out.redis(con, &["EXISTS", &key]).await?;
    let _: i64 = out.redis(con, &["TTL", &key]).await?;
    let _: Vec<String> = out.redis(con, &["HGETALL", &key]).await?;
    out.say("-2: no such key. Redis deleted it by itself; nobody had to clean up.");
    // ANCHOR_END: watch_expire

    out.step("EXPIRE on a missing key does nothing");
    let _: bool = out.redis(con, &["EXPIRE", &key, "1800"]).await?;
    let _: bool = out.redis(con, &["EXISTS", &key]).await?;
    out.say("0: nothing was there, and nothing was created. That is why renewing with EXPIRE is safe.");

    out.step("Which writes keep a TTL");
    let _: u64 = out.redis(con, &hset).await?;
    let _: bool = out.redis(con, &["EXPIRE", &key, "1800"]).await?;
    let _: u64 = out.redis(con, &["HSET", &key, "username", "alice"]).await?;
    let _: i64 = out.redis(con, &["TTL", &key]).await?;
    out.say("Changing a field with HSET keeps the TTL. SET replaces the whole value, and drops it:");
    let string_key = "lesson02:string";
    let _: () = out.redis(con, &["SET", string_key, "v1", "EX", "1800"]).await?;
    let _: () = out.redis(con, &["SET", string_key, "v2"]).await?;
    let _: i64 = out.redis(con, &["TTL", string_key]).await?;
    let _: u64 = out.redis(con, &["DEL", &key, string_key]).await?;

    // ANCHOR: two_commands
    out.step("Creating a session in two commands");
    let _: u64 = out.redis(con, &hset).await?;
    out.note("Suppose the server crashes here, before it sends EXPIRE.");
    let _: i64 = out.redis(con, &["TTL", &key]).await?;
    out.say("-1: this session will never expire. Nobody holds its id, and it costs memory forever.");
    let _: u64 = out.redis(con, &["DEL", &key]).await?;
    // ANCHOR_END: two_commands

    // ANCHOR: multi
    out.step("Creating a session in one transaction");
    out.say("MULTI queues commands and EXEC runs them together: all of them or, if the");
    out.say("connection dies before EXEC, none.");
    let _: () = out.redis(con, &["MULTI"]).await?;
    let _: String = out.redis(con, &hset).await?;
    let _: String = out.redis(con, &["EXPIRE", &key, "1800"]).await?;
    let _: (u64, bool) = out.redis(con, &["EXEC"]).await?;
    let _: i64 = out.redis(con, &["TTL", &key]).await?;
    out.say("The service sends MULTI ... EXEC as one write: store::create_session() does exactly this.");
    let other = keys.session(&SessionId::new());
    create_session(con, &other, &session, Lifetimes::DEFAULT.idle, None).await?;
    let _: i64 = out.redis(con, &["TTL", &other]).await?;
    // ANCHOR_END: multi

    out.step("Cleaning up");
    let _: u64 = out.redis(con, &["DEL", &key, &other]).await?;

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
