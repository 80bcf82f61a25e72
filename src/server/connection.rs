//! One connection's deadlines: [`Deadlines`] times its reads and writes (a request head must
//! arrive in time, an idle connection is closed, a client must keep reading), and [`Tracked`]
//! serves its requests, timing a body's parts and the whole request.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use crate::error::ApiError;

use super::Limits;

/// Whether a connection is serving a request, shared by its reader ([`Deadlines`]) and its
/// service ([`Tracked`]).
#[derive(Debug, Default)]
pub(super) struct Phase {
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
pub(super) struct Deadlines {
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
    pub(super) fn new(io: TcpStream, phase: Arc<Phase>, limits: Limits) -> Deadlines {
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
pub(super) struct Tracked {
    pub(super) router: Router,
    pub(super) phase: Arc<Phase>,
    pub(super) limits: Limits,
    pub(super) peer: SocketAddr,
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
