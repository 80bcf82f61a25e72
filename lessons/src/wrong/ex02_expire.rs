//! Plausible wrong answers for lesson 02 (feature `wrong`): each one solves its exercise except
//! for one mistake a learner would really make, or one the chapter warns about. Its check in
//! `tests/exercises/l02.rs` must refuse it. `LESSONS_WRONG=n` picks the `n`th of each exercise.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionLike;
use session_storage::store::Session;

use crate::{TtlState, no_wrong_answer, wrong_variant};

/// Exercise 02a: what the `TTL` of `key` means, as a [`TtlState`].
pub async fn ttl_state<C: ConnectionLike + Send + Sync>(
    con: &mut C,
    key: &str,
) -> redis::RedisResult<TtlState> {
    match wrong_variant() {
        // WRONG (02a/1): the two special answers are swapped (-1 read as `Missing`, -2 as `Forever`): the check records `Forever` for the missing key and `Missing` for the key without a TTL. Shows: Ok.
        1 => {
            let ttl: i64 = con.ttl(key).await?;
            Ok(match ttl {
                -1 => TtlState::Missing,
                -2 => TtlState::Forever,
                secs => TtlState::ExpiresIn(Duration::from_secs(secs.max(0) as u64)),
            })
        }
        // WRONG (02a/2): every negative answer is taken for "no such key" (`if ttl < 0`), so a key that never expires, the one the chapter says to look for, reads as missing: the check records `Missing` for the key without a TTL. Shows: Ok.
        2 => {
            let ttl: i64 = con.ttl(key).await?;
            Ok(if ttl < 0 { TtlState::Missing } else { TtlState::ExpiresIn(Duration::from_secs(ttl as u64)) })
        }
        // WRONG (02a/3): the reply is read as a `u64` ("a TTL is never negative") and an error taken for "no such key", which the chapter warns against: redis-rs 1.8.1 wraps -2 and -1 around silently, so the check records a TTL of some 585 billion years for the missing key and for the key without a TTL (a later redis-rs refuses them, and the key without a TTL would read as `Missing`). Shows: ExpiresIn, secs.
        3 => Ok(match con.ttl::<_, u64>(key).await {
            Ok(secs) => TtlState::ExpiresIn(Duration::from_secs(secs)),
            Err(_) => TtlState::Missing,
        }),
        // WRONG (02a/4): `PTTL` for precision, but its milliseconds handed to `Duration::from_secs`: the check records 1234000 seconds where 1234 are left. Shows: secs.
        4 => {
            let ttl: i64 = con.pttl(key).await?;
            Ok(match ttl {
                -2 => TtlState::Missing,
                -1 => TtlState::Forever,
                millis => TtlState::ExpiresIn(Duration::from_secs(millis.max(0) as u64)),
            })
        }
        n => no_wrong_answer("02a", n),
    }
}

/// The service's TTL in whole seconds, at least 1 (`ttl_secs` in `src/store/mod.rs`).
fn ttl_secs(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX)
}

