//! How the store reaches Redis: the one connection ([`StoreConnection`]), every round trip
//! counted, timed for `/metrics` and shown to a [`Tap`] where it is made ([`Counted`]), and one
//! deadline over a call's whole conversation with Redis ([`SessionStore::within_deadline`]).
//!
//! The tap is how the workbook's narrator prints what the store sends (lessons 04 to 10), and
//! how a test sees every round trip: the store owns the trait and knows nothing of who listens,
//! so the arrow points one way (`workbook` builds on `store`, never the other way round).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

use crate::metrics::Metrics;
use crate::redis::{AskError, Backend, Shard, Topology, ask_every_master};

use super::{SessionStore, Unavailable};

/// Sees every round trip a store makes, with its reply, after the reply: the workbook's
/// narrator prints them in redis-cli syntax (feature `workbook`), a test records them.
pub trait Tap: Send + Sync + 'static {
    /// One command was sent, and this came back.
    fn command(&self, cmd: &Cmd, reply: &RedisResult<Value>);
    /// One pipeline (a transaction when [`Pipeline::is_transaction`]) was sent, and this came back.
    fn pipeline(&self, pipeline: &Pipeline, replies: &RedisResult<Vec<Value>>);
}

/// What a [`SessionStore`] talks through: a [`Backend`] (a single Redis or a cluster), and
/// optionally a [`Tap`] that sees every round trip. Made from a backend with `into()`, so
/// `SessionStore::new(con, ..)` takes a `ConnectionManager`, a cluster connection or a
/// `Backend`; [`tapped`](Self::tapped) adds a tap.
#[derive(Clone)]
pub struct StoreConnection {
    pub(super) backend: Backend,
    tap: Option<Arc<dyn Tap>>,
}

impl StoreConnection {
    /// `backend`, with `tap` shown every round trip the store makes through it.
    pub fn tapped(backend: impl Into<Backend>, tap: Arc<dyn Tap>) -> StoreConnection {
        StoreConnection { backend: backend.into(), tap: Some(tap) }
    }

    /// Which Redis it talks to.
    pub fn topology(&self) -> Topology {
        self.backend.topology()
    }
}

impl From<Backend> for StoreConnection {
    fn from(backend: Backend) -> Self {
        StoreConnection { backend, tap: None }
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

/// The store's connection for one call: the shared connection, counting each round trip it
/// makes (one command, script or pipeline written, one reply read) where it makes it, timing it
/// into the `session_redis_call_seconds` histogram, and showing it to the tap.
pub(super) struct Counted<'a> {
    con: Backend,
    round_trips: &'a AtomicU64,
    metrics: &'a Metrics,
    tap: Option<&'a dyn Tap>,
    timeout: Duration,
    resend: Resend,
}

// ANCHOR: resend
/// Which failed round trips a call sends again, once, on the fresh connection, within its own
/// deadline (single Redis; a cluster connection does its own, see the store's docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Resend {
    /// Only a round trip that never reached Redis: no connection could be had (the reconnect
    /// after a restart had failed, `connection refused`), so nothing ran and any write may be
    /// sent again. Every call of the store does at least this.
    IfNeverSent,
    /// Also a round trip cut off with no answer (`broken pipe`, `connection reset`, end of
    /// stream): it may or may not have run, so only a call that does the same when done twice
    /// may send it again: the renewal and the reads.
    IfLost,
}

impl Resend {
    /// True when `error` is one this call may send again after.
    fn allows(self, error: &redis::RedisError) -> bool {
        // Refused (or, for a unix socket, no socket file): the connection was never made.
        error.is_connection_refusal() || (self == Resend::IfLost && error.is_connection_dropped())
    }
}
// ANCHOR_END: resend

