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
//!   (tower-http's [`TimeoutBody`]), and a request with a body is answered within
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

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use metrics::Gauge;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use crate::error::ApiError;

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
struct Cap {
    permits: Arc<Semaphore>,
    max: usize,
    /// True from the moment the cap is reached until a tenth of it is free again.
    reached: AtomicBool,
}

impl Cap {
    fn new(max: usize) -> Cap {
        Cap { permits: Arc::new(Semaphore::new(max)), max, reached: AtomicBool::new(false) }
    }
}

/// One accept loop: [`serve_counted`]'s, or one serving thread's in [`serve_on_threads`].
async fn accept_loop(
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

// ANCHOR: serve_on_threads
/// Serves on `threads` threads, each a single-threaded Tokio runtime running [`serve_counted`]
/// on its own handle of `listener` (the kernel gives each new connection to whichever thread
/// accepts it first). Each thread builds
/// its router with `make_router`, on its own runtime, so what the router holds (the service's
/// Redis connection) lives where it is used: a request, its Redis reply and its answer are
/// handled on one core, with no hand-off between threads. This is what `SERVE_THREADS` chooses.
/// The connection cap (`limits.max_connections`) is one for all the threads.
///
/// A handler that computes for long blocks the other connections of its thread (there is no
/// work stealing): put such work (a password hash) in `tokio::task::spawn_blocking`.
///
/// Returns once every thread has stopped after `shutdown`, or at once with the error of a thread
/// that could not start (the others are stopped).
pub async fn serve_on_threads<F, Fut>(
    listener: TcpListener,
    threads: usize,
    make_router: F,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
    connections: Gauge,
) -> io::Result<()>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = io::Result<Router>>,
{
    let threads = threads.max(1);
    let listener = listener.into_std()?;
    let cap = Arc::new(Cap::new(limits.max_connections));
    // Dropped or set to true: every thread's accept loop stops.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut started = Vec::with_capacity(threads);
    let mut finished = Vec::with_capacity(threads);
    for index in 0..threads {
        let listener = listener.try_clone()?;
        let make_router = make_router.clone();
        let mut stopped = stopped.clone();
        let connections = connections.clone();
        let cap = cap.clone();
        let (ready, is_ready) = tokio::sync::oneshot::channel::<io::Result<()>>();
        let (done, is_done) = tokio::sync::oneshot::channel::<io::Result<()>>();
        std::thread::Builder::new().name(format!("serve-{index}")).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = ready.send(Err(error));
                    return;
                }
            };
            runtime.block_on(async move {
                let setup =
                    async { Ok::<_, io::Error>((TcpListener::from_std(listener)?, make_router().await?)) };
                let (listener, router) = match setup.await {
                    Ok(setup) => setup,
                    Err(error) => {
                        let _ = ready.send(Err(error));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                let shutdown = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                let _ = done.send(accept_loop(listener, router, shutdown, limits, connections, cap).await);
            });
        })?;
        started.push(is_ready);
        finished.push(is_done);
    }
    // Only the threads' handles remain: the port closes when the last of them stops.
    drop(listener);
    let all_started = async {
        for ready in started {
            ready.await.map_err(|_| io::Error::other("a serving thread ended while starting"))??;
        }
        Ok::<(), io::Error>(())
    };
    // `shutdown` is polled from the start, while the threads are still starting: a signal
    // handler it installs must be in place before the first request can be answered.
    let mut shutdown = std::pin::pin!(shutdown);
    let stopped_while_starting = tokio::select! {
        // An early return drops `stop`, which stops the threads already serving.
        started = all_started => {
            started?;
            false
        }
        () = &mut shutdown => true,
    };
    if !stopped_while_starting {
        shutdown.await;
    }
    let _ = stop.send(true);
    let mut result = Ok(());
    for done in finished {
        let served = match done.await {
            Ok(served) => served,
            // A thread that never got to serve, stopped before it started: nothing to report.
            Err(_) if stopped_while_starting => Ok(()),
            Err(_) => Err(io::Error::other("a serving thread ended without finishing")),
        };
        if let Err(error) = served
            && result.is_ok()
        {
            result = Err(error);
        }
    }
    result
}
// ANCHOR_END: serve_on_threads

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

