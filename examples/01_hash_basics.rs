//! # Lesson 01: hash basics
//!
//! What you will learn: why a session is stored as a Redis **hash** (one key, named fields)
//! rather than a JSON string; how to write and read fields; and what each costs in memory.
//!
//! Run it: `cargo run --example 01_hash_basics` (uses `REDIS_URL`, else 127.0.0.1:6379, else
//! starts a private redis-server). Keys it writes start with `lesson01:` and are deleted at the end.
//!
//! Redis commands: SET, GET, HSET, HGET, HMGET, HGETALL, HEXISTS, HLEN, HINCRBY, HDEL,
//! OBJECT ENCODING, MEMORY USAGE, DEL.
//!
//! Test: `tests/01_hash_basics.rs`. Chapter: `book/src/01-hash-basics.md`.
//! Exercises: `lessons/src/ex01_hash_basics.rs`.

use std::collections::HashMap;

use redis::aio::ConnectionManager;
use session_storage::store::{Keys, Session, SessionId, unix_now};
use session_storage::workbook::{Narrator, run_lesson};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    run_lesson(run).await
}

/// The lesson, step by step. The test calls this with a capturing narrator.
pub async fn run(out: &mut Narrator, con: &mut ConnectionManager) -> redis::RedisResult<()> {
    out.title("Lesson 01: hash basics");
    let id = SessionId::new();
    let keys = Keys::prefixed("lesson01:");
    let hash_key = keys.session(&id);
    let json_key = format!("lesson01:json:{id}");
    let session = Session { user_id: "user_1".into(), username: "alice".into(), created_at: unix_now() };

    // ANCHOR: as_json
    out.step("A session as a JSON string");
    out.say("The obvious way: serialise the session and store it under one key with SET.");
    let json =
        serde_json::to_string(&session).map_err(|e| redis::RedisError::from(std::io::Error::other(e)))?;
    let _: () = out.redis(con, &["SET", &json_key, &json]).await?;
    let _: String = out.redis(con, &["GET", &json_key]).await?;
    out.say("To read one field, or change one, you must fetch and parse the whole string.");
    // ANCHOR_END: as_json

    // ANCHOR: as_hash
    out.step("The same session as a hash");
    out.say("A hash is one key holding named fields. Session::to_fields() gives the three fields");
    out.say("of the original service, and one HSET writes them all.");
    let mut hset = vec!["HSET", hash_key.as_str()];
    let fields = session.to_fields();
    for (field, value) in &fields {
        hset.push(field);
        hset.push(value);
    }
    let _: u64 = out.redis(con, &hset).await?;
    // ANCHOR_END: as_hash

    // ANCHOR: read_fields
    out.step("Reading fields");
    let _: String = out.redis(con, &["HGET", &hash_key, "username"]).await?;
    let _: Vec<Option<String>> = out.redis(con, &["HMGET", &hash_key, "user_id", "nickname"]).await?;
    out.say("A field that does not exist reads as (nil). HGETALL returns every field and value:");
    let all: HashMap<String, String> = out.redis(con, &["HGETALL", &hash_key]).await?;
    let back = Session::from_fields(&all);
    out.say(&format!("Session::from_fields(...) = {back:?}"));
    // ANCHOR_END: read_fields

    out.step("Asking about fields");
    let _: bool = out.redis(con, &["HEXISTS", &hash_key, "username"]).await?;
    let _: bool = out.redis(con, &["HEXISTS", &hash_key, "password"]).await?;
    let _: u64 = out.redis(con, &["HLEN", &hash_key]).await?;
    out.say("HEXISTS answers 1 or 0; HLEN counts fields. The session keeps no password, ever.");

    out.step("Counting and deleting fields");
    out.say("HINCRBY adds to a numeric field atomically; a missing field counts from 0.");
    let counter_key = format!("lesson01:counters:{id}");
    let _: i64 = out.redis(con, &["HINCRBY", &counter_key, "requests", "1"]).await?;
    let _: i64 = out.redis(con, &["HINCRBY", &counter_key, "requests", "5"]).await?;
    out.say("HDEL removes fields. Remove one from the session and it is no longer a session:");
    let _: u64 = out.redis(con, &["HDEL", &hash_key, "created_at"]).await?;
    let partial: HashMap<String, String> = out.redis(con, &["HGETALL", &hash_key]).await?;
    out.say(&format!("Session::from_fields(...) = {:?}", Session::from_fields(&partial)));
    out.note("A partial hash is never accepted as a session. The service never writes single fields.");
    let _: u64 = out.redis(con, &hset).await?;

    // ANCHOR: memory
    out.step("What each costs");
    out.say("Small hashes are stored as a compact listpack; the JSON string as a plain string.");
    let _: String = out.redis(con, &["OBJECT", "ENCODING", &hash_key]).await?;
    let _: String = out.redis(con, &["OBJECT", "ENCODING", &json_key]).await?;
    let hash_bytes: u64 = out.redis(con, &["MEMORY", "USAGE", &hash_key]).await?;
    let json_bytes: u64 = out.redis(con, &["MEMORY", "USAGE", &json_key]).await?;
    out.say(&format!(
        "The hash uses {} than the JSON string, and every field stays readable on its own.",
        if hash_bytes <= json_bytes { "no more memory" } else { "a little more memory" }
    ));
    // ANCHOR_END: memory

    out.step("Cleaning up");
    let _: u64 = out.redis(con, &["DEL", &hash_key, &json_key, &counter_key]).await?;

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
