//! Every device (lesson 06): each user's index of sessions, and what the service does with it:
//! list a user's sessions, revoke one, log out everywhere.
//!
//! ## An index that cannot leak
//! "Which sessions does user 7 have?" cannot be asked of the sessions themselves without `SCAN`
//! over the whole keyspace, so each user has an index: a sorted set whose members are session
//! ids and whose scores are their absolute expiry times. It cannot grow without bound, by
//! construction and without any cleanup job:
//! - Every login's index step and every read of the index first removes the scores already
//!   past (`ZREMRANGEBYSCORE`), so an entry never outlives its session's absolute lifetime.
//! - A login beyond [`MAX_SESSIONS_PER_USER`](super::MAX_SESSIONS_PER_USER) has the oldest entries named, ends those sessions
//!   and then removes their entries, so the set has a size bound. The script that names them
//!   also *claims* them, rescoring them 0 (the prune only drops scores above 0, and the bound
//!   counts only those): a named session stays in the index until its session is deleted, and
//!   the concurrent logins of a flood do not name the same old sessions again.
//! - The set's own TTL is its largest score (`PEXPIREAT`), so an index nobody reads again
//!   disappears when its last session's absolute lifetime ends.
//! - An entry whose session ended early (idle expiry, logout elsewhere) is removed the next time
//!   the index is read for a listing or a "log out everywhere".
//!
//! Login adds the new session to the index *before* it creates the session, so a live session is
//! never missing from its index. An entry whose session does not exist yet may belong to a login
//! still on its way, so it is only removed once it is older than the store's Redis deadline
//! (see [`SessionStore::list_sessions`]).
//!
//! ## The privileged window
//! Whoever holds a stolen cookie holds a session, and could end every other session of the user,
//! the owner's included. So ending *another* session (a revoke of a handle that is not the
//! caller's, or "log out everywhere") needs a privileged session: one whose login, or whose last
//! re-authentication (`POST /reauth`, which gives it a new id), is at most
//! [`privileged_window`](SessionStore::privileged_window) old by Redis's clock (OWASP ASVS 5.0
//! 7.5; Kratos calls it `privileged_session_max_age`). Otherwise the answer is
//! [`Privileged::ReauthRequired`] and nothing is ended. The window needs no field of its own:
//! a re-authentication makes a new session, so its `created_at` is the time of the last
//! authentication.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;

use super::events::{LogBounds, NewEvent, unlist_and_log};
use super::{
    Device, EventKind, Keys, MAX_EVENTS, SessionId, SessionStore, UNKNOWN_DEVICE, Unavailable, fields, millis,
};

// ANCHOR: index_add
/// `scripts/index_add.lua`: the login's step in the user's index.
pub(super) static INDEX_ADD_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(INDEX_ADD_SOURCE));

/// The source of [`INDEX_ADD_SCRIPT`]: the service's login sends it whole (`EVAL`) inside its
/// one pipeline, where a `NOSCRIPT` answer could not be retried (see `SessionStore::create`).
pub(super) const INDEX_ADD_SOURCE: &str = include_str!("scripts/index_add.lua");

/// What [`index_session`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indexed {
    /// Redis's clock when the entry was added, in unix milliseconds: what the store learns
    /// Redis's clock from (`clock.rs`), and on a cluster the session's `created_at`.
    pub now_ms: u64,
    /// The oldest sessions beyond the size bound, still in the index but claimed (scored 0, so
    /// no other login names them again): the caller ends them
    /// (<!-- sends: POST /login | past MAX_SESSIONS_PER_USER: the oldest sessions end -->`DEL`)
    /// and then takes them out of the index (`ZREM`), in that order, so that a session is never alive outside its index.
    /// A claimed entry whose caller never got that far (it timed out) stays, scored 0: the
    /// listing and "log out everywhere" still see it, and remove it once its session is gone.
    pub evicted: Vec<SessionId>,
}

