//! Starting a session: the one way in, [`SessionStore::start_session`], with what it takes
//! named in a [`NewSession`]. The HTTP login and re-authentication, the lessons, the benchmark
//! and the tests all start sessions through it.
//!
//! Its steps, under one deadline: the login throttle (when asked), the password check (when
//! given one; its time is the application's and does not count against Redis's deadline), then
//! the session itself ([`LoginSteps`]): the index step, the write, the check that the index
//! entry is still there with the `login` event, and, past the per-user bound, the end of the
//! oldest sessions.

use std::net::IpAddr;
use std::time::Duration;

use redis::RedisResult;

use crate::client::client_key;
use crate::credentials::PasswordCheck;

use super::connection::Counted;
use super::data::Values;
use super::events::{EventKind, MAX_EVENTS, NewEvent, event_commands, record_refusal};
use super::index::{INDEX_ADD_SOURCE, Indexed, index_add_args, index_session};
use super::{
    Device, Session, SessionId, SessionStore, Unavailable, destroy_session, fields, ttl_secs, user_id_for,
};

/// What starting a session takes: who, on which device, which session it replaces, what the
/// security log records, and, for a login from outside, the throttle and the password check.
///
/// ```
/// use session_storage::store::{Device, NewSession, SessionId};
///
/// let device = Device::new("Firefox on Linux", "203.0.113.9".parse().ok());
/// let previous = SessionId::new();
/// let login = NewSession::new("alice").on(device).replacing(Some(&previous)).throttled_for("203.0.113.9".parse().unwrap());
/// # let _ = login;
/// ```
#[derive(Clone)]
pub struct NewSession<'a> {
    username: &'a str,
    device: Device,
    pub(super) replacing: Option<SessionId>,
    pub(super) kind: EventKind,
    client: Option<IpAddr>,
    password: Option<(&'a dyn PasswordCheck, &'a str)>,
    pub(super) visitor: Option<SessionId>,
}

impl<'a> NewSession<'a> {
    /// A login of `username` on an [unknown device](Device::unknown), replacing nothing,
    /// recorded as `login`, with no throttle and no password check: what a lesson or a test
    /// starts; the builder methods below add the rest.
    pub fn new(username: &'a str) -> NewSession<'a> {
        NewSession {
            username,
            device: Device::unknown(None),
            replacing: None,
            kind: EventKind::Login,
            client: None,
            password: None,
            visitor: None,
        }
    }

    /// On `device`: the name and address recorded in the session and its log event.
    pub fn on(self, device: Device) -> NewSession<'a> {
        NewSession { device, ..self }
    }

    /// Ends `session` first (the session this browser held: the fixation defence).
    pub fn replacing(self, session: Option<&SessionId>) -> NewSession<'a> {
        NewSession { replacing: session.copied(), ..self }
    }

    /// Takes over the values of `visitor` (the cart filled before login, lesson 11): they move
    /// into the new session, and the visitor is ended, both before the session is written.
    pub fn carrying(self, visitor: Option<&SessionId>) -> NewSession<'a> {
        NewSession { visitor: visitor.copied(), ..self }
    }

    /// A re-authentication of the caller's `session` (`POST /reauth`): it is replaced by a new
    /// session with its values, its `created_at` (so its absolute deadline: a password check
    /// does not extend a session's life) and a fresh `authenticated_at` (the privileged window
    /// restarts), and the log records `reauth`. A session that is gone by then, or that a logout
    /// ends meanwhile, is [`Login::Gone`]: nothing is left alive (see `rotate.rs`).
    pub fn reauthenticating(self, session: &SessionId) -> NewSession<'a> {
        NewSession { replacing: Some(*session), kind: EventKind::Reauth, ..self }
    }

    /// Counted by the login throttle, per `client` (the address it comes from) and per
    /// username from it; skipped when both limits are off.
    pub fn throttled_for(self, client: IpAddr) -> NewSession<'a> {
        NewSession { client: Some(client), ..self }
    }

    /// Checked by `check` with `password`, after the throttle: a wrong password costs an
    /// attempt like a right one, so guessing is throttled too.
    pub fn with_password(self, check: &'a dyn PasswordCheck, password: &'a str) -> NewSession<'a> {
        NewSession { password: Some((check, password)), ..self }
    }
}

