//! Serving connections: the accept loop, its limits, and graceful shutdown.
//!
//! `axum::serve` waits forever for a client that sends half a request, keeps an idle connection
//! open forever, and accepts connections until the process runs out of file descriptors. This
//! loop is the same hyper server with limits (see [`Limits`]):
//!
//! - **A request head must arrive in time.** A connection gets `header_timeout` from its first
//!   byte (or from the moment it was accepted) to send a complete request head, so a client that
//!   sends half a request line and waits is disconnected.
//! - **An idle keep-alive connection is closed** after `idle_timeout` without a new request.
//!   hyper has only one timer for both, started as soon as a connection waits for its next
//!   request, so these two are measured here, on the connection's reads, with Tokio's timer.
//! - **A request body must keep coming**: each part within `body_timeout`
//!   (tower-http's [`TimeoutBody`](tower_http::timeout::TimeoutBody)), and a request with a body is answered within
//!   `request_timeout`; both answer 408 `{"detail": ...}`. (A request without a body cannot
//!   trickle, and its handler is bounded by the Redis deadline, `REDIS_TIMEOUT_MS`.)
//! - **A client must keep reading.** While our writes make no progress (the client stopped
//!   reading its answers), it has `idle_timeout` to resume, or the connection is closed; so
//!   neither a connection slot nor a graceful shutdown can be held by it forever.
//! - **At most `max_connections` at once.** Past the cap a new connection is accepted and closed
//!   at once, so the accept loop never stalls and the sockets it holds stay bounded; the cap is
//!   logged once when reached, not once per connection.
//! - **Graceful shutdown**: on the shutdown signal the listener closes, idle connections close,
//!   and requests in flight finish (hyper-util's [`GracefulShutdown`]).
//!
//! [`serve_on_threads`] runs one such accept loop per thread, each thread a single-threaded
//! runtime with its own router (and so its own Redis connection), under one connection cap:
//! the binary's `SERVE_THREADS`. A request then never changes threads between its read, its
//! Redis reply and its answer, which the benchmark measures as worth about a fifth of
//! `/profile`'s throughput against one shared multi-threaded runtime.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use metrics::Gauge;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

mod connection;
mod threads;

use connection::{Deadlines, Phase, Tracked};
pub use threads::serve_on_threads;

/// The limits [`serve_with`] puts on every connection. The defaults suit a service behind a load
/// balancer; `Config` reads each from the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `HEADER_TIMEOUT_SECS`, default 10: time to send a complete request head.
    pub header_timeout: Duration,
    /// `IDLE_TIMEOUT_SECS`, default 60: how long a keep-alive connection may wait for its next
    /// request (keep it above your load balancer's idle timeout).
    pub idle_timeout: Duration,
    /// `BODY_TIMEOUT_SECS`, default 10: the longest wait for the next part of a request body.
    pub body_timeout: Duration,
    /// `REQUEST_TIMEOUT_SECS`, default 30: the longest a request with a body may take, from its
    /// head to its answer.
    pub request_timeout: Duration,
    /// `MAX_CONNECTIONS`, default 10000: connections held at once.
    pub max_connections: usize,
}

impl Limits {
    /// The defaults described on each field.
    pub const DEFAULT: Limits = Limits {
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        body_timeout: Duration::from_secs(10),
        request_timeout: Duration::from_secs(30),
        max_connections: 10_000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Serves `router` on `listener` with the default [`Limits`] until `shutdown` completes, then
/// lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(listener, router, shutdown, Limits::DEFAULT).await
}

// ANCHOR: serve_with
/// Serves `router` on `listener` with `limits` until `shutdown` completes, then stops accepting,
/// closes idle connections and lets requests in flight finish.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> io::Result<()> {
    serve_counted(listener, router, shutdown, limits, Gauge::noop()).await
}

/// [`serve_with`], keeping `connections` at the number of connections open (the service passes
/// its `session_connections` gauge).
///
/// Each request carries axum's `ConnectInfo<SocketAddr>` with the TCP peer, which the login
/// throttle's [`ClientAddr`](crate::http::ClientAddr) reads.
///
/// Hidden from the docs: its gauge is the `metrics` crate's; the service and this package's
/// tests use it, an application [`serve_with`] (or `Service`, which counts its connections).
#[doc(hidden)]
pub async fn serve_counted(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
    connections: Gauge,
) -> io::Result<()> {
    let cap = Arc::new(Cap::new(limits.max_connections));
    accept_loop(listener, router, shutdown, limits, connections, cap).await
}

/// The connection cap, shared by every accept loop of one service (one per serving thread), so
/// `MAX_CONNECTIONS` bounds the whole process and reaching it is logged once.
pub(super) struct Cap {
    permits: Arc<Semaphore>,
    max: usize,
    /// True from the moment the cap is reached until a tenth of it is free again.
    reached: AtomicBool,
}

impl Cap {
    pub(super) fn new(max: usize) -> Cap {
        Cap { permits: Arc::new(Semaphore::new(max)), max, reached: AtomicBool::new(false) }
    }
}

/// One accept loop: [`serve_counted`]'s, or one serving thread's in [`serve_on_threads`].
pub(super) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
    connections: Gauge,
    cap: Arc<Cap>,
) -> io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // No timer for hyper: given one, it arms its own 30-second header timer on every request,
    // which would also close idle connections at 30 s. The head and idle deadlines are ours.
    http.keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before accept: wait a
                    // moment instead of spinning, and carry on.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = cap.permits.clone().try_acquire_owned() else {
            if !cap.reached.swap(true, Ordering::AcqRel) {
                tracing::warn!(
                    max_connections = cap.max,
                    "connection cap reached: new connections are closed until some finish"
                );
            }
            drop(stream);
            continue;
        };
        if cap.reached.load(Ordering::Acquire)
            && cap.permits.available_permits() >= (cap.max / 10).max(1)
            && cap.reached.swap(false, Ordering::AcqRel)
        {
            tracing::info!("back under the connection cap");
        }
        let _ = stream.set_nodelay(true);
        let phase = Arc::new(Phase::default());
        let io = TokioIo::new(Deadlines::new(stream, phase.clone(), limits));
        let service = Tracked { router: router.clone(), phase, limits, peer };
        let connection = graceful.watch(http.serve_connection(io, service));
        let open = connections.clone();
        open.increment(1.0);
        tokio::spawn(async move {
            let _ = connection.await;
            open.decrement(1.0);
            drop(permit);
        });
    }
    drop(listener);
    // Every connection ends by itself within these limits (a request within its timeouts, a
    // stalled write within the idle timeout); the bound is a backstop.
    let grace = limits.request_timeout + limits.idle_timeout;
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open {} s after shutdown began: closing them", grace.as_secs());
    }
    Ok(())
}
// ANCHOR_END: serve_with

/// The cores this process may use: the default number of serving threads (`SERVE_THREADS`).
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Raises this process's open-files soft limit to its hard limit, so the connection cap, not the
/// system default (often 1024), decides how many connections fit. Returns `(soft, hard)`.
pub fn raise_open_files_limit() -> io::Result<(u64, u64)> {
    let soft = rlimit::increase_nofile_limit(u64::MAX)?;
    let (_, hard) = rlimit::Resource::NOFILE.get()?;
    Ok((soft, hard))
}
