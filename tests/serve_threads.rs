//! `serve_on_threads`, what `SERVE_THREADS` chooses: a single-threaded runtime per serving
//! thread, each with its own accept loop. Tried over real HTTP on port 0: two threads serve at
//! once, the connection cap is one for all of them, a thread that cannot start stops the start,
//! and after shutdown the port is closed.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use session_storage::server::{Limits, serve_on_threads};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Answers with the name of the thread that served it; `/block` first holds that thread for
/// 500 ms without yielding, as a handler that computes would.
fn router() -> Router {
    let name = || std::thread::current().name().unwrap_or_default().to_string();
    Router::new().route("/thread", get(move || async move { name() })).route(
        "/block",
        get(move || async move {
            std::thread::sleep(Duration::from_millis(500));
            name()
        }),
    )
}

/// Serves [`router`] on `threads` threads; returns the address, the shutdown trigger and the
/// task that ends with `serve_on_threads`' result.
async fn start(
    threads: usize,
    limits: Limits,
) -> (SocketAddr, oneshot::Sender<()>, JoinHandle<io::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let make_router = || async { Ok(router()) };
    let shutdown = async move {
        let _ = stopped.await;
    };
    let served = tokio::spawn(serve_on_threads(
        listener,
        threads,
        make_router,
        shutdown,
        limits,
        metrics::Gauge::noop(),
    ));
    (addr, stop, served)
}

/// `GET path` on a connection of its own; the body.
fn get_on_new_connection(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    answer.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
}

/// Waits until nothing accepts on `addr` any more.
fn wait_until_closed(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).is_ok() {
        assert!(Instant::now() < deadline, "{addr} still accepts connections");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// While one serving thread is held by a handler that does not yield, a new connection is
/// accepted and answered by the other: two independent threads serve. After shutdown the call
/// returns `Ok` and the port is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_threads_serve_at_once_and_shutdown_closes_the_port() {
    let (addr, stop, served) = start(2, Limits::DEFAULT).await;
    let (held, other) = tokio::task::spawn_blocking(move || {
        let held = std::thread::spawn(move || get_on_new_connection(addr, "/block"));
        // Let the first thread take the blocking request before the next one arrives.
        std::thread::sleep(Duration::from_millis(150));
        let other = get_on_new_connection(addr, "/thread");
        (held.join().expect("held request"), other)
    })
    .await
    .expect("clients");
    assert!(held.starts_with("serve-") && other.starts_with("serve-"), "{held} / {other}");
    assert_ne!(
        held, other,
        "the second request waited for the held thread instead of being served by the other"
    );

    let _ = stop.send(());
    let result = tokio::time::timeout(Duration::from_secs(10), served).await.expect("stops").expect("task");
    assert!(result.is_ok(), "{result:?}");
    assert!(TcpStream::connect(addr).is_err(), "the port still accepts after shutdown");
}

/// `MAX_CONNECTIONS` bounds the process, not each thread: with a cap of 4 on 2 threads, four
/// half-open connections fill it, and every further one is closed at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_is_one_for_all_threads() {
    let limits = Limits { max_connections: 4, header_timeout: Duration::from_secs(60), ..Limits::DEFAULT };
    let (addr, stop, served) = start(2, limits).await;
    let refused = tokio::task::spawn_blocking(move || {
        let mut held = Vec::new();
        for _ in 0..4 {
            let mut stream = TcpStream::connect(addr).expect("connect");
            stream.write_all(b"GET /thread HTTP/1.1\r\nHost: te").expect("half a request");
            held.push(stream);
        }
        std::thread::sleep(Duration::from_millis(300));
        let mut refused = 0;
        for _ in 0..6 {
            let mut stream = TcpStream::connect(addr).expect("connect");
            stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
            let _ = stream.write_all(b"GET /thread HTTP/1.1\r\nHost: test\r\n\r\n");
            let mut buffer = [0u8; 64];
            if matches!(stream.read(&mut buffer), Ok(0) | Err(_)) {
                refused += 1;
            }
        }
        drop(held);
        refused
    })
    .await
    .expect("clients");
    assert_eq!(refused, 6, "a connection past the shared cap was served");
    let _ = stop.send(());
    let result = tokio::time::timeout(Duration::from_secs(10), served).await.expect("stops").expect("task");
    assert!(result.is_ok(), "{result:?}");
}

/// A thread whose router cannot be built (say, its Redis connection failed) ends the call at
/// once with that error, without waiting for the shutdown signal, and the threads that did
/// start stop: the port closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_that_cannot_start_stops_the_start() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let built = Arc::new(AtomicUsize::new(0));
    let make_router = move || {
        let built = built.clone();
        async move {
            if built.fetch_add(1, Ordering::SeqCst) == 1 {
                return Err(io::Error::other("no Redis for this thread"));
            }
            Ok(router())
        }
    };
    let served = serve_on_threads(
        listener,
        2,
        make_router,
        std::future::pending(),
        Limits::DEFAULT,
        metrics::Gauge::noop(),
    );
    let result =
        tokio::time::timeout(Duration::from_secs(10), served).await.expect("returns without a shutdown");
    let error = result.expect_err("a thread failed to start");
    assert_eq!(error.to_string(), "no Redis for this thread");
    tokio::task::spawn_blocking(move || wait_until_closed(addr)).await.expect("closed");
}

/// The shutdown future is watched from the start, while a thread is still building its router:
/// a signal handler it installs (the binary's SIGTERM) is in place before any request can be
/// answered. A shutdown that comes during the start stops every thread, the slow one included,
/// and the call returns `Ok`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_watched_while_the_threads_start() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let built = Arc::new(AtomicUsize::new(0));
    let make_router = {
        let release = release.clone();
        move || {
            let (release, built) = (release.clone(), built.clone());
            async move {
                if built.fetch_add(1, Ordering::SeqCst) == 1 {
                    // The second thread starts only once the test lets it.
                    let _ = release.acquire().await.map_err(io::Error::other)?;
                }
                Ok(router())
            }
        }
    };
    let watched = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = {
        let watched = watched.clone();
        async move {
            watched.store(true, Ordering::SeqCst);
            let _ = stopped.await;
        }
    };
    let served = tokio::spawn(serve_on_threads(
        listener,
        2,
        make_router,
        shutdown,
        Limits::DEFAULT,
        metrics::Gauge::noop(),
    ));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !watched.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the shutdown was not watched while a thread was starting");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop.send(());
    release.add_permits(1);
    let result = tokio::time::timeout(Duration::from_secs(10), served).await.expect("stops").expect("task");
    assert!(result.is_ok(), "{result:?}");
    tokio::task::spawn_blocking(move || wait_until_closed(addr)).await.expect("closed");
}
