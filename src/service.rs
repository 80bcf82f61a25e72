//! Running the whole service: [`run`] is what the `session-storage` binary and
//! `examples/05_full_server.rs` do, and what your own `main` can do with routes of its own.
//!
//! It finds Redis (`REDIS_URL`, a local one, or with feature `private-redis` a private one or a
//! private cluster), builds the [`SessionStore`], merges your routes beside the service's
//! ([`app_with`]), raises the open-files limit and fits the connection cap under it, binds
//! `HOST:PORT`, and serves on `SERVE_THREADS` threads (each with its own Redis connection, see
//! [`serve_on_threads`]) until SIGINT or SIGTERM, letting requests in flight finish.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::http::{AppState, app_beside, metrics_app};
use crate::redis::{RedisHandle, RedisOrigin, RedisUrl, SetupError, connect_backend, connect_or_start};
use crate::server::{Limits, raise_open_files_limit, serve_counted, serve_on_threads, shutdown_signal};
use crate::store::{LogoutReplicas, SessionStore, Unavailable};

// ANCHOR: run
/// Runs the service with `routes` (yours, on the service's [`AppState`]) merged beside its
/// own, until SIGINT or SIGTERM:
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use session_storage::{AppState, Authenticated, Config};
///
/// async fn hello(who: Authenticated) -> String {
///     format!("hello {}", who.username())
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let routes: Router<AppState> = Router::new().route("/hello", get(hello));
///     session_storage::run(Config::from_env()?, routes).await?;
///     Ok(())
/// }
/// ```
///
/// It installs no logging of its own: your program's `tracing` subscriber, if it has one, gets
/// the service's events; [`init_tracing`](crate::init_tracing) sets up the one the binary uses.
pub async fn run(config: Config, routes: Router<AppState>) -> Result<(), StartError> {
    run_with(config, on_app_state(routes)).await
}
// ANCHOR_END: run

