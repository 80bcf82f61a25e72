//! The service's counters, rendered for `GET /metrics` in the Prometheus text format.
//!
//! | metric | type | what |
//! |---|---|---|
//! | `session_logins_total{outcome}` | counter | `POST /login` answers: `ok`, `throttled` (429), `invalid` (any 4xx for the body or the username), `cross_site` (403), `unavailable` (503) |
//! | `session_authenticated_requests_total{outcome}` | counter | requests that needed a session ([`Authenticated`](crate::Authenticated)): `ok`, `unauthorized` (401), `unavailable` (503) |
//! | `session_redis_call_seconds` | histogram | each round trip to Redis (a command, a script or a pipeline), from write to reply |
//! | `session_redis_errors_total` | counter | round trips that failed (an error reply, a broken connection) |
//! | `session_redis_resent_total` | counter | round trips sent a second time after the connection was lost (see [`store`](crate::store)'s "Redis restarts") |
//! | `session_logouts_unreplicated_total` | counter | logouts, revocations and logs-out-everywhere that no replica acknowledged within `LOGOUT_REPLICAS_TIMEOUT_MS` |
//! | `session_connections` | gauge | HTTP connections open now |
//! | `session_redis_used_memory_bytes` | gauge | Redis's `used_memory` at the last `GET /health` (on a cluster, the fullest master's) |
//! | `session_redis_maxmemory_bytes` | gauge | Redis's `maxmemory` at the last `GET /health` (0: no limit) |
//!
//! Memory figures are here and in the log, not in `/health`'s answer: `/health` is for anyone
//! who can reach the port, `/metrics` only for whoever can reach `METRICS_ADDR`.
//!
//! Why these are not `metrics`' global macros: a process may hold several services (the tests
//! start dozens), and each must count only its own requests. So every [`Metrics`] owns its
//! recorder (`metrics-exporter-prometheus`, without its own HTTP listener), and every counter is
//! registered once, at start: a request increments an atomic through a handle it already holds,
//! with no lookup by name and no lock.
//!
//! Nothing here talks to Redis: serving `/metrics` asks Redis nothing.

use std::sync::{Arc, Weak};
use std::time::Duration;

use ::metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// How one `POST /login` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    /// 200: a session was created.
    Ok,
    /// 429: over a login limit.
    Throttled,
    /// 4xx: the body or the username was refused.
    Invalid,
    /// 403: a cross-site request.
    CrossSite,
    /// 503: Redis did not answer, or is full.
    Unavailable,
}

impl LoginOutcome {
    const ALL: [LoginOutcome; 5] = [
        LoginOutcome::Ok,
        LoginOutcome::Throttled,
        LoginOutcome::Invalid,
        LoginOutcome::CrossSite,
        LoginOutcome::Unavailable,
    ];

    fn label(self) -> &'static str {
        match self {
            LoginOutcome::Ok => "ok",
            LoginOutcome::Throttled => "throttled",
            LoginOutcome::Invalid => "invalid",
            LoginOutcome::CrossSite => "cross_site",
            LoginOutcome::Unavailable => "unavailable",
        }
    }
}

/// How one request that needed a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthOutcome {
    /// A live session: the handler ran.
    Ok,
    /// 401: no live session.
    Unauthorized,
    /// 503: Redis did not answer.
    Unavailable,
}

impl AuthOutcome {
    const ALL: [AuthOutcome; 3] = [AuthOutcome::Ok, AuthOutcome::Unauthorized, AuthOutcome::Unavailable];

    fn label(self) -> &'static str {
        match self {
            AuthOutcome::Ok => "ok",
            AuthOutcome::Unauthorized => "unauthorized",
            AuthOutcome::Unavailable => "unavailable",
        }
    }
}

