//! The HTTP service: [`app`] builds the router from the handlers, each in the room of its
//! concern. Lessons 04, 05 and 06.
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | [`AppState`], [`app`] and [`app_with`]: the routes, the middleware, the OpenAPI document |
//! | `extract.rs` | [`Authenticated`], [`SameOrigin`], [`ClientAddr`], [`ClientDevice`] and [`renew_cookie`]: what a handler needs, and the renewed cookie |
//! | `login.rs` | `POST /login` and `POST /logout`, and the username's check |
//! | `profile.rs` | `GET /profile`, `GET /session` and `GET /session/details`: the session seen from its device |
//! | `sessions.rs` | every device: `GET /sessions`, `DELETE /sessions/{handle}`, `POST /logout-everywhere` |
//! | `reauth.rs` | `POST /reauth`: the password again, for a privileged session |
//! | `security_events.rs` | `GET /security-events`: the user's security log |
//! | `data.rs` | [`SessionData`] and [`VisitorData`]: your own values in the session (lesson 11) |
//! | `note.rs` | `GET /note` and `PUT /note`: the page's note, kept with `VisitorData` |
//! | `body.rs` | the JSON bodies and their schemas |
//!
//! Handlers are thin: take what they need as extractors, call the [`SessionStore`], shape the
//! answer. Everything a handler can fail with is an [`ApiError`], which renders as
//! `{"detail": ...}`.

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::response::Response;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi as _;
use utoipa::openapi::{OpenApi, RefOr, Schema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use std::sync::Arc;

use crate::client::TrustedProxies;
use crate::credentials::{AnyPassword, PasswordCheck};
use crate::error::{ApiError, ServerErrorReport};
use crate::origin::AllowedOrigins;
use crate::store::{Health, SessionStore};

pub mod body;
mod data;
mod extract;
mod login;
mod note;
mod profile;
mod reauth;
mod security_events;
mod sessions;

pub use crate::error::ErrorBody;
pub use body::*;
pub use data::{SessionData, VisitorData};
pub use extract::{Authenticated, ClientAddr, ClientDevice, SameOrigin, renew_cookie};
pub use login::{login, logout, validate_username};
pub use note::{read_note, write_note};
pub use profile::{profile, session_details, session_info};
pub use reauth::reauth;
pub use security_events::security_events;
pub use sessions::{list_sessions, logout_everywhere, revoke_session};

/// The largest request body accepted; a login body is a few dozen bytes.
pub(crate) const BODY_LIMIT: usize = 16 * 1024;
/// The longest username accepted, in characters.
pub(crate) const MAX_USERNAME_CHARS: usize = 64;

/// What every handler shares. Cheap to clone: the store holds one shared Redis connection.
#[derive(Clone)]
pub struct AppState {
    /// Sessions in Redis.
    pub store: SessionStore,
    /// Add `Secure` to cookies (`COOKIE_SECURE`).
    pub cookie_secure: bool,
    /// Other sites whose requests are accepted (`ALLOWED_ORIGINS`); see `src/origin.rs`.
    pub allowed_origins: AllowedOrigins,
    /// Proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`); see `src/client.rs`.
    pub trusted_proxies: TrustedProxies,
    /// The password check of `POST /login` and `POST /reauth`: [`AnyPassword`] unless you put
    /// your own here (see `src/credentials.rs`).
    pub passwords: Arc<dyn PasswordCheck>,
}

impl AppState {
    /// The state for `store` with the defaults: plain-HTTP cookies, no extra origins, no
    /// trusted proxies, any password accepted.
    pub fn new(store: SessionStore) -> AppState {
        AppState {
            store,
            cookie_secure: false,
            allowed_origins: AllowedOrigins::default(),
            trusted_proxies: TrustedProxies::default(),
            passwords: Arc::new(AnyPassword),
        }
    }
}

/// `GET /metrics` alone, in the Prometheus text format, for its own listener (`METRICS_ADDR`):
/// the store's counters, read from memory, with no Redis call. Any other path is the API's JSON
/// 404 (and 405).
pub fn metrics_app(state: AppState) -> Router {
    let secure = state.cookie_secure;
    Router::new()
        .route("/metrics", axum::routing::get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response_with_state(secure, security_headers))
        .with_state(state)
}

async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.store.metrics().render())
}

