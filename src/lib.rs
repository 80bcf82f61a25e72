//! # session-storage
//!
//! Web login sessions stored in Redis: a workbook of lessons and the real service they build.
//!
//! ## Layout, bottom to top, and the lesson that introduces each part
//!
//! | module | what | lesson |
//! |---|---|---|
//! | [`store`] | the session as a Redis hash; create, read-and-renew, destroy; the user registry; each user's index of sessions | 01 hash basics, 02 expire, 03 sliding TTL, 06 every device |
//! | `redis_conn` | the shared connection, and a private `redis-server` when none runs ([`connect_or_start`]) | 01 (every lesson uses it) |
//! | `cluster` | Redis Cluster: detected from `REDIS_URL`, redis-rs's cluster connection, [`PrivateCluster`] | 07 scale out |
//! | [`cookies`] | reading `session_id` and writing `Set-Cookie` | 04 cookie flow |
//! | `error` | [`ApiError`], the one error type; every error is `{"detail": ...}` | 05 full server |
//! | `origin` | cross-site requests refused on every state-changing route ([`AllowedOrigins`]) | 06 |
//! | [`http`] | [`app`], the handlers | 04, 05, 06 |
//! | `server` | [`serve`]: the accept loop with its [`Limits`] (timeouts, connection cap), graceful shutdown | 05 |
//! | `docs` | `/openapi.json` and Swagger UI at `/docs` | 05 |
//! | `page` | the page at `/`: the cookie flow in a browser (HTML, script and style compiled in) | 04, 06 |
//! | `config` | [`Config`]: environment variables, checked at start | 05 |
//! | [`workbook`] | narration, the lesson runner, Redis's command counters (feature `workbook`) | all lessons |
//!
//! The store knows nothing of HTTP; `http` builds on the store, `cookies` and `error`; `docs`
//! depends on nothing in the crate. The entry point is thin on purpose
//! (`examples/05_full_server.rs`): read [`Config`], get Redis with [`connect_or_start`], build a
//! [`SessionStore`], bind a listener, and `serve(listener, app(state), shutdown)`. Tests do the
//! same on port 0.
//!
//! ## What is public, and for whom
//!
//! - For an application: the items re-exported here ([`Config`], [`SessionStore`], [`app`],
//!   [`serve`], ...).
//! - For the lessons and exercises, which call the service's own building blocks: the
//!   [`store`], [`cookies`] and [`http`] modules.
//! - For the workbook only: the [`workbook`] module (feature `workbook`, on by default).
//! - For this package's tests only: [`PrivateRedis`]'s chaos controls (feature `test-util`).

mod cluster;
mod config;
pub mod cookies;
mod docs;
mod error;
pub mod http;
mod origin;
mod page;
mod redis_conn;
mod server;
pub mod store;
#[cfg(feature = "workbook")]
pub mod workbook;

pub use cluster::{PrivateCluster, connect_cluster, hash_slot};
pub use config::{Config, ConfigError};
pub use error::{ApiError, ErrorBody};
pub use http::{AppState, app, app_with};
pub use origin::AllowedOrigins;
pub use redis_conn::{
    PrivateRedis, RedisHandle, RedisOrigin, SetupError, connect, connect_or_start, start_private_cluster,
};
pub use server::{Limits, raise_open_files_limit, serve, serve_with, shutdown_signal};
pub use store::{
    DeviceSession, Lifetimes, MAX_SESSIONS_PER_USER, Session, SessionId, SessionStore, StoreConnection,
    Touched, Unavailable,
};

/// Sets up logging: `RUST_LOG` if set, else `info` for this crate, `tower_http` and the
/// `binary` that calls it (pass `env!("CARGO_CRATE_NAME")`).
pub fn init_tracing(binary: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("session_storage=info,tower_http=info,{binary}=info")));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}
