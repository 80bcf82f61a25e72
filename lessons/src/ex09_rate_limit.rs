//! Exercises for lesson 09, rate limiting (`book/src/09-rate-limit-2.md`).
//!
//! Check it with `cargo exercise 09a`; `cargo exercise hint 09a` helps.

use std::time::Duration;

use redis::aio::ConnectionLike;
use session_storage::store::Limit;

// ANCHOR: ex09a
/// Exercise 09a: spend one attempt of every limit, or none, in one atomic script (GCRA).
///
/// Each limit's key holds a *theoretical arrival time* (TAT, unix ms by Redis's clock; a
/// missing key counts as now). An attempt moves each TAT forward by `period / limit` (rounded
/// down to whole ms) from `max(TAT, now)`; it is allowed when every moved TAT is at most one
/// `period` ahead of now. Allowed: write each moved TAT back with a TTL that ends at that TAT
/// (`SET key tat PX tat-now`) and return `None`. Refused: write nothing, and return how long the
/// worst limit wants the client to wait (`moved TAT - now - period`). A `limit` of 0 is off.
pub async fn throttle<C: ConnectionLike>(
    con: &mut C,
    limits: &[Limit],
    period: Duration,
) -> redis::RedisResult<Option<Duration>> {
    // TODO: one Lua script; KEYS are the limits' keys, ARGV their limits and then the period in
    // ms. Read the clock with TIME inside the script, check every key first, then write.
    todo!("exercise 09a: throttle")
}
// ANCHOR_END: ex09a
