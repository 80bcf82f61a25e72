//! Exercises for lesson 01, hash basics (`book/src/01-hash-basics.md`).
//!
//! Check them with `cargo exercise ex01a` and `cargo exercise ex01b`.

use std::collections::HashMap;

use session_storage::store::Session;

// ANCHOR: ex01a
/// Exercise 01a: the hash fields of a session, for one `HSET`.
///
/// Return `(field, value)` pairs in the order `user_id`, `username`, `created_at`, with
/// `created_at` written as decimal text (Redis stores strings).
pub fn session_fields(session: &Session) -> [(&'static str, String); 3] {
    // TODO: build the three pairs from `session`.
    // Hint: `u64::to_string` turns created_at into text; field names are the struct's names.
    todo!("exercise 01a: session_fields")
}
// ANCHOR_END: ex01a

// ANCHOR: ex01b
/// Exercise 01b: rebuild a session from what `HGETALL` returned.
///
/// `None` unless all three fields are there and `created_at` is a whole number: an empty map
/// (missing key) or a partial hash is never a session.
pub fn session_from_fields(fields: &HashMap<String, String>) -> Option<Session> {
    // TODO: read user_id, username and created_at from `fields`; give up on anything missing.
    // Hint: `fields.get("user_id")?` returns early with None; `str::parse::<u64>().ok()?` too.
    todo!("exercise 01b: session_from_fields")
}
// ANCHOR_END: ex01b
