//! Plausible wrong answers for lesson 05 (feature `wrong`): each exercise is solved except for
//! one mistake a learner would really make, which its check in `tests/exercises.rs` catches.

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use session_storage::cookies::{clear_session_cookie, read_session_cookies};
use session_storage::http::{MessageResponse, SessionInfo};
use session_storage::store::Device;
use session_storage::{ApiError, AppState, Authenticated};

/// The longest username accepted, in characters (`MAX_USERNAME_CHARS` in `src/http/mod.rs`).
const MAX_USERNAME_CHARS: usize = 64;

// WRONG (05a): the length is counted in bytes (`username.len()`) instead of characters, which the check catches because the 64-character name `é x64` (128 bytes) is answered `Err: username must be 1 to 64 characters` instead of `Ok`.
/// Exercise 05a: accept a username only if it has 1 to 64 characters (characters, not bytes)
/// and no control characters.
pub fn validate_username(username: &str) -> Result<(), String> {
    let chars = username.len();
    if chars == 0 || chars > MAX_USERNAME_CHARS {
        return Err(format!("username must be 1 to {MAX_USERNAME_CHARS} characters"));
    }
    if username.chars().any(char::is_control) {
        return Err("username must not contain control characters".into());
    }
    Ok(())
}

// WRONG (05b): `expires_in` is filled with the moment the session expires (`created_at + expires_in`, a unix time) instead of the seconds it has left, which the check catches because `with_cookie.body.expires_in` records a unix time instead of 1800.
/// Exercise 05b: a new route, `GET /session`, showing the caller's session and how long it has
/// left.
pub async fn session_info(who: Authenticated) -> Json<SessionInfo> {
    Json(SessionInfo {
        user_id: who.user_id().to_string(),
        username: who.username().to_string(),
        created_at: who.created_at(),
        expires_in: who.created_at() + who.expires_in(),
    })
}

// WRONG (05c): every bad body is answered with axum's own `rejection.status()` instead of the service's mapping, and axum answers 400 for a JSON syntax error, which the check catches because "body: broken JSON" records 400 instead of 422.
/// Exercise 05c: the status each [`ApiError`] answers with.
pub fn error_status(error: &ApiError) -> StatusCode {
    match error {
        ApiError::InvalidSession => StatusCode::UNAUTHORIZED,
        ApiError::InvalidUsername(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ApiError::BadBody(rejection) => rejection.status(),
        ApiError::CrossSite | ApiError::ReauthRequired => StatusCode::FORBIDDEN,
        ApiError::WrongPassword => StatusCode::UNAUTHORIZED,
        ApiError::NotFound | ApiError::NoSuchSession => StatusCode::NOT_FOUND,
        ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        ApiError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        ApiError::Unavailable(_) | ApiError::Degraded(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

// WRONG (05d): the error of the delete is thrown away (`let _ = ...`, "logout should never fail"), so the cookie is cleared even when Redis did not answer, which the check catches because "while Redis does not answer" records status 200 with the clearing `set_cookie` instead of 503, no cookie and "Session store unavailable".
/// Exercise 05d: `POST /logout`. Delete the caller's session and answer 200 with the
/// cookie-clearing `Set-Cookie`, with or without a session; 503 and no cookie when Redis cannot
/// be asked.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let ids = read_session_cookies(&headers, state.cookie_secure);
    if !ids.is_empty() {
        let _ = state.store.destroy_cookie_sessions(&ids, &Device::unknown(None)).await;
    }
    let body = MessageResponse { message: "Logged out successfully".into() };
    Ok(([(SET_COOKIE, clear_session_cookie(state.cookie_secure))], Json(body)).into_response())
}
