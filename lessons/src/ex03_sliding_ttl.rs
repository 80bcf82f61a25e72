//! Exercises for lesson 03, the sliding TTL (`book/src/03-sliding-ttl.md`).
//!
//! Both exercises are about one function. Check them with `cargo exercise ex03a` (read and
//! renew) and then `cargo exercise ex03b` (the absolute cap).

use std::time::Duration;

use redis::aio::ConnectionLike;
use session_storage::store::Touched;

// ANCHOR: ex03
/// Exercises 03a and 03b: read the session at `key` and renew its TTL, in one round trip.
///
/// 03a: return the session and the TTL you set (`idle_ttl`); return `None` for a missing key
/// or a partial hash, and never bring a deleted session back: no `HSET` here, ever.
///
/// 03b: never let the TTL run past `created_at + absolute_ttl`: set
/// `min(idle_ttl, created_at + absolute_ttl - now)`, and when nothing is left, delete the key
/// and return `None`.
pub async fn touch<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    now: u64,
    idle_ttl: Duration,
    absolute_ttl: Duration,
) -> redis::RedisResult<Option<Touched>> {
    // TODO (03a): send one Lua script that HMGETs the three fields and, only if all are there,
    // EXPIREs the key; return {user_id, username, created_at, ttl} or false.
    // TODO (03b): compute what is left of the absolute lifetime in the script.
    // Hint: `redis::Script::new(SRC).key(key).arg(now).arg(idle).arg(absolute).invoke_async(con)`
    // can return `Option<(String, String, u64, u64)>`; Lua's `false` arrives as `None`.
    todo!("exercise 03: touch")
}
// ANCHOR_END: ex03
