//! Exercises for lesson 03, the sliding TTL (`book/src/03-sliding-ttl.md`).
//!
//! Both are Lua scripts. Check them with `cargo exercise 03a` and `03b`; `cargo exercise hint
//! 03a` helps.

use std::time::Duration;

use redis::aio::ConnectionLike;
use session_storage::store::{Keys, Touched};

// ANCHOR: ex03a
/// Exercise 03a: read the session at `key` and renew its TTL, in one round trip.
///
/// Return the session and the TTL you set; return `None` for a missing key or a partial hash,
/// and never bring a deleted session back: no `HSET` here, ever. Never let the TTL run past
/// `created_at + absolute_ttl` by Redis's clock: set `min(idle_ttl, created_at + absolute_ttl -
/// now)`, and when nothing is left, delete the key and return `None`.
pub async fn touch<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    idle_ttl: Duration,
    absolute_ttl: Duration,
) -> redis::RedisResult<Option<Touched>> {
    // TODO: send one Lua script that reads the time and the three fields, and renews the key
    // only if all three are there and the absolute lifetime is not used up.
    todo!("exercise 03a: touch")
}
// ANCHOR_END: ex03a

// ANCHOR: ex03b
/// Exercise 03b: the stable `user_<n>` for a username.
///
/// The first login of a name takes the next number from the counter at `keys.user_counter()` and
/// records it in the hash at `keys.user_ids()`; later logins get the same id. Twenty first logins
/// of one name racing each other must still agree.
pub async fn user_id_for<C: ConnectionLike>(
    con: &mut C,
    keys: &Keys,
    username: &str,
) -> redis::RedisResult<String> {
    // TODO: make "look up, else increment and record" one atomic step.
    todo!("exercise 03b: user_id_for")
}
// ANCHOR_END: ex03b