/// Adds session `id` to the user's index at `index_key`, in one atomic script: drops entries
/// whose absolute expiry has passed, drops `replacing` (the session this login replaces, which
/// the caller has already deleted), adds `id` scored by its absolute expiry (Redis's clock +
/// `absolute`), sets the index's own expiry to its largest score, and names the oldest entries
/// beyond `max` for the caller to end (they stay in the index, claimed with a score of 0, until
/// the caller has deleted their sessions).
///
/// Why before the session is created: from the moment a session exists, it is in its index, so
/// "log out everywhere" can always find it. Why one script: the size check and the add must not
/// interleave with another login of the same user.
///
/// Under a flood, `max` or more logins of the same user may start while one login is between
/// this step and writing its session, and the bound then names that login's entry, whose
/// session does not exist yet. The store's login closes that race: it reads its entry back
/// after writing its session and ends the session if the entry is gone, and a login that ends
/// older sessions deletes them again after removing their entries (see
/// [`SessionStore::start_session`]). A caller of this function alone must do the same.
pub async fn index_session<C: ConnectionLike>(
    con: &mut C,
    index_key: &str,
    id: &SessionId,
    absolute: Duration,
    max: usize,
    replacing: Option<&SessionId>,
) -> redis::RedisResult<Indexed> {
    let (now_ms, evicted): (u64, Vec<String>) = INDEX_ADD_SCRIPT
        .key(index_key)
        .arg(index_add_args(id, absolute, max, replacing))
        .invoke_async(con)
        .await?;
    Ok(Indexed::from_reply(now_ms, &evicted))
}

/// The script's `ARGV`: the new id, the absolute lifetime in milliseconds, the bound (at least
/// 1), the replaced id or `""`.
pub(super) fn index_add_args(
    id: &SessionId,
    absolute: Duration,
    max: usize,
    replacing: Option<&SessionId>,
) -> (String, u64, usize, String) {
    (id.to_string(), millis(absolute), max.max(1), replacing.map(SessionId::to_string).unwrap_or_default())
}

impl Indexed {
    /// The script's reply, `{now, over}`.
    pub(super) fn from_reply(now_ms: u64, evicted: &[String]) -> Indexed {
        Indexed { now_ms, evicted: evicted.iter().filter_map(|id| SessionId::parse(id)).collect() }
    }
}
// ANCHOR_END: index_add

// ANCHOR: index_read
/// `scripts/index_read.lua`: the index, newest first, after dropping past scores.
pub(super) static INDEX_READ_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/index_read.lua")));

/// One entry of a user's index: a session id and its absolute expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// The session.
    pub id: SessionId,
    /// Its absolute expiry, unix milliseconds (Redis's clock): the entry's score.
    pub expires_at_ms: u64,
}

/// Reads a user's index, newest first, after dropping the entries whose absolute expiry has
/// passed, in just <!-- cost: DELETE /sessions/{handle} | a handle not among the user's sessions (404) minus DELETE /sessions/{handle} | a malformed handle (404) -->one
/// round trip; also returns Redis's clock (unix milliseconds).
pub async fn index_entries<C: ConnectionLike>(
    con: &mut C,
    index_key: &str,
) -> redis::RedisResult<(u64, Vec<IndexEntry>)> {
    let (now_ms, entries): (u64, Vec<(String, f64)>) =
        INDEX_READ_SCRIPT.key(index_key).invoke_async(con).await?;
    let entries = entries
        .iter()
        .filter_map(|(id, score)| {
            Some(IndexEntry { id: SessionId::parse(id)?, expires_at_ms: *score as u64 })
        })
        .collect();
    Ok((now_ms, entries))
}
// ANCHOR_END: index_read

/// What the listing reads of one session: who owns it, when it began, on which device, how long
/// it has left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Liveness {
    /// The session's `user_id` field; `None` when the session is gone.
    pub user_id: Option<String>,
    /// The `created_at` field.
    pub created_at: Option<u64>,
    /// The `device` field (`None` for a session that predates it).
    pub device: Option<String>,
    /// The `ip` field (`None` when unknown or absent).
    pub ip: Option<String>,
    /// Milliseconds left (`PTTL`): -2 when the key is gone.
    pub pttl_ms: i64,
}

// ANCHOR: read_sessions
/// Reads `user_id`, `created_at`, `device`, `ip` and the TTL of every session in `ids`: one
/// pipeline, <!-- cost: 06_every_device | read_sessions -->one round trip (each command names one
/// key, so on a cluster each goes to its own shard).
pub async fn read_sessions<C: ConnectionLike>(
    con: &mut C,
    keys: &Keys,
    ids: &[SessionId],
) -> redis::RedisResult<Vec<Liveness>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for id in ids {
        let key = keys.session(id);
        pipe.cmd("HMGET")
            .arg(&key)
            .arg(fields::USER_ID)
            .arg(fields::CREATED_AT)
            .arg(fields::DEVICE)
            .arg(fields::IP);
        pipe.cmd("PTTL").arg(&key);
    }
    /// `HMGET`'s four fields, then `PTTL`, per session.
    type Reply = ((Option<String>, Option<String>, Option<String>, Option<String>), i64);
    let replies: Vec<Reply> = pipe.query_async(con).await?;
    Ok(replies
        .into_iter()
        .map(|((user_id, created_at, device, ip), pttl_ms)| Liveness {
            user_id,
            created_at: created_at.and_then(|c| c.parse().ok()),
            device,
            ip: ip.filter(|ip| !ip.is_empty()),
            pttl_ms,
        })
        .collect())
}
// ANCHOR_END: read_sessions

