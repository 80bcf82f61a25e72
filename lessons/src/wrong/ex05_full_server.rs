//! Plausible wrong answers for lesson 05 (feature `wrong`): each one solves its exercise except
//! for one mistake a learner would really make, or one the chapter warns about. Its check in
//! `tests/exercises/l05.rs` must refuse it. `LESSONS_WRONG=n` picks the `n`th of each exercise.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use session_storage::cookies::{clear_session_cookie, read_session_cookies};
use session_storage::http::{ClientDevice, MessageResponse, SessionInfo};
use session_storage::store::{DataError, Device, SessionIds};
use session_storage::{ApiError, AppState, Authenticated, SameOrigin};

use crate::{no_wrong_answer, wrong_variant};

/// The longest username accepted, in characters (`MAX_USERNAME_CHARS` in `src/http/mod.rs`).
const MAX_USERNAME_CHARS: usize = 64;

const LENGTH: &str = "username must be 1 to 64 characters";
const CONTROL: &str = "username must not contain control characters";

/// Exercise 05a: accept a username only if it has 1 to 64 characters (characters, not bytes)
/// and no control characters.
pub fn validate_username(username: &str) -> Result<(), String> {
    let chars = username.chars().count();
    let (too_long_or_empty, has_control) = match wrong_variant() {
        // WRONG (05a/1): the length is counted in bytes (`username.len()`) instead of characters: the check records the length error for 33 and 64 copies of `é` (66 and 128 bytes) and for 17 crabs (68 bytes), which are allowed. Shows: `33 é: 33 characters, 66 bytes`, `64 é: 64 characters, 128 bytes`, `17 crabs: 17 characters, 68 bytes`.
        1 => (
            username.is_empty() || username.len() > MAX_USERNAME_CHARS,
            username.chars().any(char::is_control),
        ),
        // WRONG (05a/2): "control characters are the ones below the space" (`c < ' '`): DEL (U+007F) and the C1 controls (U+0080 to U+009F) get through, which the check records as `Ok` for DEL and for U+0080, U+0085 and U+009F. Shows: `DEL (U+007F)`, `C1: U+0080`, `C1: next line (U+0085)`, `C1: U+009F`.
        2 => (chars == 0 || chars > MAX_USERNAME_CHARS, username.chars().any(|c| c < ' ')),
        // WRONG (05a/3): `char::is_ascii_control` instead of `char::is_control`: ASCII's controls are refused, the C1 controls (U+0080 to U+009F) are not, which the check records as `Ok` for U+0080, U+0085 and U+009F. Shows: `C1: U+0080`, `C1: next line (U+0085)`, `C1: U+009F`.
        3 => (chars == 0 || chars > MAX_USERNAME_CHARS, username.chars().any(|c| c.is_ascii_control())),
        // WRONG (05a/4): off by one at the upper bound (`chars >= 64`): the check records the length error for every name of exactly 64 characters. Shows: `64 characters`, `64 é: 64 characters, 128 bytes`.
        4 => (chars == 0 || chars >= MAX_USERNAME_CHARS, username.chars().any(char::is_control)),
        // WRONG (05a/5): the control characters are looked for before the length, so a name that breaks both rules gets the other error: the check records the control-character error for 65 tabs, which are too many characters first. Shows: `65 tabs: both rules broken`.
        5 => {
            if username.chars().any(char::is_control) {
                return Err(CONTROL.into());
            }
            (chars == 0 || chars > MAX_USERNAME_CHARS, false)
        }
        n => no_wrong_answer("05a", n),
    };
    if too_long_or_empty {
        return Err(LENGTH.into());
    }
    if has_control {
        return Err(CONTROL.into());
    }
    Ok(())
}

