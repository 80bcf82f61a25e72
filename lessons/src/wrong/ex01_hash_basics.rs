//! Plausible wrong answers for lesson 01 (feature `wrong`): each one solves its exercise except
//! for one mistake a learner would really make, or one the chapter warns about. Its check in
//! `tests/exercises/l01.rs` must refuse it. `LESSONS_WRONG=n` picks the `n`th of each exercise.

use std::collections::HashMap;

use redis::AsyncCommands;
use redis::aio::ConnectionLike;
use session_storage::store::{Session, unix_now};

use crate::{no_wrong_answer, wrong_variant};

/// Exercise 01a: the hash fields of a session, for one `HSET`.
pub fn session_fields(session: &Session) -> [(&'static str, String); 3] {
    match wrong_variant() {
        // WRONG (01a/1): a copy-paste slip writes `session.user_id` as the value of the `username` field: the check records `username: user_1` in the pairs and in `HGETALL`, and the hash no longer reads back as the same session. Shows: username, reads_back_as_the_same_session.
        1 => [
            ("user_id", session.user_id.clone()),
            ("username", session.user_id.clone()),
            ("created_at", session.created_at.to_string()),
        ],
        // WRONG (01a/2): the pairs in the order `redis-cli` printed `HGETALL`'s answer (alphabetical, `created_at` first) instead of the struct's order that the exercise asks for: the check records the pairs in that order. Shows: created_at.
        2 => [
            ("created_at", session.created_at.to_string()),
            ("user_id", session.user_id.clone()),
            ("username", session.username.clone()),
        ],
        // WRONG (01a/3): `created_at` is "now" by the application's clock (`unix_now()`) instead of the session's own `created_at`, as if the fields were written at login: the check records today's time instead of the session's 1700000000 and 1234567890. Shows: created_at.
        3 => [
            ("user_id", session.user_id.clone()),
            ("username", session.username.clone()),
            ("created_at", unix_now().to_string()),
        ],
        // WRONG (01a/4): `created_at` in milliseconds (`* 1000`, as JavaScript's `Date.now()` counts), where the session holds unix seconds: the check records `1700000000000`. Shows: created_at.
        4 => [
            ("user_id", session.user_id.clone()),
            ("username", session.username.clone()),
            ("created_at", (session.created_at * 1000).to_string()),
        ],
        n => no_wrong_answer("01a", n),
    }
}

/// Exercise 01b: rebuild a session from what `HGETALL` returned.
pub fn session_from_fields(fields: &HashMap<String, String>) -> Option<Session> {
    match wrong_variant() {
        // WRONG (01b/1): a `created_at` that does not parse is read as 0 (`unwrap_or_default()`) instead of making the whole session `None`: the check records a session with `created_at: 0` for "created_at not a number". Shows: created_at.
        1 => Some(Session::new(
            fields.get("user_id")?.clone(),
            fields.get("username")?.clone(),
            fields.get("created_at")?.parse().unwrap_or_default(),
        )),
        // WRONG (01b/2): a missing text field is read as an empty string (`cloned().unwrap_or_default()`), the partial hash the chapter warns about: the check records sessions with `user_id: ""` and `username: ""`. Shows: user_id, username.
        2 => Some(Session::new(
            fields.get("user_id").cloned().unwrap_or_default(),
            fields.get("username").cloned().unwrap_or_default(),
            fields.get("created_at")?.parse().ok()?,
        )),
        // WRONG (01b/3): a hash with any other number of fields than three is refused (`fields.len() != 3`), so a field added later (a `last_seen`, lesson 06's device fields) logs everyone out: the check records `~` for "an extra field". Shows: session.
        3 => {
            if fields.len() != 3 {
                return None;
            }
            Some(Session::new(
                fields.get("user_id")?.clone(),
                fields.get("username")?.clone(),
                fields.get("created_at")?.parse().ok()?,
            ))
        }
        // WRONG (01b/4): a missing `created_at` is taken as "just now" by the application's clock (`unwrap_or_else(unix_now)`), which hands a partial hash a fresh lifetime: the check records a session made "now" for "no created_at" (and for a `created_at` that does not parse). Shows: created_at.
        4 => Some(Session::new(
            fields.get("user_id")?.clone(),
            fields.get("username")?.clone(),
            fields.get("created_at").and_then(|text| text.parse().ok()).unwrap_or_else(unix_now),
        )),
        // WRONG (01b/5): `created_at` is parsed as an `i64` (as the chapter reads `TTL`) and cast with `as u64`, so "-5" wraps around to a time far in the future: the check records a session with `created_at: 18446744073709551611` for "created_at negative". Shows: created_at.
        5 => Some(Session::new(
            fields.get("user_id")?.clone(),
            fields.get("username")?.clone(),
            fields.get("created_at")?.parse::<i64>().ok()? as u64,
        )),
        n => no_wrong_answer("01b", n),
    }
}

/// Exercise 01c: the `username` field of the session at `key`, or `None` when the key or the
/// field does not exist.
pub async fn username_of<C: ConnectionLike + Send + Sync>(
    con: &mut C,
    key: &str,
) -> redis::RedisResult<Option<String>> {
    match wrong_variant() {
        // WRONG (01c/1): the reply is read as `String` and wrapped in `Some`, so a nil reply (no field, no key) is a type error instead of `None`: the check records the error for "a hash without the field" and "no such key". Shows: Err.
        1 => {
            let username: String = con.hget(key, "username").await?;
            Ok(Some(username))
        }
        // WRONG (01c/2): the whole hash is read with `HGETALL` and the field picked out in Rust, which sends every field over the wire to use one: the check records `HGETALL` instead of `HGET` as the command sent. Shows: HGETALL.
        2 => {
            let fields: HashMap<String, String> = con.hgetall(key).await?;
            Ok(fields.get("username").cloned())
        }
        // WRONG (01c/3): `EXISTS` first, then `HGET`: two round trips where one says it all (and the key may expire between them): the check records `EXISTS` and `HGET` for each call. Shows: EXISTS.
        3 => {
            let exists: bool = con.exists(key).await?;
            if !exists {
                return Ok(None);
            }
            con.hget(key, "username").await
        }
        // WRONG (01c/4): a missing field is read as an empty name (`unwrap_or_default()`), so "no such field" and "a user named nothing" look alike: the check records `""` instead of `~` for the hash without the field and the missing key. Shows: Ok.
        4 => {
            let username: Option<String> = con.hget(key, "username").await?;
            Ok(Some(username.unwrap_or_default()))
        }
        n => no_wrong_answer("01c", n),
    }
}