// ANCHOR: run_with
/// Runs the service beside the router `build` makes from the service's [`AppState`]: for an
/// app with a state of its own (a database pool, a client). Your state keeps the `AppState` it
/// is given, and `impl FromRef<YourState> for AppState` lets your handlers take
/// [`Authenticated`](crate::Authenticated) and [`SessionData`](crate::SessionData):
///
/// ```no_run
/// use axum::{Router, extract::{FromRef, State}, routing::get};
/// use session_storage::{AppState, Authenticated, Config};
///
/// #[derive(Clone)]
/// struct MyState {
///     sessions: AppState,
///     greeting: &'static str,
/// }
///
/// impl FromRef<MyState> for AppState {
///     fn from_ref(state: &MyState) -> AppState {
///         state.sessions.clone()
///     }
/// }
///
/// async fn hello(State(my): State<MyState>, who: Authenticated) -> String {
///     format!("{} {}", my.greeting, who.username())
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     session_storage::run_with(Config::from_env()?, |sessions| {
///         Router::new().route("/hello", get(hello)).with_state(MyState { sessions, greeting: "hello" })
///     })
///     .await?;
///     Ok(())
/// }
/// ```
///
/// `build` is called once per serving thread (`SERVE_THREADS`), each time with an `AppState` on
/// that thread's own Redis connection; build anything expensive (a pool) once, outside it, and
/// clone it in.
pub async fn run_with<F>(config: Config, build: F) -> Result<(), StartError>
where
    F: Fn(AppState) -> Router + Send + Sync + 'static,
{
    let service = Service::start_with(config, build).await?;
    tracing::info!("listening on http://{} (API docs at /docs)", service.local_addr());
    service.serve(shutdown_signal()).await
}
// ANCHOR_END: run_with

/// What builds the adopter's router from the `AppState` of one serving thread.
type BuildRoutes = Arc<dyn Fn(AppState) -> Router + Send + Sync>;

/// Routes on the service's own state, as a builder: they get the state they are given.
fn on_app_state(routes: Router<AppState>) -> impl Fn(AppState) -> Router + Send + Sync + 'static {
    move |state| routes.clone().with_state(state)
}

/// The service, started and bound but not yet serving: [`run`] in two steps, for a caller that
/// needs the address first (`PORT=0` picks a free port) or its own shutdown signal.
pub struct Service {
    listener: TcpListener,
    /// Builds your router: called when serving starts, once per serving thread.
    routes: BuildRoutes,
    threads: usize,
    redis_timeout: std::time::Duration,
    limits: Limits,
    redis: RedisHandle,
    addr: SocketAddr,
    state: AppState,
    metrics: Option<(TcpListener, SocketAddr)>,
    logout_replicas: LogoutReplicas,
}

impl Service {
    /// Finds Redis, loads the store's scripts, and binds `HOST:PORT` and `METRICS_ADDR`.
    pub async fn start(config: Config, routes: Router<AppState>) -> Result<Service, StartError> {
        Service::start_with(config, on_app_state(routes)).await
    }

    /// [`Service::start`] for [`run_with`]: `build` makes your router from the `AppState` of
    /// each serving thread.
    pub async fn start_with<F>(config: Config, build: F) -> Result<Service, StartError>
    where
        F: Fn(AppState) -> Router + Send + Sync + 'static,
    {
        let routes: BuildRoutes = Arc::new(build);
        let redis = find_redis(&config).await?;
        tracing::info!("{}", redis.describe());
        if let Some(warning) = redis.version_warning() {
            tracing::warn!("{warning}");
        }
        // The store's own connection, in the protocol the service speaks (`connect_backend`).
        let backend = connect_backend(&redis.url, redis.backend.topology(), config.redis_timeout)
            .await
            .map_err(|error| SetupError::Unreachable { url: redis.url.clone(), error: error.to_string() })?;
        let store = SessionStore::new(backend, config.lifetimes, config.redis_timeout)
            .await
            .map_err(StartError::Store)?
            .with_max_sessions_per_user(config.max_sessions_per_user)
            .with_login_limits(config.login_limits)
            .with_key_hashing(config.session_key_hashing)
            .with_privileged_window(config.privileged_window)
            .with_data_limits(config.data_limits)
            .with_logout_replicas(config.logout_replicas, config.logout_replicas_timeout);
        let logout_replicas = config.logout_replicas;
        if logout_replicas != LogoutReplicas::Off {
            learn_replicas(&store).await;
        }
        let (listener, addr) = bind(config.addr(), "HOST:PORT").await?;
        let metrics = match config.metrics_addr {
            Some(wanted) => Some(bind(wanted, "METRICS_ADDR").await?),
            None => None,
        };
        let state = AppState {
            cookie_secure: config.cookie_secure,
            allowed_origins: config.allowed_origins,
            trusted_proxies: config.trusted_proxies,
            ..AppState::new(store)
        };
        let limits = fit_connections(config.limits);
        Ok(Service {
            listener,
            routes,
            threads: config.serve_threads,
            redis_timeout: config.redis_timeout,
            limits,
            redis,
            addr,
            state,
            metrics,
            logout_replicas,
        })
    }

    /// Where `GET /metrics` is served (`METRICS_ADDR`), if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, addr)| *addr)
    }

    /// What every handler shares: the store (its counters and metrics), the cookie and origin
    /// settings.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish and stops the
    /// private Redis, if it started one.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), StartError> {
        let Service {
            listener,
            routes,
            threads,
            redis_timeout,
            limits,
            redis,
            state,
            metrics,
            logout_replicas,
            ..
        } = self;
        // Unless LOGOUT_REPLICAS=off, which masters have replicas is asked again every few
        // seconds, off the requests' path: a replica added, or a failover, is seen soon.
        let relearn = (logout_replicas != LogoutReplicas::Off).then(|| {
            let store = state.store.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(REPLICAS_RELEARNED_EVERY);
                every.tick().await;
                loop {
                    every.tick().await;
                    learn_replicas(&store).await;
                }
            })
        });
        // `/metrics` on its own listener, stopped when the service stops. Plain `axum::serve`:
        // it is for a scraper on the operator's network, not for the public.
        let connections = state.store.metrics().connections();
        let metrics_state = state.clone();
        // Under the API's timeouts, with a cap of its own: a scraper needs a connection or two,
        // and idle connections to this address must not use up the descriptors the API needs.
        let metrics_server = metrics.map(|(listener, addr)| {
            tracing::info!("metrics at http://{addr}/metrics");
            let limits =
                Limits { max_connections: limits.max_connections.min(METRICS_CONNECTIONS), ..limits };
            let app = metrics_app(metrics_state);
            tokio::spawn(serve_counted(
                listener,
                app,
                std::future::pending(),
                limits,
                ::metrics::Gauge::noop(),
            ))
        });
        let served = if threads > 1 {
            // One router per thread, on a Redis connection of its own (see `serve_on_threads`);
            // the store's settings, counters and metrics are shared.
            let (url, topology) = (redis.url.clone(), redis.backend.topology());
            let make_router = move || {
                let (state, routes, url) = (state.clone(), routes.clone(), url.clone());
                async move {
                    let con = connect_backend(&url, topology, redis_timeout).await.map_err(|error| {
                        io::Error::other(
                            SetupError::Unreachable { url, error: error.to_string() }.to_string(),
                        )
                    })?;
                    let state = AppState { store: state.store.with_connection(con), ..state };
                    Ok(app_beside(state.clone(), routes(state)))
                }
            };
            tracing::info!(
                "serving on {threads} threads, each with its own Redis connection (SERVE_THREADS)"
            );
            serve_on_threads(listener, threads, make_router, shutdown, limits, connections).await
        } else {
            serve_counted(listener, app_beside(state.clone(), routes(state)), shutdown, limits, connections)
                .await
        };
        if let Some(task) = metrics_server {
            task.abort();
        }
        if let Some(task) = relearn {
            task.abort();
        }
        match redis.origin {
            #[cfg(feature = "private-redis")]
            RedisOrigin::Private(server) => {
                tracing::info!("stopping the private redis-server on port {}", server.port());
            }
            #[cfg(feature = "private-redis")]
            RedisOrigin::PrivateCluster(cluster) => {
                tracing::info!("stopping the private Redis Cluster ({} nodes)", cluster.nodes().len());
            }
            RedisOrigin::Configured | RedisOrigin::LocalDefault => {}
        }
        served.map_err(StartError::Serve)
    }
}