const LOGINS: &str = "session_logins_total";
const AUTHENTICATED: &str = "session_authenticated_requests_total";
const REDIS_CALL: &str = "session_redis_call_seconds";
const REDIS_ERRORS: &str = "session_redis_errors_total";
const REDIS_RESENT: &str = "session_redis_resent_total";
const UNREPLICATED: &str = "session_logouts_unreplicated_total";
const CONNECTIONS: &str = "session_connections";
const USED_MEMORY: &str = "session_redis_used_memory_bytes";
const MAXMEMORY: &str = "session_redis_maxmemory_bytes";

/// The histogram's buckets, in seconds: a local Redis answers in tens of microseconds, a
/// remote one in about a millisecond, and `REDIS_TIMEOUT_MS` (500 by default) ends the wait.
const REDIS_CALL_BUCKETS: [f64; 12] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5];

/// One service's counters, and the handle that renders them. Cheap to clone (shared handles).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    handle: PrometheusHandle,
    logins: [Counter; 5],
    authenticated: [Counter; 3],
    redis_call: Histogram,
    redis_errors: Counter,
    redis_resent: Counter,
    unreplicated: Counter,
    connections: Gauge,
    used_memory: Gauge,
    maxmemory: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// A fresh set of counters at zero, each registered and described once.
    ///
    /// Inside a Tokio runtime it also starts the recorder's upkeep every 5 seconds (it folds
    /// the histogram's samples into its buckets, so memory stays flat between scrapes); the task
    /// ends when the last clone of these metrics is dropped.
    pub fn new() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REDIS_CALL.into()), &REDIS_CALL_BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        describe(&recorder);
        let counter = |name: &'static str, outcome: &'static str| {
            recorder.register_counter(&Key::from_parts(name, vec![Label::new("outcome", outcome)]), &META)
        };
        let inner = Arc::new(Inner {
            handle: recorder.handle(),
            logins: LoginOutcome::ALL.map(|outcome| counter(LOGINS, outcome.label())),
            authenticated: AuthOutcome::ALL.map(|outcome| counter(AUTHENTICATED, outcome.label())),
            redis_call: recorder.register_histogram(&Key::from_static_name(REDIS_CALL), &META),
            redis_errors: recorder.register_counter(&Key::from_static_name(REDIS_ERRORS), &META),
            redis_resent: recorder.register_counter(&Key::from_static_name(REDIS_RESENT), &META),
            unreplicated: recorder.register_counter(&Key::from_static_name(UNREPLICATED), &META),
            connections: recorder.register_gauge(&Key::from_static_name(CONNECTIONS), &META),
            used_memory: recorder.register_gauge(&Key::from_static_name(USED_MEMORY), &META),
            maxmemory: recorder.register_gauge(&Key::from_static_name(MAXMEMORY), &META),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(upkeep(Arc::downgrade(&inner)));
        }
        Metrics { inner }
    }

    /// Counts one `POST /login` answer.
    pub fn login(&self, outcome: LoginOutcome) {
        self.inner.logins[outcome as usize].increment(1);
    }

    /// Counts one request that needed a session.
    pub fn authenticated(&self, outcome: AuthOutcome) {
        self.inner.authenticated[outcome as usize].increment(1);
    }

    /// Records a round trip to Redis.
    pub fn redis_call(&self, took: Duration, failed: bool) {
        self.inner.redis_call.record(took.as_secs_f64());
        if failed {
            self.inner.redis_errors.increment(1);
        }
    }

    /// Counts a round trip sent again on a fresh connection after the first was lost.
    pub fn redis_resent(&self) {
        self.inner.redis_resent.increment(1);
    }

    /// Counts a logout (or revocation) whose deletion no replica acknowledged in time.
    pub fn logout_unreplicated(&self) {
        self.inner.unreplicated.increment(1);
    }

    /// The gauge of open connections, for the accept loop (`serve_counted`).
    pub fn connections(&self) -> Gauge {
        self.inner.connections.clone()
    }

    /// Redis's memory as the last `/health` read it: `used_memory` and `maxmemory` in bytes.
    pub fn redis_memory(&self, used: u64, max: u64) {
        self.inner.used_memory.set(used as f64);
        self.inner.maxmemory.set(max as f64);
    }

    /// Everything, in the Prometheus text format (what `GET /metrics` answers).
    pub fn render(&self) -> String {
        self.inner.handle.render()
    }
}