/// How [`SessionStore::start_session`] ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Login {
    /// A new session.
    Started(SessionId, Session),
    /// Over a login limit: no session was created (only the refusal, recorded beside the user's log);
    /// try again after this long.
    Throttled(Duration),
    /// The password check refused: nothing was written.
    WrongPassword,
    /// A re-authentication of a session that is gone (logged out, revoked, expired): nothing
    /// was started.
    Gone,
}

impl Login {
    /// The new session, if one was started.
    pub fn started(self) -> Option<(SessionId, Session)> {
        match self {
            Login::Started(id, session) => Some((id, session)),
            _ => None,
        }
    }
}

impl SessionStore {
    // ANCHOR: start_session
    /// Starts a session: the throttle, when `new` asks for it (one script, skipped when both
    /// limits are off); the password check, when `new` has one; then the session, in one
    /// pipeline on one Redis (on a cluster each step is a round trip of its own, see
    /// `LoginSteps`): the `DEL` of the session it replaces, the entry in the user's index, the
    /// session with its TTL, and the check that the entry is still there with the security
    /// log's event. A login past the per-user bound ends the oldest sessions last.
    ///
    /// One deadline (`REDIS_TIMEOUT_MS`) bounds all of it, less the password check's own time:
    /// a slow password hash never makes Redis look slow.
    ///
    /// The index entry comes before the session, so that a session never exists outside its
    /// index: a "log out everywhere" that reads the index after this session was created always
    /// finds it. `created_at` is Redis's clock when the session is written, in whole seconds.
    /// A re-authentication's new session counts its absolute lifetime from now: the user has
    /// just authenticated.
    pub async fn start_session(&self, new: NewSession<'_>) -> Result<Login, Unavailable> {
        let mut con = self.connection();
        let mut deadline = self.deadline();
        if let Some(client) = new.client
            && let Some(wait) =
                self.before(deadline, self.throttled(&mut con, new.username, client, &new.device)).await?
        {
            return Ok(Login::Throttled(wait));
        }
        if let Some((check, password)) = new.password {
            let started = tokio::time::Instant::now();
            let canonical =
                super::canonical_username(new.username).unwrap_or_else(|_| new.username.to_string());
            let right = check.verify_named(new.username, &canonical, password).await;
            deadline += started.elapsed();
            if !right {
                // Recorded like a throttled attempt, in the user's refusals (`events.rs`).
                let (keys, user_id) = (self.keys(), user_id_for(new.username));
                let client = new.client.map_or_else(|| "unknown".to_string(), client_key);
                let kind = EventKind::WrongPassword;
                self.before(deadline, record_refusal(&mut con, keys, &user_id, &client, kind, &new.device))
                    .await?;
                return Ok(Login::WrongPassword);
            }
        }
        let id = SessionId::new();
        let carried = match self.before(deadline, self.carried(&mut con, &new, &id)).await? {
            Some(carried) => carried,
            None => return Ok(Login::Gone),
        };
        let session = self.before(deadline, self.create(&mut con, &id, &new, carried)).await?;
        if new.kind == EventKind::Reauth
            && let Some(old) = &new.replacing
            && !self.before(deadline, self.finish_rotation(&mut con, old, &id, &session)).await?
        {
            return Ok(Login::Gone);
        }
        Ok(Login::Started(id, session))
    }
    // ANCHOR_END: start_session

