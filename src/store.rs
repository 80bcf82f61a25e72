//! The session store: how a login session lives in Redis.
//!
//! ## Layout
//!
//! | key | type | what | bound | slot rule (Redis Cluster) |
//! |---|---|---|---|---|
//! | `session:<uuid>` | hash `user_id`, `username`, `created_at` | one login session | TTL: idle, capped by the absolute lifetime | no hash tag: sessions spread over every shard |
//! | `user:{<user_id>}:sessions` | sorted set: session id → absolute expiry (unix ms) | the index of one user's sessions (lesson 06) | at most [`MAX_SESSIONS_PER_USER`] members; `PEXPIREAT` at its largest score | hash tag `{<user_id>}`: one user's keys share a slot |
//! | `{users}:ids` | hash `username` → `user_<n>` | the user registry: a stable id per name | none: one field per username that ever logged in, like a user table (no TTL by design) | hash tag `{users}`: the registry script names both registry keys, so they share one slot |
//! | `{users}:next_id` | string (counter) | the last `<n>` handed out | one key | the same slot as `{users}:ids` |
//!
//! Nothing else is ever written. Every command, script and transaction names the keys of one
//! slot only (Redis Cluster, lesson 07): a session key alone, an index alone, or the two
//! registry keys, which share their slot through the `{users}` tag. Where a step touches several
//! sessions (the listing, logout everywhere, a login that ends older sessions), it sends one
//! single-key command per session, never a multi-key command. The price of the registry's tag:
//! every login's first round trip goes to the one shard that holds the `{users}` slot.
//!
//! ## Every device: an index that cannot leak (lesson 06)
//! "Which sessions does user 7 have?" cannot be asked of the sessions themselves without `SCAN`
//! over the whole keyspace, so each user has an index: a sorted set whose members are session
//! ids and whose scores are their absolute expiry times. It cannot grow without bound, by
//! construction and without any cleanup job:
//! - Every write and every read first removes the scores already past (`ZREMRANGEBYSCORE`), so an
//!   entry never outlives its session's absolute lifetime.
//! - A login beyond [`MAX_SESSIONS_PER_USER`] has the oldest entries named, ends those sessions
//!   and then removes their entries, so the set has a size bound.
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
//! ## Why a hash and not a JSON string (lesson 01)
//! A small hash is stored as a compact *listpack*: it costs no more memory than the JSON string,
//! each field can be read alone (`HGET`), and Redis, redis-cli and `MONITOR` all show the fields by
//! name, so an operator can read a session without a decoder.
//!
//! ## Round trips per request
//! - Creating, with [`create_session`]: `MULTI` / `HSET` / `EXPIRE` / `EXEC` in one round trip, so no session key
//!   can ever exist without its TTL, even if the process dies between the two commands.
//! - Reading and renewing, with [`touch`]: one script that reads the hash and renews its TTL. It never writes a hash field:
//!   `HSET` on a key that a logout just deleted would recreate a partial session with no TTL.
//!   The TTL it sets is capped by the absolute lifetime, counted from `created_at`.
//!   Every authenticated request makes exactly this one round trip, and listing or revoking
//!   starts with it.
//! - Logging out, with [`destroy`]: one `DEL` (the service also reads the owner in the same
//!   transaction and then removes the index entry: two round trips).
//!
//! What the service's routes cost, in round trips (checked from Redis's own counters in
//! `tests/06_every_device.rs`):
//!
//! | route | round trips |
//! |---|---|
//! | `GET /profile`, `GET /session` | 1 |
//! | `POST /login` | 3: registry, index, create; one more first when it deletes the browser's previous session, one more last when the bound names older sessions to end (at most 5) |
//! | `POST /logout` | 2: read the owner and delete, then remove the index entry (1 without a live session) |
//! | `GET /sessions` | 3: touch, index, one pipeline reading every listed session; 4 when it prunes entries |
//! | `DELETE /sessions/{handle}` | 3: touch, index, one pipeline deleting the session and its entry (a 404 costs 1 for a malformed handle, 2 for one not in the index, 3 for one whose session is already gone) |
//! | `POST /logout-everywhere` | 4: touch, index, one pipeline deleting every session, one `ZREM` |
//!
//! None of them grows with the number of users; the listing's pipeline grows with the user's own
//! sessions, at most [`MAX_SESSIONS_PER_USER`].
//!
//! The free functions take any async connection so the lessons can call them directly; the
//! [`SessionStore`] adds what the service needs around them: the [`Lifetimes`], one deadline per
//! request however many round trips it makes, and one error type, [`Unavailable`].

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::Script;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use serde::Serialize;
use uuid::Uuid;

use crate::cookies::SessionIds;

/// Prefix of every session key.
const SESSION_PREFIX: &str = "session:";
/// The user registry hash: username → `user_<n>`. The `{users}` hash tag puts it in the slot of
/// its counter (lesson 07).
const USER_IDS_KEY: &str = "{users}:ids";
/// The counter behind `user_<n>`.
const USER_COUNTER_KEY: &str = "{users}:next_id";

/// The most sessions one user may hold at once (`MAX_SESSIONS_PER_USER`): a login beyond it ends
/// that user's oldest session. It is also the size bound of the user's index.
pub const MAX_SESSIONS_PER_USER: usize = 50;

/// How long a session lives: `idle` without requests (renewed by each one), and `absolute` at
/// most since login, however busy it is.
///
/// One struct rather than two `Duration` arguments, so the two can never be swapped by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// The idle lifetime (`SESSION_TTL_SECS`): the TTL set at login and again on every request.
    pub idle: Duration,
    /// The absolute lifetime (`SESSION_ABSOLUTE_TTL_SECS`): no renewal goes past `created_at` plus this.
    pub absolute: Duration,
}

impl Lifetimes {
    /// The original mini-project's 30 idle minutes, with an 8-hour absolute cap.
    pub const DEFAULT: Lifetimes =
        Lifetimes { idle: Duration::from_secs(30 * 60), absolute: Duration::from_secs(8 * 60 * 60) };
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes::DEFAULT
    }
}

