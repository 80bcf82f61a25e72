//! Plausible wrong answers for lesson 09 (feature `wrong`): each one solves its exercise except
//! for one mistake a learner would really make, or one the chapter warns about. Its check in
//! `tests/exercises/l09.rs` must refuse it. `LESSONS_WRONG=n` picks the `n`th of each exercise.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;
use session_storage::store::{Limit, THROTTLE_SOURCE};

use crate::{no_wrong_answer, wrong_variant};

/// A duration in whole milliseconds (`millis` in `src/store/mod.rs`).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The service's own script (`src/store/scripts/throttle.lua`, the reference solution) with one
/// mistake: `right`, which must occur in it exactly once, replaced by `wrong`.
fn throttle_script_with(right: &str, wrong: &str) -> Script {
    assert_eq!(THROTTLE_SOURCE.matches(right).count(), 1, "the throttle script no longer holds {right:?}");
    Script::new(&THROTTLE_SOURCE.replacen(right, wrong, 1))
}

/// Exercise 09a: spend one attempt of every limit, or none, in one atomic script (GCRA).
pub async fn throttle<C: ConnectionLike>(
    con: &mut C,
    limits: &[Limit],
    period: Duration,
) -> redis::RedisResult<Option<Duration>> {
    let script: &Script = match wrong_variant() {
        1 => &WRITES_AS_IT_GOES,
        2 => return from_rust(con, limits, period).await,
        3 => return app_clock(con, limits, period).await,
        4 => return step_in_seconds(con, limits, period).await,
        5 => &FIRST_REFUSAL,
        6 => &TTL_OF_A_PERIOD,
        7 => &PAST_TAT_KEPT,
        n => no_wrong_answer("09a", n),
    };
    let mut invocation = script.prepare_invoke();
    for limit in limits {
        invocation.key(&limit.key);
    }
    for limit in limits {
        invocation.arg(limit.limit);
    }
    invocation.arg(millis(period));
    let wait_ms: u64 = invocation.invoke_async(con).await?;
    Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms)))
}

// WRONG (09a/1): the script writes each limit's moved TAT as soon as that limit allows, before the later limits are checked (and returns the first refusal's wait), so a refusal by the per-user limit has already spent the per-client one: the check records `every_refusal_wrote_nothing: false`, bob refused, and the fresh key beside a refusing one written. Shows: every_refusal_wrote_nothing, allowing_key_written.
static WRITES_AS_IT_GOES: LazyLock<Script> = LazyLock::new(|| {
    throttle_script_with(
        "    wait = math.max(wait, due[i] - now - period)\n",
        "    wait = math.max(wait, due[i] - now - period)\n    if wait > 0 then return wait end\n    \
         redis.call('SET', key, string.format('%d', due[i]), 'PX', string.format('%d', due[i] - now))\n",
    )
});

// WRONG (09a/2): no script: `TIME` and a `GET` of each key in one pipeline, the GCRA worked out in Rust, then a pipeline of `SET ... PX`: right one attempt at a time, but 20 attempts at once all read the same TAT before any writes it: the check records far more than 3 of the 20 allowed against a limit of 3. Shows: allowed.
async fn from_rust<C: ConnectionLike>(
    con: &mut C,
    limits: &[Limit],
    period: Duration,
) -> redis::RedisResult<Option<Duration>> {
    let mut read = redis::pipe();
    read.cmd("TIME");
    for limit in limits {
        read.cmd("GET").arg(&limit.key);
    }
    let mut replies: Vec<redis::Value> = read.query_async(con).await?;
    let tats = replies.split_off(1);
    let (secs, micros): (u64, u64) = redis::from_redis_value(replies.remove(0))?;
    let now = secs * 1000 + micros / 1000;
    let period = millis(period);
    let mut wait = 0;
    let mut due = Vec::new();
    for (limit, tat) in limits.iter().zip(tats) {
        if limit.limit == 0 {
            continue;
        }
        let tat: Option<u64> = redis::from_redis_value(tat)?;
        let moved = tat.unwrap_or(0).max(now) + period / u64::from(limit.limit);
        wait = wait.max((moved - now).saturating_sub(period));
        due.push((&limit.key, moved));
    }
    if wait > 0 {
        return Ok(Some(Duration::from_millis(wait)));
    }
    if due.is_empty() {
        return Ok(None);
    }
    let mut write = redis::pipe();
    for (key, moved) in due {
        write.cmd("SET").arg(key).arg(moved).arg("PX").arg(moved - now).ignore();
    }
    write.exec_async(con).await?;
    Ok(None)
}

