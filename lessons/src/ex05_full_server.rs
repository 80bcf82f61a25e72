//! Exercises for lesson 05, the full server (`book/src/05-full-server.md`).
//!
//! Check them with `cargo exercise 05a` to `05d`; `cargo exercise hint 05a` helps.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use session_storage::http::SessionInfo;
use session_storage::{ApiError, AppState, Authenticated};

// ANCHOR: ex05a
/// Exercise 05a: accept a username only if it has 1 to 64 characters (characters, not bytes)
/// and no control characters. The error text is what the client sees in `{"detail": ...}`:
/// "username must be 1 to 64 characters" or "username must not contain control characters".
pub fn validate_username(username: &str) -> Result<(), String> {
    // TODO: count characters and look for control characters.
    todo!("exercise 05a: validate_username")
}
// ANCHOR_END: ex05a

// ANCHOR: ex05b
/// Exercise 05b: a new route, `GET /session`, showing the caller's session and how long it has
/// left.
///
/// Answer 200 with JSON `{"user_id","username","created_at","expires_in"}` (`expires_in`: the TTL
/// just set), like `/profile`. `Authenticated` has already answered 401
/// `{"detail":"Session expired or invalid"}` without a live session, and the `renew_cookie`
/// middleware adds the renewed cookie. The test mounts it at `/session` next to the real `/login`.
pub async fn session_info(who: Authenticated) -> Json<SessionInfo> {
    // TODO: answer with a `SessionInfo` made from `who`'s fields.
    todo!("exercise 05b: session_info")
}
// ANCHOR_END: ex05b

// ANCHOR: ex05c
/// Exercise 05c: the status each [`ApiError`] answers with: 401 for an invalid session, 422 for
/// a bad username, 404 and 405 for unknown routes and methods, 408 for a request that took too
/// long, 503 when Redis is unavailable, and for a bad body: 415 without a JSON content type, 422
/// for JSON that is not a login body, 413 for a body over the limit, 400 for a body that could
/// not be read at all. (The service also answers 408 for a body that stopped coming; the check
/// does not ask for that case.)
pub fn error_status(error: &ApiError) -> StatusCode {
    // TODO: one match over the variants; look inside BadBody for the kind of rejection.
    todo!("exercise 05c: error_status")
}
// ANCHOR_END: ex05c

// ANCHOR: ex05d
/// Exercise 05d: `POST /logout`. Delete the caller's session and answer 200
/// `{"message":"Logged out successfully"}` with the cookie-clearing `Set-Cookie`, with or without
/// a session. But when Redis cannot be asked, answer 503 and leave the cookie alone: a browser
/// told its session is gone while it still lives in Redis would keep a session it cannot end.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    // TODO: destroy the session if the request names one, then clear the cookie.
    todo!("exercise 05d: logout")
}
// ANCHOR_END: ex05d
