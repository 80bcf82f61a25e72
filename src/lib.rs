//! # session-storage
//!
//! Web login sessions stored in Redis: a workbook of lessons, the real service they build, and
//! a library your own axum app can adopt.
//!
//! ## Use it in your own axum app
//!
//! Take [`Authenticated`] in a handler and it runs only for a live session, renewed
//! in <!-- cost: 08_your_app | GET /hello -->one Redis round trip, with the renewed cookie on its answer; a state-changing route is also
//! refused from another site (403). [`run`] serves your routes beside the service's own
//! (`/login`, `/profile`, `/logout`, ..., `/docs`):
//!
//! ```no_run
//! // ANCHOR: adopt
//! use axum::{Router, routing::{get, post}};
//! use session_storage::{AppState, Authenticated, Config};
//!
//! async fn hello(who: Authenticated) -> String {
//!     format!("hello {} ({})", who.username(), who.user_id())
//! }
//!
//! async fn act(who: Authenticated) -> String {
//!     format!("done for {}", who.username())
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let routes: Router<AppState> = Router::new().route("/hello", get(hello)).route("/act", post(act));
//!     session_storage::run(Config::from_env()?, routes).await?;
//!     Ok(())
//! }
//! // ANCHOR_END: adopt
//! ```
//!
//! ## Layout, bottom to top, and the lesson that introduces each part
//!
//! Every `use crate::...` points down this table: a module imports only the ones above it.
//!
//! | module | what | lesson |
//! |---|---|---|
//! | [`metrics`] | [`Metrics`]: the service's counters, rendered for `GET /metrics` (Prometheus) | 09 |
//! | [`client`] | who is asking: the client's address, `TRUSTED_PROXIES` and `X-Forwarded-For` | 09 |
//! | [`redis`] | getting Redis: [`connect_or_start`], the one connection type [`Backend`] (single Redis or cluster), Redis Cluster, and with feature `private-redis` a private `redis-server` or cluster | 01, 07 |
//! | [`workbook`] | narration (a [`Narrated`](workbook::Narrated) wrapper around any connection), the lesson runner, Redis's command counters (feature `workbook`) | all lessons |
//! | [`store`] | the session as a Redis hash; create, read-and-renew, destroy; the user's id; each user's index of sessions and the privileged window; each user's security log (a stream); the login throttle; health | 01, 02, 03, 06, 09, 10 |
//! | [`cookies`] | reading `session_id` and writing `Set-Cookie` | 04 |
//! | [`device`] | naming a device from its `User-Agent` ("Firefox on Linux") | 06 |
//! | `credentials` | [`PasswordCheck`]: the one place a password is checked (login, re-authentication) | 05, 06 |
//! | `error` | [`ApiError`], the one error type; every error is `{"detail": ...}` | 05 |
//! | `origin` | which requests are cross-site ([`AllowedOrigins`]) | 06 |
//! | `docs` | `/openapi.json` and Swagger UI at `/docs` | 05 |
//! | `page` | the page at `/`: the cookie flow in a browser (HTML, script and style compiled in) | 04, 06 |
//! | [`http`] | [`app`], the handlers, and the extractors [`Authenticated`] and [`SameOrigin`] | 04, 05, 06, 08 |
//! | `server` | [`serve`]: the accept loop with its [`Limits`] (timeouts, connection cap), graceful shutdown | 05 |
//! | `config` | [`Config`]: environment variables, checked at start | 05 |
//! | `service` | [`run`]: all of the above as one call, what the binary (`src/main.rs`) does | 05, 08 |
//!
//! The store knows nothing of HTTP; `http` builds on the store, `cookies` and `error`. Tests
//! start the same pieces on port 0.
//!
//! ## What is public, and for whom
//!
//! - For an application: [`Authenticated`], [`run`], [`Config`], [`AppState`], and the pieces
//!   [`run`] is made of ([`app_with`], [`serve`], [`SessionStore`], ...).
//! - For the lessons and exercises, which call the service's own building blocks: the
//!   [`store`], [`cookies`], [`http`] and [`redis`] modules.
//! - For the workbook only: the [`workbook`] module (feature `workbook`, on by default).
//! - For this package's tests only: [`PrivateRedis`]'s chaos controls (feature `test-util`).
//!
//! ## Features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `private-redis` | on | start a private `redis-server` (or cluster) when none runs; needs `tempfile` |
//! | `workbook` | on | the lessons' narration and counters (`colored`); turns on `private-redis` |
//! | `mimalloc` | on | the binary's allocator |
//! | `test-util` | off | chaos controls on the private servers, for this package's tests |
//!
//! A library user who brings their own Redis can build with `default-features = false`: no
//! process management, no `tempfile`, no `colored`.

pub mod client;
mod config;
pub mod cookies;
mod credentials;
pub mod device;
mod docs;
mod error;
pub mod http;
pub mod metrics;
mod origin;
mod page;
pub mod redis;
mod server;
mod service;
pub mod store;
#[cfg(feature = "workbook")]
pub mod workbook;

pub use crate::metrics::Metrics;
pub use crate::redis::{
    Backend, RedisHandle, RedisOrigin, SetupError, connect, connect_backend, connect_cluster,
    connect_or_start, hash_slot,
};
#[cfg(feature = "private-redis")]
pub use crate::redis::{PrivateCluster, PrivateRedis, start_private_cluster};
pub use client::TrustedProxies;
pub use config::{Config, ConfigError};
pub use credentials::{AnyPassword, PasswordCheck};
pub use error::{ApiError, ErrorBody};
pub use http::{
    AppState, Authenticated, ClientAddr, ClientDevice, SameOrigin, app, app_with, metrics_app, renew_cookie,
};
pub use origin::AllowedOrigins;
pub use server::{
    Limits, raise_open_files_limit, serve, serve_counted, serve_on_threads, serve_with, shutdown_signal,
};
pub use service::{Service, StartError, run};
pub use store::{
    Device, DeviceSession, Lifetimes, LoginLimits, MAX_SESSIONS_PER_USER, Privileged, SecurityEvent, Session,
    SessionId, SessionStore, StoreConnection, Touched, Unavailable,
};

/// Sets up logging: `RUST_LOG` if set, else `info` for this crate, `tower_http` and the
/// `binary` that calls it (pass `env!("CARGO_CRATE_NAME")`). A second call changes nothing.
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
