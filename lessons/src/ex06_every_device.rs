//! Exercises for lesson 06, every device (`book/src/06-every-device.md`).
//!
//! Check them with `cargo exercise 06a` and `06b`; `cargo exercise hint 06a` helps.

use std::time::Duration;

use redis::aio::ConnectionLike;
use session_storage::store::{Indexed, SessionId};

// ANCHOR: ex06a
/// Exercise 06a: add session `id` to the user's index at `index_key`, a sorted set of session
/// ids scored by their absolute expiry in unix milliseconds, so that the index can never leak.
///
/// In one atomic step, by Redis's clock (`now`, in milliseconds):
/// - remove every entry whose score is `now` or earlier;
/// - remove `replacing`, if given (the session this login replaces);
/// - if `max` or more entries remain, name the oldest ones that would leave `max` with `id`
///   added; leave them in the index (the caller ends their sessions, then removes them);
/// - add `id` with the score `now + absolute`;
/// - make the index itself expire (`PEXPIREAT`) at its largest score.
///
/// Return `now` and the ids you named.
pub async fn index_session<C: ConnectionLike>(
    con: &mut C,
    index_key: &str,
    id: &SessionId,
    absolute: Duration,
    max: usize,
    replacing: Option<&SessionId>,
) -> redis::RedisResult<Indexed> {
    // TODO: one Lua script: TIME, ZREMRANGEBYSCORE, ZREM, ZCARD and ZRANGE, ZADD, PEXPIREAT.
    todo!("exercise 06a: index_session")
}
// ANCHOR_END: ex06a

// ANCHOR: ex06b
/// Exercise 06b: the public name of a session, its "handle": the first 16 characters of the
/// lowercase hex SHA-256 of the id's text (`id.to_string()`).
///
/// A handle can be shown to every device of the user, because it cannot be turned back into
/// the id, and the id is the login.
pub fn handle(id: &SessionId) -> String {
    // TODO: hash the id's text with sha2::Sha256 and write the first 8 bytes as hex.
    todo!("exercise 06b: handle")
}
// ANCHOR_END: ex06b
