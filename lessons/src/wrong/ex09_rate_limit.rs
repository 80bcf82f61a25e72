//! Plausible wrong answer for lesson 09 (feature `wrong`): the exercise is solved except for one
//! mistake a learner would really make, which its check in `tests/exercises.rs` catches.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;
use session_storage::store::Limit;

/// The service's `throttle.lua` (`src/store/scripts/throttle.lua`) with one mistake: each key is
/// written as soon as its own check passes, in the same loop, instead of checking every key
/// first and writing only when all pass.
const THROTTLE_SOURCE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local period = tonumber(ARGV[#KEYS + 1])
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i])
  if limit > 0 then
    local tat = math.max(tonumber(redis.call('GET', key) or 0), now)
    local due = tat + math.floor(period / limit)
    local wait = due - now - period
    if wait > 0 then return wait end
    redis.call('SET', key, string.format('%d', due), 'PX', string.format('%d', due - now))
  end
end
return 0
";

static THROTTLE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(THROTTLE_SOURCE));

/// A duration in whole milliseconds (`millis` in `src/store/mod.rs`).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

// WRONG (09a): the script writes each limit's moved TAT as soon as that limit allows, before the later limits are checked, so a refusal by the per-user limit has already spent the per-client one, which the check catches because alice's fourth (refused) attempt moves the client key (`a_refusal_wrote_nothing: false`), and bob is then refused (`wait_s: 15`) instead of allowed.
/// Exercise 09a: spend one attempt of every limit, or none, in one atomic script (GCRA).
pub async fn throttle<C: ConnectionLike>(
    con: &mut C,
    limits: &[Limit],
    period: Duration,
) -> redis::RedisResult<Option<Duration>> {
    let mut invocation = THROTTLE_SCRIPT.prepare_invoke();
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