/// A session id: a random (v4) UUID, written in its canonical lowercase hyphenated form.
///
/// Parsing accepts only that form (36 characters), so a cookie value that merely *decodes* as a
/// UUID (braces, no hyphens, upper case) is rejected like any other garbage, before Redis is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionId(Uuid);

impl SessionId {
    /// A fresh random id: 122 random bits, so ids cannot be guessed.
    pub fn new() -> SessionId {
        SessionId(Uuid::new_v4())
    }

    /// Accepts only a canonical UUID (`8-4-4-4-12` lowercase hex).
    pub fn parse(value: &str) -> Option<SessionId> {
        if value.len() != 36 {
            return None;
        }
        let uuid = Uuid::try_parse(value).ok()?;
        let canonical = uuid.hyphenated().to_string();
        (canonical == value).then_some(SessionId(uuid))
    }

    // ANCHOR: handle
    /// The session's public name: the first 16 hex characters of the SHA-256 of its id.
    ///
    /// Why not the id itself: the list of a user's sessions is shown to every one of them, and an
    /// id *is* the session (whoever holds it is logged in). A hash is one-way: knowing a handle
    /// tells nothing about the id, and a handle in a request is only ever compared with handles
    /// computed from ids the server already holds. 64 bits are plenty to tell one user's (at most
    /// 50) sessions apart. It is stable for the session's life and needs no storage.
    pub fn handle(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.to_string().as_bytes());
        digest[..8].iter().map(|byte| format!("{byte:02x}")).collect()
    }
    // ANCHOR_END: handle

    /// The first 8 characters, for log lines: enough to correlate, useless to hijack.
    pub fn redacted(&self) -> String {
        let full = self.0.hyphenated().to_string();
        format!("{}…", &full[..8])
    }
}

impl Default for SessionId {
    fn default() -> Self {
        SessionId::new()
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

// ANCHOR: session
/// What a session holds: exactly the original mini-project's three fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Session {
    /// `user_<n>`, stable for a username (see [`user_id_for`]).
    pub user_id: String,
    /// The name given at login.
    pub username: String,
    /// Unix seconds at login; the absolute lifetime counts from here.
    pub created_at: u64,
}
// ANCHOR_END: session

impl Session {
    // ANCHOR: to_fields
    /// The hash fields, in the order they are written.
    pub fn to_fields(&self) -> [(&'static str, String); 3] {
        [
            ("user_id", self.user_id.clone()),
            ("username", self.username.clone()),
            ("created_at", self.created_at.to_string()),
        ]
    }
    // ANCHOR_END: to_fields

    // ANCHOR: from_fields
    /// Rebuilds a session from `HGETALL`'s map. An empty map (missing key) or a partial one (a
    /// field missing or `created_at` not a number) is `None`: a partial hash is never a session.
    pub fn from_fields(fields: &HashMap<String, String>) -> Option<Session> {
        Some(Session {
            user_id: fields.get("user_id")?.clone(),
            username: fields.get("username")?.clone(),
            created_at: fields.get("created_at")?.parse().ok()?,
        })
    }
    // ANCHOR_END: from_fields
}

/// The names of the keys the service writes, with an optional namespace in front.
///
/// The service uses no namespace (`session:<uuid>`, `{users}:ids`, `{users}:next_id`, as in the
/// original). The lessons use their own (`lesson04:session:<uuid>`, ...) so that they never
/// touch a real session in the Redis they run against.
///
/// The prefix is shared (`Arc<str>`), so cloning the store for every request allocates nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keys {
    prefix: Arc<str>,
}

impl Keys {
    /// Every key starts with `prefix`, e.g. `lesson04:`.
    pub fn prefixed(prefix: &str) -> Keys {
        Keys { prefix: Arc::from(prefix) }
    }

    /// `session:<uuid>`.
    pub fn session(&self, id: &SessionId) -> String {
        format!("{}{SESSION_PREFIX}{id}", self.prefix)
    }

    /// `{users}:ids`, the registry hash.
    pub fn user_ids(&self) -> String {
        format!("{}{USER_IDS_KEY}", self.prefix)
    }

    /// `{users}:next_id`, the counter behind `user_<n>`.
    pub fn user_counter(&self) -> String {
        format!("{}{USER_COUNTER_KEY}", self.prefix)
    }

    /// `user:{user_7}:sessions`, the index of one user's sessions (lesson 06).
    ///
    /// The braces are a Redis Cluster hash tag: only `user_7` is hashed to pick the slot, so
    /// every key named `...{user_7}...` lives on the same shard and one script may name them
    /// together. Today the index is the only such key; the tag keeps that door open at no cost.
    pub fn user_sessions(&self, user_id: &str) -> String {
        format!("{}user:{{{user_id}}}:sessions", self.prefix)
    }
}

/// Seconds since the Unix epoch, by this machine's clock. The store never uses it (Redis's clock
/// decides, see [`touch`]); the lessons and tests use it to make and check timestamps.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

// ANCHOR: user_id
static USER_ID_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(USER_ID_SOURCE));

/// The Lua source of the registry script (lesson 07 runs it on a cluster with and without the
/// hash tag).
pub const USER_ID_SOURCE: &str = r"
local id = redis.call('HGET', KEYS[1], ARGV[1])
if id then return id end
id = 'user_' .. redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], id)
return id
";

/// The stable `user_<n>` for `username`, handing out the next number on a first login.
///
/// Why a script: "read, and if missing increment and write" as separate commands lets two first
/// logins of the same name both miss and take two numbers. A script runs atomically in Redis, so
/// the second one finds the first one's id. One round trip either way.
pub async fn user_id_for<C: ConnectionLike>(
    con: &mut C,
    keys: &Keys,
    username: &str,
) -> redis::RedisResult<String> {
    USER_ID_SCRIPT.key(keys.user_ids()).key(keys.user_counter()).arg(username).invoke_async(con).await
}
// ANCHOR_END: user_id

