//! # session-storage
//!
//! Web login sessions stored in Redis: a workbook of lessons and the real service they build.
//!
//! ## Layout, and the lesson that introduces each part
//!
//! | module | what | lesson |
//! |---|---|---|
//! | [`store`] | the session as a Redis hash; create, read-and-renew, destroy; the user registry | 01 hash basics, 02 expire, 03 sliding TTL |
//! | [`redis_conn`] | the shared connection, and a private `redis-server` when none runs | 01 (every lesson uses it) |
//! | [`cookies`] | reading `session_id` and writing `Set-Cookie` | 04 cookie flow |
//! | [`http`] | `app(state)`, the handlers, `serve` | 04, 05 full server |
//! | [`error`] | the one error type; every error is `{"detail": ...}` | 05 |
//! | [`docs`] | `/openapi.json` and Swagger UI at `/docs` | 05 |
//! | [`config`] | environment variables, checked at start | 05 |
//! | [`narrate`] | how the lessons print each Redis command and its reply | all lessons |
//!
//! The entry point is thin on purpose (`examples/05_full_server.rs`): read [`config::Config`],
//! get Redis with [`redis_conn::connect_or_start`], build [`store::SessionStore`], bind a
//! listener, and `serve(listener, app(state))`. Tests do the same on port 0.

pub mod config;
pub mod cookies;
pub mod docs;
pub mod error;
pub mod http;
pub mod narrate;
pub mod redis_conn;
pub mod store;

pub use config::Config;
pub use http::{AppState, app, serve};
pub use store::{Session, SessionId, SessionStore};

/// Sets up logging: `RUST_LOG` if set, else `info` for this crate and `tower_http`.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("session_storage=info,tower_http=info,05_full_server=info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}
