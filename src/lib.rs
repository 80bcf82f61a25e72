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
//! ## Your data in the session
//!
//! Take [`SessionData`] instead and keep values of any `serde` type in the session: they come
//! with the renewal (reading costs nothing more), and a write costs
//! <!-- cost: PUT /note | a live session: the renewal, then the write minus GET /note | a live session: the values come with the renewal -->one more round trip however many values it changes. Each value is a field of the session's own
//! hash, so no concurrent request's write is lost, a write never brings back a session logged
//! out meanwhile (401), and the values end with the session. [`VisitorData`] does the same
//! before login (a cart before checkout), and the values move into the session at login. An
//! app with a state of its own uses [`run_with`] (see its example):
//!
//! ```no_run
//! use axum::{Router, routing::post};
//! use session_storage::{ApiError, AppState, Config, SessionData};
//!
//! async fn visit(mut data: SessionData) -> Result<String, ApiError> {
//!     let visits = data.increment("visits", 1).await?;
//!     let theme: Option<String> = data.get("theme")?;
//!     Ok(format!("visit {visits}, theme {}", theme.as_deref().unwrap_or("light")))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let routes: Router<AppState> = Router::new().route("/visit", post(visit));
//!     session_storage::run(Config::from_env()?, routes).await?;
//!     Ok(())
//! }
//! ```
//!
//! ## Layout, bottom to top, and the lesson that introduces each part
//!
//! Every `use crate::...` points down this table: a module imports only the ones above it.
//!
//! | module | what | lesson |
//! |---|---|---|
//! | [`metrics`] | [`Metrics`](metrics::Metrics): the service's counters, rendered for `GET /metrics` (Prometheus) | 09 |
//! | [`client`] | who is asking: the client's address, `TRUSTED_PROXIES` and `X-Forwarded-For` | 09 |
//! | [`redis`] | getting Redis: [`connect_or_start`](redis::connect_or_start), the one connection type [`Backend`](redis::Backend) and its [`Topology`](redis::Topology), [`RedisUrl`](redis::RedisUrl), Redis Cluster, and with feature `private-redis` a private `redis-server` or cluster | 01, 07 |
//! | `credentials` | [`PasswordCheck`]: the one place a password is checked (login, re-authentication) | 05, 06 |
//! | [`store`] | the session as a Redis hash; create, read-and-renew, destroy; starting a session ([`store::SessionStore::start_session`]); the user's id; each user's index of sessions and the privileged window; each user's security log; the login throttle; your own values in the session and a visitor's; health; every round trip shown to a [`store::Tap`] | 01, 02, 03, 06, 09, 10, 11 |
//! | [`workbook`] | narration (a [`Narrated`](workbook::Narrated) wrapper around any connection, the store's tap), the lesson runner, Redis's command counters (feature `workbook`) | all lessons |
//! | [`cookies`] | reading `session_id` and writing `Set-Cookie` | 04 |
//! | [`user_agent`] | naming a device from its `User-Agent` ("Firefox on Linux") | 06 |
//! | `error` | [`ApiError`], the one error type; every error is `{"detail": ...}` | 05 |
//! | [`origin`] | which requests are cross-site ([`AllowedOrigins`](origin::AllowedOrigins)) | 06 |
//! | `docs` | `/openapi.json` and Swagger UI at `/docs` | 05 |
//! | `page` | the page at `/`: the cookie flow in a browser (HTML, script and style compiled in) | 04, 06 |
//! | [`http`] | [`app_with`], the handlers in rooms named for their routes, and the extractors [`Authenticated`], [`SessionData`], [`VisitorData`] and [`SameOrigin`] | 04, 05, 06, 08, 11 |
//! | [`server`] | [`serve`](server::serve): the accept loop with its [`Limits`](server::Limits) (timeouts, connection cap), a serving thread per core, graceful shutdown | 05 |
//! | `config` | [`Config`]: environment variables, checked at start | 05 |
//! | `service` | [`run`] and [`run_with`]: all of the above as one call, what the binary (`src/main.rs`) does | 05, 08, 11 |
//!
//! The store knows nothing of HTTP; `http` builds on the store, `cookies` and `error`. Tests
//! start the same pieces on port 0.
//!
//! ## What is public, and for whom
//!
//! - At the root, what an application needs: [`run`] (or [`run_with`] for an app with a state of
//!   its own, or [`Service`] in two steps), [`Config`], [`AppState`], the extractors
//!   [`Authenticated`], [`SessionData`], [`VisitorData`] and [`SameOrigin`], [`PasswordCheck`],
//!   [`ApiError`], and [`app_with`] for a server of your own ([`http::app_beside`] for routes on a
//!   state of your own). [`run`] installs no logging: call [`init_tracing`] (as the binary does),
//!   or install your own `tracing` subscriber.
//! - Under their modules, the building blocks the lessons and exercises call: [`store`],
//!   [`cookies`], [`http`], [`redis`], [`server`]. Each item has one path.
//! - For the workbook only: the [`workbook`] module (feature `workbook`, on by default).
//! - For this package's tests only: the private servers' chaos controls (feature `test-util`).
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
mod docs;
mod error;
pub mod http;
pub mod metrics;
pub mod origin;
mod page;
pub mod redis;
pub mod server;
mod service;
pub mod store;
pub mod user_agent;
#[cfg(feature = "workbook")]
pub mod workbook;

pub use config::{Config, ConfigError};
pub use credentials::{AnyPassword, PasswordCheck};
pub use error::ApiError;
pub use http::{AppState, Authenticated, SameOrigin, SessionData, VisitorData, app_with};
pub use service::{Service, StartError, run, run_with};

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
