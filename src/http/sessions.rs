//! The routes of the original mini-project, and the session's own: log in, the profile, log out,
//! and what the session looks like (`/session`, `/session/details`). Lessons 04 and 05.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::IntoResponse;

use crate::cookies::{clear_session_cookie, read_session_cookies, session_cookie};
use crate::error::{ApiError, ErrorBody};
use crate::metrics::LoginOutcome;
use crate::store::{EventKind, canonical_username};

use super::body::{
    CookieAttribute, LoginRequest, LoginResponse, MessageResponse, ProfileResponse, SessionDetails,
    SessionInfo,
};
use super::extract::{Authenticated, ClientAddr, ClientDevice, SameOrigin};
use super::{AppState, MAX_USERNAME_CHARS};

// ANCHOR: validate_username
/// Checks a username: 1 to `MAX_USERNAME_CHARS` (64) characters, none of them control characters.
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

// ANCHOR: login
/// Log in: the password goes to the service's one check ([`AppState::passwords`]; by default
/// any password is accepted). Sets the `session_id` cookie.
///
/// Throttled first (per username and client, and per client; lesson 09), before the password
/// is checked. A session already held by this browser is deleted (fixation defence). A user
/// already at `MAX_SESSIONS_PER_USER` sessions loses the oldest. The session records the device
/// (its `User-Agent`, named) and the client address, and the user's security log a `login`.
/// Every answer is counted in `session_logins_total{outcome}`.
#[utoipa::path(
    post, path = "/login", tag = "sessions",
    request_body = LoginRequest,
    params(("session_id" = Option<String>, Cookie, description = "A session this browser already holds (`__Host-session_id` with COOKIE_SECURE=true); it is destroyed")),
    responses(
        (status = 200, description = "Logged in; the session id is also set as an HttpOnly cookie", body = LoginResponse,
            headers(("set-cookie" = String, description = "session_id=<uuid>; HttpOnly; SameSite=Lax; Path=/; Max-Age=1800"))),
        (status = 401, description = "`Invalid username or password`: the password check refused them (never with the default check, which accepts any password)", body = ErrorBody),
        (status = 403, description = "Cross-site request refused: `Sec-Fetch-Site: cross-site`, or an `Origin` naming another host than `Host` (and not in ALLOWED_ORIGINS)", body = ErrorBody),
        (status = 400, description = "The body could not be read at all (for example a broken chunked encoding)", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "Malformed JSON, missing fields or an invalid username: 1 to 64 characters; no control, zero-width, bidi-control, byte-order-mark, line- or paragraph-separator characters; no space at either end or two in a row; letters, digits, printable ASCII and single spaces (RFC 8265)", body = ErrorBody),
        (status = 429, description = "Too many login attempts from this client (LOGIN_ATTEMPTS_PER_MINUTE for this username, LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT in all); no session was created (only a `throttled` event in the user's security log)", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds until the next attempt is allowed"))),
        (status = 503, description = "Redis did not answer in time, or is full", body = ErrorBody),
    )
)]
pub async fn login(
    same_origin: Result<SameOrigin, ApiError>,
    client: ClientAddr,
    ClientDevice(device): ClientDevice,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let answer = log_in(same_origin, (client, &device), &state, &headers, body).await;
    state.store.metrics().login(match &answer {
        Ok(_) => LoginOutcome::Ok,
        Err(ApiError::Throttled { .. }) => LoginOutcome::Throttled,
        Err(ApiError::CrossSite) => LoginOutcome::CrossSite,
        Err(ApiError::Unavailable(_)) => LoginOutcome::Unavailable,
        Err(_) => LoginOutcome::Invalid,
    });
    answer
}