    async fn create(
        &self,
        con: &mut Counted<'_>,
        id: &SessionId,
        new: &NewSession<'_>,
        carried: Carried,
    ) -> RedisResult<Session> {
        let user_id = user_id_for(new.username);
        let at_rest = self.at_rest(id);
        let steps = LoginSteps {
            store: self,
            index: self.inner.keys.user_sessions(&user_id),
            key: self.inner.keys.session(&at_rest),
            handle: at_rest.handle(),
            id: at_rest,
            replacing: new.replacing.map(|old| self.at_rest(&old)),
            device: &new.device,
            kind: new.kind,
            carried,
        };
        let mut session = Session { user_id, username: new.username.to_string(), created_at: 0 };
        let done = if self.topology().is_cluster() {
            steps.step_by_step(con, &mut session).await
        } else {
            steps.in_one_round_trip(con, &mut session).await
        };
        let Created { indexed, listed } = match done {
            Ok(done) => done,
            Err(error) => {
                // On one Redis the write runs even when an earlier step of its pipeline failed
                // (the index step, say): end the session, which nobody will ever hold, so that
                // it does not live outside its index until its idle TTL.
                let _ = destroy_session(con, &steps.key).await;
                return Err(error);
            }
        };
        if !listed {
            // Newer logins of this user filled the bound while this one was between its index
            // entry and its session, and ended it (its entry is gone): end the session too, as
            // the bound meant, so that it never lives outside the index.
            destroy_session(con, &steps.key).await?;
            tracing::warn!(
                user_id = %session.user_id,
                "a login's session was ended at once: newer logins of the same user filled MAX_SESSIONS_PER_USER meanwhile"
            );
        }
        if !indexed.evicted.is_empty() {
            self.end_evicted(con, &steps.index, &indexed.evicted).await?;
        }
        Ok(session)
    }

    /// Ends the sessions the bound named: delete, unlist, and delete again, as the route
    /// table's row "past MAX_SESSIONS_PER_USER" shows (<!-- sends: POST /login | past MAX_SESSIONS_PER_USER: the oldest sessions end -->DEL
    /// ZREM DEL). <!-- sends: POST /login | past MAX_SESSIONS_PER_USER: the oldest sessions end -->A
    /// login still on its way may write its session after the first `DEL`; it then
    /// either finds its entry gone (and ends itself, see [`LoginSteps`]) or wrote before the
    /// `ZREM`, so the second `DEL` ends it. On a cluster a pipeline's commands run on their
    /// nodes in no set order, so the second `DEL` is a round trip of its own.
    async fn end_evicted(
        &self,
        con: &mut Counted<'_>,
        index: &str,
        evicted: &[SessionId],
    ) -> RedisResult<()> {
        let sessions: Vec<String> = evicted.iter().map(|old| self.inner.keys.session(old)).collect();
        let mut pipe = redis::pipe();
        for old in &sessions {
            pipe.del(old).ignore();
        }
        let members: Vec<String> = evicted.iter().map(SessionId::to_string).collect();
        pipe.zrem(index, members).ignore();
        if self.topology().is_cluster() {
            pipe.exec_async(&mut *con).await?;
            pipe = redis::pipe();
        }
        for old in &sessions {
            pipe.del(old).ignore();
        }
        pipe.exec_async(con).await
    }

    /// Moves the store's estimate of Redis's clock by `ms` (`clock.rs`): a test's way to play a
    /// machine that slept, or a Redis whose clock was set.
    #[cfg(feature = "test-util")]
    pub fn shift_redis_clock_estimate(&self, ms: i64) {
        self.inner.clock.shift(ms);
    }
}

/// A login's steps, in order: <!-- sends: POST /login | from a browser that holds a session -->delete
/// the session it replaces, add the new session to the user's
/// index ([`INDEX_ADD_SOURCE`]), write the session (`MULTI` / `HSET` / `EXPIRE` / `EXEC`: the
/// hash and its TTL together, `created_at` from Redis's clock as the store knows it), then
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
/// (`restamp.lua`, only into a session that still exists). On a cluster, where the index step
/// is a round trip of its own, `created_at` is that step's answer.
///
/// Why check: between this login's index step and its write, newer logins of the same user
/// may have named this entry as beyond the bound and removed it (they ended a session that
/// did not exist yet). Reading the entry after the write closes that window: a login that
/// removes the entry later also deletes the session, which then exists.
struct LoginSteps<'a> {
    store: &'a SessionStore,
    /// The user's index.
    index: String,
    /// The new session's key.
    key: String,
    /// The new session's handle, for its event.
    handle: String,
    /// The new session's id as Redis holds it.
    id: SessionId,
    /// The session it replaces, as Redis holds it.
    replacing: Option<SessionId>,
    device: &'a Device,
    kind: EventKind,
    carried: Carried,
}