// ANCHOR: create_session
/// Writes a new session at `key` and its idle TTL in one atomic round trip (`MULTI` … `EXEC`).
///
/// `replacing` is the key of a session to delete in the same transaction (lesson 02): on a single
/// Redis, a login that replaces the browser's previous session this way ends with exactly one
/// live session for that browser. The service's login passes `None` and deletes the previous
/// session in a step of its own (see [`SessionStore::start_session`]), because on Redis Cluster
/// the two session keys usually live in different hash slots, and a transaction may only name
/// keys of one slot.
pub async fn create_session<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    session: &Session,
    idle_ttl: Duration,
    replacing: Option<&str>,
) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    if let Some(old) = replacing {
        pipe.del(old).ignore();
    }
    pipe.cmd("HSET").arg(key).arg(&session.to_fields()).ignore();
    pipe.expire(key, ttl_secs(idle_ttl)).ignore();
    pipe.query_async(con).await
}
// ANCHOR_END: create_session

// ANCHOR: touch
static TOUCH_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(TOUCH_SOURCE));

/// The read-and-renew script itself, so lesson 03 can show its source and call it by hand.
pub fn touch_script() -> &'static Script {
    &TOUCH_SCRIPT
}

/// The Lua source of [`touch_script`].
pub const TOUCH_SOURCE: &str = r"
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
local ttl = math.min(tonumber(ARGV[1]), left)
redis.call('EXPIRE', KEYS[1], ttl)
return {f[1], f[2], f[3], ttl}
";

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

// ANCHOR: destroy
/// Logout: `DEL`. True when a session was there to delete.
pub async fn destroy<C: ConnectionLike>(con: &mut C, key: &str) -> redis::RedisResult<bool> {
    let deleted: u64 = redis::cmd("DEL").arg(key).query_async(con).await?;
    Ok(deleted == 1)
}
// ANCHOR_END: destroy

// ANCHOR: index_add
static INDEX_ADD_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
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
        local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
        redis.call('PEXPIREAT', KEYS[1], string.format('%d', tonumber(last[2])))
        return {now, over}
        ",
    )
});

/// What [`index_session`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indexed {
    /// Redis's clock when the entry was added, in unix milliseconds: the session's `created_at`.
    pub now_ms: u64,
    /// The oldest sessions beyond the size bound, still in the index: the caller ends them
    /// (`DEL`) and then takes them out of the index (`ZREM`), in that order, so that a session
    /// is never alive outside its index.
    pub evicted: Vec<SessionId>,
}

/// Adds session `id` to the user's index at `index_key`, in one atomic script: drops entries
/// whose absolute expiry has passed, drops `replacing` (the session this login replaces, which
/// the caller has already deleted), adds `id` scored by its absolute expiry (Redis's clock +
/// `absolute`), sets the index's own expiry to its largest score, and names the oldest entries
/// beyond `max` for the caller to end (they stay in the index until the caller has deleted
/// their sessions).
///
/// Why before the session is created: from the moment a session exists, it is in its index, so
/// "log out everywhere" can always find it. Why one script: the size check and the add must not
/// interleave with another login of the same user.
///
/// One race is left, and only under a flood: if `max - 1` or more logins of the same user
/// start while one login is between this step and writing its session, the bound can name that
/// login's entry, whose session does not exist yet; the session is then written after its
/// entry was removed, and lives unlisted until its idle TTL ends it. With the default bound of
/// 50 that takes 49 logins of one user within one login's few milliseconds.
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
// ANCHOR_END: index_add

// ANCHOR: index_read
static INDEX_READ_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
        return {now, redis.call('ZRANGE', KEYS[1], 0, -1, 'REV', 'WITHSCORES')}
        ",
    )
});

/// One entry of a user's index: a session id and its absolute expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// The session.
    pub id: SessionId,
    /// Its absolute expiry, unix milliseconds (Redis's clock): the entry's score.
    pub expires_at_ms: u64,
}

/// Reads a user's index, newest first, after dropping the entries whose absolute expiry has
/// passed. One round trip; also returns Redis's clock (unix milliseconds).
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

/// What the listing reads of one session: who owns it, when it began, how long it has left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Liveness {
    /// The session's `user_id` field; `None` when the session is gone.
    pub user_id: Option<String>,
    /// The `created_at` field.
    pub created_at: Option<u64>,
    /// Milliseconds left (`PTTL`): -2 when the key is gone.
    pub pttl_ms: i64,
}

// ANCHOR: read_sessions
/// Reads `user_id`, `created_at` and the TTL of every session in `ids`: one pipeline, one round
/// trip (each command names one key, so on a cluster each goes to its own shard).
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
        pipe.cmd("HMGET").arg(&key).arg("user_id").arg("created_at");
        pipe.cmd("PTTL").arg(&key);
    }
    /// `HMGET`'s two fields, then `PTTL`, per session.
    type Reply = ((Option<String>, Option<String>), i64);
    let replies: Vec<Reply> = pipe.query_async(con).await?;
    Ok(replies
        .into_iter()
        .map(|((user_id, created_at), pttl_ms)| Liveness {
            user_id,
            created_at: created_at.and_then(|c| c.parse().ok()),
            pttl_ms,
        })
        .collect())
}
// ANCHOR_END: read_sessions

/// Deletes every session in `ids`: one pipeline of single-key `DEL`s (one round trip), never one
/// `DEL` naming several keys, which Redis Cluster refuses when they live in different slots.
/// Returns, for each id, whether it existed.
pub async fn destroy_each<C: ConnectionLike>(
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

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn ttl_secs(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX)
}