async fn log_in(
    same_origin: Result<SameOrigin, ApiError>,
    (ClientAddr(client), device): (ClientAddr, &crate::store::Device),
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<impl IntoResponse + use<>, ApiError> {
    same_origin?;
    let Json(request) = body?;
    validate_username(&request.username).map_err(ApiError::InvalidUsername)?;
    canonical_username(&request.username).map_err(ApiError::InvalidUsername)?;
    check_password(state, client, device, (&request.username, &request.password)).await?;
    // The session this browser already holds (the first it names) is replaced.
    let previous = read_session_cookies(headers, state.cookie_secure).first();
    let (id, session) =
        state.store.open_session(&request.username, device, previous.as_ref(), EventKind::Login).await?;
    tracing::info!(session = %id.redacted(), user_id = %session.user_id, replaced = previous.is_some(), "login");
    let cookie = session_cookie(&id, state.store.lifetimes().idle, state.cookie_secure);
    let body = LoginResponse {
        message: "Login successful".into(),
        username: session.username,
        session_id: id.to_string(),
    };
    Ok(([(SET_COOKIE, cookie)], Json(body)))
}
// ANCHOR_END: login

// ANCHOR: check_password
/// The throttle, then the password check ([`AppState::passwords`]), for a login or a
/// re-authentication: a wrong password costs an attempt like a right one, so guessing is
/// throttled too. 429 when over a limit, 401 when the check refuses.
pub(super) async fn check_password(
    state: &AppState,
    client: std::net::IpAddr,
    device: &crate::store::Device,
    (username, password): (&str, &str),
) -> Result<(), ApiError> {
    if let Some(retry_after) = state.store.throttle_login(username, client, device).await? {
        tracing::info!(%client, user_id = %crate::store::user_id_for(username), "login throttled");
        return Err(ApiError::Throttled { retry_after });
    }
    if !state.passwords.verify(username, password).await {
        tracing::info!(%client, user_id = %crate::store::user_id_for(username), "wrong password");
        return Err(ApiError::WrongPassword);
    }
    Ok(())
}
// ANCHOR_END: check_password

// ANCHOR: profile
/// The logged-in user. Renews the session (sliding TTL) and re-sends the cookie with a fresh
/// `Max-Age`, so browser and Redis expire together.
#[utoipa::path(
    get, path = "/profile", tag = "sessions",
    params(("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true). When several arrive, each well-formed one is tried in order, at most eight, and the first live session wins; other cookies are skipped whatever bytes they hold")),
    responses(
        (status = 200, description = "The session's user; the TTL was renewed", body = ProfileResponse,
            headers(("set-cookie" = String, description = "The same cookie with a fresh Max-Age"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn profile(who: Authenticated) -> Json<ProfileResponse> {
    Json(ProfileResponse { user_id: who.user_id().to_string(), username: who.username().to_string() })
}
// ANCHOR_END: profile
// ANCHOR: session_info
/// The caller's session as the store sees it, including how long it has left. Like every
/// authenticated request, it renews the session.
#[utoipa::path(
    get, path = "/session", tag = "sessions",
    params(("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true). When several arrive, each well-formed one is tried in order, at most eight, and the first live session wins; other cookies are skipped whatever bytes they hold")),
    responses(
        (status = 200, description = "The session; the TTL was renewed", body = SessionInfo,
            headers(("set-cookie" = String, description = "The same cookie with a fresh Max-Age"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn session_info(who: Authenticated) -> Json<SessionInfo> {
    Json(SessionInfo::from(&who))
}

/// What `/session` (and `/session/details`) say about the caller's session.
impl From<&Authenticated> for SessionInfo {
    fn from(who: &Authenticated) -> SessionInfo {
        SessionInfo {
            user_id: who.user_id().to_string(),
            username: who.username().to_string(),
            created_at: who.created_at(),
            expires_in: who.expires_in(),
        }
    }
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
pub async fn session_details(who: Authenticated, State(state): State<AppState>) -> Json<SessionDetails> {
    let written = who.cookie().to_str().unwrap_or_default();
    let set_cookie = written.replacen(&who.id().to_string(), "<id, not shown>", 1);
    let cookie_attributes = written.split("; ").skip(1).map(cookie_attribute).collect();
    let absolute_deadline = who.created_at() + state.store.lifetimes().absolute.as_secs();
    Json(SessionDetails {
        session: SessionInfo::from(&who),
        idle_ttl: state.store.lifetimes().idle.as_secs(),
        absolute_deadline,
        set_cookie,
        cookie_attributes,
    })
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
    params(("session_id" = Option<String>, Cookie, description = "The session to destroy (`__Host-session_id` with COOKIE_SECURE=true); every well-formed one sent, at most eight, is destroyed")),
    responses(
        (status = 200, description = "Session destroyed (if there was one); cookie cleared", body = MessageResponse,
            headers(("set-cookie" = String, description = "session_id=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"))),
        (status = 403, description = "Cross-site request refused", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time; the session may still exist", body = ErrorBody),
    )
)]
pub async fn logout(
    _: SameOrigin,
    ClientDevice(device): ClientDevice,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let ids = read_session_cookies(&headers, state.cookie_secure);
    if let Some(first) = ids.first() {
        let deleted = state.store.destroy_cookie_sessions(&ids, &device).await?;
        tracing::info!(session = %first.redacted(), deleted, "logout");
    }
    let body = MessageResponse { message: "Logged out successfully".into() };
    Ok(([(SET_COOKIE, clear_session_cookie(state.cookie_secure))], Json(body)))
}
// ANCHOR_END: logout

#[cfg(test)]
mod tests {
    use super::*;

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