/// Where a cluster transaction went when Redis refused the whole of it (`EXECABORT`, so none of
/// it ran) because its slot lives on another node (`MOVED <slot> <host>:<port>`): that node.
/// redis-rs follows `MOVED` for single commands, not for a transaction, which it may send to a
/// random node while it repairs the connection to a node that came back (seen after a master
/// restarted: a login's transaction answered `MOVED 218` to the restarted node).
fn moved_transaction(error: &redis::RedisError) -> Option<(String, u16)> {
    if error.kind() != redis::ErrorKind::Server(redis::ServerErrorKind::ExecAbort) {
        return None;
    }
    let refusals = error.clone().into_server_errors()?;
    let mut target = None;
    for (_, refusal) in refusals.iter() {
        if refusal.kind() != Some(redis::ServerErrorKind::Moved) {
            return None;
        }
        let address = refusal.details()?.split_whitespace().nth(1)?;
        let (host, port) = address.rsplit_once(':')?;
        let here = (host.to_string(), port.parse().ok()?);
        match &target {
            None => target = Some(here),
            Some(seen) if *seen == here => {}
            Some(_) => return None,
        }
    }
    target
}

/// Counts and times a round trip, `call`, then shows it to the tap with `show`. A round trip
/// cut off by the call's deadline is not recorded (the deadline's 503 is counted where it
/// answers).
fn observe<'b, T: Send + 'b>(
    (round_trips, metrics, tap): (&'b AtomicU64, &'b Metrics, Option<&'b dyn Tap>),
    call: RedisFuture<'b, T>,
    show: impl FnOnce(&dyn Tap, &RedisResult<T>) + Send + 'b,
) -> RedisFuture<'b, T> {
    round_trips.fetch_add(1, Ordering::Relaxed);
    Box::pin(async move {
        let started = Instant::now();
        let result = call.await;
        metrics.redis_call(started.elapsed(), result.is_err());
        if let Some(tap) = tap {
            show(tap, &result);
        }
        result
    })
}

impl Counted<'_> {
    /// `cmd` asked of every master of a cluster at once, after the slot map, before `deadline`
    /// (see [`ask_every_master`]): the slot map and each master's answer are round trips of
    /// their own, counted, timed and tapped. A master that does not answer gets `None`.
    pub(super) async fn every_master(
        &mut self,
        cluster: &ClusterConnection,
        cmd: &Cmd,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<(Shard, Option<Value>)>, Unavailable> {
        let started = Instant::now();
        let answers = match ask_every_master(cluster, cmd, deadline).await {
            Ok(answers) => answers,
            Err(AskError::Redis(error)) => return Err(Unavailable::Redis(error)),
            Err(AskError::TimedOut(elapsed)) => {
                return Err(Unavailable::TimedOut { after: self.timeout, source: elapsed });
            }
        };
        self.round_trips.fetch_add(1 + answers.len() as u64, Ordering::Relaxed);
        let elapsed = started.elapsed();
        self.metrics.redis_call(elapsed, false);
        if let Some(tap) = self.tap {
            let mut slots = redis::cmd("CLUSTER");
            slots.arg("SLOTS");
            tap.command(&slots, &Ok(Value::Array(Vec::new())));
        }
        for (_, answer) in &answers {
            self.metrics.redis_call(elapsed, answer.is_none());
            if let Some(tap) = self.tap {
                let reply = answer.clone().ok_or_else(|| {
                    redis::RedisError::from(std::io::Error::other("this master did not answer in time"))
                });
                tap.command(cmd, &reply);
            }
        }
        Ok(answers)
    }
}

impl Counted<'_> {
    /// `cmd` sent to the master of `slot`, counted, timed and tapped like any round trip: on
    /// one Redis, to it; on a cluster, to that slot's master, whatever the command names (a
    /// `WAIT` names no key, and must reach the node that ran the writes it waits for).
    pub(super) fn on_slot(
        &self,
        slot: u16,
        cmd: Cmd,
    ) -> impl Future<Output = RedisResult<Value>> + Send + '_ {
        use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
        let seen = (self.round_trips, self.metrics, self.tap);
        let mut con = self.con.clone();
        async move {
            let call: RedisFuture<'_, Value> = match &mut con {
                Backend::Single(single) => Box::pin(single.send_packed_command(&cmd)),
                Backend::Cluster(cluster) => {
                    let route = SingleNodeRoutingInfo::SpecificNode(Route::new(slot, SlotAddr::Master));
                    Box::pin(cluster.route_command(cmd.clone(), RoutingInfo::SingleNode(route)))
                }
            };
            observe(seen, call, |tap, reply| tap.command(&cmd, reply)).await
        }
    }

    /// This call's round trips may also be sent again when cut off with no answer: for calls
    /// that do the same when done twice (see [`Resend::IfLost`]).
    pub(super) fn idempotent(mut self) -> Self {
        self.resend = Resend::IfLost;
        self
    }

    /// True when a round trip that failed with `error` is to be sent again: once, on a single
    /// Redis, as [`Resend`] allows.
    fn resend_after(&self, error: &redis::RedisError) -> bool {
        let again = matches!(self.con, Backend::Single(_)) && self.resend.allows(error);
        if again {
            self.metrics.redis_resent();
        }
        again
    }
}