/// Why the store could not answer: the service turns it into a 503.
///
/// The cause is kept (not flattened into a string), so a log line can show the whole chain
/// through [`std::error::Error::source`].
#[derive(Debug)]
pub enum Unavailable {
    /// No answer within the deadline: Redis is stalled, overloaded or unreachable.
    TimedOut {
        /// The deadline that passed.
        after: Duration,
        /// Tokio's timeout error.
        source: tokio::time::error::Elapsed,
    },
    /// Redis answered with an error, or the connection failed.
    Redis(redis::RedisError),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::TimedOut { after, .. } => {
                write!(f, "session store unavailable: no answer within {} ms", after.as_millis())
            }
            Unavailable::Redis(_) => f.write_str("session store unavailable: Redis failed"),
        }
    }
}

impl std::error::Error for Unavailable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Unavailable::TimedOut { source, .. } => Some(source),
            Unavailable::Redis(error) => Some(error),
        }
    }
}

impl Unavailable {
    /// True when Redis refused a write for lack of memory (`OOM`: at `maxmemory` under
    /// `noeviction`), as opposed to being slow or gone.
    pub fn is_out_of_memory(&self) -> bool {
        match self {
            Unavailable::Redis(error) => {
                error.code() == Some("OOM") || error.to_string().contains("OOM command not allowed")
            }
            Unavailable::TimedOut { .. } => false,
        }
    }
}

impl From<redis::RedisError> for Unavailable {
    fn from(error: redis::RedisError) -> Self {
        Unavailable::Redis(error)
    }
}

/// What `/health` reports about Redis's memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Redis answers and has room.
    Ok,
    /// Redis answers, but new sessions fail or soon will: why, for an operator.
    Degraded(String),
}

impl Health {
    /// At or above this share of `maxmemory`, Redis is "near" it.
    pub const NEAR_MAXMEMORY: f64 = 0.9;

    /// Judges `INFO memory`: with no `maxmemory`, always room; at or past it under `noeviction`,
    /// writes are refused; at 90 % or more, near it (with an eviction policy, sessions are being
    /// or will soon be evicted to make room).
    pub fn from_info(info: &str) -> Health {
        let field = |name: &str| crate::redis_conn::info_field(info, name);
        let number = |name: &str| field(name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let (used, max) = (number("used_memory"), number("maxmemory"));
        if max == 0 {
            return Health::Ok;
        }
        let policy = field("maxmemory_policy").unwrap_or("unknown");
        let share = used as f64 / max as f64;
        if used >= max && policy == "noeviction" {
            Health::Degraded(format!(
                "Redis is full: used_memory {used} of maxmemory {max} under noeviction, so new sessions are refused"
            ))
        } else if share >= Health::NEAR_MAXMEMORY {
            Health::Degraded(format!(
                "Redis is near maxmemory: {:.0}% used (policy {policy})",
                (share * 100.0).min(999.0)
            ))
        } else {
            Health::Ok
        }
    }
}

/// The connection a [`SessionStore`] talks through: the shared [`ConnectionManager`] to one
/// Redis, redis-rs's cluster connection to a Redis Cluster (lesson 07), or (for the lessons,
/// feature `workbook`) a connection narrated, so lessons 04 and 07 show every command the
/// service sends. One store code path serves them all.
#[derive(Clone)]
pub enum StoreConnection {
    /// The shared, multiplexed connection to one Redis.
    Direct(ConnectionManager),
    /// The cluster connection: one multiplexed connection per shard, commands routed by the
    /// slot of their first key, `MOVED` and `ASK` followed, the slot map refreshed after a
    /// failover.
    Cluster(ClusterConnection),
    /// The cluster connection, narrated (lesson 07).
    #[cfg(feature = "workbook")]
    NarratedCluster(crate::workbook::Narrated<ClusterConnection>),
    /// The shared connection, printing every command and reply into a lesson's transcript.
    #[cfg(feature = "workbook")]
    Narrated(crate::workbook::Narrated<ConnectionManager>),
}

impl From<ConnectionManager> for StoreConnection {
    fn from(con: ConnectionManager) -> Self {
        StoreConnection::Direct(con)
    }
}

#[cfg(feature = "workbook")]
impl From<crate::workbook::Narrated<ConnectionManager>> for StoreConnection {
    fn from(con: crate::workbook::Narrated<ConnectionManager>) -> Self {
        StoreConnection::Narrated(con)
    }
}

impl From<ClusterConnection> for StoreConnection {
    fn from(con: ClusterConnection) -> Self {
        StoreConnection::Cluster(con)
    }
}

#[cfg(feature = "workbook")]
impl From<crate::workbook::Narrated<ClusterConnection>> for StoreConnection {
    fn from(con: crate::workbook::Narrated<ClusterConnection>) -> Self {
        StoreConnection::NarratedCluster(con)
    }
}

// ANCHOR: split_pipeline
/// A plain (non-transaction) pipeline on a cluster: redis-rs's cluster connection sends a
/// pipeline to one shard only and refuses one whose commands name keys of several slots
/// (`CROSSSLOT`). The store's pipelines are lists of single-key commands about different
/// sessions, so on a cluster each command is sent on its own, all at once, each to its shard,
/// and the replies are put back in order: still one round trip in time. A transaction
/// (`MULTI`) names one key and goes as it is.
///
/// A narrated connection (a lesson's) sends them one after the other instead, so that each
/// command's reply is printed right under it.
fn split_pipeline<'a, C>(
    con: &'a mut C,
    pipeline: &'a redis::Pipeline,
    offset: usize,
    count: usize,
    one_by_one: bool,
) -> redis::RedisFuture<'a, Vec<redis::Value>>
where
    C: ConnectionLike + Clone + Send + 'a,
{
    if pipeline.is_transaction() {
        return con.req_packed_commands(pipeline, offset, count);
    }
    Box::pin(async move {
        let replies = if one_by_one {
            let mut replies = Vec::new();
            for cmd in pipeline.cmd_iter() {
                replies.push(con.req_packed_command(cmd).await?);
            }
            replies
        } else {
            let sends = pipeline.cmd_iter().map(|cmd| {
                let mut con = con.clone();
                async move { con.req_packed_command(cmd).await }
            });
            futures_util::future::try_join_all(sends).await?
        };
        Ok(replies.into_iter().skip(offset).take(count).collect())
    })
}
// ANCHOR_END: split_pipeline

