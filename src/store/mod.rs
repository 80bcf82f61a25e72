//! The session store: how a login session lives in Redis, and everything the service does to it.
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | [`SessionStore`]: the connection, the [`Lifetimes`], a deadline on each call, login and the authenticated read |
//! | `session.rs` | the session value: [`SessionId`], [`Session`] and its hash fields, [`SessionIds`], [`Lifetimes`] |
//! | `keys.rs` | the key layout ([`Keys`]): every key the service writes, its bound and its hash slot |
//! | `username.rs` | [`canonical_username`]: who a username names (RFC 8265), so `Alice` and `alice` are one user |
//! | `clock.rs` | Redis's clock as its answers tell it: a login's `created_at` with no script, and nothing to wait for |
//! | `create.rs` | [`user_id_for`] (a stable id derived from the canonical name) and [`create_session`] (lessons 02, 03) |
//! | `touch.rs` | [`touch`]: read and renew in <!-- cost: 03_sliding_ttl \| touch -->one round trip, capped by the absolute lifetime (lesson 03); [`renew`], its twin without Lua |
//! | `destroy.rs` | [`destroy_session`] and logout of every id a request carries |
//! | `device.rs` | [`Device`]: the name and address a session was started from, bounded (lesson 06) |
//! | `index.rs` | each user's index: list, revoke, log out everywhere, the privileged window (lesson 06) |
//! | `events.rs` | each user's security log, a capped stream: [`append_event`], [`latest_events`] (lesson 10) |
//! | `throttle.rs` | [`throttle`]: the login limits per client and per username, in Redis (lesson 09) |
//! | `health.rs` | [`Health`]: Redis's memory for `/health`, on one Redis or every shard |
//! | `error.rs` | [`Unavailable`]: the one error, a 503 for the HTTP layer |
//! | `scripts/*.lua` | the Lua scripts, loaded with `include_str!`; each runs as it is with `redis-cli --eval` |
//!
//! The store knows nothing of HTTP or cookies. It talks to Redis through one connection type,
//! [`Backend`] (a single Redis or a cluster, `src/redis/`); for the lessons, the same connection
//! can be narrated ([`Narrated`](crate::workbook::Narrated), feature `workbook`), which prints every
//! command it forwards.
//!
//! ## Round trips per request
//! - Creating, with [`create_session`]: `MULTI` / `HSET` / `EXPIRE` / `EXEC`
//!   in <!-- cost: 02_expire | create_session -->one round trip, so no session key can ever exist
//!   without its TTL, even if the process dies between the `HSET` and the `EXPIRE`.
//! - Reading and renewing, with [`renew`]: one pipeline (`HMGET`, `EXPIRE`, `PEXPIRETIME`) that
//!   reads the hash and renews its TTL, with the guarantees of lesson 03's script, [`touch`]. It
//!   never writes a hash field: `HSET` on a key that a logout just deleted would recreate a
//!   partial session with no TTL. The TTL is capped by the absolute lifetime, counted from
//!   `created_at`, on Redis's clock. Every authenticated request makes
//!   this <!-- cost: GET /profile | a live session -->one round trip (and, in a session's last
//!   idle period, <!-- cost: GET /profile | in the session's last idle period minus GET /profile | a live session -->one
//!   more round trip, to bring its expiry back to the deadline), and listing or revoking starts
//!   with it.
//! - Logging out, with [`destroy_session`]: one `DEL` (the service also reads the owner in the same
//!   pipeline, then removes the index entry and records the logout in the user's security log in
//!   one script: <!-- cost: POST /logout | a live session -->two round trips).
//! - Recording what happened, in the user's security log (`events.rs`): inside a round trip the
//!   route makes anyway wherever it can (the login's index check, the index removal of logout,
//!   revoke and "log out everywhere").
//!
//! What every route of the service costs, case by case, on one Redis and on a cluster, is counted
//! over HTTP by `tests/route_costs.rs`, whose snapshot (`tests/snapshots/route_costs__route_costs.snap`)
//! is the table of the book's chapter 05 (`book/src/05-full-server-3.md`, "Round trips"); every
//! count stated in these docs is checked against it by `tests/book_facts.rs`.
//!
//! None of them grows with the number of users; the listing's pipeline grows with the user's own
//! sessions, at most [`MAX_SESSIONS_PER_USER`].
//!
//! The free functions take any async connection so the lessons can call them directly; the
//! [`SessionStore`] adds what the service needs around them: the [`Lifetimes`], a deadline on each
//! of its calls however many round trips the call makes, and one error type, [`Unavailable`].

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;