/// Exercise 05b: a new route, `GET /session`, showing the caller's session and how long it has
/// left. (The wrong answers take the state too, to read the store's lifetimes.)
pub async fn session_info(who: Authenticated, State(state): State<AppState>) -> Json<SessionInfo> {
    let lifetimes = state.store.lifetimes();
    let (created_at, expires_in) = match wrong_variant() {
        // WRONG (05b/1): `expires_in` is filled with the moment the session expires (`created_at + expires_in`, a unix time) instead of the seconds it has left: the check records a unix time as both sessions' `expires_in`. Shows: expires_in.
        1 => (who.created_at(), who.created_at() + who.expires_in()),
        // WRONG (05b/2): `expires_in` is the store's idle lifetime (`state.store.lifetimes().idle`, "every request renews it to the idle TTL") instead of the TTL just set: right for a fresh session, but the check records 1234 for the session with 987 s of its lifetime left. Shows: expires_in.
        2 => (who.created_at(), lifetimes.idle.as_secs()),
        // WRONG (05b/3): `created_at` is now, by the application's clock, instead of the session's own field: the check records, for the session logged in nearly two hours ago, a `created_at` that is not what Redis holds. Shows: created_at.
        3 => (unix_now(), who.expires_in()),
        // WRONG (05b/4): `expires_in` is what is left of the absolute lifetime (`created_at + absolute - now`) instead of the TTL just set: the check records about 7777 s for the fresh session, whose TTL is 1234 s. Shows: expires_in.
        4 => (who.created_at(), (who.created_at() + lifetimes.absolute.as_secs()).saturating_sub(unix_now())),
        n => no_wrong_answer("05b", n),
    };
    Json(SessionInfo {
        user_id: who.user_id().to_string(),
        username: who.username().to_string(),
        created_at,
        expires_in,
    })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Exercise 05c: the status each [`ApiError`] answers with.
pub fn error_status(error: &ApiError) -> StatusCode {
    match wrong_variant() {
        // WRONG (05c/1): every bad body is answered with axum's own `rejection.status()` instead of the service's mapping, and axum answers 400 for a JSON syntax error: the check records 400 for broken JSON and for an empty body. Shows: `body: broken JSON`, `body: empty`.
        1 => match error {
            ApiError::BadBody(rejection) => rejection.status(),
            other => solved(other),
        },
        // WRONG (05c/2): the catch-all arm answers 400 without asking the rejection whether it is a body over the limit: the check records 400 instead of 413 for `body: over the limit`. Shows: `body: over the limit`.
        2 => match error {
            ApiError::BadBody(rejection) => match rejection {
                JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                JsonRejection::JsonSyntaxError(_) | JsonRejection::JsonDataError(_) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                _ => StatusCode::BAD_REQUEST,
            },
            other => solved(other),
        },
        // WRONG (05c/3): only broken JSON is 422; JSON that is not a login body ("it parsed, so the request is just bad") is 400: the check records 400 for `body: not a login`, `body: a field missing` and `body: a number for a name`. Shows: `body: not a login`, `body: a field missing`, `body: a number for a name`.
        3 => match error {
            ApiError::BadBody(rejection) => match rejection {
                JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                JsonRejection::JsonSyntaxError(_) => StatusCode::UNPROCESSABLE_ENTITY,
                other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            },
            other => solved(other),
        },
        // WRONG (05c/4): "re-authenticate" read as "not authenticated": `ReauthRequired` answers 401 instead of 403, which would make a client drop a session that is alive: the check records 401 for `re-authentication required`. Shows: `re-authentication required`.
        4 => match error {
            ApiError::ReauthRequired => StatusCode::UNAUTHORIZED,
            other => solved(other),
        },
        // WRONG (05c/5): a degraded Redis is "the server's fault", so `Degraded` answers 500, which the chapter says nothing may produce: the check records 500 for `Redis full (degraded)`. Shows: `Redis full (degraded)`.
        5 => match error {
            ApiError::Degraded(_) => StatusCode::INTERNAL_SERVER_ERROR,
            other => solved(other),
        },
        // WRONG (05c/6): every error about a value of one's own is "a bad value", 422, even one over its size limit or stored as another type: the check records 422 for `your value: over its limit` and `your value: another type`. Shows: `your value: over its limit`, `your value: another type`.
        6 => match error {
            ApiError::Data(_) => StatusCode::UNPROCESSABLE_ENTITY,
            other => solved(other),
        },
        n => no_wrong_answer("05c", n),
    }
}

/// The right status of every error, for the wrong answers whose mistake is elsewhere.
fn solved(error: &ApiError) -> StatusCode {
    match error {
        ApiError::InvalidSession => StatusCode::UNAUTHORIZED,
        ApiError::InvalidUsername(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ApiError::BadBody(rejection) => solved_bad_body(rejection),
        ApiError::CrossSite | ApiError::ReauthRequired => StatusCode::FORBIDDEN,
        ApiError::WrongPassword => StatusCode::UNAUTHORIZED,
        ApiError::NotFound | ApiError::NoSuchSession => StatusCode::NOT_FOUND,
        ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        ApiError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        ApiError::Unavailable(_) | ApiError::Degraded(_) => StatusCode::SERVICE_UNAVAILABLE,
        ApiError::Data(DataError::TooLarge(_)) => StatusCode::PAYLOAD_TOO_LARGE,
        ApiError::Data(DataError::NotThatType(..)) => StatusCode::INTERNAL_SERVER_ERROR,
        ApiError::Data(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The right mapping of a bad body, for the wrong answers whose mistake is elsewhere.
fn solved_bad_body(rejection: &JsonRejection) -> StatusCode {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        JsonRejection::JsonSyntaxError(_) | JsonRejection::JsonDataError(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Exercise 05d: `POST /logout`. Delete every session the request's cookies name and answer 200
/// with the cookie-clearing `Set-Cookie`, with or without a session; 403 from another site; 503
/// and no cookie when Redis cannot be asked.
pub async fn logout(
    same_origin: Result<SameOrigin, ApiError>,
    ClientDevice(device): ClientDevice,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let variant = wrong_variant();
    // WRONG (05d/5): no `SameOrigin` guard ("logging out is harmless"): another site can end the user's session, and the check records 200 with the clearing cookie for the cross-site logout, and the session gone. Shows: `5. from another site`, `5. dave's`.
    if variant != 5 {
        same_origin?;
    }
    let ids = read_session_cookies(&headers, state.cookie_secure);
    let cleared = || {
        let body = MessageResponse { message: "Logged out successfully".into() };
        Ok(([(SET_COOKIE, clear_session_cookie(state.cookie_secure))], Json(body)).into_response())
    };
    match variant {
        // WRONG (05d/1): the error of the delete is thrown away (`let _ = ...`, "logout should never fail"), so the cookie is cleared even when Redis did not answer: the check records status 200 with the clearing `set_cookie` while Redis is frozen, instead of 503 and no cookie. Shows: `6. while Redis does not answer`.
        1 => {
            if !ids.is_empty() {
                let _ = state.store.destroy_cookie_sessions(&ids, &device).await;
            }
            cleared()
        }
        // WRONG (05d/2): only the first cookie's session is ended (`ids.first()`, as login reads the one it replaces): with a planted cookie first, the check records that the real session is still in Redis after a logout that answered "Logged out successfully". Shows: carol, `2. the real one (carol's)`.
        2 => {
            if let Some(first) = ids.first() {
                let mut one = SessionIds::default();
                one.push(first);
                state.store.destroy_cookie_sessions(&one, &device).await?;
            }
            cleared()
        }
        // WRONG (05d/3): the cookie is cleared and Redis is never asked ("the browser forgets the id, so the session is gone"): the check records every session still in Redis after its logout, and 200 while Redis is frozen. Shows: `6. while Redis does not answer`, alice, carol, mallory.
        3 => cleared(),
        // WRONG (05d/4): on a Redis error it answers 503 but clears the cookie anyway ("the user asked to leave"): the check records `503 Session store unavailable, the cookie cleared` while Redis is frozen. Shows: `6. while Redis does not answer`.
        4 => match state.store.destroy_cookie_sessions(&ids, &device).await {
            Ok(_) => cleared(),
            Err(error) => {
                let unavailable = ApiError::from(error).into_response();
                let (mut parts, body) = unavailable.into_parts();
                parts.headers.insert(SET_COOKIE, clear_session_cookie(state.cookie_secure));
                Ok(Response::from_parts(parts, body))
            }
        },
        5 => {
            if !ids.is_empty() {
                state.store.destroy_cookie_sessions(&ids, &device).await?;
            }
            cleared()
        }
        // WRONG (05d/6): the store is given a device of its own making (`Device::unknown(None)`) instead of the request's `ClientDevice`: the check records the logout event in the user's security log as `unknown device`, not the browser that logged out. Shows: `alice's newest security event`.
        6 => {
            if !ids.is_empty() {
                state.store.destroy_cookie_sessions(&ids, &Device::unknown(None)).await?;
            }
            cleared()
        }
        n => no_wrong_answer("05d", n),
    }
}
