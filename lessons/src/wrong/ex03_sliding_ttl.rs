//! Plausible wrong answers for lesson 03 (feature `wrong`): each one solves its exercise except
//! for one mistake a learner would really make, or one the chapter warns about. Its check in
//! `tests/exercises/l03.rs` must refuse it. `LESSONS_WRONG=n` picks the `n`th of each exercise.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;
use session_storage::store::{Session, Touched};

use crate::{no_wrong_answer, wrong_variant};

/// The service's TTL in whole seconds, at least 1 (`ttl_secs` in `src/store/mod.rs`).
fn ttl_secs(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX)
}

/// Exercise 03a: read the session at `key` and renew its TTL, in one round trip.
pub async fn touch<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    idle_ttl: Duration,
    absolute_ttl: Duration,
) -> redis::RedisResult<Option<Touched>> {
    let script: &Script = match wrong_variant() {
        1 => &LONGER_OF_THE_TWO,
        2 => return app_clock(con, key, idle_ttl, absolute_ttl).await,
        3 => &NO_CAP,
        4 => &LAST_SEEN,
        5 => return read_then_expire(con, key, idle_ttl, absolute_ttl).await,
        n => no_wrong_answer("03a", n),
    };
    let reply: Option<(String, String, u64, u64)> =
        script.key(key).arg(ttl_secs(idle_ttl)).arg(ttl_secs(absolute_ttl)).invoke_async(con).await?;
    Ok(reply.map(touched))
}

fn touched((user_id, username, created_at, ttl_secs): (String, String, u64, u64)) -> Touched {
    Touched { session: Session::new(user_id, username, created_at), ttl_secs }
}

// WRONG (03a/1): the script caps the TTL with `math.max(idle_ttl, left)` instead of `math.min`, so it renews to whatever is longer, the time left of the absolute lifetime: the check records the whole lifetime left as the TTL of a new session, and the idle TTL for the one with five seconds left. Shows: ttl_set, ttl_in_redis, ttl_secs.
static LONGER_OF_THE_TWO: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
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
",
    )
});

// WRONG (03a/2): the script takes "now" from the application's clock (`SystemTime::now()`, passed as a third argument) instead of Redis's `TIME`: the check runs with the application's clock an hour ahead of Redis's, and the session with five seconds left, or 100 s under the idle TTL, comes back deleted. Shows: ttl_in_redis, ttl_set.
static NOW_FROM_THE_APP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(ARGV[3])
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
local ttl = math.min(tonumber(ARGV[1]), left)
redis.call('EXPIRE', KEYS[1], ttl)
return {f[1], f[2], f[3], ttl}
",
    )
});

async fn app_clock<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    idle_ttl: Duration,
    absolute_ttl: Duration,
) -> redis::RedisResult<Option<Touched>> {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let reply: Option<(String, String, u64, u64)> = NOW_FROM_THE_APP
        .key(key)
        .arg(ttl_secs(idle_ttl))
        .arg(ttl_secs(absolute_ttl))
        .arg(now)
        .invoke_async(con)
        .await?;
    Ok(reply.map(touched))
}

// WRONG (03a/3): the script renews to the idle TTL and forgets the absolute cap (the lesson's step 5), so a session is never older than its idle TTL but lives for ever while it is used: the check records the idle TTL for the session with five seconds of its lifetime left, and keeps the one whose lifetime is used up. Shows: ttl_set, ttl_in_redis.
static NO_CAP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local f = redis.call('HMGET', KEYS[1], 'user_id', 'username', 'created_at')
if not (f[1] and f[2] and f[3]) then
  redis.call('DEL', KEYS[1])
  return false
end
local ttl = tonumber(ARGV[1])
redis.call('EXPIRE', KEYS[1], ttl)
return {f[1], f[2], f[3], ttl}
",
    )
});

// WRONG (03a/4): the script records a `last_seen` field with `HSET` before it looks at the hash, the resurrection bug of step 3: the check records a `last_seen` field on the live session, and a key left behind (without a TTL) where there was no session at all. Shows: last_seen, missing_exists_afterwards.
static LAST_SEEN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(redis.call('TIME')[1])
redis.call('HSET', KEYS[1], 'last_seen', now)
local f = redis.call('HMGET', KEYS[1], 'user_id', 'username', 'created_at')
local created = f[3] and tonumber(f[3])
if not (f[1] and f[2] and created) then
  return false