impl ConnectionLike for StoreConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            StoreConnection::Direct(con) => con.req_packed_command(cmd),
            StoreConnection::Cluster(con) => con.req_packed_command(cmd),
            #[cfg(feature = "workbook")]
            StoreConnection::Narrated(con) => con.req_packed_command(cmd),
            #[cfg(feature = "workbook")]
            StoreConnection::NarratedCluster(con) => con.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            StoreConnection::Direct(con) => con.req_packed_commands(pipeline, offset, count),
            StoreConnection::Cluster(con) => split_pipeline(con, pipeline, offset, count, false),
            #[cfg(feature = "workbook")]
            StoreConnection::Narrated(con) => con.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "workbook")]
            StoreConnection::NarratedCluster(con) => split_pipeline(con, pipeline, offset, count, true),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            StoreConnection::Direct(con) => con.get_db(),
            StoreConnection::Cluster(con) => con.get_db(),
            #[cfg(feature = "workbook")]
            StoreConnection::Narrated(con) => con.get_db(),
            #[cfg(feature = "workbook")]
            StoreConnection::NarratedCluster(con) => con.get_db(),
        }
    }
}

/// The store's connection for one request: the shared connection, counting each round trip it
/// makes (one command, script or pipeline written, one reply read) where it makes it.
struct Counted<'a> {
    con: StoreConnection,
    round_trips: &'a AtomicU64,
}

impl ConnectionLike for Counted<'_> {
    fn req_packed_command<'b>(&'b mut self, cmd: &'b redis::Cmd) -> redis::RedisFuture<'b, redis::Value> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.con.req_packed_command(cmd)
    }

    fn req_packed_commands<'b>(
        &'b mut self,
        pipeline: &'b redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'b, Vec<redis::Value>> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.con.req_packed_commands(pipeline, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.con.get_db()
    }
}

/// The service's handle on Redis: the shared connection, the [`Lifetimes`], and a deadline on
/// every request. Cheap to clone (the connection is shared, not copied).
#[derive(Clone)]
pub struct SessionStore {
    con: StoreConnection,
    round_trips: Arc<AtomicU64>,
    keys: Keys,
    lifetimes: Lifetimes,
    timeout: Duration,
    max_sessions: usize,
}

/// One of a user's live sessions, as the listing reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSession {
    /// The session's id: the service shows only its [`SessionId::handle`].
    pub id: SessionId,
    /// Unix seconds at login.
    pub created_at: u64,
    /// Unix seconds of its last request, derived from its TTL (see [`SessionStore::list_sessions`]).
    pub last_active: u64,
    /// Seconds until it expires if unused.
    pub expires_in: u64,
}

impl SessionStore {
    /// Builds the store and loads its scripts into Redis, so the first request already costs one
    /// `EVALSHA` (after a Redis restart the scripts are gone; on `NOSCRIPT` redis-rs sends
    /// `SCRIPT LOAD` and the `EVALSHA` again, once).
    ///
    /// `timeout` is the deadline of one request's whole conversation with Redis.
    pub async fn new(
        con: impl Into<StoreConnection>,
        lifetimes: Lifetimes,
        timeout: Duration,
    ) -> Result<SessionStore, Unavailable> {
        let round_trips = Arc::new(AtomicU64::new(0));
        let store = SessionStore {
            con: con.into(),
            round_trips,
            keys: Keys::default(),
            lifetimes,
            timeout,
            max_sessions: MAX_SESSIONS_PER_USER,
        };
        let mut con = store.connection();
        store
            .within_deadline(async move {
                USER_ID_SCRIPT.load_async(&mut con).await?;
                TOUCH_SCRIPT.load_async(&mut con).await?;
                INDEX_ADD_SCRIPT.load_async(&mut con).await?;
                INDEX_READ_SCRIPT.load_async(&mut con).await?;
                Ok(())
            })
            .await?;
        Ok(store)
    }

    /// The same store writing its keys under `keys`' namespace (lesson 04 uses `lesson04:`).
    pub fn with_keys(self, keys: Keys) -> SessionStore {
        SessionStore { keys, ..self }
    }

    /// The same store with another bound on sessions per user (`MAX_SESSIONS_PER_USER`, at least 1).
    pub fn with_max_sessions_per_user(self, max: usize) -> SessionStore {
        SessionStore { max_sessions: max.max(1), ..self }
    }

    /// The most sessions one user may hold at once.
    pub fn max_sessions_per_user(&self) -> usize {
        self.max_sessions
    }

    /// The key names this store writes.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// How long sessions live.
    pub fn lifetimes(&self) -> Lifetimes {
        self.lifetimes
    }

