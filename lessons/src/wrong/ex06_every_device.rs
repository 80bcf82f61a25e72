//! Plausible wrong answers for lesson 06 (feature `wrong`): each exercise is solved except for
//! one mistake a learner would really make, which its check in `tests/exercises.rs` catches
//! (06a: once the check is extended, see below).

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;
use session_storage::store::{Indexed, SessionId};

/// The service's `index_add.lua` (`src/store/scripts/index_add.lua`) with one mistake: the
/// index's `PEXPIREAT` is the new entry's score, not the largest score in the set.
const INDEX_ADD_SOURCE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local absolute = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[1], ARGV[4]) end
local over = {}
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3]) + 1
if excess > 0 then
  over = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
end
redis.call('ZADD', KEYS[1], string.format('%d', now + absolute), ARGV[1])
redis.call('PEXPIREAT', KEYS[1], string.format('%d', now + absolute))
return {now, over}
";

static INDEX_ADD_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(INDEX_ADD_SOURCE));

/// A duration in whole milliseconds (`millis` in `src/store/mod.rs`).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

// WRONG (06a): the index's expiry is set with `PEXPIREAT` from the new entry's score (`now + absolute`) instead of the largest score in the set (`ZRANGE KEYS[1] -1 -1 WITHSCORES`), so an entry with a later expiry outlives its index, which the current check does NOT catch because every entry it adds has the score now + absolute, so the newest entry always holds the largest score and `index_expires_at_its_largest_score` stays true; the extended check (an entry already in the index with a larger, fractional score, more than 5 s beyond now + absolute) catches it because the index's `PTTL` then ends at the new entry's score, not at the largest one, and `index_expires_at_its_largest_score` becomes false.
//
// The second shortcut, for the extended check: reading the largest score but leaving out
// `string.format('%d', ...)` around the numbers, as in
// `redis.call('PEXPIREAT', KEYS[1], last[2])` or `redis.call('PEXPIREAT', KEYS[1], tonumber(last[2]))`.
// With whole-millisecond scores it passes (Redis writes a 13-digit integral Lua number back as
// integer text), but a fractional largest score reaches `PEXPIREAT` as `1700028800000.5`, Redis
// answers "ERR value is not an integer or out of range", the script fails, and `index_session`
// returns that error (the check's `.expect("index_session")` panics). `string.format('%d', ...)`
// writes whole milliseconds, so it never fails.
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
    let replacing = replacing.map(SessionId::to_string).unwrap_or_default();
    let (now_ms, evicted): (u64, Vec<String>) = INDEX_ADD_SCRIPT
        .key(index_key)
        .arg(id.to_string())
        .arg(millis(absolute))
        .arg(max.max(1))
        .arg(replacing)
        .invoke_async(con)
        .await?;
    Ok(Indexed { now_ms, evicted: evicted.iter().filter_map(|id| SessionId::parse(id)).collect() })
}

// WRONG (06b): each byte is written with `{byte:x}` instead of `{byte:02x}`, so a byte below 0x10 loses its leading zero, which the check catches because the handle of `...000000000002` records `e79acd97ac88866` (15 characters, its byte 0x08 written as `8`) instead of `e79acd97ac880866`.
/// Exercise 06b: the public name of a session, its "handle": the first 16 characters of the
/// lowercase hex SHA-256 of the id's text (`id.to_string()`).
pub fn handle(id: &SessionId) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(id.to_string().as_bytes());
    digest[..8].iter().map(|byte| format!("{byte:x}")).collect()
}
