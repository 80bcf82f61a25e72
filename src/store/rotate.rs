//! Re-authentication that cannot outlive a logout (`POST /reauth`): the session's id is rotated
//! only while the old session lives, and a logout with the old cookie, however it interleaves,
//! leaves nothing alive once it has answered.
//!
//! The old and the new session live in different slots, so no one transaction can replace one
//! by the other. Instead a marker, `moved:{session:<old>}`, in the old session's slot (its hash
//! tag is the old session's key), names the new session:
//! 1. `scripts/rotate.lua`, on the old session: if it exists, its fields are read and the marker
//!    is set (for [`MOVED_TTL`]); otherwise the re-authentication is refused (401).
//! 2. The new session is written, as at login, keeping the old one's `created_at` (so its
//!    absolute deadline) and recording `authenticated_at` (the privileged window counts from it).
//! 3. `scripts/rotated.lua`: if the marker still names the new session, the old one is deleted.
//!    If not, a logout took the marker meanwhile, and the new session is ended too (401).
//!
//! A logout reads the marker with `GETDEL` in the pipeline that deletes the session and ends
//! what it names: before step 3 the re-authentication then sees the marker gone; after it, the
//! new session is ended by the logout itself. Values written to the old session between steps 1
//! and 3 are not carried over.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::RedisResult;
use redis::aio::ConnectionLike;

use super::connection::Counted;
use super::data::{Values, take};
use super::events::{EventKind, NewEvent};
use super::login::{Carried, NewSession};
use super::{Device, Session, SessionId, SessionStore, destroy_session, fields};

/// How long a re-authenticated session's old cookie still logs out what it became: a logout
/// sent at the same time as the re-authentication (the page's button, pressed while the
/// password prompt's request is in flight) ends the new session too.
pub const MOVED_TTL: Duration = Duration::from_secs(60);

/// `scripts/rotate.lua`, sent whole with `EVAL`.
pub(super) const ROTATE_SOURCE: &str = include_str!("scripts/rotate.lua");

/// `scripts/rotated.lua`, sent whole with `EVAL`.
pub(super) const ROTATED_SOURCE: &str = include_str!("scripts/rotated.lua");

/// Step 1: the old session's fields, and the marker naming `new` set; `None` when the old
/// session is gone.
pub(super) async fn rotate<C: ConnectionLike>(
    con: &mut C,
    old_key: &str,
    marker: &str,
    new: &str,
) -> RedisResult<Option<BTreeMap<String, String>>> {
    let ttl = u64::try_from(MOVED_TTL.as_millis()).unwrap_or(u64::MAX);
    let hash: Option<BTreeMap<String, String>> = redis::cmd("EVAL")
        .arg(ROTATE_SOURCE)
        .arg(2)
        .arg(old_key)
        .arg(marker)
        .arg(new)
        .arg(ttl)
        .query_async(con)
        .await?;
    Ok(hash.filter(|hash| !hash.is_empty()))
}

/// Step 3: true when no logout came in between (the old session is now deleted).
pub(super) async fn rotated<C: ConnectionLike>(
    con: &mut C,
    old_key: &str,
    marker: &str,
    new: &str,
) -> RedisResult<bool> {
    let done: u8 = redis::cmd("EVAL")
        .arg(ROTATED_SOURCE)
        .arg(2)
        .arg(old_key)
        .arg(marker)
        .arg(new)
        .query_async(con)
        .await?;
    Ok(done == 1)
}

impl SessionStore {
    // ANCHOR: carried
    /// What the new session takes over: at a login the visitor's values, taken atomically (all
    /// its fields read and the key deleted in one transaction on that key); on a
    /// re-authentication the old session's values and `created_at`, read by step 1 above, which
    /// marks the old session (`None` when that session is gone). Nothing to take costs nothing.
    pub(super) async fn carried(
        &self,
        con: &mut Counted<'_>,
        new: &NewSession<'_>,
        id: &SessionId,
    ) -> RedisResult<Option<Carried>> {
        if new.kind == EventKind::Reauth
            && let Some(old) = &new.replacing
        {
            // The old session stays until the new one is written (`rotate.rs`).
            let old = self.at_rest(old);
            let (key, marker) = (self.inner.keys.session(&old), self.inner.keys.moved(&old));
            let Some(hash) = rotate(&mut *con, &key, &marker, &self.at_rest(id).to_string()).await? else {
                return Ok(None);
            };
            let created_at = hash.get(fields::CREATED_AT).and_then(|at| at.parse().ok());
            let alive = hash.contains_key(fields::USER_ID);
            return Ok(alive.then(|| Carried { values: Values::from_hash(&hash), created_at }));
        }
        let values = match &new.visitor {
            Some(visitor) => {
                Values::from_hash(&take(&mut *con, &self.inner.keys.visitor(&self.at_rest(visitor))).await?)
            }
            None => Values::default(),
        };
        Ok(Some(Carried { values, created_at: None }))
    }

    // ANCHOR_END: carried

    /// A re-authentication's last step (`rotate.rs`): the old session ends, unless a logout
    /// with it came in between, which the new session then follows. False in that case.
    pub(super) async fn finish_rotation(
        &self,
        con: &mut Counted<'_>,
        old: &SessionId,
        id: &SessionId,
        session: &Session,
    ) -> RedisResult<bool> {
        let (old, new) = (self.at_rest(old), self.at_rest(id));
        let (key, marker) = (self.inner.keys.session(&old), self.inner.keys.moved(&old));
        if rotated(&mut *con, &key, &marker, &new.to_string()).await? {
            return Ok(true);
        }
        destroy_session(&mut *con, &self.inner.keys.session(&new)).await?;
        let unknown = Device::unknown(None);
        let event = NewEvent { kind: EventKind::Logout, device: &unknown, handle: Some(&new.handle()) };
        self.unlist(&mut *con, &session.user_id, &[new], &event).await?;
        Ok(false)
    }

    /// Whether the caller's session may end other sessions at `now_ms`: its `created_at` is in
    /// the privileged window, or else its last re-authentication is (`authenticated_at`, which
    /// only a re-authenticated session has, read only then: <!-- cost: POST /logout-everywhere | a session past its privileged window (403) minus DELETE /sessions/{handle} | a handle not among the user's sessions (404) -->one
    /// round trip more for a session past its login's window).
    pub(super) async fn privileged<C: ConnectionLike>(
        &self,
        con: &mut C,
        created_at: u64,
        current: &SessionId,
        now_ms: u64,
    ) -> RedisResult<bool> {
        if self.is_privileged(created_at, now_ms) {
            return Ok(true);
        }
        let key = self.keys().session(current);
        let authenticated_at: Option<u64> =
            redis::cmd("HGET").arg(&key).arg(fields::AUTHENTICATED_AT).query_async(con).await?;
        Ok(authenticated_at.is_some_and(|at| self.is_privileged(at, now_ms)))
    }
}