use crate::client::client_key;
use crate::metrics::Metrics;
use crate::redis::Backend;

mod clock;
mod create;
mod destroy;
mod device;
mod error;
mod events;
mod health;
mod index;
mod keys;
mod session;
mod throttle;
mod touch;
mod username;

pub use create::{create_session, hashed_user_id, user_id_for};
pub use destroy::destroy_session;
pub use device::{Device, MAX_DEVICE_CHARS, UNKNOWN_DEVICE};
pub use error::Unavailable;
pub use events::{
    EVENTS_SHOWN, EventKind, MAX_EVENTS, NewEvent, SecurityEvent, append_event, event_commands, latest_events,
};
pub use health::Health;
pub use index::{
    DeviceSession, IndexEntry, Indexed, Liveness, Privileged, destroy_sessions, index_entries, index_session,
    read_sessions, unindex,
};
pub use keys::{Keys, MAX_SESSIONS_PER_USER};
pub use session::{Lifetimes, MAX_SESSION_COOKIES, Session, SessionId, SessionIds, unix_now};
pub use throttle::{Limit, LoginLimits, THROTTLE_SOURCE, throttle};
pub use touch::{TOUCH_SOURCE, Touched, renew, touch, touch_script};
pub use username::canonical_username;

use clock::RedisClock;
use events::UNLIST_SCRIPT;
use index::{INDEX_ADD_SCRIPT, INDEX_ADD_SOURCE, INDEX_READ_SCRIPT, index_add_args};
use throttle::THROTTLE_SCRIPT;

/// What a [`SessionStore`] talks through: a [`Backend`], and for a lesson (feature `workbook`)
/// the narrator that prints every command the store sends, by wrapping the backend in a
/// [`Narrated`](crate::workbook::Narrated) connection for each command. Made from a backend or a
/// narrated one with `into()`, so `SessionStore::new(con, ..)` takes either.
#[derive(Clone)]
pub struct StoreConnection {
    backend: Backend,
    #[cfg(feature = "workbook")]
    narrator: Option<crate::workbook::Narrator>,
}

impl From<Backend> for StoreConnection {
    fn from(backend: Backend) -> Self {
        StoreConnection {
            backend,
            #[cfg(feature = "workbook")]
            narrator: None,
        }
    }
}

impl From<ConnectionManager> for StoreConnection {
    fn from(con: ConnectionManager) -> Self {
        Backend::from(con).into()
    }
}

impl From<ClusterConnection> for StoreConnection {
    fn from(con: ClusterConnection) -> Self {
        Backend::from(con).into()
    }
}

#[cfg(feature = "workbook")]
impl<C: Into<Backend>> From<crate::workbook::Narrated<C>> for StoreConnection {
    fn from(con: crate::workbook::Narrated<C>) -> Self {
        let (inner, narrator) = con.into_parts();
        StoreConnection { backend: inner.into(), narrator: Some(narrator) }
    }
}

/// The store's connection for one request: the shared connection, counting each round trip it
/// makes (one command, script or pipeline written, one reply read) where it makes it, and timing
/// it for `/metrics`.
struct Counted<'a> {
    con: Backend,
    round_trips: &'a AtomicU64,
    metrics: &'a Metrics,
    #[cfg(feature = "workbook")]
    narrator: Option<&'a crate::workbook::Narrator>,
}

impl ConnectionLike for Counted<'_> {
    fn req_packed_command<'b>(&'b mut self, cmd: &'b redis::Cmd) -> redis::RedisFuture<'b, redis::Value> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "workbook")]
        if let Some(out) = self.narrator {
            let mut narrated = out.connection(self.con.clone());
            return Box::pin(async move { narrated.req_packed_command(cmd).await });
        }
        let call = self.con.req_packed_command(cmd);
        timed(self.metrics, call)
    }

    fn req_packed_commands<'b>(
        &'b mut self,
        pipeline: &'b redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'b, Vec<redis::Value>> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "workbook")]
        if let Some(out) = self.narrator {
            let mut narrated = out.connection(self.con.clone());
            return Box::pin(async move { narrated.req_packed_commands(pipeline, offset, count).await });
        }
        let call = self.con.req_packed_commands(pipeline, offset, count);
        timed(self.metrics, call)
    }

    fn get_db(&self) -> i64 {
        self.con.get_db()
    }
}

