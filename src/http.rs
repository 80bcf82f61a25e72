//! The HTTP service: `app(state)` builds the router, `serve` runs it. Lesson 05.
//!
//! Handlers are thin: read the cookie, call the [`SessionStore`], shape the answer. Everything
//! a handler can fail with is an [`ApiError`], which renders as `{"detail": ...}`.

use std::time::Duration;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::openapi::{OpenApi, RefOr, Schema};
use utoipa::{OpenApi as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::cookies::{clear_session_cookie, read_session_cookies, session_cookie};
use crate::error::{ApiError, ErrorBody, ServerErrorReport};
use crate::origin::{AllowedOrigins, SameOrigin};
use crate::store::{DeviceSession, Health, SessionId, SessionStore, Touched};

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
}

impl AppState {
    /// The state for `store` with the defaults: plain-HTTP cookies, no extra origins.
    pub fn new(store: SessionStore) -> AppState {
        AppState { store, cookie_secure: false, allowed_origins: AllowedOrigins::default() }
    }
}

/// `POST /login` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// 1 to `MAX_USERNAME_CHARS` characters, no control characters. (The limit in the
    /// published document is set from the constant by `document_limits`.)
    #[schema(example = "alice", min_length = 1, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub username: String,
    /// Any password is accepted, as in the original mini-project: this workbook is about
    /// sessions, not about checking passwords.
    #[schema(example = "secret")]
    pub password: String,
}

/// `POST /login` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Always `Login successful`.
    #[schema(example = "Login successful")]
    pub message: String,
    /// The name that logged in.
    #[schema(example = "alice")]
    pub username: String,
    /// The new session id (also in the `session_id` cookie). Kept for compatibility with the
    /// original mini-project; it costs something: a page script that calls `/login` can read
    /// it, which the HttpOnly cookie alone would prevent. Drop it where compatibility allows.
    #[schema(example = "0f8fad5b-d9cb-469f-a165-70867728950e")]
    pub session_id: String,
}

/// `GET /profile` answer: exactly the two fields of the original.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileResponse {
    /// Stable per username: `user_<n>`.
    #[schema(example = "user_1")]
    pub user_id: String,
    /// The name that logged in.
    #[schema(example = "alice")]
    pub username: String,
}

/// `GET /session` answer: what the store knows about the caller's session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// Stable per username: `user_<n>`.
    #[schema(example = "user_1")]
    pub user_id: String,
    /// The name that logged in.
    #[schema(example = "alice")]
    pub username: String,
    /// Unix seconds at login.
    #[schema(example = 1_795_850_860)]
    pub created_at: u64,
    /// Seconds until the session expires if unused: the idle TTL just set, or less when the
    /// absolute lifetime is closer.
    #[schema(example = 1800)]
    pub expires_in: u64,
}

/// One attribute of the session cookie, and what it does.
#[derive(Debug, Serialize, ToSchema)]
pub struct CookieAttribute {
    /// As written in `Set-Cookie`, e.g. `HttpOnly` or `Max-Age=1800`.
    #[schema(example = "HttpOnly")]
    pub name: String,
    /// What it makes the browser do.
    #[schema(example = "page scripts cannot read it: document.cookie leaves it out")]
    pub meaning: String,
}

/// `GET /session/details` answer: what the page at `/` shows about the caller's session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDetails {
    /// The fields of `GET /session`.
    #[serde(flatten)]
    pub session: SessionInfo,
    /// The idle lifetime in seconds: what every request sets the TTL back to.
    #[schema(example = 1800)]
    pub idle_ttl: u64,
    /// Unix seconds at which the absolute lifetime ends, however active the session is.
    #[schema(example = 1_795_879_660)]
    pub absolute_deadline: u64,
    /// The `Set-Cookie` header of this very answer, with the session id left out.
    #[schema(example = "session_id=<id, not shown>; HttpOnly; SameSite=Lax; Path=/; Max-Age=1800")]
    pub set_cookie: String,
    /// Each attribute of that cookie, and what it does.
    pub cookie_attributes: Vec<CookieAttribute>,
}