// WRONG (09a/3): "now" is the application's clock (`SystemTime::now()` in ms, passed after the period) instead of Redis's `TIME`: the check runs with the application's clock an hour ahead of Redis's, and records every fresh TAT as "another TAT" and TTLs that do not end at their TAT. Shows: tat_is_now_plus_ms, ttl_ends_at_the_tat.
static NOW_FROM_THE_APP: LazyLock<Script> = LazyLock::new(|| {
    throttle_script_with(
        "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n",
        "local now = tonumber(ARGV[#KEYS + 2])\n",
    )
});

async fn app_clock<C: ConnectionLike>(
    con: &mut C,
    limits: &[Limit],
    period: Duration,
) -> redis::RedisResult<Option<Duration>> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let mut invocation = NOW_FROM_THE_APP.prepare_invoke();
    for limit in limits {
        invocation.key(&limit.key);
    }
    for limit in limits {
        invocation.arg(limit.limit);
    }
    invocation.arg(millis(period)).arg(millis(now));
    let wait_ms: u64 = invocation.invoke_async(con).await?;
    Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms)))
}

// WRONG (09a/4): the step `period / limit` is worked out in Rust in whole seconds (60 / 7 = 8 s) and passed in place of each limit, so the script moves each TAT by that argument, 8000 ms, instead of 8571: the 8th attempt of 7 per minute is still refused, but the check records steps of 8000 ms, a first TAT that is not now plus 8571, and waits that are not the moved TAT's. Shows: tat_moved_by_ms.
static STEP_GIVEN: LazyLock<Script> = LazyLock::new(|| {
    throttle_script_with("due[i] = tat + math.floor(period / limit)", "due[i] = tat + limit")
});

async fn step_in_seconds<C: ConnectionLike>(
    con: &mut C,
    limits: &[Limit],
    period: Duration,
) -> redis::RedisResult<Option<Duration>> {
    let mut invocation = STEP_GIVEN.prepare_invoke();
    for limit in limits {
        invocation.key(&limit.key);
    }
    for limit in limits {
        let step_secs = period.as_secs().checked_div(u64::from(limit.limit)).unwrap_or(0);
        invocation.arg(step_secs * 1000);
    }
    invocation.arg(millis(period));
    let wait_ms: u64 = invocation.invoke_async(con).await?;
    Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms)))
}

// WRONG (09a/5): the first pass returns as soon as one limit refuses, with that limit's wait, instead of the largest wait of every limit: when two limits refuse at once, the check records the 7-per-minute wait (about 3 s) where the 5-per-minute limit wants about 8 s, if the 7 comes first. Shows: wait_ms_is_the_5_per_minute_wait.
static FIRST_REFUSAL: LazyLock<Script> = LazyLock::new(|| {
    throttle_script_with(
        "wait = math.max(wait, due[i] - now - period)",
        "if due[i] - now - period > 0 then return due[i] - now - period end",
    )
});

// WRONG (09a/6): each key gets the TTL of a whole period (`PX period`) instead of one that ends at its TAT (`PX due - now`): the key then outlives its TAT, and the check records `ttl_ends_at_the_tat: false`. Shows: ttl_ends_at_the_tat.
static TTL_OF_A_PERIOD: LazyLock<Script> = LazyLock::new(|| {
    throttle_script_with("'PX', string.format('%d', due[i] - now)", "'PX', string.format('%d', period)")
});

// WRONG (09a/7): the stored TAT is moved even when it lies in the past (`GET` or now, without `math.max`), so a client idle for a while starts from its old TAT: the check's TAT 30 s in the past moves to 21.4 s in the past, `SET ... PX` gets a negative TTL, and the check records Redis's error (`invalid expire time`) as the answer. Shows: answer.
static PAST_TAT_KEPT: LazyLock<Script> = LazyLock::new(|| {
    throttle_script_with(
        "math.max(tonumber(redis.call('GET', key) or 0), now)",
        "tonumber(redis.call('GET', key)) or now",
    )
});