/// Times a round trip into the `session_redis_call_seconds` histogram. A round trip cut off
/// by the request's deadline is not recorded (the deadline's 503 is counted where it answers).
fn timed<'b, T: Send + 'b>(
    metrics: &'b Metrics,
    call: redis::RedisFuture<'b, T>,
) -> redis::RedisFuture<'b, T> {
    Box::pin(async move {
        let started = Instant::now();
        let result = call.await;
        metrics.redis_call(started.elapsed(), result.is_err());
        result
    })
}

/// How a [`SessionStore::login`] ended.
#[derive(Debug)]
pub enum Login {
    /// A new session.
    Started(SessionId, Session),
    /// Over a login limit: no session was created (only a `throttled` event in the user's log); try
    /// again after this long.
    Throttled(Duration),
}

/// The service's handle on Redis: the shared connection, the [`Lifetimes`], and a deadline on
/// every request. Cheap to clone: one shared pointer (axum clones the state several times per
/// request, on every core, so a clone is one atomic increment, not one per field).
#[derive(Clone)]
pub struct SessionStore {
    inner: Arc<StoreInner>,
}

/// What a [`SessionStore`] shares between its clones.
#[derive(Clone)]
struct StoreInner {
    con: StoreConnection,
    round_trips: Arc<AtomicU64>,
    metrics: Metrics,
    keys: Keys,
    lifetimes: Lifetimes,
    timeout: Duration,
    max_sessions: usize,
    login_limits: LoginLimits,
    key_hashing: bool,
    privileged_window: Duration,
    /// Redis's clock as its answers tell it: the login's `created_at` (see `clock.rs`). Shared
    /// by every copy of the store, like the counters.
    clock: Arc<RedisClock>,
}

/// How long after its login (or its last `POST /reauth`) a session may end other sessions
/// (`PRIVILEGED_WINDOW_SECS`): five minutes.
pub const PRIVILEGED_WINDOW: Duration = Duration::from_secs(300);

impl From<StoreInner> for SessionStore {
    fn from(inner: StoreInner) -> Self {
        SessionStore { inner: Arc::new(inner) }
    }
}

impl SessionStore {
    /// Builds the store and loads its scripts into Redis, so the first request that runs one
    /// already sends it <!-- sends: POST /login | a new session -->by its SHA-1, one `EVALSHA`
    /// (after a Redis restart the scripts are gone; on `NOSCRIPT` redis-rs sends `SCRIPT LOAD`
    /// and the `EVALSHA` again, once), and reads Redis's clock (`TIME`) for the first login's
    /// `created_at` (see `clock.rs`).
    ///
    /// `timeout` is the deadline of each of the store's calls: its whole conversation with Redis
    /// for that call. A request may make more than one call (a login: the throttle, then the
    /// session), each with a deadline of its own.
    pub async fn new(
        con: impl Into<StoreConnection>,
        lifetimes: Lifetimes,
        timeout: Duration,
    ) -> Result<SessionStore, Unavailable> {
        let round_trips = Arc::new(AtomicU64::new(0));
        let store = SessionStore::from(StoreInner {
            con: con.into(),
            round_trips,
            metrics: Metrics::new(),
            keys: Keys::default(),
            lifetimes,
            timeout,
            max_sessions: MAX_SESSIONS_PER_USER,
            login_limits: LoginLimits::DEFAULT,
            key_hashing: false,
            privileged_window: PRIVILEGED_WINDOW,
            clock: Arc::new(RedisClock::new(unix_now().saturating_mul(1000))),
        });
        let mut con = store.connection();
        let clock = store.inner.clock.clone();
        store
            .within_deadline(async move {
                THROTTLE_SCRIPT.load_async(&mut con).await?;
                INDEX_ADD_SCRIPT.load_async(&mut con).await?;
                INDEX_READ_SCRIPT.load_async(&mut con).await?;
                UNLIST_SCRIPT.load_async(&mut con).await?;
                // Redis's clock, for the first login's `created_at` (every login reads it again).
                let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(&mut con).await?;
                clock.observe(secs.saturating_mul(1000).saturating_add(micros / 1000));
                Ok(())
            })
            .await?;
        Ok(store)
    }

    /// This store with one setting changed (the builder methods below).
    fn with(self, change: impl FnOnce(&mut StoreInner)) -> SessionStore {
        let mut inner = Arc::unwrap_or_clone(self.inner);
        change(&mut inner);
        SessionStore::from(inner)
    }

    /// The same store talking through `con` instead: the same settings, and the same counters
    /// and metrics, so `/metrics` and [`round_trips`](Self::round_trips) add up over every
    /// connection. The service's serving threads (`SERVE_THREADS`) each use one of their own.
    pub fn with_connection(&self, con: impl Into<StoreConnection>) -> SessionStore {
        let con = con.into();
        self.clone().with(|inner| inner.con = con)
    }

