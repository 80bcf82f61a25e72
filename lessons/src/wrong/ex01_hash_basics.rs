//! Plausible wrong answers for lesson 01 (feature `wrong`): each exercise is solved except for
//! one mistake a learner would really make, which its check in `tests/exercises.rs` catches.

use std::collections::HashMap;

use redis::AsyncCommands;
use redis::aio::ConnectionLike;
use session_storage::store::Session;

// WRONG (01a): a copy-paste slip writes `session.user_id` as the value of the `username` field, which the check catches because the recorded `fields` pair and the `hgetall` map hold `username: user_1` instead of `alice`.
/// Exercise 01a: the hash fields of a session, for one `HSET`.
pub fn session_fields(session: &Session) -> [(&'static str, String); 3] {
    [
        ("user_id", session.user_id.clone()),
        ("username", session.user_id.clone()),
        ("created_at", session.created_at.to_string()),
    ]
}

// WRONG (01b): a `created_at` that does not parse is read as 0 (`unwrap_or_default()`) instead of making the whole session `None`, which the check catches because the case "created_at not a number" records a session with `created_at: 0` instead of `~`.
/// Exercise 01b: rebuild a session from what `HGETALL` returned.
pub fn session_from_fields(fields: &HashMap<String, String>) -> Option<Session> {
    Some(Session {
        user_id: fields.get("user_id")?.clone(),
        username: fields.get("username")?.clone(),
        created_at: fields.get("created_at")?.parse().unwrap_or_default(),
    })
}

// WRONG (01c): the HGET reply is read as `String` and wrapped in `Some`, so a missing field or key (a nil reply) is a type error instead of `None`, which the check catches because its `.expect("HGET")` on "a hash without the field" panics with that error.
/// Exercise 01c: the `username` field of the session at `key`, or `None` when the key or the
/// field does not exist.
pub async fn username_of<C: ConnectionLike + Send + Sync>(
    con: &mut C,
    key: &str,
) -> redis::RedisResult<Option<String>> {
    let username: String = con.hget(key, "username").await?;
    Ok(Some(username))
}