impl ConnectionLike for Counted<'_> {
    fn req_packed_command<'b>(&'b mut self, cmd: &'b Cmd) -> RedisFuture<'b, Value> {
        let seen = (self.round_trips, self.metrics, self.tap);
        Box::pin(async move {
            let first =
                observe(seen, self.con.req_packed_command(cmd), |tap, reply| tap.command(cmd, reply)).await;
            match first {
                Err(error) if self.resend_after(&error) => {
                    observe(seen, self.con.req_packed_command(cmd), |tap, reply| tap.command(cmd, reply))
                        .await
                }
                answer => answer,
            }
        })
    }

    fn req_packed_commands<'b>(
        &'b mut self,
        pipeline: &'b Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'b, Vec<Value>> {
        let seen = (self.round_trips, self.metrics, self.tap);
        let show = |tap: &dyn Tap, replies: &RedisResult<Vec<Value>>| tap.pipeline(pipeline, replies);
        Box::pin(async move {
            let first = observe(seen, self.con.req_packed_commands(pipeline, offset, count), show).await;
            match first {
                Err(error) if self.resend_after(&error) => {
                    observe(seen, self.con.req_packed_commands(pipeline, offset, count), show).await
                }
                Err(error) => match (&mut self.con, moved_transaction(&error)) {
                    // A transaction refused whole with `MOVED` ran nothing: sent again, once, to
                    // the node the refusal names (see `moved_transaction`).
                    (Backend::Cluster(cluster), Some((host, port))) => {
                        self.metrics.redis_resent();
                        let to = redis::cluster_routing::SingleNodeRoutingInfo::ByAddress { host, port };
                        let again = cluster.route_pipeline(pipeline.clone(), offset, count, to);
                        observe(seen, Box::pin(again), show).await
                    }
                    _ => Err(error),
                },
                answer => answer,
            }
        })
    }

    fn get_db(&self) -> i64 {
        self.con.get_db()
    }
}

impl SessionStore {
    /// A clone of the shared connection that counts, times and taps this store's round trips.
    pub(super) fn connection(&self) -> Counted<'_> {
        Counted {
            con: self.inner.con.backend.clone(),
            round_trips: &self.inner.round_trips,
            metrics: &self.inner.metrics,
            tap: self.inner.con.tap.as_deref(),
            timeout: self.inner.timeout,
            resend: Resend::IfNeverSent,
        }
    }

    /// When a call starting now must be done: now plus `REDIS_TIMEOUT_MS`.
    pub(super) fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.inner.timeout
    }

    /// Runs one call's Redis work under one deadline. This is the only timer on the call: it
    /// covers the wait for replies and the wait for a reconnect alike, so a stalled or absent
    /// Redis becomes [`Unavailable`] in bounded time, however many round trips the call needs.
    pub(super) async fn within_deadline<T>(
        &self,
        call: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, Unavailable> {
        self.before(self.deadline(), call).await
    }

    /// Runs Redis work that must be done by `deadline` (a part of a call whose deadline was set
    /// earlier: the login sets it once for the throttle and the session).
    pub(super) async fn before<T>(
        &self,
        deadline: tokio::time::Instant,
        call: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, Unavailable> {
        match tokio::time::timeout_at(deadline, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(Unavailable::Redis(error)),
            Err(elapsed) => Err(Unavailable::TimedOut { after: self.inner.timeout, source: elapsed }),
        }
    }
}
