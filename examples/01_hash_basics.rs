//! # Lesson 01: hash basics
//!
//! What you will learn: why a session is stored as a Redis **hash** (one key, named fields)
//! rather than a JSON string; how to write and read fields; and what each costs in memory.
//!
//! Run it: `cargo run --example 01_hash_basics` (uses `REDIS_URL`, else 127.0.0.1:6379, else
//! starts a private redis-server). Keys it writes start with `lesson01:` and are deleted at the end.
//!
//! Redis commands: SET, GET, HSET, HGET, HMGET, HGETALL, HEXISTS, HLEN, HINCRBY, HDEL, CLIENT ID,
//! OBJECT ENCODING, MEMORY USAGE, DEL.
//!
//! Test: `tests/01_hash_basics.rs`. Chapter: `book/src/01-hash-basics.md`.
//! Exercises: `lessons/src/ex01_hash_basics.rs`.

use std::collections::HashMap;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use session_storage::store::{Keys, Session, SessionId, unix_now};
use session_storage::workbook::{Narrator, run_lesson};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    run_lesson(run).await
}

/// The lesson, step by step. The test calls this with a capturing narrator.
pub async fn run(out: &Narrator, con: ConnectionManager) -> redis::RedisResult<()> {
    out.title("Lesson 01: hash basics");
    // ANCHOR: connection
    // Every command sent through `con` is printed with its reply: the lesson's narrator wraps
    // the real connection. Apart from that wrapper, this is the code an application writes.
    let mut con = out.connection(con);
    // ANCHOR_END: connection
    let id = SessionId::new();
    let keys = Keys::prefixed("lesson01:");
    let hash_key = keys.session(&id);
    let json_key = format!("lesson01:json:{id}");
    let session = Session::new("user_1", "alice", unix_now());

    // ANCHOR: as_json
    out.step("A session as a JSON string");
    out.say("The obvious way: serialise the session and store it under one key with SET.");
    let json =
        serde_json::to_string(&session).map_err(|e| redis::RedisError::from(std::io::Error::other(e)))?;
    let () = con.set(&json_key, &json).await?;
    let back: String = con.get(&json_key).await?;
    out.say(&format!(
        "GET gives the whole string back ({} bytes) to parse, even to read one field.",
        back.len()
    ));
    // ANCHOR_END: as_json

    // ANCHOR: as_hash
    out.step("The same session as a hash");
    out.say("A hash is one key holding named fields. Session::to_fields() gives the three fields");
    out.say("of the original service; one HSET writes them all. redis-rs's typed hset() takes one");
    out.say("field, so this builds the command with redis::cmd(), which sends any command as words.");
    let added: u64 =
        redis::cmd("HSET").arg(&hash_key).arg(&session.to_fields()).query_async(&mut con).await?;
    out.say(&format!("HSET answered {added}: the number of fields it added."));
    // ANCHOR_END: as_hash

    // ANCHOR: read_fields
    out.step("Reading fields");
    let username: String = con.hget(&hash_key, "username").await?;
    out.count_from_here();
    let some: Vec<Option<String>> = con.hmget(&hash_key, &["user_id", "nickname"]).await?;
    out.cost("HMGET of two fields");
    out.say(&format!("HMGET reads several fields at once; as Vec<Option<String>>: {some:?}."));
    out.say(&format!(
        "A field that does not exist reads as (nil), which Rust sees as None. username = {username:?}."
    ));
    let all: HashMap<String, String> = con.hgetall(&hash_key).await?;
    let back = Session::from_fields(&all);
    out.say(&format!("HGETALL, read as a HashMap, then Session::from_fields(...) = {back:?}"));
    // ANCHOR_END: read_fields

    // ANCHOR: typed_replies
    out.step("Replies have types");
    out.say("The type you ask for decides how redis-rs reads the reply (the FromRedisValue trait).");
    out.say("Ask for a number where Redis holds text, and the call fails instead of guessing:");
    let wrong: redis::RedisResult<u64> = con.hget(&hash_key, "username").await;
    out.say(&format!("as u64: {}", wrong.map_or_else(|e| format!("error: {e}"), |n| n.to_string())));
    let created: u64 = con.hget(&hash_key, "created_at").await?;
    out.say(&format!(
        "created_at as u64 works: Redis stores text, and this text is a number ({}).",
        created > 0
    ));
    let missing: Option<String> = con.hget(&hash_key, "nickname").await?;
    out.say(&format!("A missing field as Option<String>: {missing:?}. As String it would be an error."));
    // ANCHOR_END: typed_replies

    out.step("Asking about fields");
    let has_username: bool = con.hexists(&hash_key, "username").await?;
    let has_password: bool = con.hexists(&hash_key, "password").await?;
    let fields: u64 = con.hlen(&hash_key).await?;
    out.say(&format!(
        "HEXISTS answers 1 or 0 (as bool: {has_username}, {has_password}); HLEN counts fields ({fields})."
    ));
    out.say("The session keeps no password, ever.");

    out.step("Counting and deleting fields");
    out.say("HINCRBY adds to a numeric field atomically; a missing field counts from 0.");
    let counter_key = format!("lesson01:counters:{id}");
    let _: i64 = con.hincr(&counter_key, "requests", 1).await?;
    let _: i64 = con.hincr(&counter_key, "requests", 5).await?;
    out.say("HDEL removes fields. Remove one from the session and it is no longer a session:");
    let _: u64 = con.hdel(&hash_key, "created_at").await?;
    let partial: HashMap<String, String> = con.hgetall(&hash_key).await?;
    out.say(&format!("Session::from_fields(...) = {:?}", Session::from_fields(&partial)));
    out.note("A partial hash is never accepted as a session. The service creates every session");
    out.note("whole, all its fields in one HSET.");
    let _: u64 = redis::cmd("HSET").arg(&hash_key).arg(&session.to_fields()).query_async(&mut con).await?;

    // ANCHOR: memory
    out.step("What each costs");
    out.say("Small hashes are stored as a compact listpack; the JSON string as a plain string.");
    out.say(
        "These two go out with redis::cmd, exactly as you would type them: the raw command is the point.",
    );
    let _: String = redis::cmd("OBJECT").arg("ENCODING").arg(&hash_key).query_async(&mut con).await?;
    let _: String = redis::cmd("OBJECT").arg("ENCODING").arg(&json_key).query_async(&mut con).await?;
    let hash_bytes: u64 = redis::cmd("MEMORY").arg("USAGE").arg(&hash_key).query_async(&mut con).await?;
    let json_bytes: u64 = redis::cmd("MEMORY").arg("USAGE").arg(&json_key).query_async(&mut con).await?;
    out.say(&format!(
        "Here the hash uses {} than the JSON string, and every field stays readable on its own.",
        if hash_bytes <= json_bytes { "no more memory" } else { "a little more memory" }
    ));
    // ANCHOR_END: memory

    // ANCHOR: shared_connection
    out.step("One connection, shared");
    out.say("A ConnectionManager is cheap to clone, and every clone talks over the same socket:");
    out.say("requests from many tasks are pipelined onto it (multiplexed), and it reconnects by");
    out.say("itself after an outage. CLIENT ID names the connection Redis sees:");
    let mut other = con.clone();
    let mut client_id = redis::cmd("CLIENT");
    client_id.arg("ID");
    let (first, second): (u64, u64) =
        tokio::try_join!(client_id.query_async(&mut con), client_id.query_async(&mut other))?;
    out.say(&format!("Two clones, asked at the same time: the same connection? {}", first == second));
    out.note("So a handler never opens its own connection: it clones the shared one.");
    // ANCHOR_END: shared_connection

    out.step("Cleaning up");
    let _: u64 = con.del(&[&hash_key, &json_key, &counter_key]).await?;

    out.try_it_yourself(&[
        "HSET demo:session user_id user_1 username alice created_at 1700000000",
        "HGETALL demo:session",
        "HGET demo:session username",
        "OBJECT ENCODING demo:session",
        "MEMORY USAGE demo:session",
        "DEL demo:session",
    ]);
    Ok(())
}