    /// The same store writing its keys under `keys`' namespace (lesson 04 uses `lesson04:`).
    pub fn with_keys(self, keys: Keys) -> SessionStore {
        self.with(|inner| inner.keys = keys)
    }

    /// The same store with another bound on sessions per user (`MAX_SESSIONS_PER_USER`, at least 1).
    pub fn with_max_sessions_per_user(self, max: usize) -> SessionStore {
        self.with(|inner| inner.max_sessions = max.max(1))
    }

    /// The same store with other login limits (`LOGIN_ATTEMPTS_PER_MINUTE`, ...).
    pub fn with_login_limits(self, login_limits: LoginLimits) -> SessionStore {
        self.with(|inner| inner.login_limits = login_limits)
    }

    /// The same store naming sessions in Redis by a digest of their id (`SESSION_KEY_HASHING`):
    /// see [`SessionId::hashed`]. Every method still takes and returns the cookie's id where it
    /// says "id"; only [`at_rest`](Self::at_rest) forms (index entries, [`DeviceSession::id`],
    /// what [`revoke`](Self::revoke) answers) are what Redis holds.
    ///
    /// Switching it on or off ends every session that exists (their keys are under the other
    /// name): do it at a deploy, as with a change of cookie name.
    pub fn with_key_hashing(self, on: bool) -> SessionStore {
        self.with(|inner| inner.key_hashing = on)
    }

    /// The same store with another privileged window (`PRIVILEGED_WINDOW_SECS`): how long after
    /// its login or its last re-authentication a session may end the user's other sessions.
    pub fn with_privileged_window(self, window: Duration) -> SessionStore {
        self.with(|inner| inner.privileged_window = window)
    }

    /// How long a session stays privileged after its login or re-authentication.
    pub fn privileged_window(&self) -> Duration {
        self.inner.privileged_window
    }

    /// True when sessions are named in Redis by a digest of their id.
    pub fn key_hashing(&self) -> bool {
        self.inner.key_hashing
    }

    // ANCHOR: at_rest
    /// The name under which session `id` lives in Redis: the id itself, or with key hashing its
    /// [`hashed`](SessionId::hashed) form. The one place the choice is made.
    pub fn at_rest(&self, id: &SessionId) -> SessionId {
        if self.inner.key_hashing { id.hashed() } else { *id }
    }
    // ANCHOR_END: at_rest

    /// The login limits.
    pub fn login_limits(&self) -> LoginLimits {
        self.inner.login_limits
    }

    /// The service's counters (`GET /metrics`); the store times every round trip into them.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The most sessions one user may hold at once.
    pub fn max_sessions_per_user(&self) -> usize {
        self.inner.max_sessions
    }

    /// The key names this store writes.
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// How long sessions live.
    pub fn lifetimes(&self) -> Lifetimes {
        self.inner.lifetimes
    }

    /// How many round trips went to Redis through this store (and its clones) so far: one
    /// command, script or `MULTI`…`EXEC` pipeline written, one reply read. An operational
    /// counter; the benchmark divides it by the requests served.
    pub fn round_trips(&self) -> u64 {
        self.inner.round_trips.load(Ordering::Relaxed)
    }