/// One session in `GET /sessions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionEntry {
    /// Names the session without being usable as it: 16 hex characters of the SHA-256 of its
    /// id. Pass it to `DELETE /sessions/{handle}`.
    #[schema(example = "3f2a9c0d41b7e865", pattern = "^[0-9a-f]{16}$")]
    pub handle: String,
    /// Unix seconds at login.
    #[schema(example = 1_795_850_860)]
    pub created_at: u64,
    /// Unix seconds of its last request, derived from its TTL (in its last idle window before
    /// the absolute lifetime ends, the start of that window).
    #[schema(example = 1_795_851_460)]
    pub last_active: u64,
    /// Seconds until it expires if unused.
    #[schema(example = 1800)]
    pub expires_in: u64,
    /// True for the session that made this request.
    pub current: bool,
}

/// `GET /sessions` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// The user's live sessions, newest first.
    pub sessions: Vec<SessionEntry>,
}

/// `POST /logout-everywhere` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedOutEverywhere {
    /// Always `Logged out everywhere`.
    #[schema(example = "Logged out everywhere")]
    pub message: String,
    /// How many sessions were ended, this one included.
    #[schema(example = 3)]
    pub revoked: u64,
}

/// `POST /logout` answer, and `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    /// What happened.
    #[schema(example = "Logged out successfully")]
    pub message: String,
}

// ANCHOR: app
/// The whole service as a router, ready for `serve` or for tests on port 0.
pub fn app(state: AppState) -> Router {
    app_with(state, Router::new())
}

/// The service with `extra` session routes mounted beside `/login` and `/profile`, under the
/// same middleware (no-store, body limit, tracing, JSON 404/405). The benchmark mounts lesson
/// 03's naive renewal this way, so that the only difference it measures is the Redis part.
pub fn app_with(state: AppState, extra: Router<AppState>) -> Router {
    // Each handler is named once: `routes!` adds it to the router and to the OpenAPI document.
    // Responses that carry or depend on a session must never be stored by a cache.
    let no_store = SetResponseHeaderLayer::overriding(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let sessions = OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(profile))
        .routes(routes!(logout))
        .routes(routes!(session_info))
        .routes(routes!(session_details))
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(logout_everywhere))
        .merge(OpenApiRouter::from(extra))
        .layer(no_store);
    let (routes, mut api) = OpenApiRouter::with_openapi(crate::docs::ApiDoc::openapi())
        .merge(sessions)
        .routes(routes!(health))
        .routes(routes!(crate::page::index))
        .split_for_parts();
    document_limits(&mut api);

    routes
        .merge(crate::page::assets())
        .merge(crate::docs::docs_router(api))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::map_response(log_server_errors))
        // Logs method, path, status and latency; never headers, so never a cookie.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}
// ANCHOR_END: app

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
        username.description = Some(format!("1 to {MAX_USERNAME_CHARS} characters, no control characters."));
    }
    if let Some(item) = api.paths.paths.get_mut("/login")
        && let Some(post) = item.post.as_mut()
        && let Some(RefOr::T(too_large)) = post.responses.responses.get_mut("413")
    {
        too_large.description = format!("Body over {} KiB", BODY_LIMIT / 1024);
    }
}

// ANCHOR: validate_username
/// Checks a username: 1 to [`MAX_USERNAME_CHARS`] characters, none of them control characters.
pub fn validate_username(username: &str) -> Result<(), String> {
    let chars = username.chars().count();
    if chars == 0 || chars > MAX_USERNAME_CHARS {
        return Err(format!("username must be 1 to {MAX_USERNAME_CHARS} characters"));
    }
    if username.chars().any(char::is_control) {
        return Err("username must not contain control characters".into());
    }
    Ok(())
}
// ANCHOR_END: validate_username

fn with_cookie(status: StatusCode, cookie: HeaderValue, body: impl Serialize) -> Response {
    (status, [(SET_COOKIE, cookie)], Json(body)).into_response()
}

