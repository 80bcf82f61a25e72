//! Plausible wrong answers for lesson 06 (feature `wrong`): each one solves its exercise except
//! for one mistake a learner would really make, or one the chapter warns about. Its check in
//! `tests/exercises/l06.rs` must refuse it. `LESSONS_WRONG=n` picks the `n`th of each exercise.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;
use session_storage::store::{Indexed, SessionId};

use crate::{no_wrong_answer, wrong_variant};

/// A duration in whole milliseconds (`millis` in `src/store/mod.rs`).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Exercise 06a: add session `id` to the user's index at `index_key`, a sorted set of session
/// ids scored by their absolute expiry in unix milliseconds, so that the index can never leak.
pub async fn index_session<C: ConnectionLike>(
    con: &mut C,
    index_key: &str,
    id: &SessionId,
    absolute: Duration,
    max: usize,
    replacing: Option<&SessionId>,
) -> redis::RedisResult<Indexed> {
    let script: &Script = match wrong_variant() {
        1 => &EXPIRES_WITH_THE_NEW_ENTRY,
        2 => return app_clock(con, index_key, id, absolute, max, replacing).await,
        3 => return step_by_step(con, index_key, id, absolute, max, replacing).await,
        4 => &OFF_BY_ONE,
        5 => &EXPIRED_KEPT,
        6 => &UNFORMATTED,
        n => no_wrong_answer("06a", n),
    };
    let replacing = replacing.map(SessionId::to_string).unwrap_or_default();
    let (now_ms, evicted): (u64, Vec<String>) = script
        .key(index_key)
        .arg(id.to_string())
        .arg(millis(absolute))
        .arg(max.max(1))
        .arg(replacing)
        .invoke_async(con)
        .await?;
    Ok(indexed(now_ms, &evicted))
}

fn indexed(now_ms: u64, evicted: &[String]) -> Indexed {
    Indexed { now_ms, evicted: evicted.iter().filter_map(|id| SessionId::parse(id)).collect() }
}

// WRONG (06a/1): the index's `PEXPIREAT` is the new entry's score (`now + absolute`) instead of the largest score in the set, so an entry that lives longer outlives its index: the check records `index_expires_with_the_longer_entry: false` beside an entry scored twice the lifetime ahead. Shows: index_expires_with_the_longer_entry.
static EXPIRES_WITH_THE_NEW_ENTRY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[1], ARGV[4]) end
local named = {}
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3]) + 1
if excess > 0 then
  named = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
end
local expiry = string.format('%d', now + tonumber(ARGV[2]))
redis.call('ZADD', KEYS[1], expiry, ARGV[1])
redis.call('PEXPIREAT', KEYS[1], expiry)
return {now, named}
",
    )
});

// WRONG (06a/2): "now" is the application's clock (`SystemTime::now()` in ms, passed as a fifth argument) instead of Redis's `TIME`: the check runs with the application's clock an hour ahead of Redis's, and records `now_ms_by_redis_clock: false`, the entry with a minute left dropped as if expired, and every named list shifted. Shows: now_ms_by_redis_clock.
static NOW_FROM_THE_APP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[1], ARGV[4]) end
local named = {}
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3]) + 1
if excess > 0 then
  named = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
end
redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[2])), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], string.format('%d', tonumber(last[2])))
return {now, named}
",
    )
});

async fn app_clock<C: ConnectionLike>(
    con: &mut C,
    index_key: &str,
    id: &SessionId,
    absolute: Duration,
    max: usize,
    replacing: Option<&SessionId>,
) -> redis::RedisResult<Indexed> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let (now_ms, evicted): (u64, Vec<String>) = NOW_FROM_THE_APP
        .key(index_key)
        .arg(id.to_string())
        .arg(millis(absolute))
        .arg(max.max(1))
        .arg(replacing.map(SessionId::to_string).unwrap_or_default())
        .arg(millis(now))
        .invoke_async(con)
        .await?;
    Ok(indexed(now_ms, &evicted))
}