/// Deletes every session in `ids`: one pipeline of single-key `DEL`s
/// (<!-- cost: 06_every_device | destroy_sessions -->one round trip), never one `DEL` naming
/// several keys, which Redis Cluster refuses when they live in different slots.
/// Returns, for each id, whether it existed.
pub async fn destroy_sessions<C: ConnectionLike>(
    con: &mut C,
    keys: &Keys,
    ids: &[SessionId],
) -> redis::RedisResult<Vec<bool>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for id in ids {
        pipe.del(keys.session(id));
    }
    let deleted: Vec<u64> = pipe.query_async(con).await?;
    Ok(deleted.into_iter().map(|n| n == 1).collect())
}

/// Removes `ids` from the index at `index_key`: one `ZREM`.
pub async fn unindex<C: ConnectionLike>(
    con: &mut C,
    index_key: &str,
    ids: &[SessionId],
) -> redis::RedisResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let members: Vec<String> = ids.iter().map(SessionId::to_string).collect();
    redis::cmd("ZREM").arg(index_key).arg(members).exec_async(con).await
}

/// One of a user's live sessions, as the listing reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedSession {
    /// The session's id as Redis holds it ([`SessionStore::at_rest`]: the cookie's id, or its
    /// digest with key hashing): the service shows only its [`SessionId::handle`].
    pub id: SessionId,
    /// Unix seconds at login.
    pub created_at: u64,
    /// Unix seconds of its last request, derived from its TTL (see [`SessionStore::list_sessions`]).
    pub last_active: u64,
    /// Seconds until it expires if unused.
    pub expires_in: u64,
    /// The device it was started on ([`UNKNOWN_DEVICE`] for a session that predates the field).
    pub device: String,
    /// The address it logged in from, when known.
    pub ip: Option<String>,
}

/// Who asks to list or end a user's sessions: the user, the caller's own session (its cookie's
/// id) and when that session last authenticated (its `created_at`: login or `POST /reauth`),
/// which decides whether it is privileged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The user whose sessions these are.
    pub user_id: String,
    /// The caller's own session, by its cookie's id.
    pub session: SessionId,
    /// Unix seconds of the caller's last authentication.
    pub authenticated_at: u64,
}

/// What an operation that ends other sessions did: it ran, or it was refused because the
/// caller's session is not privileged (see the module's "privileged window").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Privileged<T> {
    /// It ran; this is what it answered.
    Done(T),
    /// The caller's last authentication is older than the privileged window: nothing was ended.
    ReauthRequired,
}

