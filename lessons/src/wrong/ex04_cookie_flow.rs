//! Plausible wrong answers for lesson 04 (feature `wrong`): each exercise is solved except for
//! one mistake a learner would really make, which its check in `tests/exercises.rs` catches.

use std::time::Duration;

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};
use session_storage::cookies::SessionIds;
use session_storage::cookies::cookie_name;
use session_storage::store::SessionId;

/// The cookie as a header value (`header_value` in `src/cookies.rs`).
fn header_value(cookie: &Cookie<'_>) -> HeaderValue {
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

// WRONG (04a): `secure` adds the `Secure` attribute but the name stays `session_id` (the `__Host-` prefix is forgotten), which the check catches because `secure_five_minutes_left` records `name: session_id` instead of `__Host-session_id`.
/// Exercise 04a: the `Set-Cookie` value that hands the browser its session.
pub fn session_cookie(id: &SessionId, max_age: Duration, secure: bool) -> HeaderValue {
    let max_age = cookie::time::Duration::seconds(i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX));
    let cookie = Cookie::build(("session_id", id.to_string()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure)
        .max_age(max_age)
        .build();
    header_value(&cookie)
}

// WRONG (04b): the removal cookie leaves out `Path=/`, so it names another cookie than the session cookie (the browser takes the request's directory as its path, and refuses a `__Host-` cookie without `Path=/` altogether), which the check catches because both cases record `Path: ~` instead of `/`.
/// Exercise 04b: the `Set-Cookie` value a logout sends, so the browser forgets the session.
pub fn clear_session_cookie(secure: bool) -> HeaderValue {
    let cookie = Cookie::build((cookie_name(secure), String::new()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    header_value(&cookie)
}

// WRONG (04c): each `Cookie` header is read as text with `HeaderValue::to_str()` and skipped when that fails, so another cookie's UTF-8 or binary value hides the session id in the same header, which the check catches because "after a cookie whose value is UTF-8" and "after a cookie that is not even UTF-8" record no ids instead of `id 1`.
/// Exercise 04c: the session ids a request's `Cookie` headers carry, in the order it sent them.
pub fn read_session_cookies(headers: &HeaderMap, secure: bool) -> SessionIds {
    let name = cookie_name(secure);
    let mut ids = SessionIds::default();
    'headers: for header in headers.get_all(COOKIE) {
        let Ok(text) = header.to_str() else {
            continue;
        };
        for pair in text.split(';') {
            let Some(value) = pair.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')) else {
                continue;
            };
            let Some(id) = SessionId::parse(value) else {
                continue;
            };
            if !ids.iter().any(|seen| seen == id) && !ids.push(id) {
                break 'headers;
            }
        }
    }
    ids
}
