//! The session store: how a login session lives in Redis, and everything the service does to it.
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | the front door: [`SessionStore`], its settings, and the authenticated read |
//! | `connection.rs` | [`StoreConnection`]: every round trip counted, timed and shown to a [`Tap`]; a deadline on each call |
//! | `login.rs` | [`SessionStore::start_session`], the one way a session starts, with a [`NewSession`] |
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
//! | `throttle.rs` | [`throttle`]: the login limits per client and per username, in Redis (lesson 09), and the login's use of them |
//! | `health.rs` | [`Health`]: Redis's memory for `/health`, on one Redis or every shard |
//! | `rotate.rs` | `POST /reauth`'s rotation of the id, which a logout with the old cookie always wins |
//! | `replicas.rs` | [`LogoutReplicas`]: logout, revoke and "log out everywhere" wait for a replica's acknowledgement, so a failover cannot undo them |
//! | `error.rs` | [`Unavailable`]: the one error, a 503 for the HTTP layer |
//! | `scripts/*.lua` | the Lua scripts, loaded with `include_str!`; each runs as it is with `redis-cli --eval` |
//!
//! The store knows nothing of HTTP or cookies. It talks to Redis through one connection type,
//! [`Backend`](crate::redis::Backend) (a single Redis or a cluster, `src/redis/`), through which every round trip can
//! be shown to a [`Tap`]: the lessons' narrator prints each one (feature `workbook`, which builds
//! on the store, never the other way round).
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
//!   one script: <!-- cost: POST /logout | a live session -->two round trips). Where the
//!   session's master has a replica, the logout then also waits for it (`replicas.rs`).
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
//! ## Redis restarts and lost connections
//! A restarted Redis (or a promoted replica on the same address) must cost no request once it
//! answers again, on any serving thread. Two things make it so (`connection.rs`):
//! - The connection is RESP3 ([`connect_backend`](crate::redis::connect_backend)): it hears Redis go away (the
//!   end of its stream) and reconnects at once, before a request finds it broken.
//! - A round trip that failed because the connection was lost is sent again, once, on the fresh
//!   connection, inside the same deadline, when that cannot do harm: always when it never reached
//!   Redis (`connection refused`: the reconnect after a restart had failed, so nothing ran); and
//!   when it was cut off with no answer (`broken pipe`, `connection reset`) only for the calls
//!   that are the same done twice: the renewal ([`touch_first`](SessionStore::touch_first)),
//!   the values' reads, the listing, the security log's read, `/health` and
//!   [`learn_replicas`](SessionStore::learn_replicas). A login, a logout, a revocation or a write
//!   of values may have run before the connection broke: repeated, it would log twice, create a
//!   second session or add twice, so it answers 503 and the client decides.
//!
//! On a cluster, redis-rs's cluster connection repairs a node's connection and sends a command
//! again by itself (up to 3 times) when the connection dropped, whatever the command, and follows
//! `MOVED`; what it does not follow is a transaction refused whole with `MOVED` (it ran nothing),
//! which the store sends again, once, to the node named. Each resend counts in
//! `session_redis_resent_total`; `tests/resilience.rs` restarts Redis under four serving threads.
//!
//! The free functions take any async connection so the lessons can call them directly; the
//! [`SessionStore`] adds what the service needs around them: the [`Lifetimes`], a deadline on each
//! of its calls however many round trips the call makes, and one error type, [`Unavailable`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::metrics::Metrics;
use crate::redis::Topology;

mod clock;
mod connection;
mod create;
mod data;
mod destroy;
mod device;
mod error;
mod events;
mod health;
mod index;
mod keys;
mod login;
mod replicas;
mod rotate;
mod session;
mod throttle;
mod touch;
mod username;
mod values;

pub use connection::{StoreConnection, Tap};
pub use create::{create_session, hashed_user_id, user_id_for};
pub use data::{
    Applied, Changes, DATA_PREFIX, DATA_WRITE_SOURCE, DataError, DataLimits, MAX_NAME_CHARS, Values,
    renew_all,
};
pub use destroy::destroy_session;
pub use device::{Device, MAX_DEVICE_CHARS, UNKNOWN_DEVICE};
pub use error::Unavailable;
pub use events::{
    EVENTS_SHOWN, EventKind, MAX_EVENTS, MAX_REFUSING_CLIENTS, NewEvent, SecurityEvent, append_event,
    event_commands, latest_events,
};
pub use health::Health;
pub use index::{
    Caller, IndexEntry, Indexed, ListedSession, Liveness, Privileged, destroy_sessions, index_entries,
    index_session, read_sessions, unindex,
};
pub use keys::{Keys, MAX_SESSIONS_PER_USER, UserKeys};
pub use login::{Login, NewSession, script_path};
pub use replicas::{LOGOUT_REPLICAS_TIMEOUT, LogoutReplicas};
pub use rotate::MOVED_TTL;
pub use session::{Lifetimes, MAX_SESSION_COOKIES, Session, SessionId, SessionIds, fields, unix_now};
pub use throttle::{Limit, LoginLimits, THROTTLE_SOURCE, throttle};
pub use touch::{TOUCH_SOURCE, Touched, renew, touch, touch_script};
pub use username::canonical_username;

use clock::RedisClock;
use events::{REFUSAL_SCRIPT, UNLIST_SCRIPT};
use index::{INDEX_ADD_SCRIPT, INDEX_READ_SCRIPT};
use throttle::THROTTLE_SCRIPT;

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
    data_limits: DataLimits,
    /// `LOGOUT_REPLICAS` and `LOGOUT_REPLICAS_TIMEOUT_MS` (see `replicas.rs`).
    logout_replicas: LogoutReplicas,
    replica_timeout: Duration,
    /// Which masters have replicas, as last learned; shared by every copy of the store.
    replicas: Arc<replicas::KnownReplicas>,
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
            data_limits: DataLimits::DEFAULT,
            logout_replicas: LogoutReplicas::Auto,
            replica_timeout: LOGOUT_REPLICAS_TIMEOUT,
            replicas: Arc::default(),
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
                REFUSAL_SCRIPT.load_async(&mut con).await?;
                data::DATA_WRITE_SCRIPT.load_async(&mut con).await?;
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
    /// says "id"; only [`at_rest`](Self::at_rest) forms (index entries, [`ListedSession::id`],
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

    /// The same store with other replica acknowledgements for logouts (`LOGOUT_REPLICAS`,
    /// `LOGOUT_REPLICAS_TIMEOUT_MS`): see [`LogoutReplicas`].
    pub fn with_logout_replicas(self, replicas: LogoutReplicas, timeout: Duration) -> SessionStore {
        self.with(|inner| (inner.logout_replicas, inner.replica_timeout) = (replicas, timeout))
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

    /// Which Redis the store talks to: one Redis or a cluster.
    pub fn topology(&self) -> Topology {
        self.inner.con.topology()
    }

    /// An authenticated request: read and renew the session ([`renew`]), in
    /// just <!-- cost: GET /profile | a live session -->one round trip per id (one more in a
    /// session's last idle period). A request usually carries one id; when it
    /// carries several (see `cookies::read_session_cookies`), each is tried in order, all under
    /// one deadline, and the first live one is returned, renewed.
    pub async fn touch_first(&self, ids: &SessionIds) -> Result<Option<(SessionId, Touched)>, Unavailable> {
        // The same when done twice: it may be sent again after a lost connection.
        let mut con = self.connection().idempotent();
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

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) fn ttl_secs(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX)
}