/// Whether a connection is serving a request, shared by its reader ([`Deadlines`]) and its
/// service ([`Tracked`]).
#[derive(Debug, Default)]
struct Phase {
    busy: AtomicBool,
    /// Counts finished requests, so the reader sees every return to idle.
    finished: AtomicU64,
}

/// A connection's reads with the head and idle deadlines. Between requests the connection is
/// idle until its next request's first byte, then has the header timeout to finish the head;
/// while a request is served, the body's own timeouts apply instead.
///
/// The timer is moved lazily: a new deadline is only written down (`due`), and the timer is
/// re-armed when a read actually has to wait past it or when it fires early. A keep-alive
/// connection under load therefore touches Tokio's timer about once per timeout, not once per
/// request.
struct Deadlines {
    io: TcpStream,
    phase: Arc<Phase>,
    limits: Limits,
    /// When the current wait must end.
    due: Instant,
    /// The timer, armed at `armed` (never later than `due` while a read waits).
    timer: Pin<Box<Sleep>>,
    armed: Instant,
    waiting: Waiting,
    seen_finished: u64,
    /// Bytes of a next request arrived while one was being served (pipelining).
    read_while_busy: bool,
    /// While writes make no progress (the client stopped reading): when that must end.
    write_due: Option<Instant>,
    write_timer: Pin<Box<Sleep>>,
    write_armed: Option<Instant>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// No byte of the next request yet.
    Idle,
    /// Part of a request head has arrived (or the connection is new).
    Head,
    /// A request is being served.
    Busy,
}

impl Deadlines {
    fn new(io: TcpStream, phase: Arc<Phase>, limits: Limits) -> Deadlines {
        // A new connection owes its first request head within the header timeout.
        let due = Instant::now() + limits.header_timeout;
        let timer = Box::pin(tokio::time::sleep_until(due));
        Deadlines {
            io,
            phase,
            limits,
            due,
            timer,
            armed: due,
            waiting: Waiting::Head,
            seen_finished: 0,
            read_while_busy: false,
            write_due: None,
            write_timer: Box::pin(tokio::time::sleep_until(due)),
            write_armed: None,
        }
    }

    /// Wraps one write-side poll. A client that stops reading stalls our writes; it then has
    /// `idle_timeout` to read again before the connection fails, so neither a connection nor a
    /// graceful shutdown can wait on it forever. Progress clears the stall and, between requests,
    /// restarts the idle wait (an answer still being sent is not idleness).
    fn guard_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<T>>,
        wrote_bytes: impl FnOnce(&T) -> bool,
    ) -> Poll<io::Result<T>> {
        match result {
            Poll::Ready(result) => {
                self.write_due = None;
                // hyper flushes right after it has written an answer, but may not read again
                // until the client sends something: so the wait for the next request starts
                // here, and its deadline is armed on this task now.
                // (`expired` only arms the timer here: the deadline is a whole timeout away, and
                // `poll_read` reports it when it passes.)
                if self.after_answer() {
                    let _ = self.expired(cx);
                }
                // Bytes sent between requests: an answer is still going out, which is not idleness.
                // (A flush with nothing to send is not progress: hyper flushes on every poll.)
                if self.waiting == Waiting::Idle && result.as_ref().is_ok_and(wrote_bytes) {
                    self.due = self.due.max(Instant::now() + self.limits.idle_timeout);
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                let due = *self.write_due.get_or_insert_with(|| Instant::now() + self.limits.idle_timeout);
                if self.write_armed != Some(due) {
                    self.write_armed = Some(due);
                    self.write_timer.as_mut().reset(due);
                }
                if self.write_timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "client stopped reading",
                    )));
                }
                Poll::Pending
            }
        }
    }

    /// After a request was answered: the connection is idle from now on, unless part of the next
    /// request came in meanwhile (then its head is being received). True when it changed state.
    fn after_answer(&mut self) -> bool {
        if self.phase.busy.load(Ordering::Acquire) {
            return false;
        }
        let finished = self.phase.finished.load(Ordering::Acquire);
        if self.waiting != Waiting::Busy && finished == self.seen_finished {
            return false;
        }
        self.seen_finished = finished;
        if std::mem::take(&mut self.read_while_busy) {
            self.waiting = Waiting::Head;
            self.due = Instant::now() + self.limits.header_timeout;
        } else {
            self.waiting = Waiting::Idle;
            self.due = Instant::now() + self.limits.idle_timeout;
        }
        true
    }

    /// Called when a read has to wait: true once `due` has passed.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if self.armed > self.due {
            self.armed = self.due;
            self.timer.as_mut().reset(self.due);
        }
        while self.timer.as_mut().poll(cx).is_ready() {
            if Instant::now() >= self.due {
                return true;
            }
            // Fired for an earlier deadline that has since moved on: wait for the current one.
            self.armed = self.due;
            self.timer.as_mut().reset(self.due);
        }
        false
    }
}