/// The most connections `METRICS_ADDR` holds at once (fewer when `MAX_CONNECTIONS` is lower):
/// it fits in the 64 descriptors `fit_connections` keeps apart from the API's.
const METRICS_CONNECTIONS: usize = 16;

/// How often the service asks Redis again which masters have replicas (`LOGOUT_REPLICAS=auto`).
const REPLICAS_RELEARNED_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Asks Redis which masters have replicas; a failure is logged and changes nothing (logouts
/// keep what was known).
async fn learn_replicas(store: &SessionStore) {
    match store.learn_replicas().await {
        Ok(0) => tracing::debug!("no replicas: logouts do not wait (LOGOUT_REPLICAS=auto)"),
        Ok(n) => tracing::debug!("{n} replica(s): logouts wait for one (LOGOUT_REPLICAS=auto)"),
        Err(error) => tracing::warn!(%error, "could not ask Redis for its replicas (LOGOUT_REPLICAS=auto)"),
    }
}

/// Binds `addr`; `what` names the setting in the error.
async fn bind(addr: SocketAddr, what: &'static str) -> Result<(TcpListener, SocketAddr), StartError> {
    let listener =
        TcpListener::bind(addr).await.map_err(|source| StartError::Listen { what, addr, source })?;
    // The address actually bound: with port 0 the system picks the port.
    let addr = listener.local_addr().map_err(|source| StartError::Listen { what, addr, source })?;
    Ok((listener, addr))
}

/// `REDIS_CLUSTER=N` without `REDIS_URL` starts a private cluster; anything else goes through
/// [`connect_or_start`].
async fn find_redis(config: &Config) -> Result<RedisHandle, StartError> {
    match (config.private_cluster, config.redis_url.as_ref().map(RedisUrl::expose)) {
        #[cfg(feature = "private-redis")]
        (Some(masters), None) => {
            Ok(crate::redis::start_private_cluster(masters, config.redis_timeout).await?)
        }
        #[cfg(not(feature = "private-redis"))]
        (Some(_), None) => Err(StartError::NoPrivateCluster),
        (_, url) => Ok(connect_or_start(url, config.redis_timeout).await?),
    }
}

/// Raises the open-files limit to its hard limit and lowers `MAX_CONNECTIONS` to what it allows,
/// keeping some descriptors for Redis, logs and the listener itself.
fn fit_connections(mut limits: Limits) -> Limits {
    match raise_open_files_limit() {
        Ok((soft, hard)) => {
            let fits = usize::try_from(soft.saturating_sub(64)).unwrap_or(usize::MAX).max(1);
            if limits.max_connections > fits {
                tracing::warn!(
                    "MAX_CONNECTIONS {} is more than {soft} open files allow: using {fits}",
                    limits.max_connections
                );
                limits.max_connections = fits;
            }
            tracing::info!(
                "open files: {soft} (hard limit {hard}); at most {} connections",
                limits.max_connections
            );
        }
        Err(error) => tracing::warn!("could not read or raise the open-files limit: {error}"),
    }
    limits
}

/// Why the service could not start or stopped serving.
#[derive(Debug)]
pub enum StartError {
    /// No Redis could be had.
    Redis(SetupError),
    /// Redis answered the connection but not the scripts' loading.
    Store(Unavailable),
    /// `HOST:PORT` or `METRICS_ADDR` could not be bound.
    Listen {
        /// Which setting: `HOST:PORT` or `METRICS_ADDR`.
        what: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// `REDIS_CLUSTER` was set, but this build cannot start a cluster (feature `private-redis`).
    NoPrivateCluster,
    /// The accept loop failed.
    Serve(std::io::Error),
}

impl From<SetupError> for StartError {
    fn from(error: SetupError) -> Self {
        StartError::Redis(error)
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Redis(error) => error.fmt(f),
            StartError::Store(error) => write!(f, "cannot load the store's scripts: {error}"),
            StartError::Listen { what, addr, source } => {
                write!(f, "cannot listen on {addr} ({what}): {source}")?;
                if source.kind() != io::ErrorKind::AddrInUse {
                    return Ok(());
                }
                match *what {
                    "METRICS_ADDR" => f.write_str(
                        ". Another process holds it, perhaps another instance of this service on this \
                         host: give each instance its own METRICS_ADDR (127.0.0.1:0 picks a free port, \
                         printed at start), or METRICS_ADDR=off to serve no metrics",
                    ),
                    _ => f.write_str(
                        ". Another process holds it, perhaps another instance of this service: give \
                         this one another PORT (PORT=0 picks a free port, printed at start)",
                    ),
                }
            }
            StartError::NoPrivateCluster => f.write_str(
                "REDIS_CLUSTER needs the private-redis feature; set REDIS_URL to a cluster node instead",
            ),
            StartError::Serve(error) => write!(f, "serving stopped: {error}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Redis(error) => Some(error),
            StartError::Store(error) => Some(error),
            StartError::Listen { source, .. } => Some(source),
            StartError::Serve(error) => Some(error),
            StartError::NoPrivateCluster => None,
        }
    }
}