/// The whole service as a router, ready for `serve` or for tests on port 0.
pub fn app(state: AppState) -> Router {
    app_beside(state, Router::new())
}

/// The service with `extra` routes (yours, on the service's [`AppState`]) mounted beside
/// `/login` and `/profile`, under the same middleware: no-store, the renewed cookie for every
/// [`Authenticated`] request, the body limit, tracing, JSON 404/405. The OpenAPI document at
/// `/docs` lists the service's routes, not these (add them to it yourself if you want them
/// there). The benchmark mounts lesson 03's naive renewal this way, so that the only difference
/// it measures is the Redis part.
pub fn app_with(state: AppState, extra: Router<AppState>) -> Router {
    let extra = extra.with_state(state.clone());
    app_beside(state, extra)
}

// ANCHOR: app
/// The service beside `extra`, a router with a state of its own already given (yours: a
/// database pool, a client, ...): its handlers take [`Authenticated`], [`SessionData`] or
/// [`VisitorData`] as long as your state gives an [`AppState`] (`impl FromRef<YourState> for
/// AppState`), and get the same middleware as the service's routes. What
/// [`run_with`](crate::run_with) serves.
pub fn app_beside(state: AppState, extra: Router) -> Router {
    // Each handler is named once: `routes!` adds it to the router and to the OpenAPI document.
    // Responses that carry or depend on a session must never be stored by a cache.
    let no_store = SetResponseHeaderLayer::overriding(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let sessions = OpenApiRouter::new()
        .routes(routes!(login::login))
        .routes(routes!(profile::profile))
        .routes(routes!(login::logout))
        .routes(routes!(profile::session_info))
        .routes(routes!(profile::session_details))
        .routes(routes!(sessions::list_sessions))
        .routes(routes!(sessions::revoke_session))
        .routes(routes!(sessions::logout_everywhere))
        .routes(routes!(reauth::reauth))
        .routes(routes!(security_events::security_events))
        .routes(routes!(note::read_note, note::write_note))
        .layer(no_store.clone());
    let (routes, mut api) = OpenApiRouter::with_openapi(crate::docs::ApiDoc::openapi())
        .merge(sessions)
        .routes(routes!(health))
        .routes(routes!(crate::page::index))
        .split_for_parts();
    document_limits(&mut api);
    crate::docs::link_the_session(&mut api);

    routes
        .merge(crate::page::assets())
        .merge(crate::docs::docs_router(api))
        .with_state(state.clone())
        .merge(extra.layer(no_store))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Every answer to an authenticated request carries the renewed cookie (see `extract.rs`).
        .layer(axum::middleware::from_fn(renew_cookie))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::map_response(log_server_errors))
        .layer(axum::middleware::map_response_with_state(state.cookie_secure, security_headers))
        // Logs method, path, status and latency; never headers, so never a cookie.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
}
// ANCHOR_END: app

// ANCHOR: security_headers
/// The headers every answer carries, whatever route made it (the service's, yours, a 404):
/// - `X-Content-Type-Options: nosniff`: a browser never reads a JSON answer as HTML or script;
/// - on HTML, `X-Frame-Options: DENY`, and `Content-Security-Policy: frame-ancestors 'none'`
///   unless the page set a policy of its own (the page at `/` and `/docs` do): no other site
///   can frame it (clickjacking);
/// - with `COOKIE_SECURE=true` (the service is behind HTTPS), `Strict-Transport-Security`, so a
///   browser that has seen it once never again asks over plain HTTP.
async fn security_headers(State(secure): State<bool>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let html = headers.get(CONTENT_TYPE).is_some_and(|value| value.as_bytes().starts_with(b"text/html"));
    if html {
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        if !headers.contains_key(CONTENT_SECURITY_POLICY) {
            headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static("frame-ancestors 'none'"));
        }
    }
    if secure {
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    response
}
// ANCHOR_END: security_headers