static META: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

fn describe(recorder: &PrometheusRecorder) {
    recorder.describe_counter(LOGINS.into(), None, "POST /login answers, by outcome".into());
    recorder.describe_counter(
        AUTHENTICATED.into(),
        None,
        "Requests that needed a session, by outcome".into(),
    );
    recorder.describe_histogram(
        REDIS_CALL.into(),
        Some(::metrics::Unit::Seconds),
        "One round trip to Redis: a command, a script or a pipeline".into(),
    );
    recorder.describe_counter(REDIS_ERRORS.into(), None, "Round trips to Redis that failed".into());
    recorder.describe_counter(
        REDIS_RESENT.into(),
        None,
        "Round trips to Redis sent again on a fresh connection after the first was lost".into(),
    );
    recorder.describe_counter(
        UNREPLICATED.into(),
        None,
        "Logouts and revocations no replica acknowledged within LOGOUT_REPLICAS_TIMEOUT_MS".into(),
    );
    recorder.describe_gauge(CONNECTIONS.into(), None, "HTTP connections open now".into());
    recorder.describe_gauge(
        USED_MEMORY.into(),
        Some(::metrics::Unit::Bytes),
        "Redis used_memory at the last /health (a cluster: its fullest master)".into(),
    );
    recorder.describe_gauge(
        MAXMEMORY.into(),
        Some(::metrics::Unit::Bytes),
        "Redis maxmemory at the last /health (0: no limit)".into(),
    );
}

async fn upkeep(inner: Weak<Inner>) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match inner.upgrade() {
            Some(inner) => inner.handle.run_upkeep(),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample line that starts with `series` (name and labels).
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines().find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
    }

    #[test]
    fn counts_each_outcome_apart_and_each_instance_apart() {
        let one = Metrics::new();
        let other = Metrics::new();
        one.login(LoginOutcome::Ok);
        one.login(LoginOutcome::Ok);
        one.login(LoginOutcome::Throttled);
        one.authenticated(AuthOutcome::Unauthorized);
        one.redis_call(Duration::from_micros(300), true);
        one.redis_resent();
        one.logout_unreplicated();
        one.logout_unreplicated();
        one.connections().increment(3.0);
        one.redis_memory(1000, 4000);
        let text = one.render();
        assert_eq!(sample(&text, r#"session_logins_total{outcome="ok"}"#), Some(2.0), "{text}");
        assert_eq!(sample(&text, r#"session_logins_total{outcome="throttled"}"#), Some(1.0));
        assert_eq!(sample(&text, r#"session_logins_total{outcome="unavailable"}"#), Some(0.0));
        assert_eq!(
            sample(&text, r#"session_authenticated_requests_total{outcome="unauthorized"}"#),
            Some(1.0)
        );
        assert_eq!(sample(&text, "session_redis_errors_total"), Some(1.0));
        assert_eq!(sample(&text, r#"session_redis_call_seconds_bucket{le="0.0005"}"#), Some(1.0));
        assert_eq!(sample(&text, r#"session_redis_call_seconds_bucket{le="0.00025"}"#), Some(0.0));
        assert_eq!(sample(&text, "session_redis_resent_total"), Some(1.0));
        assert_eq!(sample(&text, "session_logouts_unreplicated_total"), Some(2.0));
        assert_eq!(sample(&text, "session_connections"), Some(3.0));
        assert_eq!(sample(&text, "session_redis_used_memory_bytes"), Some(1000.0));
        assert_eq!(sample(&text, "session_redis_maxmemory_bytes"), Some(4000.0));
        assert!(text.contains("# HELP session_logins_total"), "{text}");
        let other = other.render();
        assert_eq!(sample(&other, r#"session_logins_total{outcome="ok"}"#), Some(0.0), "{other}");
    }
}
