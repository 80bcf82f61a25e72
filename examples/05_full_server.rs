//! # Lesson 05: the full server
//!
//! The session service itself, as a thin `main`: read the configuration and call
//! [`session_storage::run`], which finds Redis, builds the store and `app(state)`, and serves
//! until Ctrl-C. Everything else lives in the library (`src/`), where the tests exercise it on
//! port 0. The installed binary (`src/main.rs`, `cargo install --path .`) is the same call.
//!
//! Run it: `cargo run --example 05_full_server`, then open http://127.0.0.1:8002/ or follow the
//! curl walkthrough in README.md. `REDIS_CLUSTER=3` runs it on a private Redis Cluster (lesson 07).
//! Redis commands it sends: SCRIPT LOAD and TIME at start, then what each route sends, as the
//! table `tests/snapshots/route_costs__route_costs.snap` counts it (chapter 05 shows it): the
//! login's <!-- sends: POST /login | a new session -->EVALSHA (the login throttle of lesson 09;
//! the per-user index's other scripts of lesson 06 go by EVALSHA too), EVAL of the index script,
//! MULTI/HSET/EXPIRE/EXEC and MULTI/ZSCORE/XADD/PEXPIRE/EXEC; the
//! read-and-renew's <!-- sends: GET /sessions | two sessions -->HMGET/EXPIRE/PEXPIRETIME, and the
//! list of sessions' HMGET/PTTL; the logout's <!-- sends: POST /logout | a live session -->HGET/DEL and
//! the unlist script, with its ZREM; `/health`'s <!-- sends: GET /health | Redis's memory -->INFO
//! memory (on a cluster also CLUSTER SLOTS).
//! Test: `tests/05_full_server.rs`. Chapter: `book/src/05-full-server.md`.

use std::process::ExitCode;

use axum::Router;
use session_storage::Config;

/// mimalloc, as in the installed binary (see `src/main.rs`).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// ANCHOR: main
#[tokio::main]
async fn main() -> ExitCode {
    // Every step that can fail returns its error; `main` prints it once.
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    // The service's log, on stderr (`RUST_LOG` chooses how much); `run` installs none itself.
    session_storage::init_tracing(env!("CARGO_CRATE_NAME"));
    match session_storage::run(config, Router::new()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
// ANCHOR_END: main
