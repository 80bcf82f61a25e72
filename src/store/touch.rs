//! Reading and renewing a session in one round trip: the sliding TTL (lesson 03). The renew
//! path never writes a hash field, so it can never resurrect a deleted session.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;

use super::{Session, ttl_secs};

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

/// Reads a session and renews its TTL in one round trip: the sliding window.
///
/// Why a script and not `HGETALL` then `EXPIRE`: one round trip instead of two, and it is atomic,
/// so a logout cannot land between the read and the renewal. It only ever calls `EXPIRE` on a key
/// it has just seen whole, and never writes a field, so it cannot resurrect a deleted session.
/// A partial hash (left by some other, buggy, writer) is deleted and reported as no session;
/// for a missing key that `DEL` is a no-op.
///
/// The new TTL is `min(idle_ttl, created_at + absolute_ttl - now)`; once that is zero the session
/// is deleted: the absolute lifetime is a hard cap that activity cannot extend.
///
/// `now` is Redis's clock (`TIME`, read inside the script), like `created_at` (stamped at login
/// from `TIME` too): with several app servers whose clocks disagree, every one of them judges a
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