/// Exercise 02b: create a session so that it can never exist without its TTL.
pub async fn create_session<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    session: &Session,
    idle_ttl: Duration,
    replacing: Option<&str>,
) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    match wrong_variant() {
        // WRONG (02b/1): the pipeline is never made `.atomic()`, so DEL, HSET and EXPIRE go in one round trip but not as a MULTI/EXEC transaction: the check's recorder sees a plain pipeline of loose writes and records `one_atomic_step: false` for both calls. Shows: one_atomic_step.
        1 => {
            if let Some(old) = replacing {
                pipe.del(old).ignore();
            }
            pipe.cmd("HSET").arg(key).arg(&session.to_fields()).ignore();
            pipe.expire(key, ttl_secs(idle_ttl)).ignore();
        }
        // WRONG (02b/2): `EXPIRE` queued before the `HSET` inside the transaction: on a key that does not exist yet `EXPIRE` does nothing (step 4), and the `HSET` then makes a key without a TTL, which the check records as `ttl: -1` for the new sessions. Shows: new_session_ttl.
        2 => {
            pipe.atomic();
            if let Some(old) = replacing {
                pipe.del(old).ignore();
            }
            pipe.expire(key, ttl_secs(idle_ttl)).ignore();
            pipe.cmd("HSET").arg(key).arg(&session.to_fields()).ignore();
        }
        // WRONG (02b/3): the replaced session is deleted with a `DEL` of its own before the transaction: a second round trip, and a write outside the one atomic step, which the check records as `one_atomic_step: false` and two round trips for the login that replaces a session. Shows: one_atomic_step, round_trips.
        3 => {
            if let Some(old) = replacing {
                let () = redis::cmd("DEL").arg(old).query_async(con).await?;
            }
            pipe.atomic();
            pipe.cmd("HSET").arg(key).arg(&session.to_fields()).ignore();
            pipe.expire(key, ttl_secs(idle_ttl)).ignore();
        }
        // WRONG (02b/4): the idle TTL typed in from the chapter (1800, its 30 minutes) instead of `idle_ttl`: the check asks for 1234 seconds and records a TTL near 1800. Shows: new_session_ttl.
        4 => {
            pipe.atomic();
            if let Some(old) = replacing {
                pipe.del(old).ignore();
            }
            pipe.cmd("HSET").arg(key).arg(&session.to_fields()).ignore();
            pipe.expire(key, 1800).ignore();
        }
        // WRONG (02b/5): the TTL given in milliseconds (`as_millis()`) to `EXPIRE`, which counts seconds: the check records a TTL of 1234000 seconds, two weeks, for an idle TTL of 1234. Shows: new_session_ttl.
        5 => {
            pipe.atomic();
            if let Some(old) = replacing {
                pipe.del(old).ignore();
            }
            pipe.cmd("HSET").arg(key).arg(&session.to_fields()).ignore();
            pipe.expire(key, idle_ttl.as_millis() as i64).ignore();
        }
        n => no_wrong_answer("02b", n),
    }
    pipe.query_async(con).await
}

/// Exercise 02c: the `TTL` of every key in `keys`, in order, in one round trip.
pub async fn ttls<C: ConnectionLike + Send + Sync>(
    con: &mut C,
    keys: &[String],
) -> redis::RedisResult<Vec<i64>> {
    let mut pipe = redis::pipe();
    match wrong_variant() {
        // WRONG (02c/1): one `TTL` is sent and awaited per key instead of queuing them all in one pipeline: the check records four round trips of one `TTL` each instead of one. Shows: TTL.
        1 => {
            let mut ttls = Vec::with_capacity(keys.len());
            for key in keys {
                let ttl: i64 = con.ttl(key).await?;
                ttls.push(ttl);
            }
            return Ok(ttls);
        }
        // WRONG (02c/2): each `TTL` is queued with `.ignore()`, copied from 02b's pipeline, so every reply is thrown away: the check records an empty list for four keys. Shows: missing, forever, expiring, session.
        2 => {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            for key in keys {
                pipe.ttl(key).ignore();
            }
        }
        // WRONG (02c/3): the -2 of a key that no longer exists is left out ("a listing shows only live sessions"), so the answers no longer line up with `keys`: the check records three numbers for four keys, the first one the key without a TTL's -1. Shows: missing, forever.
        3 => {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            for key in keys {
                pipe.ttl(key);
            }
            let ttls: Vec<i64> = pipe.query_async(con).await?;
            return Ok(ttls.into_iter().filter(|ttl| *ttl != -2).collect());
        }
        // WRONG (02c/4): `PTTL` instead of `TTL`, so the times come back in milliseconds: the check records 1234000 and 77000 where 1234 and 77 seconds are left. Shows: PTTL, expiring, session.
        4 => {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            for key in keys {
                pipe.pttl(key);
            }
        }
        // WRONG (02c/5): no keys are not handled first, so the empty pipeline is handed to the connection anyway: the check records a round trip (and redis-rs's answer to it) where no keys should send nothing. Shows: round_trips, Err.
        5 => {
            for key in keys {
                pipe.ttl(key);
            }
        }
        n => no_wrong_answer("02c", n),
    }
    pipe.query_async(con).await
}