    /// A clone of the shared connection that counts this store's round trips.
    fn connection(&self) -> Counted<'_> {
        Counted {
            con: self.inner.con.backend.clone(),
            round_trips: &self.inner.round_trips,
            metrics: &self.inner.metrics,
            #[cfg(feature = "workbook")]
            narrator: self.inner.con.narrator.as_ref(),
        }
    }

    /// Runs one call's Redis work under one deadline. This is the only timer on the call: it
    /// covers the wait for replies and the wait for a reconnect alike, so a stalled or absent
    /// Redis becomes [`Unavailable`] in bounded time, however many round trips the call needs. A
    /// request that makes several calls (a login: the throttle, then the session) has a deadline
    /// for each.
    async fn within_deadline<T>(
        &self,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Unavailable> {
        match tokio::time::timeout(self.inner.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(Unavailable::Redis(error)),
            Err(elapsed) => Err(Unavailable::TimedOut { after: self.inner.timeout, source: elapsed }),
        }
    }

    /// True when the store talks to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.inner.con.backend.is_cluster()
    }

    // ANCHOR: login
    /// The login in one call, under one deadline: the throttle first
    /// ([`throttle_login`](Self::throttle_login): one script, skipped when both limits are off),
    /// and only when it allows,
    /// [`open_session`](Self::open_session)'s work, recording `device` in the session and a
    /// `login` event in the user's security log. A throttled login writes no session.
    ///
    /// The throttle counts per client, by `client`: the address the device logged in from. The
    /// HTTP login calls the two steps itself, with the password check between them, so that a
    /// wrong password is throttled like any attempt.
    pub async fn login(
        &self,
        username: &str,
        client: IpAddr,
        device: &Device,
        replacing: Option<&SessionId>,
    ) -> Result<Login, Unavailable> {
        let mut con = self.connection();
        self.within_deadline(async {
            if let Some(wait) = self.throttled(&mut con, username, client, device).await? {
                return Ok(Login::Throttled(wait));
            }
            let id = SessionId::new();
            let logged = (device, EventKind::Login);
            let session =
                self.create(&mut con, &id, user_id_for(username), username, replacing, logged).await?;
            Ok(Login::Started(id, session))
        })
        .await
    }
    // ANCHOR_END: login

    /// The login throttle alone, under one deadline: `Some(wait)` when this attempt of
    /// `username` from `client` is over a limit (see `throttle.rs`). A refused attempt
    /// costs <!-- cost: POST /login | refused by the throttle (429) minus POST /login | a wrong password (401) -->one
    /// more round trip: a `throttled` event on `device`, appended to the user's security log if
    /// the user has one (see `events.rs`).
    pub async fn throttle_login(
        &self,
        username: &str,
        client: IpAddr,
        device: &Device,
    ) -> Result<Option<Duration>, Unavailable> {
        let mut con = self.connection();
        self.within_deadline(self.throttled(&mut con, username, client, device)).await
    }

    async fn throttled(
        &self,
        con: &mut Counted<'_>,
        username: &str,
        client: IpAddr,
        device: &Device,
    ) -> redis::RedisResult<Option<Duration>> {
        if self.inner.login_limits.is_off() {
            return Ok(None);
        }
        let user_id = user_id_for(username);
        let client = client_key(client);
        let limits = [
            Limit { key: self.inner.keys.login_client(&client), limit: self.inner.login_limits.per_client },
            Limit {
                key: self.inner.keys.login_user(&client, &user_id),
                limit: self.inner.login_limits.per_user_and_client,
            },
        ];
        let wait = throttle(&mut *con, &limits, LoginLimits::PERIOD).await?;
        if wait.is_some() {
            let refused = NewEvent { kind: EventKind::Throttled, device, handle: None };
            events::append_to_existing(con, &self.inner.keys.user_events(&user_id), &refused, MAX_EVENTS)
                .await?;
        }
        Ok(wait)
    }

    // ANCHOR: open_session
    /// A new session for `username` on `device`, under one deadline, without the throttle: what
    /// a login does once it is allowed and its password checked ([`start_session`](Self::start_session)
    /// describes the round trips). `kind` is what the security log records: a
    /// [`Login`](EventKind::Login), or a [`Reauth`](EventKind::Reauth), where `replacing` is the
    /// caller's own session: it is dead from this moment, and the new one has a new id and a
    /// fresh privileged window (the fixation defence, as at login). Its absolute lifetime counts
    /// from now: the user has just authenticated.
    pub async fn open_session(
        &self,
        username: &str,
        device: &Device,
        replacing: Option<&SessionId>,
        kind: EventKind,
    ) -> Result<(SessionId, Session), Unavailable> {
        let mut con = self.connection();
        let id = SessionId::new();
        let session = self
            .within_deadline(self.create(
                &mut con,
                &id,
                user_id_for(username),
                username,
                replacing,
                (device, kind),
            ))
            .await?;
        Ok((id, session))
    }
    // ANCHOR_END: open_session

    // ANCHOR: start_session
    /// A new session for `username`, in <!-- cost: POST /login | with the throttle off (LOGIN_ATTEMPTS_PER_MINUTE=0 and LOGINS_PER_CLIENT_PER_MINUTE=0) -->one
    /// round trip under one deadline on one Redis: one pipeline deletes the session the browser
    /// held (`replacing`, the fixation defence), adds the new session's entry to the user's
    /// index, writes the session, and checks that its entry is still there, in that order (see
    /// `LoginSteps`; on a cluster each is a round trip of its own). It
    /// costs <!-- cost: POST /login | past MAX_SESSIONS_PER_USER: the oldest sessions end minus POST /login | a new session -->one
    /// more round trip, last, when the size bound names older sessions to end (each deleted,
    /// taken out of the index and deleted again, in one pipeline; <!-- cost: POST /login | past MAX_SESSIONS_PER_USER: the oldest sessions end | cluster minus POST /login | a new session | cluster -->two
    /// round trips on a cluster).
    /// No throttle: that is [`login`](Self::login)'s.
    ///
    /// The index entry comes before the session, so that a session never exists outside its
    /// index: a "log out everywhere" that reads the index after this session was created always
    /// finds it. `created_at` is Redis's clock when the session is written, in whole seconds (as
    /// the store knows it from the index steps' answers, checked against this one's: see
    /// `LoginSteps`).
    ///
    /// The session's device is [`UNKNOWN_DEVICE`] with no address, and the user's security log
    /// gets a `login` event (in the check's transaction); the service's login uses
    /// [`open_session`](Self::open_session) with the request's device.
    pub async fn start_session(
        &self,
        username: &str,
        replacing: Option<&SessionId>,
    ) -> Result<(SessionId, Session), Unavailable> {
        self.open_session(username, &Device::unknown(None), replacing, EventKind::Login).await
    }

    async fn create(
        &self,
        con: &mut Counted<'_>,
        id: &SessionId,
        user_id: String,
        username: &str,
        replacing: Option<&SessionId>,
        (device, kind): (&Device, EventKind),
    ) -> redis::RedisResult<Session> {
        let replacing = replacing.map(|old| self.at_rest(old));
        let id = self.at_rest(id);
        let index = self.inner.keys.user_sessions(&user_id);
        let key = self.inner.keys.session(&id);
        let handle = id.handle();
        let event = NewEvent { kind, device, handle: Some(&handle) };
        let mut session = Session { user_id, username: username.to_string(), created_at: 0 };
        let steps = LoginSteps { store: self, index: &index, id: &id, replacing: replacing.as_ref() };
        let steps = if self.is_cluster() {
            steps.in_three_round_trips(con, (&key, &mut session, device), &event).await
        } else {
            steps.in_one_round_trip(con, (&key, &mut session, device), &event).await
        };
        let (indexed, listed) = match steps {
            Ok(done) => done,
            Err(error) => {
                // On one Redis the write runs even when an earlier step of its pipeline failed
                // (the index step, say): end the session, which nobody will ever hold, so that
                // it does not live outside its index until its idle TTL.
                let _ = destroy_session(con, &key).await;
                return Err(error);
            }
        };
        if !listed {
            // Newer logins of this user filled the bound while this one was between its index
            // entry and its session, and ended it (its entry is gone): end the session too, as
            // the bound meant, so that it never lives outside the index.
            destroy_session(con, &key).await?;
            tracing::warn!(
                user_id = %session.user_id,
                "a login's session was ended at once: newer logins of the same user filled MAX_SESSIONS_PER_USER meanwhile"
            );
        }
        if !indexed.evicted.is_empty() {
            // Delete, unlist, and delete again, as the route table's row "past
            // MAX_SESSIONS_PER_USER" shows (<!-- sends: POST /login | past MAX_SESSIONS_PER_USER: the oldest sessions end -->DEL ZREM DEL): a login still
            // on its way may write its session
            // after the first DEL; it then either finds its entry gone (and ends itself, see
            // `LoginSteps`) or wrote before the ZREM, so the second DEL ends it. On a cluster
            // a pipeline's commands run on their nodes in no set order, so the second DEL is a
            // round trip of its own.
            let sessions: Vec<String> =
                indexed.evicted.iter().map(|old| self.inner.keys.session(old)).collect();
            let mut pipe = redis::pipe();
            for old in &sessions {
                pipe.del(old).ignore();
            }
            let members: Vec<String> = indexed.evicted.iter().map(SessionId::to_string).collect();
            pipe.zrem(&index, members).ignore();
            if self.is_cluster() {
                pipe.exec_async(&mut *con).await?;
                pipe = redis::pipe();
            }
            for old in &sessions {
                pipe.del(old).ignore();
            }
            pipe.exec_async(con).await?;
        }
        Ok(session)
    }
    // ANCHOR_END: start_session

    /// An authenticated request: read and renew the session ([`renew`]), in
    /// just <!-- cost: GET /profile | a live session -->one round trip per id (one more in a
    /// session's last idle period). A request usually carries one id; when it
    /// carries several (see `cookies::read_session_cookies`), each is tried in order, all under
    /// one deadline, and the first live one is returned, renewed.
    pub async fn touch_first(&self, ids: &SessionIds) -> Result<Option<(SessionId, Touched)>, Unavailable> {
        let mut con = self.connection();
        self.within_deadline(async {
            for id in ids.iter() {
                let key = self.inner.keys.session(&self.at_rest(&id));
                if let Some(touched) = renew(&mut con, &key, self.inner.lifetimes).await? {
                    return Ok(Some((id, touched)));
                }
            }
            Ok(None)
        })
        .await
    }
}