/// Logs the cause of every 5xx, which [`ApiError`] attaches to its response: the one place where
/// errors are logged, so turning an error into a response stays free of side effects.
async fn log_server_errors(response: Response) -> Response {
    if let Some(ServerErrorReport(cause)) = response.extensions().get::<ServerErrorReport>() {
        let mut chain = cause.to_string();
        let mut source = cause.source();
        while let Some(inner) = source {
            chain.push_str(&format!(": {inner}"));
            source = inner.source();
        }
        tracing::warn!(status = response.status().as_u16(), error = %chain, "server error");
    }
    response
}

/// Writes the limits into the published document from the constants the code enforces, so the
/// docs cannot drift from [`BODY_LIMIT`] and [`MAX_USERNAME_CHARS`].
fn document_limits(api: &mut OpenApi) {
    if let Some(components) = api.components.as_mut()
        && let Some(RefOr::T(Schema::Object(login))) = components.schemas.get_mut("LoginRequest")
        && let Some(RefOr::T(Schema::Object(username))) = login.properties.get_mut("username")
    {
        username.max_length = Some(MAX_USERNAME_CHARS);
        username.pattern = Some(body::USERNAME_PATTERN.to_string());
        username.description = Some(format!(
            "1 to {MAX_USERNAME_CHARS} characters (Unicode code points): words separated by single \
             spaces, with no space at either end. Each word must be a valid RFC 8265 \
             `UsernameCaseMapped` username: letters, digits and printable ASCII (fullwidth forms are \
             mapped to their ordinary ones), no symbols such as emoji, no unassigned or private-use \
             code points, and the Bidi rule for right-to-left scripts. No control, invisible \
             formatting (zero-width, bidi control, byte-order mark, soft hyphen) or line-separator \
             character anywhere. The pattern checks the rules a pattern can; a name that matches it \
             but breaks another rule is refused with 422 and a `detail` naming the rule. The \
             user's identity is the name's canonical form (lower case, NFC): `Alice` and `alice` \
             are one user."
        ));
    }
    if let Some(components) = api.components.as_mut()
        && let Some(RefOr::T(Schema::Object(login))) = components.schemas.get_mut("LoginRequest")
        && let Some(RefOr::T(Schema::Object(password))) = login.properties.get_mut("password")
    {
        password.description = Some(format!(
            "Any text: the service's password check decides (by default every password is accepted, \
             as in the original mini-project). The whole body is at most {} KiB.",
            BODY_LIMIT / 1024
        ));
    }
    for path in ["/login", "/reauth"] {
        if let Some(item) = api.paths.paths.get_mut(path)
            && let Some(post) = item.post.as_mut()
            && let Some(RefOr::T(too_large)) = post.responses.responses.get_mut("413")
        {
            too_large.description = format!("Body over {} KiB", BODY_LIMIT / 1024);
        }
    }
}

/// The session store's health, for load balancers and operators: 200 when Redis answers and has
/// room; 503 when it does not answer in time, or answers but refuses writes (at `maxmemory`
/// under `noeviction`) or is near `maxmemory`. Sessions that exist keep working meanwhile.
#[utoipa::path(
    get, path = "/health", tag = "operations",
    responses(
        (status = 200, description = "Redis answers and has room", body = MessageResponse),
        (status = 503, description = "`Session store unavailable` (Redis did not answer in time) or `Session store degraded` (full, near maxmemory, or a shard down; the reason goes to the log and the figures to /metrics, never to this answer)", body = ErrorBody),
    )
)]
async fn health(State(state): State<AppState>) -> Result<Json<MessageResponse>, ApiError> {
    match state.store.health().await? {
        Health::Ok => Ok(Json(MessageResponse { message: "ok".into() })),
        Health::Degraded(why) => Err(ApiError::Degraded(why)),
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