/// What a new session takes over: values, a visitor's or on re-authentication the old
/// session's.
pub(super) struct Carried {
    pub(super) values: Values,
    /// On a re-authentication, the old session's `created_at`: the new one keeps it, and so its
    /// absolute deadline.
    pub(super) created_at: Option<u64>,
}

/// What the steps found: what the index step named to end, and whether the login's entry was
/// still its own when it was read back.
struct Created {
    indexed: Indexed,
    listed: bool,
}

/// `scripts/restamp.lua`: a new session's `created_at` corrected, only while the session exists
/// (sent whole: it runs only when the store's estimate of Redis's clock was stale).
const RESTAMP_SOURCE: &str = include_str!("scripts/restamp.lua");

/// Whether the login's entry, read back with `ZSCORE`, is still its own: present, and not
/// claimed by a newer login that named it beyond the bound (a claim scores 0, see
/// `index_add.lua`), which will end the session.
fn listed(score: Option<f64>) -> bool {
    score.is_some_and(|score| score > 0.0)
}

impl LoginSteps<'_> {
    /// The event the check's transaction appends to the user's log.
    fn event(&self) -> NewEvent<'_> {
        NewEvent { kind: self.kind, device: self.device, handle: Some(&self.handle) }
    }

    /// The index script's `EVAL` (the source, not its SHA-1: in a pipeline, a `NOSCRIPT` answer
    /// after a Redis restart could not be retried without running the later steps once more).
    fn index(&self, pipe: &mut redis::Pipeline) {
        let store = self.store;
        let args =
            index_add_args(&self.id, self.lifetime(), store.inner.max_sessions, self.replacing.as_ref());
        pipe.cmd("EVAL").arg(INDEX_ADD_SOURCE).arg(1).arg(&self.index).arg(args);
    }

    /// What is left of the absolute lifetime: all of it for a login; for a re-authentication,
    /// what the old session had left (its `created_at` is kept), at least a second.
    fn lifetime(&self) -> Duration {
        let absolute = self.store.inner.lifetimes.absolute;
        match self.carried.created_at {
            Some(created_at) => {
                let deadline = created_at.saturating_add(absolute.as_secs());
                Duration::from_secs(deadline.saturating_sub(self.store.inner.clock.now_secs()).max(1))
            }
            None => absolute,
        }
    }

    /// The session's hash, with `created_at` and the device, and its idle TTL (no more than
    /// the absolute lifetime leaves): `HSET` and `EXPIRE`, which the caller puts in one
    /// transaction (a session key never exists without its TTL). A re-authentication also
    /// records when it checked the password (`authenticated_at`).
    fn write(&self, pipe: &mut redis::Pipeline, session: &Session) {
        pipe.cmd("HSET").arg(&self.key).arg(&session.to_fields());
        pipe.arg(fields::DEVICE).arg(self.device.name()).arg(fields::IP).arg(self.device.ip_field());
        if self.carried.created_at.is_some() {
            pipe.arg(fields::AUTHENTICATED_AT).arg(self.store.inner.clock.now_secs());
        }
        pipe.arg(self.carried.values.to_fields()).ignore();
        let ttl = self.store.inner.lifetimes.idle.min(self.lifetime());
        pipe.cmd("EXPIRE").arg(&self.key).arg(ttl_secs(ttl)).ignore();
    }

    /// The check and the event: `ZSCORE`, then `XADD` + `PEXPIRE` (their answers ignored). Put
    /// them in one transaction: the log must never exist without its TTL.
    fn check(&self, pipe: &mut redis::Pipeline, session: &Session) {
        let store = self.store;
        let log = store.inner.keys.user_events(&session.user_id);
        pipe.cmd("ZSCORE").arg(&self.index).arg(self.id.to_string());
        event_commands(pipe, &log, &self.event(), MAX_EVENTS, store.inner.lifetimes.absolute);
    }

    /// On one Redis: every step in one pipeline, in
    /// just <!-- cost: POST /login | with the throttle off (LOGIN_ATTEMPTS_PER_MINUTE=0 and LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT=0) -->one
    /// round trip. One connection runs them in the order they were sent, which is all the
    /// guarantees need (other clients' commands may run between them, as between round trips).
    async fn in_one_round_trip(&self, con: &mut Counted<'_>, session: &mut Session) -> RedisResult<Created> {
        let clock = &self.store.inner.clock;
        session.created_at = self.carried.created_at.unwrap_or_else(|| clock.now_secs());
        let mut pipe = redis::pipe();
        if let Some(old) = &self.replacing
            && self.kind != EventKind::Reauth
        {
            pipe.del(self.store.inner.keys.session(old)).ignore();
        }
        self.index(&mut pipe);
        pipe.cmd("MULTI").ignore();
        self.write(&mut pipe, session);
        pipe.cmd("EXEC");
        pipe.cmd("MULTI").ignore();
        self.check(&mut pipe, session);
        pipe.cmd("EXEC");
        // Read what <!-- sends: POST /login | a new session -->the pipeline answers: the index's
        // `{now, over}`, the write's `EXEC` (`HSET`'s count of new fields and `EXPIRE`'s 1: an
        // error there fails the login), `ZSCORE`'s `QUEUED`, and the check's `EXEC`: what its
        // transaction's commands answered.
        type Reply = ((u64, Vec<String>), (u64, u8), redis::Value, (Option<f64>, redis::Value, redis::Value));
        let ((now_ms, evicted), _, _, (score, _, _)): Reply = pipe.query_async(&mut *con).await?;
        clock.observe(now_ms);
        let listed = listed(score);
        // The index step read Redis's clock before the session was written: `created_at` is that
        // second or, at a second's turn, the one before. Anything else means the estimate was
        // stale (this machine slept, or Redis's clock was set): write the right value, once.
        let told = now_ms / 1000;
        let kept = self.carried.created_at.is_some();
        if listed && !kept && !(told.saturating_sub(1)..=told).contains(&session.created_at) {
            tracing::warn!(
                estimated = session.created_at,
                redis = told,
                "the store's estimate of Redis's clock was off; this login's created_at is corrected"
            );
            let _written: u8 = redis::cmd("EVAL")
                .arg(RESTAMP_SOURCE)
                .arg(1)
                .arg(&self.key)
                .arg(told)
                .query_async(con)
                .await?;
            session.created_at = told;
        }
        Ok(Created { indexed: Indexed::from_reply(now_ms, &evicted), listed })
    }

    /// On a cluster the session lives in another slot than the user's index and log, and a
    /// pipeline's commands run on their nodes in no set order: each step is a round trip of
    /// its own, the replaced session's `DEL` first when there is one.
    async fn step_by_step(&self, con: &mut Counted<'_>, session: &mut Session) -> RedisResult<Created> {
        let store = self.store;
        if let Some(old) = &self.replacing
            && self.kind != EventKind::Reauth
        {
            destroy_session(&mut *con, &store.inner.keys.session(old)).await?;
        }
        let lifetime = self.lifetime();
        let indexed = index_session(
            &mut *con,
            &self.index,
            &self.id,
            lifetime,
            store.inner.max_sessions,
            self.replacing.as_ref(),
        )
        .await?;
        store.inner.clock.observe(indexed.now_ms);
        session.created_at = self.carried.created_at.unwrap_or(indexed.now_ms / 1000);
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.write(&mut pipe, session);
        pipe.exec_async(&mut *con).await?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.check(&mut pipe, session);
        let (score,): (Option<f64>,) = pipe.query_async(con).await?;
        Ok(Created { indexed, listed: listed(score) })
    }
}

/// The file of each script the store sends whole with `EVAL` (the login's index step, the
/// clock's correction, a re-authentication's two steps), for the lessons' narration: `None` for
/// any other text.
pub fn script_path(source: &str) -> Option<&'static str> {
    [
        (INDEX_ADD_SOURCE, "src/store/scripts/index_add.lua"),
        (RESTAMP_SOURCE, "src/store/scripts/restamp.lua"),
        (super::rotate::ROTATE_SOURCE, "src/store/scripts/rotate.lua"),
        (super::rotate::ROTATED_SOURCE, "src/store/scripts/rotated.lua"),
    ]
    .into_iter()
    .find_map(|(known, path)| (known == source).then_some(path))
}
