//! # Lesson 05: the full server
//!
//! The session service itself, as a thin `main`: read the configuration, find Redis, build the
//! store and `app(state)`, and serve until Ctrl-C. Everything else lives in the library (`src/`),
//! where the tests exercise it on port 0.
//!
//! Run it: `cargo run --example 05_full_server`, then follow the curl walkthrough in README.md.
//! Redis commands it sends: EVALSHA (read-and-renew, user registry), MULTI/HSET/EXPIRE/EXEC, DEL, PING.
//! Test: `tests/05_full_server.rs`. Chapter: `book/src/05-full-server.md`.

use std::process::ExitCode;

use session_storage::http::shutdown_signal;
use session_storage::redis_conn::{RedisOrigin, connect_or_start};
use session_storage::{AppState, Config, SessionStore, app, serve};

/// mimalloc instead of the system allocator: the request path allocates small buffers, and
/// glibc's malloc and free were about 7% of the server's CPU under load (see the Performance
/// chapter).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// ANCHOR: main
#[tokio::main]
async fn main() -> ExitCode {
    session_storage::init_tracing();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => return fail(&error),
    };
    let redis = match connect_or_start(config.redis_url.as_deref(), config.redis_timeout).await {
        Ok(redis) => redis,
        Err(error) => return fail(&error),
    };
    tracing::info!("{}", redis.describe());
    let store = SessionStore::new(
        redis.manager.clone(),
        config.session_ttl,
        config.absolute_ttl,
        config.redis_timeout,
    );
    let store = match store.await {
        Ok(store) => store,
        Err(error) => return fail(&error),
    };
    let listener = match tokio::net::TcpListener::bind(config.addr()).await {
        Ok(listener) => listener,
        Err(error) => return fail(&format!("cannot listen on {}: {error}", config.addr())),
    };
    tracing::info!("listening on http://{} (API docs at /docs)", config.addr());
    let state = AppState { store, cookie_secure: config.cookie_secure };
    let served = serve(listener, app(state), shutdown_signal()).await;
    if let RedisOrigin::Private(server) = redis.origin {
        tracing::info!("stopping the private redis-server on port {}", server.port());
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}
// ANCHOR_END: main

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}
