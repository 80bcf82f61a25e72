//! # Lesson 05: the full server
//!
//! The session service itself, as a thin `main`: read the configuration, find Redis, build the
//! store and `app(state)`, and serve until Ctrl-C. Everything else lives in the library (`src/`),
//! where the tests exercise it on port 0.
//!
//! Run it: `cargo run --example 05_full_server`, then open http://127.0.0.1:8002/ or follow the
//! curl walkthrough in README.md. `REDIS_CLUSTER=3` runs it on a private Redis Cluster (lesson 07).
//! Redis commands it sends: SCRIPT LOAD at start; EVALSHA (read-and-renew, user registry, the
//! per-user index of lesson 06), MULTI/HSET/EXPIRE/EXEC, MULTI/HGET/DEL/EXEC, DEL, HMGET, PTTL,
//! ZREM, INFO memory (`/health`; on a cluster also CLUSTER SLOTS).
//! Test: `tests/05_full_server.rs`. Chapter: `book/src/05-full-server.md`.

use std::error::Error;
use std::process::ExitCode;

use session_storage::{
    AppState, Config, RedisOrigin, SessionStore, app, connect_or_start, raise_open_files_limit, serve_with,
    shutdown_signal, start_private_cluster,
};

/// mimalloc instead of the system allocator: the request path allocates small buffers, and
/// glibc's malloc and free were about 7% of the server's CPU under load (see the Performance
/// chapter).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// ANCHOR: main
#[tokio::main]
async fn main() -> ExitCode {
    session_storage::init_tracing(env!("CARGO_CRATE_NAME"));
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Every step that can fail returns its error with `?`; `main` prints it once.
async fn run() -> Result<(), Box<dyn Error>> {
    let config = Config::from_env()?;
    let redis = match (config.private_cluster, config.redis_url.as_deref()) {
        (Some(masters), None) => start_private_cluster(masters, config.redis_timeout).await?,
        (_, url) => connect_or_start(url, config.redis_timeout).await?,
    };
    tracing::info!("{}", redis.describe());
    if let Some(warning) = redis.version_warning() {
        tracing::warn!("{warning}");
    }
    let store = SessionStore::new(redis.store_connection(), config.lifetimes, config.redis_timeout)
        .await?
        .with_max_sessions_per_user(config.max_sessions_per_user);
    let addr = config.addr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error}"))?;
    // The address actually bound: with PORT=0 the system picks the port.
    let addr = listener.local_addr()?;
    tracing::info!("listening on http://{addr} (API docs at /docs)");
    let mut limits = config.limits;
    match raise_open_files_limit() {
        Ok((soft, hard)) => {
            // Keep some descriptors for Redis, logs and the listener itself.
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
    let state =
        AppState { store, cookie_secure: config.cookie_secure, allowed_origins: config.allowed_origins };
    let served = serve_with(listener, app(state), shutdown_signal(), limits).await;
    match redis.origin {
        RedisOrigin::Private(server) => {
            tracing::info!("stopping the private redis-server on port {}", server.port());
        }
        RedisOrigin::PrivateCluster(cluster) => {
            tracing::info!("stopping the private Redis Cluster ({} nodes)", cluster.nodes().len());
        }
        _ => {}
    }
    Ok(served?)
}
// ANCHOR_END: main
