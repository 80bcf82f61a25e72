//! The session store: how a login session lives in Redis.
//!
//! ## Layout
//!
//! | key | type | what |
//! |---|---|---|
//! | `session:<uuid>` | hash `user_id`, `username`, `created_at` | one login session, with a TTL |
//! | `users:ids` | hash `username` → `user_<n>` | the user registry: a stable id per name |
//! | `users:next_id` | string (counter) | the last `<n>` handed out (see [`Keys::user_counter`]) |
//!
//! Nothing else is ever written.
//!
//! ## Why a hash and not a JSON string (lesson 01)
//! A small hash is stored as a compact *listpack*: it costs no more memory than the JSON string,
//! each field can be read alone (`HGET`), and Redis, redis-cli and `MONITOR` all show the fields by
//! name, so an operator can read a session without a decoder.
//!
//! ## The three round trips (lessons 02 and 03)
//! - Creating, with [`create_session`]: `MULTI` / `HSET` / `EXPIRE` / `EXEC` in one round trip, so no session key
//!   can ever exist without its TTL, even if the process dies between the two commands.
//! - Reading and renewing, with [`touch`]: one script that reads the hash and renews its TTL. It never writes a hash field:
//!   `HSET` on a key that a logout just deleted would recreate a partial session with no TTL.
//!   The TTL it sets is capped by the absolute lifetime, counted from `created_at`.
//! - Logging out, with [`destroy`]: one `DEL`.
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
use serde::Serialize;
use uuid::Uuid;

use crate::cookies::SessionIds;

/// Prefix of every session key.
const SESSION_PREFIX: &str = "session:";
/// The user registry hash: username → `user_<n>`.
const USER_IDS_KEY: &str = "users:ids";
/// The counter behind `user_<n>`.
const USER_COUNTER_KEY: &str = "users:next_id";

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
/// The service uses no namespace (`session:<uuid>`, `users:ids`, `users:next_id`, as in the
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

    /// `users:ids`, the registry hash.
    pub fn user_ids(&self) -> String {
        format!("{}{USER_IDS_KEY}", self.prefix)
    }

    /// `users:next_id`, the counter behind `user_<n>`.
    pub fn user_counter(&self) -> String {
        format!("{}{USER_COUNTER_KEY}", self.prefix)
    }
}

/// Seconds since the Unix epoch, by this machine's clock. The store never uses it (Redis's clock
/// decides, see [`touch`]); the lessons and tests use it to make and check timestamps.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

// ANCHOR: user_id
static USER_ID_SCRIPT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local now = tonumber(redis.call('TIME')[1])
        local id = redis.call('HGET', KEYS[1], ARGV[1])
        if id then return {id, now} end
        id = 'user_' .. redis.call('INCR', KEYS[2])
        redis.call('HSET', KEYS[1], ARGV[1], id)
        return {id, now}
        ",
    )
});

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
    Ok(user_id_and_time(con, keys, username).await?.0)
}

/// [`user_id_for`], and Redis's clock (`TIME`, unix seconds) from the same round trip: login
/// stamps `created_at` with Redis's time, not this machine's.
async fn user_id_and_time<C: ConnectionLike>(
    con: &mut C,
    keys: &Keys,
    username: &str,
) -> redis::RedisResult<(String, u64)> {
    USER_ID_SCRIPT.key(keys.user_ids()).key(keys.user_counter()).arg(username).invoke_async(con).await
}
// ANCHOR_END: user_id

// ANCHOR: create_session
/// Writes a new session at `key` and its idle TTL in one atomic round trip (`MULTI` … `EXEC`).
///
/// `replacing` is the key of the session the browser already held, if any: it is deleted in the same
/// transaction, so a login always ends with exactly one live session for that browser and an id
/// planted before login (session fixation) is worthless afterwards.
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

/// The connection a [`SessionStore`] talks through: the shared [`ConnectionManager`], or (for the
/// lessons, feature `workbook`) the same connection narrated, so lesson 04 shows every command the
/// service sends. One store code path serves both.
#[derive(Clone)]
pub enum StoreConnection {
    /// The shared, multiplexed connection.
    Direct(ConnectionManager),
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

impl ConnectionLike for StoreConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            StoreConnection::Direct(con) => con.req_packed_command(cmd),
            #[cfg(feature = "workbook")]
            StoreConnection::Narrated(con) => con.req_packed_command(cmd),
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
            #[cfg(feature = "workbook")]
            StoreConnection::Narrated(con) => con.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            StoreConnection::Direct(con) => con.get_db(),
            #[cfg(feature = "workbook")]
            StoreConnection::Narrated(con) => con.get_db(),
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
        let store = SessionStore { con: con.into(), round_trips, keys: Keys::default(), lifetimes, timeout };
        let mut con = store.connection();
        store
            .within_deadline(async move {
                USER_ID_SCRIPT.load_async(&mut con).await?;
                TOUCH_SCRIPT.load_async(&mut con).await?;
                Ok(())
            })
            .await?;
        Ok(store)
    }

    /// The same store writing its keys under `keys`' namespace (lesson 04 uses `lesson04:`).
    pub fn with_keys(self, keys: Keys) -> SessionStore {
        SessionStore { keys, ..self }
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

    /// Login: look up (or hand out) the user id, then create the session, deleting `replacing`.
    /// Two round trips, under one deadline.
    pub async fn start_session(
        &self,
        username: &str,
        replacing: Option<&SessionId>,
    ) -> Result<(SessionId, Session), Unavailable> {
        let mut con = self.connection();
        let id = SessionId::new();
        let key = self.keys.session(&id);
        let old = replacing.map(|old| self.keys.session(old));
        let session = self
            .within_deadline(async {
                let (user_id, now) = user_id_and_time(&mut con, &self.keys, username).await?;
                let session = Session { user_id, username: username.to_string(), created_at: now };
                create_session(&mut con, &key, &session, self.lifetimes.idle, old.as_deref()).await?;
                Ok(session)
            })
            .await?;
        Ok((id, session))
    }

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

    /// Logout of every session id the request carries: one `DEL` each (they may live on
    /// different shards of a cluster), under one deadline. Returns how many existed.
    pub async fn destroy_all(&self, ids: &SessionIds) -> Result<u64, Unavailable> {
        let mut con = self.connection();
        self.within_deadline(async {
            let mut deleted = 0;
            for id in ids.iter() {
                deleted += u64::from(destroy(&mut con, &self.keys.session(&id)).await?);
            }
            Ok(deleted)
        })
        .await
    }

    /// Redis's memory, for `/health`: one `INFO memory`. A Redis that answers but refuses writes
    /// (at `maxmemory` under `noeviction`), or is close to it, is [`Health::Degraded`].
    pub async fn health(&self) -> Result<Health, Unavailable> {
        let mut con = self.connection();
        let info: String = self
            .within_deadline(async move { redis::cmd("INFO").arg("memory").query_async(&mut con).await })
            .await?;
        Ok(Health::from_info(&info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ("lesson04:users:ids".into(), "lesson04:users:next_id".into())
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