    /// How many round trips went to Redis through this store (and its clones) so far: one
    /// command, script or `MULTI`…`EXEC` pipeline written, one reply read. An operational
    /// counter; the benchmark divides it by the requests served.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// A clone of the shared connection that counts this store's round trips.
    fn connection(&self) -> Counted<'_> {
        Counted { con: self.con.clone(), round_trips: &self.round_trips }
    }

    /// Runs one request's Redis work under one deadline. This is the only timer on the call: it
    /// covers the wait for replies and the wait for a reconnect alike, so a stalled or absent
    /// Redis becomes [`Unavailable`] in bounded time, however many round trips the request needs.
    async fn within_deadline<T>(
        &self,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Unavailable> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(Unavailable::Redis(error)),
            Err(elapsed) => Err(Unavailable::TimedOut { after: self.timeout, source: elapsed }),
        }
    }

    // ANCHOR: start_session
    /// Login, in three round trips under one deadline: the user's id from the registry, the new
    /// session's entry in the user's index, then the session itself. One more comes first when
    /// the browser held a session already (`replacing`, the fixation defence: it is deleted
    /// before anything else), and one more last when the size bound names older sessions to
    /// end (each deleted, then taken out of the index, in one pipeline).
    ///
    /// The index entry comes before the session, so that a session never exists outside its
    /// index: a "log out everywhere" that reads the index after this session was created always
    /// finds it. `created_at` is Redis's clock at that step.
    pub async fn start_session(
        &self,
        username: &str,
        replacing: Option<&SessionId>,
    ) -> Result<(SessionId, Session), Unavailable> {
        let mut con = self.connection();
        let id = SessionId::new();
        let Lifetimes { idle, absolute } = self.lifetimes;
        let session = self
            .within_deadline(async {
                let user_id = user_id_for(&mut con, &self.keys, username).await?;
                if let Some(old) = replacing {
                    destroy(&mut con, &self.keys.session(old)).await?;
                }
                let index = self.keys.user_sessions(&user_id);
                let indexed =
                    index_session(&mut con, &index, &id, absolute, self.max_sessions, replacing).await?;
                let created_at = indexed.now_ms / 1000;
                let session = Session { user_id, username: username.to_string(), created_at };
                create_session(&mut con, &self.keys.session(&id), &session, idle, None).await?;
                if !indexed.evicted.is_empty() {
                    let mut pipe = redis::pipe();
                    for old in &indexed.evicted {
                        pipe.del(self.keys.session(old)).ignore();
                    }
                    let members: Vec<String> = indexed.evicted.iter().map(SessionId::to_string).collect();
                    pipe.zrem(&index, members).ignore();
                    pipe.exec_async(&mut con).await?;
                }
                Ok(session)
            })
            .await?;
        Ok((id, session))
    }
    // ANCHOR_END: start_session

    /// An authenticated request: read and renew the session, one round trip per id. A request
    /// usually carries one id; when it carries several (see
    /// [`read_session_cookies`](crate::cookies::read_session_cookies)), each is tried in order,
    /// all under one deadline, and the first live one is returned, renewed.
    pub async fn touch_first(&self, ids: &SessionIds) -> Result<Option<(SessionId, Touched)>, Unavailable> {
        let mut con = self.connection();
        let Lifetimes { idle, absolute } = self.lifetimes;
        self.within_deadline(async {
            for id in ids.iter() {
                if let Some(touched) = touch(&mut con, &self.keys.session(&id), idle, absolute).await? {
                    return Ok(Some((id, touched)));
                }
            }
            Ok(None)
        })
        .await
    }

    /// Logout of every session id the request carries, under one deadline. For each: one
    /// transaction reads the owner and deletes the session, then one `ZREM` takes it out of its
    /// owner's index (two steps: on a cluster the session and the index live in different
    /// slots). Returns how many existed.
    pub async fn destroy_all(&self, ids: &SessionIds) -> Result<u64, Unavailable> {
        let mut con = self.connection();
        self.within_deadline(async {
            let mut deleted = 0;
            for id in ids.iter() {
                let key = self.keys.session(&id);
                let (owner, existed): (Option<String>, u64) =
                    redis::pipe().atomic().hget(&key, "user_id").del(&key).query_async(&mut con).await?;
                if let Some(owner) = owner {
                    unindex(&mut con, &self.keys.user_sessions(&owner), &[id]).await?;
                }
                deleted += existed;
            }
            Ok(deleted)
        })
        .await
    }

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
    /// entry one round trip before it creates the session, and gives up after the store's
    /// deadline, so an entry younger than that (plus a second of clock granularity) may belong
    /// to a login still on its way and is kept.
    fn in_flight_ms(&self) -> u64 {
        millis(self.timeout) + 1000
    }

    /// True when `entry` is older than any login still in flight (see [`Self::in_flight_ms`]).
    ///
    /// The login time is read back from the score (absolute expiry minus the absolute lifetime
    /// configured now). If `SESSION_ABSOLUTE_TTL_SECS` is raised while logins run (a rolling
    /// deploy), entries of the old lifetime look older than they are for that moment, and an
    /// entry of a login still in flight could be pruned: keep the lifetime fixed across a
    /// deploy, or raise it while logins are quiet.
    fn settled(&self, entry: &IndexEntry, now_ms: u64) -> bool {
        let created_ms = entry.expires_at_ms.saturating_sub(millis(self.lifetimes.absolute));
        created_ms + self.in_flight_ms() <= now_ms
    }

    // ANCHOR: list_sessions
    /// Every live session of `user_id`, newest first, in two round trips after the caller's own
    /// touch: the index (expired entries dropped on the way), then one pipeline reading each
    /// listed session's owner, `created_at` and TTL. A third removes index entries whose
    /// session is gone (idle expiry, logout), once they are older than a login in flight.
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
    ) -> Result<Vec<DeviceSession>, Unavailable> {
        let mut con = self.connection();
        let index = self.keys.user_sessions(user_id);
        self.within_deadline(async {
            let (now_ms, entries) = index_entries(&mut con, &index).await?;
            let targets = Self::targets(&entries, current);
            let ids: Vec<SessionId> = targets.iter().map(|(id, _)| *id).collect();
            let read = read_sessions(&mut con, &self.keys, &ids).await?;
            let now = now_ms / 1000;
            let idle = self.lifetimes.idle.as_secs();
            let mut sessions = Vec::new();
            let mut stale = Vec::new();
            for ((id, entry), liveness) in targets.into_iter().zip(read) {
                match liveness {
                    Liveness { user_id: Some(owner), created_at: Some(created_at), pttl_ms }
                        if owner == user_id && pttl_ms > 0 =>
                    {
                        let expires_in = (pttl_ms as u64).div_ceil(1000);
                        let last_active =
                            (now + expires_in).saturating_sub(idle).clamp(created_at, now.max(created_at));
                        sessions.push(DeviceSession { id, created_at, last_active, expires_in });
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
    /// Ends the session of `user_id` whose handle is `handle`: the index read (one round trip),
    /// then one pipeline deleting the session and its entry. `None` when no live session of that
    /// user has this handle; nothing is deleted then.
    pub async fn revoke(
        &self,
        user_id: &str,
        current: &SessionId,
        handle: &str,
    ) -> Result<Option<SessionId>, Unavailable> {
        let mut con = self.connection();
        let index = self.keys.user_sessions(user_id);
        self.within_deadline(async {
            let (_, entries) = index_entries(&mut con, &index).await?;
            let Some((id, _)) =
                Self::targets(&entries, current).into_iter().find(|(id, _)| id.handle() == handle)
            else {
                return Ok(None);
            };
            let (deleted, _): (u64, u64) = redis::pipe()
                .del(self.keys.session(&id))
                .zrem(&index, id.to_string())
                .query_async(&mut con)
                .await?;
            Ok((deleted == 1).then_some(id))
        })
        .await
    }
    // ANCHOR_END: revoke

    // ANCHOR: destroy_everywhere
    /// "Log out everywhere": ends every session in the user's index, and `current`. Three round
    /// trips: the index read, one pipeline of `DEL`s, one `ZREM` of what it ended.
    ///
    /// The guarantee: every session of the user whose hash existed when the index was read is
    /// deleted. A login adds its index entry before it writes its session, so a session written
    /// before the read has its entry in what was read. A login that writes its session after
    /// the read survives: it is a new login, and it stays in the index (its entry is not
    /// removed here unless its session was deleted, or it is older than any login in flight).
    /// Returns how many sessions were deleted.
    pub async fn destroy_everywhere(&self, user_id: &str, current: &SessionId) -> Result<u64, Unavailable> {
        let mut con = self.connection();
        let index = self.keys.user_sessions(user_id);
        self.within_deadline(async {
            let (now_ms, entries) = index_entries(&mut con, &index).await?;
            let targets = Self::targets(&entries, current);
            let ids: Vec<SessionId> = targets.iter().map(|(id, _)| *id).collect();
            let deleted = destroy_each(&mut con, &self.keys, &ids).await?;
            let ended: Vec<SessionId> = targets
                .into_iter()
                .zip(&deleted)
                .filter(|((_, entry), deleted)| {
                    **deleted || entry.is_some_and(|entry| self.settled(entry, now_ms))
                })
                .map(|((id, _), _)| id)
                .collect();
            unindex(&mut con, &index, &ended).await?;
            Ok(deleted.iter().filter(|deleted| **deleted).count() as u64)
        })
        .await
    }
    // ANCHOR_END: destroy_everywhere

    /// Redis's memory, for `/health`: one `INFO memory`. A Redis that answers but refuses writes
    /// (at `maxmemory` under `noeviction`), or is close to it, is [`Health::Degraded`].
    ///
    /// On a cluster, every shard is asked (see [`Self::cluster_health`]), and the answer names
    /// the shards that did not answer.
    pub async fn health(&self) -> Result<Health, Unavailable> {
        if let StoreConnection::Cluster(cluster) = &self.con {
            return self.cluster_health(cluster).await;
        }
        let mut con = self.connection();
        let info: String = self
            .within_deadline(async move { redis::cmd("INFO").arg("memory").query_async(&mut con).await })
            .await?;
        Ok(Health::from_info(&info))
    }
}

/// One shard of a Redis Cluster: the address of its master and the slot ranges it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// The master's host, as the cluster announces it.
    pub host: String,
    /// The master's port.
    pub port: u16,
    /// The slot ranges, inclusive.
    pub slots: Vec<(u16, u16)>,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ranges: Vec<String> = self.slots.iter().map(|(a, b)| format!("{a}-{b}")).collect();
        write!(f, "{}:{} (slots {})", self.host, self.port, ranges.join(", "))
    }
}

/// Reads a `CLUSTER SLOTS` reply: `[start, end, [host, port, id], replicas...]` per range,
/// grouped by master.
pub fn shards_from_cluster_slots(reply: &redis::Value) -> Vec<Shard> {
    use redis::Value;
    let text = |value: &Value| match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    };
    let number = |value: &Value| match value {
        Value::Int(n) => u16::try_from(*n).ok(),
        _ => None,
    };
    let mut shards: Vec<Shard> = Vec::new();
    let Value::Array(ranges) = reply else { return shards };
    for range in ranges {
        let Value::Array(parts) = range else { continue };
        let (Some(start), Some(end), Some(Value::Array(master))) =
            (parts.first().and_then(number), parts.get(1).and_then(number), parts.get(2))
        else {
            continue;
        };
        let (Some(host), Some(port)) = (master.first().and_then(text), master.get(1).and_then(number)) else {
            continue;
        };
        match shards.iter_mut().find(|shard| shard.host == host && shard.port == port) {
            Some(shard) => shard.slots.push((start, end)),
            None => shards.push(Shard { host, port, slots: vec![(start, end)] }),
        }
    }
    for shard in &mut shards {
        shard.slots.sort_unstable();
    }
    shards.sort_by_key(|shard| shard.slots.first().copied());
    shards
}

impl SessionStore {
    // ANCHOR: cluster_health
    /// `/health` on a cluster: the slot map (`CLUSTER SLOTS`, asked of every node, the first
    /// answer wins), then `INFO memory` from every master at once, all under the store's one
    /// deadline.
    /// A shard that does not answer makes the cluster [`Health::Degraded`], and the text names
    /// it: sessions on the other shards are still served.
    async fn cluster_health(&self, cluster: &ClusterConnection) -> Result<Health, Unavailable> {
        use redis::cluster_routing::{
            MultipleNodeRoutingInfo, ResponsePolicy, RoutingInfo, SingleNodeRoutingInfo,
        };
        // One deadline for the whole check, like every request: the map and the shards' answers
        // share it.
        let deadline = tokio::time::Instant::now() + self.timeout;
        let ask = |cmd: redis::Cmd, routing: RoutingInfo| {
            let mut con = cluster.clone();
            self.round_trips.fetch_add(1, Ordering::Relaxed);
            async move { tokio::time::timeout_at(deadline, con.route_command(cmd, routing)).await }
        };
        let mut slots_cmd = redis::cmd("CLUSTER");
        slots_cmd.arg("SLOTS");
        // Every node is asked and the first answer wins, so a dead node cannot hide the map.
        let everyone =
            RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllNodes, Some(ResponsePolicy::OneSucceeded)));
        let map = match ask(slots_cmd, everyone).await {
            Ok(Ok(reply)) => shards_from_cluster_slots(&reply),
            Ok(Err(error)) => return Err(Unavailable::Redis(error)),
            Err(elapsed) => return Err(Unavailable::TimedOut { after: self.timeout, source: elapsed }),
        };
        let asks = map.iter().map(|shard| {
            let mut info = redis::cmd("INFO");
            info.arg("memory");
            let routing = SingleNodeRoutingInfo::ByAddress { host: shard.host.clone(), port: shard.port };
            ask(info, RoutingInfo::SingleNode(routing))
        });
        let answers = futures_util::future::join_all(asks).await;
        let mut problems = Vec::new();
        for (shard, answer) in map.iter().zip(answers) {
            match answer {
                Ok(Ok(reply)) => {
                    let info: String = redis::FromRedisValue::from_redis_value(reply).unwrap_or_default();
                    if let Health::Degraded(why) = Health::from_info(&info) {
                        problems.push(format!("shard {shard}: {why}"));
                    }
                }
                Ok(Err(_)) | Err(_) => problems.push(format!("shard {shard} did not answer")),
            }
        }
        if problems.is_empty() {
            Ok(Health::Ok)
        } else {
            Ok(Health::Degraded(format!("Redis Cluster, {} shards: {}", map.len(), problems.join("; "))))
        }
    }
    // ANCHOR_END: cluster_health
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_slots_are_grouped_by_master() {
        use redis::Value;
        let node = |port: i64| {
            Value::Array(vec![
                Value::BulkString(b"127.0.0.1".to_vec()),
                Value::Int(port),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let range = |a: i64, b: i64, port: i64| Value::Array(vec![Value::Int(a), Value::Int(b), node(port)]);
        let reply =
            Value::Array(vec![range(10923, 16383, 7003), range(0, 5460, 7001), range(5461, 10922, 7002)]);
        let shards = shards_from_cluster_slots(&reply);
        assert_eq!(shards.len(), 3);
        assert_eq!(shards[0].to_string(), "127.0.0.1:7001 (slots 0-5460)");
        assert_eq!(shards[2], Shard { host: "127.0.0.1".into(), port: 7003, slots: vec![(10923, 16383)] });
        assert!(shards_from_cluster_slots(&Value::Nil).is_empty());
    }

    #[test]
    fn health_reads_info_memory() {
        let info = |used: u64, max: u64, policy: &str| {
            format!("# Memory\r\nused_memory:{used}\r\nmaxmemory:{max}\r\nmaxmemory_policy:{policy}\r\n")
        };
        assert_eq!(Health::from_info(&info(5_000_000, 0, "noeviction")), Health::Ok);
        assert_eq!(Health::from_info(&info(500, 1000, "noeviction")), Health::Ok);
        let full = Health::from_info(&info(1000, 1000, "noeviction"));
        assert!(matches!(&full, Health::Degraded(why) if why.starts_with("Redis is full")), "{full:?}");
        let near = Health::from_info(&info(950, 1000, "volatile-ttl"));
        assert_eq!(near, Health::Degraded("Redis is near maxmemory: 95% used (policy volatile-ttl)".into()));
        let evicting = Health::from_info(&info(1000, 1000, "volatile-ttl"));
        assert!(
            matches!(&evicting, Health::Degraded(why) if why.starts_with("Redis is near")),
            "{evicting:?}"
        );
    }

    #[test]
    fn only_canonical_uuids_parse() {
        let id = SessionId::new();
        assert_eq!(SessionId::parse(&id.to_string()), Some(id));
        let canonical = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert!(SessionId::parse(canonical).is_some());
        for bad in [
            "",
            "not-a-uuid",
            "0F8FAD5B-D9CB-469F-A165-70867728950E",
            "0f8fad5bd9cb469fa16570867728950e",
            "{0f8fad5b-d9cb-469f-a165-70867728950e}",
            "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950e ",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
        ] {
            assert_eq!(SessionId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn key_and_redacted_form() {
        let id = SessionId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").expect("canonical");
        assert_eq!(Keys::default().session(&id), "session:0f8fad5b-d9cb-469f-a165-70867728950e");
        let lesson = Keys::prefixed("lesson04:");
        assert_eq!(lesson.session(&id), "lesson04:session:0f8fad5b-d9cb-469f-a165-70867728950e");
        assert_eq!(
            (lesson.user_ids(), lesson.user_counter()),
            ("lesson04:{users}:ids".into(), "lesson04:{users}:next_id".into())
        );
        assert_eq!(id.redacted(), "0f8fad5b…");
    }

    #[test]
    fn fields_round_trip_and_partial_hashes_are_rejected() {
        let session =
            Session { user_id: "user_1".into(), username: "alice".into(), created_at: 1_700_000_000 };
        let map: HashMap<String, String> =
            session.to_fields().iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        assert_eq!(Session::from_fields(&map), Some(session));
        for missing in ["user_id", "username", "created_at"] {
            let mut partial = map.clone();
            partial.remove(missing);
            assert_eq!(Session::from_fields(&partial), None, "without {missing}");
        }
        let mut bad_time = map.clone();
        bad_time.insert("created_at".into(), "yesterday".into());
        assert_eq!(Session::from_fields(&bad_time), None);
        assert_eq!(Session::from_fields(&HashMap::new()), None);
    }
}