/// A login's steps, in order: <!-- sends: POST /login | from a browser that holds a session -->delete
/// the session it replaces, add the new session to the user's
/// index ([`INDEX_ADD_SOURCE`]), write the session (`MULTI` / `HSET` / `EXPIRE` / `EXEC`: the
/// hash and its TTL together, `created_at` from Redis's clock as [`RedisClock`] knows it), then
/// read whether its index entry is still there, with the event appended to the user's log and
/// its TTL (one transaction on the user's slot: `MULTI` / `ZSCORE` / `XADD` / `PEXPIRE` /
/// `EXEC`).
///
/// Why no script for the write: Lua costs Redis more than the write itself (about 6 µs a call
/// on 7.0), and all a script would add is `TIME` beside the `HSET`. The clock is known anyway.
/// The index step answers Redis's time, and the store keeps it (`clock.rs`).
/// So `created_at` is Redis's clock to within a round trip, never ahead of it, in whole seconds.
/// The index step's own answer checks it: when the estimate was stale (the machine slept, or
/// Redis's clock was set), one more command, sent on its own, writes the right value
/// (`restamp.lua`, only into a session that still exists). On a cluster, where the index step is a round trip of
/// its own, `created_at` is that step's answer.
///
/// Why check: between this login's index step and its write, newer logins of the same user
/// may have named this entry as beyond the bound and removed it (they ended a session that
/// did not exist yet). Reading the entry after the write closes that window: a login that
/// removes the entry later also deletes the session, which then exists.
///
/// Each step sets the session's `created_at` and answers `(indexed, listed)`: what the index
/// step named to end, and whether its entry was still there.
struct LoginSteps<'a> {
    store: &'a SessionStore,
    index: &'a str,
    id: &'a SessionId,
    replacing: Option<&'a SessionId>,
}

