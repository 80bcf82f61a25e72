//! Reading and renewing a session in <!-- cost: GET /profile | a live session -->one round trip:
//! the sliding TTL (lesson 03). The renew
//! path never writes a hash field, so it can never resurrect a deleted session.
//!
//! Two ways, with the same guarantees: [`touch`], one Lua script (lesson 03, exercise 03a), and
//! [`renew`], one pipeline of <!-- cost: 03_sliding_ttl | renew -->three plain commands, which the service calls on every
//! authenticated request because it costs Redis about half the CPU (see the Performance
//! chapter).

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;

use super::{Lifetimes, Session, fields, millis, ttl_secs};

// ANCHOR: touch
pub(super) static TOUCH_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(TOUCH_SOURCE));

/// The read-and-renew script itself, so lesson 03 can show its source and call it by hand.
pub fn touch_script() -> &'static Script {
    &TOUCH_SCRIPT
}

/// The Lua source of [`touch_script`]: `src/store/scripts/touch.lua`, which you can also run by
/// hand (`redis-cli --eval src/store/scripts/touch.lua session:<id> , 1800 28800`).
pub const TOUCH_SOURCE: &str = include_str!("scripts/touch.lua");

/// A session that [`touch`] found and renewed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Touched {
    /// The session's fields.
    pub session: Session,
    /// The TTL just set: the idle TTL, or less when the absolute lifetime is closer.
    pub ttl_secs: u64,
}

/// Reads a session and renews its TTL with one script: the sliding window.
///
/// Why a script and not a read, then `EXPIRE`: one wait instead of two, and it is atomic, so a
/// logout cannot land between the read and the renewal. It only ever calls `EXPIRE` on a key
/// it has just seen whole, and never writes a field, so it cannot resurrect a deleted session.
/// A partial hash (left by some other, buggy, writer) is deleted and reported as no session;
/// for a missing key that `DEL` is a no-op.
///
/// The new TTL is `min(idle_ttl, created_at + absolute_ttl - now)`; once that is zero the session
/// is deleted: the absolute lifetime is a hard cap that activity cannot extend.
///
/// `now` is Redis's clock (`TIME`, read inside the script), like `created_at` (stamped at login
/// on Redis's clock too, see `store/clock.rs`): with several app servers whose clocks disagree, every one of them judges a
/// session's age by the same clock. The TTL countdown runs on Redis's clock anyway.
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
// ANCHOR_END: touch

// ANCHOR: renew
/// Reads a session and renews its TTL without a script: one pipeline of
/// `HMGET key user_id username created_at`, `EXPIRE key <idle>` and `PEXPIRETIME key`. The
/// service's renewal; the same answers and guarantees as [`touch`]:
///
/// - **No resurrection.** Nothing writes a field, and `EXPIRE` on a missing key does nothing
///   (it answers 0, and then so does this: `None`). Should another client delete the key
///   between `HMGET`, `EXPIRE` and `PEXPIRETIME`, `EXPIRE` or `PEXPIRETIME` sees no key, and the answer is
///   `None` too.
/// - **Redis's clock.** `PEXPIRETIME` right after `EXPIRE <idle>` is Redis's time plus the idle
///   lifetime, so `now` is read from Redis (the key's own node, on a cluster), never from ours.
/// - **The absolute cap, on every read.** With `now` and `created_at` the session's time left is
///   known: none, and the session is deleted and refused (then a `DEL`); less than the idle
///   lifetime (its last idle period), and the expiry is brought back to the deadline (then an
///   `EXPIREAT`). A session past its deadline is never answered, whatever its TTL says.
/// - **A partial hash is not a session**: it is deleted (a `DEL`) and refused.
///
/// The three run in order: on one connection, and on a cluster as one pipeline to the key's
/// node (a pipeline of one key is not split, see `src/redis/backend.rs`).
pub async fn renew<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    Lifetimes { idle, absolute }: Lifetimes,
) -> redis::RedisResult<Option<Touched>> {
    let mut pipe = redis::pipe();
    pipe.cmd("HMGET").arg(key).arg(fields::USER_ID).arg(fields::USERNAME).arg(fields::CREATED_AT);
    pipe.cmd("EXPIRE").arg(key).arg(ttl_secs(idle));
    pipe.cmd("PEXPIRETIME").arg(key);
    type Reply = ((Option<String>, Option<String>, Option<String>), u8, i64);
    let ((user_id, username, created_at), renewed, expires_at_ms): Reply =
        pipe.query_async(&mut *con).await?;
    if renewed == 0 || expires_at_ms < 0 {
        return Ok(None);
    }
    let (Some(user_id), Some(username), Some(created_at)) =
        (user_id, username, created_at.and_then(|created| created.parse::<u64>().ok()))
    else {
        redis::cmd("DEL").arg(key).exec_async(con).await?;
        return Ok(None);
    };
    let Some(ttl_secs) =
        absolute_cap(con, key, expires_at_ms, created_at, Lifetimes { idle, absolute }).await?
    else {
        return Ok(None);
    };
    Ok(Some(Touched { session: Session { user_id, username, created_at }, ttl_secs }))
}

/// The absolute cap, after a renewal whose `PEXPIRETIME` answered `expires_at_ms`: the TTL the
/// key now has, or `None` when its absolute lifetime is over (the key is then deleted).
pub(super) async fn absolute_cap<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    expires_at_ms: i64,
    created_at: u64,
    Lifetimes { idle, absolute }: Lifetimes,
) -> redis::RedisResult<Option<u64>> {
    let now = u64::try_from(expires_at_ms).unwrap_or(0).saturating_sub(millis(idle)) / 1000;
    let deadline = created_at.saturating_add(absolute.as_secs());
    let idle_secs = idle.as_secs().max(1);
    match deadline.checked_sub(now) {
        None | Some(0) => {
            redis::cmd("DEL").arg(key).exec_async(con).await?;
            Ok(None)
        }
        Some(left) if left < idle_secs => {
            redis::cmd("EXPIREAT").arg(key).arg(deadline).exec_async(con).await?;
            Ok(Some(left))
        }
        Some(_) => Ok(Some(idle_secs)),
    }
}
// ANCHOR_END: renew