// ANCHOR: login
/// Log in: any password is accepted. Sets the `session_id` cookie.
///
/// A session already held by this browser is deleted (fixation defence). A user already at
/// `MAX_SESSIONS_PER_USER` sessions loses the oldest.
#[utoipa::path(
    post, path = "/login", tag = "sessions",
    request_body = LoginRequest,
    params(("session_id" = Option<String>, Cookie, description = "A session this browser already holds (`__Host-session_id` with COOKIE_SECURE=true); it is destroyed")),
    responses(
        (status = 200, description = "Logged in; the session id is also set as an HttpOnly cookie", body = LoginResponse,
            headers(("set-cookie" = String, description = "session_id=<uuid>; HttpOnly; SameSite=Lax; Path=/; Max-Age=1800"))),
        (status = 403, description = "Cross-site request refused: `Sec-Fetch-Site: cross-site`, or an `Origin` naming another host than `Host` (and not in ALLOWED_ORIGINS)", body = ErrorBody),
        (status = 400, description = "The body could not be read at all (for example a broken chunked encoding)", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "Malformed JSON, missing fields or an invalid username", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn login(
    _: SameOrigin,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    validate_username(&request.username).map_err(ApiError::InvalidUsername)?;
    // The session this browser already holds (the first it names) is replaced.
    let previous = read_session_cookies(&headers, state.cookie_secure).first();
    let (id, session) = state.store.start_session(&request.username, previous.as_ref()).await?;
    tracing::info!(session = %id.redacted(), user_id = %session.user_id, replaced = previous.is_some(), "login");
    let cookie = session_cookie(&id, state.store.lifetimes().idle, state.cookie_secure);
    let body = LoginResponse {
        message: "Login successful".into(),
        username: session.username,
        session_id: id.to_string(),
    };
    Ok(with_cookie(StatusCode::OK, cookie, body))
}
// ANCHOR_END: login

// ANCHOR: profile
/// The logged-in user. Renews the session (sliding TTL) and re-sends the cookie with a fresh
/// `Max-Age`, so browser and Redis expire together.
#[utoipa::path(
    get, path = "/profile", tag = "sessions",
    params(("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true). When several arrive, each well-formed one is tried in order, at most three, and the first live session wins")),
    responses(
        (status = 200, description = "The session's user; the TTL was renewed", body = ProfileResponse,
            headers(("set-cookie" = String, description = "The same cookie with a fresh Max-Age"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn profile(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (touched, cookie) = authenticate(&state, &headers).await?;
    let body = ProfileResponse { user_id: touched.session.user_id, username: touched.session.username };
    Ok(with_cookie(StatusCode::OK, cookie, body))
}
// ANCHOR_END: profile

// ANCHOR: authenticate
/// What every authenticated route does first: find the cookie, read and renew the session in
/// one round trip, and build the renewed cookie. A missing, malformed (no Redis call),
/// unknown or expired session is a 401. When the request names several session ids (a cookie
/// planted from a sibling subdomain), each is tried in order and the first live one wins.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<(Touched, HeaderValue), ApiError> {
    let Caller { touched, cookie, .. } = caller(state, headers).await?;
    Ok((touched, cookie))
}
// ANCHOR_END: authenticate

/// The authenticated caller: which session, what it holds, and its renewed cookie.
struct Caller {
    id: SessionId,
    touched: Touched,
    cookie: HeaderValue,
}

/// [`authenticate`], keeping the session id (the routes about "my sessions" need it).
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let ids = read_session_cookies(headers, state.cookie_secure);
    if ids.is_empty() {
        return Err(ApiError::InvalidSession);
    }
    let (id, touched) = state.store.touch_first(&ids).await?.ok_or(ApiError::InvalidSession)?;
    let cookie = session_cookie(&id, Duration::from_secs(touched.ttl_secs), state.cookie_secure);
    Ok(Caller { id, touched, cookie })
}

// ANCHOR: list_sessions
/// Every live session of the caller's user, newest first, the caller's own marked `current`.
/// Renews the caller's session like `/profile`. Each session is named by its handle, never by
/// its id: an id is a login, a handle only a name.
#[utoipa::path(
    get, path = "/sessions", tag = "every device",
    params(("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true)")),
    responses(
        (status = 200, description = "The user's live sessions, newest first; the caller's TTL was renewed", body = SessionList,
            headers(("set-cookie" = String, description = "The same cookie with a fresh Max-Age"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn list_sessions(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let Caller { id, touched, cookie } = caller(&state, &headers).await?;
    let sessions = state.store.list_sessions(&touched.session.user_id, &id).await?;
    let sessions = sessions
        .into_iter()
        .map(|DeviceSession { id: listed, created_at, last_active, expires_in }| SessionEntry {
            handle: listed.handle(),
            created_at,
            last_active,
            expires_in,
            current: listed == id,
        })
        .collect();
    Ok(with_cookie(StatusCode::OK, cookie, SessionList { sessions }))
}
// ANCHOR_END: list_sessions

/// True for what a handle looks like: 16 lowercase hex characters.
fn is_handle(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

// ANCHOR: revoke_session
/// Ends one of the caller's user's sessions, named by its handle (from `GET /sessions`): that
/// device answers 401 from its next request. Revoking the caller's own session also clears its
/// cookie.
#[utoipa::path(
    delete, path = "/sessions/{handle}", tag = "every device",
    params(
        ("handle" = String, Path, description = "A handle from `GET /sessions`: 16 lowercase hex characters"),
        ("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true)"),
    ),
    responses(
        (status = 200, description = "Session revoked; the caller's cookie renewed, or cleared when it revoked itself", body = MessageResponse,
            headers(("set-cookie" = String, description = "The caller's cookie, renewed or cleared"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 403, description = "Cross-site request refused", body = ErrorBody),
        (status = 404, description = "The handle names none of this user's live sessions; nothing was revoked", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn revoke_session(
    _: SameOrigin,
    State(state): State<AppState>,
    handle: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Caller { id, touched, cookie } = caller(&state, &headers).await?;
    // A path segment that is not even text (`%FF`) names no session either.
    let handle = match handle {
        Ok(Path(handle)) if is_handle(&handle) => handle,
        _ => return Err(ApiError::NoSuchSession),
    };
    let revoked = state.store.revoke(&touched.session.user_id, &id, &handle).await?;
    let revoked = revoked.ok_or(ApiError::NoSuchSession)?;
    tracing::info!(session = %revoked.redacted(), by = %id.redacted(), "revoked");
    let cookie = if revoked == id { clear_session_cookie(state.cookie_secure) } else { cookie };
    Ok(with_cookie(StatusCode::OK, cookie, MessageResponse { message: "Session revoked".into() }))
}
// ANCHOR_END: revoke_session

// ANCHOR: logout_everywhere
/// Ends every session of the caller's user, this one included, and clears the cookie.
///
/// Guarantee: every session of the user that existed when this request read the user's index
/// is ended. A login that completes after that moment is a new login and survives.
#[utoipa::path(
    post, path = "/logout-everywhere", tag = "every device",
    params(("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true)")),
    responses(
        (status = 200, description = "Every session of the user ended; cookie cleared", body = LoggedOutEverywhere,
            headers(("set-cookie" = String, description = "session_id=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 403, description = "Cross-site request refused", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time; some sessions may remain", body = ErrorBody),
    )
)]
pub async fn logout_everywhere(
    _: SameOrigin,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Caller { id, touched, .. } = caller(&state, &headers).await?;
    let revoked = state.store.destroy_everywhere(&touched.session.user_id, &id).await?;
    tracing::info!(user_id = %touched.session.user_id, revoked, "logout everywhere");
    let body = LoggedOutEverywhere { message: "Logged out everywhere".into(), revoked };
    Ok(with_cookie(StatusCode::OK, clear_session_cookie(state.cookie_secure), body))
}
// ANCHOR_END: logout_everywhere

// ANCHOR: session_info
/// The caller's session as the store sees it, including how long it has left. Like every
/// authenticated request, it renews the session.
#[utoipa::path(
    get, path = "/session", tag = "sessions",
    params(("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true). When several arrive, each well-formed one is tried in order, at most three, and the first live session wins")),
    responses(
        (status = 200, description = "The session; the TTL was renewed", body = SessionInfo,
            headers(("set-cookie" = String, description = "The same cookie with a fresh Max-Age"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn session_info(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (touched, cookie) = authenticate(&state, &headers).await?;
    let Touched { session, ttl_secs } = touched;
    let body = SessionInfo {
        user_id: session.user_id,
        username: session.username,
        created_at: session.created_at,
        expires_in: ttl_secs,
    };
    Ok(with_cookie(StatusCode::OK, cookie, body))
}
// ANCHOR_END: session_info

// ANCHOR: session_details
/// Everything the page at `/` shows about the caller's session: its fields, its lifetimes, and
/// the cookie the server sets with this very answer (the id left out: the page's script must
/// never see it). Renews the session like every authenticated request.
#[utoipa::path(
    get, path = "/session/details", tag = "sessions",
    params(("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true)")),
    responses(
        (status = 200, description = "The session, its lifetimes and its cookie's attributes; the TTL was renewed", body = SessionDetails,
            headers(("set-cookie" = String, description = "The same cookie with a fresh Max-Age"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn session_details(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Caller { id, touched, cookie } = caller(&state, &headers).await?;
    let Touched { session, ttl_secs } = touched;
    let written = cookie.to_str().unwrap_or_default();
    let set_cookie = written.replacen(&id.to_string(), "<id, not shown>", 1);
    let cookie_attributes = written.split("; ").skip(1).map(cookie_attribute).collect();
    let absolute_deadline = session.created_at + state.store.lifetimes().absolute.as_secs();
    let body = SessionDetails {
        session: SessionInfo {
            user_id: session.user_id,
            username: session.username,
            created_at: session.created_at,
            expires_in: ttl_secs,
        },
        idle_ttl: state.store.lifetimes().idle.as_secs(),
        absolute_deadline,
        set_cookie,
        cookie_attributes,
    };
    Ok(with_cookie(StatusCode::OK, cookie, body))
}

/// What one `Set-Cookie` attribute makes the browser do.
fn cookie_attribute(attribute: &str) -> CookieAttribute {
    let meaning = match attribute.split_once('=') {
        None if attribute.eq_ignore_ascii_case("HttpOnly") => {
            "page scripts cannot read it: document.cookie leaves it out".to_string()
        }
        None if attribute.eq_ignore_ascii_case("Secure") => "sent over HTTPS only".to_string(),
        Some(("SameSite", "Lax")) => {
            "not sent with requests other sites make (forms, fetches); sent when you follow a link here"
                .to_string()
        }
        Some(("Path", "/")) => "sent with every path of this site".to_string(),
        Some(("Max-Age", seconds)) => {
            format!(
                "the browser forgets it after {seconds} seconds without a request, as Redis forgets the session"
            )
        }
        _ => "see the cookie chapter (lesson 04)".to_string(),
    };
    CookieAttribute { name: attribute.to_string(), meaning }
}
// ANCHOR_END: session_details

// ANCHOR: logout
/// Log out: deletes the session and clears the cookie. Idempotent: without a live session it
/// still answers 200 and clears the cookie.
#[utoipa::path(
    post, path = "/logout", tag = "sessions",
    params(("session_id" = Option<String>, Cookie, description = "The session to destroy (`__Host-session_id` with COOKIE_SECURE=true); every well-formed one sent, at most three, is destroyed")),
    responses(
        (status = 200, description = "Session destroyed (if there was one); cookie cleared", body = MessageResponse,
            headers(("set-cookie" = String, description = "session_id=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"))),
        (status = 403, description = "Cross-site request refused", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time; the session may still exist", body = ErrorBody),
    )
)]
pub async fn logout(
    _: SameOrigin,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ids = read_session_cookies(&headers, state.cookie_secure);
    if let Some(first) = ids.first() {
        let deleted = state.store.destroy_all(&ids).await?;
        tracing::info!(session = %first.redacted(), deleted, "logout");
    }
    let body = MessageResponse { message: "Logged out successfully".into() };
    Ok(with_cookie(StatusCode::OK, clear_session_cookie(state.cookie_secure), body))
}
// ANCHOR_END: logout

/// The session store's health, for load balancers and operators: 200 when Redis answers and has
/// room; 503 when it does not answer in time, or answers but refuses writes (at `maxmemory`
/// under `noeviction`) or is near `maxmemory`. Sessions that exist keep working meanwhile.
#[utoipa::path(
    get, path = "/health", tag = "operations",
    responses(
        (status = 200, description = "Redis answers and has room", body = MessageResponse),
        (status = 503, description = "Redis did not answer in time, or is full or near maxmemory (the detail says which)", body = ErrorBody),
    )
)]
pub async fn health(State(state): State<AppState>) -> Result<Json<MessageResponse>, ApiError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles() {
        assert!(is_handle("0123456789abcdef"));
        assert!(is_handle(&SessionId::new().handle()));
        for bad in ["", "0123456789abcde", "0123456789abcdef0", "0123456789ABCDEF", "0123456789abcdeg"] {
            assert!(!is_handle(bad), "{bad}");
        }
    }

    #[test]
    fn usernames() {
        assert!(validate_username("alice").is_ok());
        assert!(validate_username("Zoë Ångström").is_ok());
        assert!(validate_username(&"é".repeat(64)).is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username(&"a".repeat(65)).is_err());
        assert!(validate_username("bob\n").is_err());
        assert!(validate_username("nul\0").is_err());
        assert!(validate_username("del\u{7f}").is_err());
    }
}
