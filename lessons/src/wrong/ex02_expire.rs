//! Plausible wrong answers for lesson 02 (feature `wrong`): each exercise is solved except for
//! one mistake a learner would really make, which its check in `tests/exercises.rs` catches.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionLike;
use session_storage::store::Session;

use crate::TtlState;

// WRONG (02a): the two special answers are swapped (-1 read as `Missing`, -2 as `Forever`), which the check catches because it records `missing: Forever` and `forever: Missing`.
/// Exercise 02a: what the `TTL` of `key` means, as a [`TtlState`].
pub async fn ttl_state<C: ConnectionLike + Send + Sync>(
    con: &mut C,
    key: &str,
) -> redis::RedisResult<TtlState> {
    let ttl: i64 = con.ttl(key).await?;
    Ok(match ttl {
        -1 => TtlState::Missing,
        -2 => TtlState::Forever,
        secs => TtlState::ExpiresIn(Duration::from_secs(secs.max(0) as u64)),
    })
}

/// The service's TTL in whole seconds, at least 1 (`ttl_secs` in `src/store/mod.rs`).
fn ttl_secs(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX)
}

// WRONG (02b): the pipeline is never made `.atomic()`, so DEL, HSET and EXPIRE go in one round trip but not as a MULTI/EXEC transaction, which the check catches because its recorder sees a plain pipeline with three loose writes and records `one_atomic_step: false`.
/// Exercise 02b: create a session so that it can never exist without its TTL.
pub async fn create_session<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    session: &Session,
    idle_ttl: Duration,
    replacing: Option<&str>,
) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    if let Some(old) = replacing {
        pipe.del(old).ignore();
    }
    pipe.cmd("HSET").arg(key).arg(&session.to_fields()).ignore();
    pipe.expire(key, ttl_secs(idle_ttl)).ignore();
    pipe.query_async(con).await
}

// WRONG (02c): one `TTL` is sent and awaited per key instead of queuing them all in one pipeline, which the check catches because it records `round_trips: 3` instead of 1.
/// Exercise 02c: the `TTL` of every key in `keys`, in order, in one round trip.
pub async fn ttls<C: ConnectionLike + Send + Sync>(
    con: &mut C,
    keys: &[String],
) -> redis::RedisResult<Vec<i64>> {
    let mut ttls = Vec::with_capacity(keys.len());
    for key in keys {
        let ttl: i64 = con.ttl(key).await?;
        ttls.push(ttl);
    }
    Ok(ttls)
}
