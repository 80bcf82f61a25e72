//! # Lesson 03: the sliding TTL
//!
//! What you will learn: how a session stays alive while it is used (renew on every request);
//! why the obvious two-command renewal is slow and, with one more write, dangerous (it can bring
//! a logged-out session back); the one-round-trip script the service uses instead; and the
//! absolute lifetime that no amount of activity can extend.
//!
//! Run it: `cargo run --example 03_sliding_ttl`. Keys it writes start with `lesson03:` and are
//! deleted at the end.
//!
//! Redis commands: HGETALL, EXPIRE, TTL, HSET, DEL, EXISTS, EVALSHA, SCRIPT EXISTS.
//!
//! Test: `tests/03_sliding_ttl.rs`. Chapter: `book/src/03-sliding-ttl.md`.
//! Exercises: `lessons/src/ex03_sliding_ttl.rs`.

use std::time::Duration;

use redis::aio::ConnectionManager;
use session_storage::Lifetimes;
use session_storage::store::{Keys, Session, SessionId, create_session, touch, touch_script, unix_now};
use session_storage::workbook::{Narrator, run_lesson};

/// The service's own defaults: 30 idle minutes, 8 hours at most.
const IDLE: Duration = Lifetimes::DEFAULT.idle;
const ABSOLUTE: Duration = Lifetimes::DEFAULT.absolute;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    run_lesson(run).await
}

/// The lesson, step by step. The test calls this with a capturing narrator.
pub async fn run(out: &mut Narrator, con: &mut ConnectionManager) -> redis::RedisResult<()> {
    out.title("Lesson 03: the sliding TTL");
    let keys = Keys::prefixed("lesson03:");
    let key = keys.session(&SessionId::new());
    let now = unix_now();
    let session = Session { user_id: "user_1".into(), username: "alice".into(), created_at: now };

    out.step("A session that has been idle for a while");
    out.say("store::create_session() writes it in one MULTI, as in lesson 02; then we age it.");
    create_session(con, &key, &session, IDLE, None).await?;
    let _: bool = out.redis(con, &["EXPIRE", &key, "600"]).await?;
    let _: i64 = out.redis(con, &["TTL", &key]).await?;
    out.say("Twenty minutes of its thirty are gone. The user now makes a request.");

    // ANCHOR: naive
    out.step("The naive renewal: read, then EXPIRE");
    let _: Vec<String> = out.redis(con, &["HGETALL", &key]).await?;
    let idle = IDLE.as_secs().to_string();
    let _: bool = out.redis(con, &["EXPIRE", &key, &idle]).await?;
    let _: i64 = out.redis(con, &["TTL", &key]).await?;
    out.say("It works, but costs two round trips per request, and a logout can land between them.");
    // ANCHOR_END: naive

    // ANCHOR: resurrection
    out.step("The resurrection bug");
    out.say("Many implementations also record activity with HSET last_seen. Watch two requests");
    out.say("interleave: a /profile has read the session, then a /logout runs, then /profile writes.");
    let _: Vec<String> = out.redis(con, &["HGETALL", &key]).await?;
    out.say("... meanwhile, /logout:");
    let _: u64 = out.redis(con, &["DEL", &key]).await?;
    out.say("... and /profile carries on:");
    let now_text = unix_now().to_string();
    let _: u64 = out.redis(con, &["HSET", &key, "last_seen", &now_text]).await?;
    let _: Vec<String> = out.redis(con, &["HGETALL", &key]).await?;
    let _: i64 = out.redis(con, &["TTL", &key]).await?;
    out.note("HSET created the key again: a partial session with no TTL, after the user logged out.");
    out.note("It never expires. Rule: the renew path never writes a field; EXPIRE alone is safe.");
    // ANCHOR_END: resurrection

    // ANCHOR: script
    out.step("Read and renew in one round trip");
    out.say("The service sends one script. Redis runs it atomically, so nothing can land in between:");
    for line in session_storage::store::TOUCH_SOURCE.trim().lines() {
        out.say(&format!("    {line}"));
    }
    touch_script().load_async(con).await?;
    let sha = touch_script().get_hash().to_string();
    let _: Vec<bool> = out.redis(con, &["SCRIPT", "EXISTS", &sha]).await?;
    out.say("The partial session above is not a session: the script deletes it and answers (nil).");
    // Every EVALSHA below passes the same `now`, so the TTLs it sets are exact.
    let now_text = now.to_string();
    let args = |key: &str| {
        [
            "EVALSHA".to_string(),
            sha.clone(),
            "1".into(),
            key.to_string(),
            now_text.clone(),
            IDLE.as_secs().to_string(),
            ABSOLUTE.as_secs().to_string(),
        ]
    };
    let call = args(&key);
    let call: Vec<&str> = call.iter().map(String::as_str).collect();
    let _: Option<Vec<String>> = out.redis(con, &call).await?;
    let _: bool = out.redis(con, &["EXISTS", &key]).await?;
    out.say("Now a whole session (created again, aged to 600 s) is read and renewed: its fields,");
    out.say("created_at, and the TTL just set.");
    create_session(con, &key, &session, IDLE, None).await?;
    let _: bool = out.redis(con, &["EXPIRE", &key, "600"]).await?;
    let _: Option<(String, String, u64, u64)> = out.redis(con, &call).await?;
    let _: i64 = out.redis(con, &["TTL", &key]).await?;
    // ANCHOR_END: script

    // ANCHOR: absolute
    out.step("The absolute cap");
    out.say("Sliding alone lets a busy (or stolen) session live forever. The script caps the TTL at");
    out.say("what is left of an 8-hour lifetime since created_at. A session created 7h59m55s ago:");
    let old_key = keys.session(&SessionId::new());
    let old = Session { created_at: now - ABSOLUTE.as_secs() + 5, ..session.clone() };
    create_session(con, &old_key, &old, IDLE, None).await?;
    let old_call = args(&old_key);
    let old_call: Vec<&str> = old_call.iter().map(String::as_str).collect();
    let _: Option<(String, String, u64, u64)> = out.redis(con, &old_call).await?;
    let _: i64 = out.redis(con, &["TTL", &old_key]).await?;
    out.say("The TTL is 5, not 1800. And a session past its lifetime is deleted, not renewed:");
    let expired = Session { created_at: now - ABSOLUTE.as_secs() - 1, ..session.clone() };
    create_session(con, &old_key, &expired, IDLE, None).await?;
    let _: Option<Vec<String>> = out.redis(con, &old_call).await?;
    let _: bool = out.redis(con, &["EXISTS", &old_key]).await?;
    // ANCHOR_END: absolute

    // ANCHOR: library
    out.step("The function the server calls");
    out.say("store::touch() sends that EVALSHA and returns what it found:");
    let touched = touch(con, &key, unix_now(), IDLE, ABSOLUTE).await?;
    out.say(&format!("touch(...) = {touched:?}"));
    let _: u64 = out.redis(con, &["DEL", &key]).await?;
    let gone = touch(con, &key, unix_now(), IDLE, ABSOLUTE).await?;
    out.say(&format!("after DEL, touch(...) = {gone:?}"));
    let _: bool = out.redis(con, &["EXISTS", &key]).await?;
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