// WRONG (06a/3): no script: `TIME`, then one pipeline that prunes and reads the set, the bound worked out in Rust, then `ZADD` and `PEXPIREAT` in a `MULTI`: three round trips, and two logins of one user can both find room: the check records `each_in_one_atomic_step: false`, and of 20 logins at once with a bound of 3, none named and 20 entries left. Shows: each_in_one_atomic_step, left_when_the_caller_has_ended_the_named, named.
async fn step_by_step<C: ConnectionLike>(
    con: &mut C,
    index_key: &str,
    id: &SessionId,
    absolute: Duration,
    max: usize,
    replacing: Option<&SessionId>,
) -> redis::RedisResult<Indexed> {
    let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(con).await?;
    let now_ms = secs * 1000 + micros / 1000;
    let mut read = redis::pipe();
    read.cmd("ZREMRANGEBYSCORE").arg(index_key).arg("-inf").arg(now_ms).ignore();
    if let Some(replacing) = replacing {
        read.cmd("ZREM").arg(index_key).arg(replacing.to_string()).ignore();
    }
    read.cmd("ZRANGE").arg(index_key).arg(0).arg(-1).arg("WITHSCORES");
    let (entries,): (Vec<(String, f64)>,) = read.query_async(con).await?;
    let excess = (entries.len() + 1).saturating_sub(max.max(1));
    let evicted: Vec<String> = entries.iter().take(excess).map(|(id, _)| id.clone()).collect();
    let score = now_ms + millis(absolute);
    let largest = entries.iter().map(|(_, score)| *score as u64).fold(score, u64::max);
    let mut write = redis::pipe();
    write.atomic();
    write.cmd("ZADD").arg(index_key).arg(score).arg(id.to_string()).ignore();
    write.cmd("PEXPIREAT").arg(index_key).arg(largest).ignore();
    write.exec_async(con).await?;
    Ok(indexed(now_ms, &evicted))
}

// WRONG (06a/4): the bound is off by one (`ZCARD - max` instead of `ZCARD - max + 1`), so the set keeps `max` entries and then adds one: the check records nothing named at the third login, which finds three entries, and one more entry than the bound. Shows: named, left_when_the_caller_has_ended_the_named.
static OFF_BY_ONE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[1], ARGV[4]) end
local named = {}
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if excess > 0 then
  named = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
end
redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[2])), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], string.format('%d', tonumber(last[2])))
return {now, named}
",
    )
});

// WRONG (06a/5): the expired entries are never removed (no `ZREMRANGEBYSCORE`, "the bound removes old entries anyway"): the check records the entry that expired a second ago still in the index after the first login, and named by the bound as if it were a live session. Shows: named.
static EXPIRED_KEPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[1], ARGV[4]) end
local named = {}
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3]) + 1
if excess > 0 then
  named = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
end
redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[2])), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], string.format('%d', tonumber(last[2])))
return {now, named}
",
    )
});

// WRONG (06a/6): the largest score goes to `PEXPIREAT` as `ZRANGE` answered it (`last[2]`, no `string.format('%d', ...)`), which the chapter warns about: beside an entry with a fractional score Redis refuses `1...000.5` ("value is not an integer"), the script fails, and the check records that error as the answer. Shows: Err.
static UNFORMATTED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[1], ARGV[4]) end
local named = {}
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3]) + 1
if excess > 0 then
  named = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return {now, named}
",
    )
});

/// Exercise 06b: the public name of a session, its "handle": the first 16 characters of the
/// lowercase hex SHA-256 of the id's text (`id.to_string()`).
pub fn handle(id: &SessionId) -> String {
    use sha2::{Digest, Sha256};
    match wrong_variant() {
        // WRONG (06b/1): each byte is written with `{byte:x}` instead of `{byte:02x}`, so a byte below 0x10 loses its leading zero: the check records `e79acd97ac88866` (15 characters) for `...000000000002`, and a handle that is not 16 characters. Shows: 00000000-0000-4000-8000-000000000002, lowercase_hex_of_16.
        1 => {
            let digest = Sha256::digest(id.to_string().as_bytes());
            digest[..8].iter().map(|byte| format!("{byte:x}")).collect()
        }
        // WRONG (06b/2): uppercase hex (`{byte:02X}`): the same hash written differently, so a handle computed by the service never matches: the check records `11E594F481958C10` and `lowercase_hex_of_16: false`. Shows: lowercase_hex_of_16.
        2 => {
            let digest = Sha256::digest(id.to_string().as_bytes());
            digest[..8].iter().map(|byte| format!("{byte:02X}")).collect()
        }
        // WRONG (06b/3): the id's 16 raw bytes are hashed (what `Uuid::as_bytes` gives) instead of its text: the check records another handle for every id. Shows: 00000000-0000-4000-8000-000000000001, 00000000-0000-4000-8000-000000000002, 0f8fad5b-d9cb-469f-a165-70867728950e.
        3 => {
            let hex: String = id.to_string().chars().filter(|c| *c != '-').collect();
            let raw: Vec<u8> =
                (0..16).filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()).collect();
            let digest = Sha256::digest(&raw);
            digest[..8].iter().map(|byte| format!("{byte:02x}")).collect()
        }
        // WRONG (06b/4): the first 16 *bytes* of the hash are written out (32 hex characters) where the handle is the first 16 *characters*: the check records handles twice as long. Shows: lowercase_hex_of_16.
        4 => {
            let digest = Sha256::digest(id.to_string().as_bytes());
            digest[..16].iter().map(|byte| format!("{byte:02x}")).collect()
        }
        n => no_wrong_answer("06b", n),
    }
}
