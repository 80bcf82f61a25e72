//! [`serve_on_threads`]: one accept loop per thread, each thread a single-threaded Tokio runtime
//! with its own router (and so its own Redis connection), under one connection cap: the binary's
//! `SERVE_THREADS`. A request then never changes threads between its read, its Redis reply and
//! its answer, which the benchmark measures as worth about a fifth of `/profile`'s throughput
//! against one shared multi-threaded runtime.

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::Router;
use metrics::Gauge;
use tokio::net::TcpListener;

use super::{Cap, Limits, accept_loop};

// ANCHOR: serve_on_threads
/// Serves on `threads` threads, each a single-threaded Tokio runtime running [`serve_counted`](super::serve_counted)
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
///
/// Hidden from the docs: its gauge is the `metrics` crate's; an application gets serving
/// threads through `Service` (`SERVE_THREADS`), and this package's tests call it directly.
#[doc(hidden)]
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