impl AsyncRead for Deadlines {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.phase.busy.load(Ordering::Acquire) {
            this.waiting = Waiting::Busy;
            let before = buf.filled().len();
            let result = Pin::new(&mut this.io).poll_read(cx, buf);
            this.read_while_busy |= buf.filled().len() > before;
            return result;
        }
        this.after_answer();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if this.waiting == Waiting::Idle && buf.filled().len() > before {
                    this.waiting = Waiting::Head;
                    this.due = Instant::now() + this.limits.header_timeout;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            // While an answer cannot be sent, the write deadline governs, not this one.
            Poll::Pending if this.write_due.is_some() => Poll::Pending,
            Poll::Pending => {
                if this.expired(cx) {
                    let why = match this.waiting {
                        Waiting::Idle => "idle keep-alive connection closed",
                        _ => "request head not received in time",
                    };
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)));
                }
                Poll::Pending
            }
        }
    }
}

impl AsyncWrite for Deadlines {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write(cx, buf);
        this.guard_write(cx, result, |n| *n > 0)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.guard_write(cx, result, |n| *n > 0)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_flush(cx);
        this.guard_write(cx, result, |()| false)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_shutdown(cx);
        this.guard_write(cx, result, |()| false)
    }
}

/// The router as one connection's hyper service: marks the connection busy while a request is
/// served, times the body's parts and the whole request, and answers a timeout with 408.
#[derive(Clone)]
struct Tracked {
    router: Router,
    phase: Arc<Phase>,
    limits: Limits,
    peer: SocketAddr,
}

impl hyper::service::Service<Request<Incoming>> for Tracked {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.phase.busy.store(true, Ordering::Release);
        let Tracked { router, phase, limits, peer } = self.clone();
        // Only a request with a body can trickle; one without is bounded by its handler's Redis
        // deadline (`REDIS_TIMEOUT_MS`), so it needs no timer of its own.
        let has_body = !hyper::body::Body::is_end_stream(request.body());
        let mut request = request.map(|body| Body::new(TimeoutBody::new(limits.body_timeout, body)));
        request.extensions_mut().insert(ConnectInfo(peer));
        Box::pin(async move {
            let response = if has_body {
                match tokio::time::timeout(limits.request_timeout, router.oneshot(request)).await {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => ApiError::RequestTimeout.into_response(),
                }
            } else {
                match router.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            };
            phase.finished.fetch_add(1, Ordering::AcqRel);
            phase.busy.store(false, Ordering::Release);
            Ok(response)
        })
    }
}
