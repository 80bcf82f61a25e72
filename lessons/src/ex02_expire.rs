//! Exercises for lesson 02, expire (`book/src/02-expire.md`).
//!
//! Check them with `cargo exercise 02a`, `02b` and `02c`; `cargo exercise hint 02a` helps.

use std::time::Duration;

use redis::aio::ConnectionLike;
use session_storage::store::Session;

use crate::TtlState;

// ANCHOR: ex02a
/// Exercise 02a: what the `TTL` of `key` means, as a [`TtlState`]: `Missing` for -2, `Forever`
/// for -1, else `ExpiresIn` that many seconds.
pub async fn ttl_state<C: ConnectionLike + Send + Sync>(
    con: &mut C,
    key: &str,
) -> redis::RedisResult<TtlState> {
    // TODO: ask for the TTL, then turn the number into a TtlState.
    todo!("exercise 02a: ttl_state")
}
// ANCHOR_END: ex02a

// ANCHOR: ex02b
/// Exercise 02b: create a session so that it can never exist without its TTL.
///
/// Write `session`'s three fields to the hash at `key` and give it `idle_ttl` (whole seconds),
/// in one atomic round trip. If `replacing` names an old session key, delete it in the same step.
pub async fn create_session<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    session: &Session,
    idle_ttl: Duration,
    replacing: Option<&str>,
) -> redis::RedisResult<()> {
    // TODO: build a pipeline that is a MULTI/EXEC transaction and send it once.
    todo!("exercise 02b: create_session")
}
// ANCHOR_END: ex02b

// ANCHOR: ex02c
/// Exercise 02c: the `TTL` of every key in `keys`, in order, in one round trip (a listing page
/// that shows how long each of a user's sessions has left must not pay one round trip per row).
/// No keys: an empty list, and nothing sent.
pub async fn ttls<C: ConnectionLike + Send + Sync>(
    con: &mut C,
    keys: &[String],
) -> redis::RedisResult<Vec<i64>> {
    // TODO: queue one TTL per key in a pipeline and send it once.
    todo!("exercise 02c: ttls")
}
// ANCHOR_END: ex02c
