//! Plausible wrong answers for lesson 03 (feature `wrong`): each exercise is solved except for
//! one mistake a learner would really make, which its check in `tests/exercises.rs` catches.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;
use session_storage::store::Session;
use session_storage::store::Touched;

/// The service's `touch.lua` (`src/store/scripts/touch.lua`) with one mistake: `math.max` where
/// the cap needs `math.min`.
const TOUCH_SOURCE: &str = r"
local now = tonumber(redis.call('TIME')[1])
local f = redis.call('HMGET', KEYS[1], 'user_id', 'username', 'created_at')
local created = f[3] and tonumber(f[3])
if not (f[1] and f[2] and created) then
  redis.call('DEL', KEYS[1])
  return false
end
local left = created + tonumber(ARGV[2]) - now
if left <= 0 then
  redis.call('DEL', KEYS[1])
  return false
end
local ttl = math.max(tonumber(ARGV[1]), left)
redis.call('EXPIRE', KEYS[1], ttl)
return {f[1], f[2], f[3], ttl}
";

static TOUCH_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(TOUCH_SOURCE));

/// The service's TTL in whole seconds, at least 1 (`ttl_secs` in `src/store/mod.rs`).
fn ttl_secs(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX)
}

// WRONG (03a): the script caps the TTL with `math.max(idle_ttl, left)` instead of `math.min`, so it renews to whatever is longer, the time left of the absolute lifetime, which the check catches because it records `ttl_secs: 28800` for a new session (not 1800), 1800 for the one with five seconds left (not 3..=5) and 28740 for the minute-old one (not 1800).
/// Exercise 03a: read the session at `key` and renew its TTL, in one round trip.
pub async fn touch<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    idle_ttl: Duration,
    absolute_ttl: Duration,
) -> redis::RedisResult<Option<Touched>> {
    let reply: Option<(String, String, u64, u64)> =
        TOUCH_SCRIPT.key(key).arg(ttl_secs(idle_ttl)).arg(ttl_secs(absolute_ttl)).invoke_async(con).await?;
    Ok(reply.map(|(user_id, username, created_at, ttl_secs)| Touched {
        session: Session { user_id, username, created_at },
        ttl_secs,
    }))
}

// WRONG (03b): the 12 digest bytes are copied to the start of the `[u8; 16]` (`high[..12]`) instead of its end, so the number is the 96 bits shifted up by 32, which the check catches because every recorded `user_id` differs and `every_id_fits_96_bits` is false.
/// Exercise 03b: the stable `user_<digits>` for a username, with nothing stored.
pub fn user_id_for(username: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(username.as_bytes());
    let mut high = [0u8; 16];
    high[..12].copy_from_slice(&digest[..12]);
    format!("user_{}", u128::from_be_bytes(high))
}
