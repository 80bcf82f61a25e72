//! Exercises for lesson 01, hash basics (`book/src/01-hash-basics.md`).
//!
//! Check them with `cargo exercise 01a`, `01b` and `01c`; `cargo exercise hint 01a` helps.

use std::collections::HashMap;

use redis::aio::ConnectionLike;
use session_storage::store::Session;

// ANCHOR: ex01a
/// Exercise 01a: the hash fields of a session, for one `HSET`.
///
/// Return `(field, value)` pairs in the order `user_id`, `username`, `created_at`, with
/// `created_at` written as decimal text (Redis stores strings).
pub fn session_fields(session: &Session) -> [(&'static str, String); 3] {
    // TODO: build the three pairs from `session`.
    todo!("exercise 01a: session_fields")
}
// ANCHOR_END: ex01a

// ANCHOR: ex01b
/// Exercise 01b: rebuild a session from what `HGETALL` returned.
///
/// `None` unless all three fields are there and `created_at` is a whole number: an empty map
/// (missing key) or a partial hash is never a session. Other fields may be there too (a later
/// version of the service may add some): they do not matter. Make the session with
/// `Session::new(user_id, username, created_at)`.
pub fn session_from_fields(fields: &HashMap<String, String>) -> Option<Session> {
    // TODO: read user_id, username and created_at from `fields`; give up on anything missing.
    todo!("exercise 01b: session_from_fields")
}
// ANCHOR_END: ex01b

// ANCHOR: ex01c
/// Exercise 01c: the `username` field of the session at `key`, or `None` when the key or the
/// field does not exist.
pub async fn username_of<C: ConnectionLike + Send + Sync>(
    con: &mut C,
    key: &str,
) -> redis::RedisResult<Option<String>> {
    // TODO: one HGET, read as the type that can say "nothing there".
    todo!("exercise 01c: username_of")
}
// ANCHOR_END: ex01c