end
local left = created + tonumber(ARGV[2]) - now
if left <= 0 then
  redis.call('DEL', KEYS[1])
  return false
end
local ttl = math.min(tonumber(ARGV[1]), left)
redis.call('EXPIRE', KEYS[1], ttl)
return {f[1], f[2], f[3], ttl}
",
    )
});

// WRONG (03a/5): no script: `TIME` and `HMGET` in one pipeline, the cap worked out in Rust, then `EXPIRE` (step 2's naive renewal, with the cap): two round trips, and a logout between them is renewed, which the check catches because `one_atomic_step` records false. Shows: live_in_one_atomic_step.
async fn read_then_expire<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    idle_ttl: Duration,
    absolute_ttl: Duration,
) -> redis::RedisResult<Option<Touched>> {
    type Read = ((u64, u64), (Option<String>, Option<String>, Option<u64>));
    let ((now, _), fields): Read = redis::pipe()
        .cmd("TIME")
        .cmd("HMGET")
        .arg(key)
        .arg(&["user_id", "username", "created_at"])
        .query_async(con)
        .await?;
    let (Some(user_id), Some(username), Some(created_at)) = fields else {
        let () = redis::cmd("DEL").arg(key).query_async(con).await?;
        return Ok(None);
    };
    let left = (created_at + absolute_ttl.as_secs()).saturating_sub(now);
    if left == 0 {
        let () = redis::cmd("DEL").arg(key).query_async(con).await?;
        return Ok(None);
    }
    let ttl = left.min(idle_ttl.as_secs());
    let () = redis::cmd("EXPIRE").arg(key).arg(ttl).query_async(con).await?;
    Ok(Some(Touched { session: Session::new(user_id, username, created_at), ttl_secs: ttl }))
}

/// Exercise 03b: the stable `user_<digits>` for a username, with nothing stored.
pub fn user_id_for(username: &str) -> String {
    use sha2::{Digest, Sha256};
    match wrong_variant() {
        // WRONG (03b/1): the 12 digest bytes are copied to the start of the `[u8; 16]` (`high[..12]`) instead of its end, so the number is the 96 bits shifted up by 32: every recorded `user_id` differs and `every_id_fits_96_bits` is false. Shows: every_id_fits_96_bits, user_id.
        1 => {
            let digest = Sha256::digest(username.as_bytes());
            let mut high = [0u8; 16];
            high[..12].copy_from_slice(&digest[..12]);
            format!("user_{}", u128::from_be_bytes(high))
        }
        // WRONG (03b/2): the number is read little-endian (`u128::from_le_bytes`), so the same name gives another id than on a server that reads it as the chapter says: every recorded `user_id` differs. Shows: user_id.
        2 => {
            let digest = Sha256::digest(username.as_bytes());
            let mut low = [0u8; 16];
            low[..12].copy_from_slice(&digest[..12]);
            format!("user_{}", u128::from_le_bytes(low))
        }
        // WRONG (03b/3): the name is lower-cased before hashing ("Alice and alice are one user"), which the exercise leaves to the service's canonical form: `Alice` and `Zoë Ångström` record the id of another spelling. Shows: user_id.
        3 => {
            let digest = Sha256::digest(username.to_lowercase().as_bytes());
            let mut bytes = [0u8; 16];
            bytes[4..].copy_from_slice(&digest[..12]);
            format!("user_{}", u128::from_be_bytes(bytes))
        }
        // WRONG (03b/4): Rust's `DefaultHasher` instead of SHA-256 ("any hash will do"): its algorithm is not promised to stay the same between Rust releases, so ids would change on an upgrade; every recorded `user_id` differs. Shows: user_id.
        4 => {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            username.hash(&mut hasher);
            format!("user_{}", hasher.finish())
        }
        n => no_wrong_answer("03b", n),
    }
}