/// `scripts/restamp.lua`: a new session's `created_at` corrected, only while the session exists
/// (sent whole: it runs only when the store's estimate of Redis's clock was stale).
const RESTAMP_SOURCE: &str = include_str!("scripts/restamp.lua");

/// The index step's reply, and whether the entry is still in the index.
type Created = (Indexed, bool);

/// Whether the login's entry, read back with `ZSCORE`, is still its own: present, and not
/// claimed by a newer login that named it beyond the bound (a claim scores 0, see
/// `index_add.lua`), which will end the session.
fn listed(score: Option<f64>) -> bool {
    score.is_some_and(|score| score > 0.0)
}

impl LoginSteps<'_> {
    /// The index script's `EVAL` (the source, not its SHA-1: in a pipeline, a `NOSCRIPT` answer
    /// after a Redis restart could not be retried without running the later steps once more).
    fn index(&self, pipe: &mut redis::Pipeline) {
        let store = self.store;
        let args =
            index_add_args(self.id, store.inner.lifetimes.absolute, store.inner.max_sessions, self.replacing);
        pipe.cmd("EVAL").arg(INDEX_ADD_SOURCE).arg(1).arg(self.index).arg(args);
    }

    /// The session's hash, with `created_at`, and its idle TTL: `HSET` and `EXPIRE`, which the
    /// caller puts in one transaction (a session key never exists without its TTL).
    fn write(&self, pipe: &mut redis::Pipeline, (key, session, device): (&str, &Session, &Device)) {
        pipe.cmd("HSET").arg(key).arg(&session.to_fields()).arg("device").arg(device.name());
        pipe.arg("ip").arg(device.ip_field()).ignore();
        pipe.cmd("EXPIRE").arg(key).arg(ttl_secs(self.store.inner.lifetimes.idle)).ignore();
    }

    /// The check and the event: `ZSCORE`, then `XADD` + `PEXPIRE` (their answers ignored). Put
    /// them in one transaction: the log must never exist without its TTL.
    fn check(&self, pipe: &mut redis::Pipeline, session: &Session, event: &NewEvent<'_>) {
        let store = self.store;
        let log = store.inner.keys.user_events(&session.user_id);
        pipe.cmd("ZSCORE").arg(self.index).arg(self.id.to_string());
        event_commands(pipe, &log, event, MAX_EVENTS, store.inner.lifetimes.absolute);
    }

    /// On one Redis: every step in one pipeline, in
    /// just <!-- cost: POST /login | with the throttle off (LOGIN_ATTEMPTS_PER_MINUTE=0 and LOGINS_PER_CLIENT_PER_MINUTE=0) -->one
    /// round trip. One connection runs them in
    /// the order they were sent, which is all the guarantees need (other clients' commands may
    /// run between them, as between round trips).
    async fn in_one_round_trip(
        &self,
        con: &mut Counted<'_>,
        (key, session, device): (&str, &mut Session, &Device),
        event: &NewEvent<'_>,
    ) -> redis::RedisResult<Created> {
        session.created_at = self.store.inner.clock.now_secs();
        let mut pipe = redis::pipe();
        if let Some(old) = self.replacing {
            pipe.del(self.store.inner.keys.session(old)).ignore();
        }
        self.index(&mut pipe);
        pipe.cmd("MULTI").ignore();
        self.write(&mut pipe, (key, session, device));
        pipe.cmd("EXEC");
        pipe.cmd("MULTI").ignore();
        self.check(&mut pipe, session, event);
        pipe.cmd("EXEC");
        // Read what <!-- sends: POST /login | a new session -->the pipeline answers: the index's
        // `{now, over}`, the write's `EXEC` (`HSET`'s count of new fields and `EXPIRE`'s 1: an error there fails the
        // login), `ZSCORE`'s `QUEUED`, and the check's
        // `EXEC`: what its transaction's commands answered.
        type Reply = ((u64, Vec<String>), (u64, u8), redis::Value, (Option<f64>, redis::Value, redis::Value));
        let ((now_ms, evicted), _, _, (score, _, _)): Reply = pipe.query_async(&mut *con).await?;
        self.store.inner.clock.observe(now_ms);
        let listed = listed(score);
        // The index step read Redis's clock before the session was written: `created_at` is that
        // second or, at a second's turn, the one before. Anything else means the estimate was
        // stale (this machine slept, or Redis's clock was set): write the right value, once.
        let told = now_ms / 1000;
        if listed && !(told.saturating_sub(1)..=told).contains(&session.created_at) {
            tracing::warn!(
                estimated = session.created_at,
                redis = told,
                "the store's estimate of Redis's clock was off; this login's created_at is corrected"
            );
            let _written: u8 =
                redis::cmd("EVAL").arg(RESTAMP_SOURCE).arg(1).arg(key).arg(told).query_async(con).await?;
            session.created_at = told;
        }
        Ok((Indexed::from_reply(now_ms, &evicted), listed))
    }

    /// On a cluster the session lives in another slot than the user's index and log, and a
    /// pipeline's commands run on their nodes in no set order: each step is a round trip of
    /// its own, the replaced session's `DEL` first when there is one.
    async fn in_three_round_trips(
        &self,
        con: &mut Counted<'_>,
        (key, session, device): (&str, &mut Session, &Device),
        event: &NewEvent<'_>,
    ) -> redis::RedisResult<Created> {
        let store = self.store;
        if let Some(old) = self.replacing {
            destroy_session(&mut *con, &store.inner.keys.session(old)).await?;
        }
        let indexed = index_session(
            &mut *con,
            self.index,
            self.id,
            store.inner.lifetimes.absolute,
            store.inner.max_sessions,
            self.replacing,
        )
        .await?;
        store.inner.clock.observe(indexed.now_ms);
        session.created_at = indexed.now_ms / 1000;
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.write(&mut pipe, (key, session, device));
        pipe.exec_async(&mut *con).await?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.check(&mut pipe, session, event);
        let (score,): (Option<f64>,) = pipe.query_async(con).await?;
        Ok((indexed, listed(score)))
    }
}

/// The file of the script the store sends whole with `EVAL` (the login's index step), for the
/// narration of the lessons: `None` for any other text.
#[cfg(feature = "workbook")]
pub(crate) fn script_path(source: &str) -> Option<&'static str> {
    [(INDEX_ADD_SOURCE, "src/store/scripts/index_add.lua"), (RESTAMP_SOURCE, "src/store/scripts/restamp.lua")]
        .into_iter()
        .find_map(|(known, path)| (known == source).then_some(path))
}

impl SessionStore {
    /// Moves the store's estimate of Redis's clock by `ms` (`clock.rs`): a test's way to play a
    /// machine that slept, or a Redis whose clock was set.
    #[cfg(feature = "test-util")]
    pub fn shift_redis_clock_estimate(&self, ms: i64) {
        self.inner.clock.shift(ms);
    }
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) fn ttl_secs(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX)
}
