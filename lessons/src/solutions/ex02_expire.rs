//! Reference solutions for lesson 02: `ttl_state` and `ttls` written here, and the service's own
//! `create_session` (`src/store/create.rs`, anchor `create_session`).

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionLike;

use crate::TtlState;

pub use session_storage::store::create_session;

// ANCHOR: ex02a
/// Exercise 02a: TTL's two special answers become variants; anything else is seconds left.
pub async fn ttl_state<C: ConnectionLike + Send + Sync>(
    con: &mut C,
    key: &str,
) -> redis::RedisResult<TtlState> {
    let ttl: i64 = con.ttl(key).await?;
    Ok(match ttl {
        -2 => TtlState::Missing,
        -1 => TtlState::Forever,
        secs => TtlState::ExpiresIn(Duration::from_secs(secs.max(0) as u64)),
    })
}
// ANCHOR_END: ex02a

// ANCHOR: ex02c
/// Exercise 02c: a plain pipeline (not `.atomic()`: nothing here needs isolation) sends every
/// `TTL` in one write and reads the replies in order.
pub async fn ttls<C: ConnectionLike + Send + Sync>(
    con: &mut C,
    keys: &[String],
) -> redis::RedisResult<Vec<i64>> {
    // redis-rs refuses to send an empty pipeline; no keys need no round trip at all.
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for key in keys {
        pipe.ttl(key);
    }
    pipe.query_async(con).await
}
// ANCHOR_END: ex02c