impl SessionStore {
    /// What "my sessions" routes act on: every entry of the index, each with its entry, and
    /// `current` (the caller's session) when it is not in the index (it predates it).
    fn targets<'e>(
        entries: &'e [IndexEntry],
        current: &SessionId,
    ) -> Vec<(SessionId, Option<&'e IndexEntry>)> {
        let mut targets: Vec<(SessionId, Option<&IndexEntry>)> =
            entries.iter().map(|entry| (entry.id, Some(entry))).collect();
        if !entries.iter().any(|entry| entry.id == *current) {
            targets.push((*current, None));
        }
        targets
    }

    /// How long an index entry may lack its session before it counts as stale: a login adds the
    /// entry before it creates the session (in the same pipeline on one Redis, in the round trip
    /// before on a cluster), and gives up after the store's deadline, so an entry younger than that (plus a second of clock granularity) may belong
    /// to a login still on its way and is kept.
    fn in_flight_ms(&self) -> u64 {
        millis(self.inner.timeout) + 1000
    }

    /// True when `entry` is older than any login still in flight (see [`Self::in_flight_ms`]).
    ///
    /// The login time is read back from the score (absolute expiry minus the absolute lifetime
    /// configured now). If `SESSION_ABSOLUTE_TTL_SECS` is raised while logins run (a rolling
    /// deploy), entries of the old lifetime look older than they are for that moment, and an
    /// entry of a login still in flight could be pruned: keep the lifetime fixed across a
    /// deploy, or raise it while logins are quiet.
    fn settled(&self, entry: &IndexEntry, now_ms: u64) -> bool {
        let created_ms = entry.expires_at_ms.saturating_sub(millis(self.inner.lifetimes.absolute));
        created_ms + self.in_flight_ms() <= now_ms
    }

    // ANCHOR: is_privileged
    /// True when a session authenticated at `authenticated_at` (unix seconds, its `created_at`)
    /// is still inside the privileged window at `now_ms` (Redis's clock, unix milliseconds).
    pub fn is_privileged(&self, authenticated_at: u64, now_ms: u64) -> bool {
        authenticated_at.saturating_mul(1000).saturating_add(millis(self.inner.privileged_window)) > now_ms
    }
    // ANCHOR_END: is_privileged

    // ANCHOR: list_sessions
    /// Every live session of `user_id`, newest first, after the caller's own touch: the index
    /// (expired entries dropped on the way), then one pipeline reading each listed session's
    /// owner, `created_at` and TTL; then, only when some are gone (idle expiry, logout), the
    /// removal of their index entries, once they are older than a login in flight.
    ///
    /// `current` (the caller's session) is always included, even when it predates the index.
    ///
    /// `last_active` is not stored, because the renew path writes no field: it is derived from
    /// the TTL, which every request resets to the idle lifetime. `now - (idle - ttl_left)` is the
    /// moment of the last renewal; in a session's last idle window, where the absolute cap set
    /// a shorter TTL, it reads as the start of that window (a lower bound).
    pub async fn list_sessions(
        &self,
        user_id: &str,
        current: &SessionId,
    ) -> Result<Vec<ListedSession>, Unavailable> {
        // The same when done twice: it may be sent again after a lost connection.
        let mut con = self.connection().idempotent();
        let index = self.inner.keys.user_sessions(user_id);
        let current = &self.at_rest(current);
        self.within_deadline(async {
            let (now_ms, entries) = index_entries(&mut con, &index).await?;
            let targets = Self::targets(&entries, current);
            let ids: Vec<SessionId> = targets.iter().map(|(id, _)| *id).collect();
            let read = read_sessions(&mut con, &self.inner.keys, &ids).await?;
            let now = now_ms / 1000;
            let idle = self.inner.lifetimes.idle.as_secs();
            let mut sessions = Vec::new();
            let mut stale = Vec::new();
            for ((id, entry), liveness) in targets.into_iter().zip(read) {
                match liveness {
                    Liveness { user_id: Some(owner), created_at: Some(created_at), device, ip, pttl_ms }
                        if owner == user_id && pttl_ms > 0 =>
                    {
                        let expires_in = (pttl_ms as u64).div_ceil(1000);
                        let last_active =
                            (now + expires_in).saturating_sub(idle).clamp(created_at, now.max(created_at));
                        let device = device.unwrap_or_else(|| UNKNOWN_DEVICE.to_string());
                        sessions.push(ListedSession { id, created_at, last_active, expires_in, device, ip });
                    }
                    _ if entry.is_some_and(|entry| self.settled(entry, now_ms)) => stale.push(id),
                    _ => {}
                }
            }
            unindex(&mut con, &index, &stale).await?;
            sessions.sort_by_key(|session| std::cmp::Reverse(session.created_at));
            Ok(sessions)
        })
        .await
    }
    // ANCHOR_END: list_sessions

    // ANCHOR: revoke
    /// Ends the session of `user_id` whose handle is `handle`: the index read
    /// (<!-- cost: DELETE /sessions/{handle} | a handle not among the user's sessions (404) minus DELETE /sessions/{handle} | a malformed handle (404) -->one round trip),
    /// one pipeline reading the session's device and deleting it, then one script taking it out
    /// of the index and appending a `revoked` event with that device to the user's log.
    /// `Done(None)` when no live session of that user has this handle; nothing is deleted then.
    /// Ending another session than the `caller`'s own needs a privileged session, else the
    /// answer is [`Privileged::ReauthRequired`] and nothing is deleted. The answer is the ended
    /// session's [`at_rest`](SessionStore::at_rest) id.
    pub async fn revoke(
        &self,
        caller: &Caller,
        handle: &str,
    ) -> Result<Privileged<Option<SessionId>>, Unavailable> {
        let Caller { user_id, session: current, authenticated_at } = caller;
        let (user_id, authenticated_at) = (user_id.as_str(), *authenticated_at);
        let mut con = self.connection();
        let index = self.inner.keys.user_sessions(user_id);
        let current = &self.at_rest(current);
        self.within_deadline(async {
            let (now_ms, entries) = index_entries(&mut con, &index).await?;
            let Some((id, _)) =
                Self::targets(&entries, current).into_iter().find(|(id, _)| id.handle() == handle)
            else {
                return Ok(Privileged::Done(None));
            };
            if id != *current && !self.privileged(&mut con, authenticated_at, current, now_ms).await? {
                return Ok(Privileged::ReauthRequired);
            }
            let key = self.inner.keys.session(&id);
            // One key, so one pipeline in order, on a cluster too: the fields are read before the DEL.
            let ((device, ip), deleted): ((Option<String>, Option<String>), u64) = redis::pipe()
                .cmd("HMGET")
                .arg(&key)
                .arg(fields::DEVICE)
                .arg(fields::IP)
                .del(&key)
                .query_async(&mut con)
                .await?;
            if deleted == 0 {
                unindex(&mut con, &index, &[id]).await?;
                return Ok(Privileged::Done(None));
            }
            let ip = ip.and_then(|ip| ip.parse().ok());
            let device = device.map(|name| Device::new(&name, ip)).unwrap_or_else(|| Device::unknown(ip));
            let handle = id.handle();
            let event = NewEvent { kind: EventKind::Revoked, device: &device, handle: Some(&handle) };
            self.unlist(&mut con, user_id, &[id], &event).await?;
            self.wait_for_replicas(&con, [key]).await?;
            Ok(Privileged::Done(Some(id)))
        })
        .await
    }
    // ANCHOR_END: revoke

    /// Takes `ids` out of the user's index and appends `event` to the user's log, in one script
    /// on the user's slot (see `events.rs`). An event Redis refuses for memory is logged here
    /// and skipped: ending sessions must work when Redis is full.
    pub(super) async fn unlist<C: ConnectionLike>(
        &self,
        con: &mut C,
        user_id: &str,
        ids: &[SessionId],
        event: &NewEvent<'_>,
    ) -> redis::RedisResult<()> {
        let bounds = LogBounds { cap: MAX_EVENTS, ttl: self.inner.lifetimes.absolute };
        if !unlist_and_log(con, &self.inner.keys.user(user_id), ids, event, bounds).await? {
            tracing::warn!(%user_id, event = event.kind.as_str(), "security event not recorded: Redis is out of memory");
        }
        Ok(())
    }

    // ANCHOR: destroy_user_sessions
    /// "Log out everywhere": ends every session in the user's index, and the caller's, in three
    /// steps: the index read, one pipeline of `DEL`s, one script taking what it ended out of the
    /// index and appending a `logout_everywhere` event (on `device`, the caller's) to the log.
    /// It needs a privileged [`Caller`], else nothing is ended ([`Privileged::ReauthRequired`]).
    ///
    /// The guarantee: every session of the user whose hash existed when the index was read is
    /// deleted. A login adds its index entry before it writes its session, so a session written
    /// before the read has its entry in what was read. A login that writes its session after
    /// the read survives: it is a new login, and it stays in the index (its entry is not
    /// removed here unless its session was deleted, or it is older than any login in flight).
    /// Returns how many sessions were deleted.
    pub async fn destroy_user_sessions(
        &self,
        caller: &Caller,
        device: &Device,
    ) -> Result<Privileged<u64>, Unavailable> {
        let Caller { user_id, session: current, authenticated_at } = caller;
        let (user_id, authenticated_at) = (user_id.as_str(), *authenticated_at);
        let mut con = self.connection();
        let index = self.inner.keys.user_sessions(user_id);
        let current = &self.at_rest(current);
        self.within_deadline(async {
            let (now_ms, entries) = index_entries(&mut con, &index).await?;
            if !self.privileged(&mut con, authenticated_at, current, now_ms).await? {
                return Ok(Privileged::ReauthRequired);
            }
            let targets = Self::targets(&entries, current);
            let ids: Vec<SessionId> = targets.iter().map(|(id, _)| *id).collect();
            let deleted = destroy_sessions(&mut con, &self.inner.keys, &ids).await?;
            let ended: Vec<SessionId> = targets
                .into_iter()
                .zip(&deleted)
                .filter(|((_, entry), deleted)| {
                    **deleted || entry.is_some_and(|entry| self.settled(entry, now_ms))
                })
                .map(|((id, _), _)| id)
                .collect();
            let handle = current.handle();
            let event = NewEvent { kind: EventKind::LogoutEverywhere, device, handle: Some(&handle) };
            self.unlist(&mut con, user_id, &ended, &event).await?;
            self.wait_for_replicas(&con, ended.iter().map(|id| self.inner.keys.session(id))).await?;
            Ok(Privileged::Done(deleted.iter().filter(|deleted| **deleted).count() as u64))
        })
        .await
    }
    // ANCHOR_END: destroy_user_sessions
}
