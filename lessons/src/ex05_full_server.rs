//! Exercises for lesson 05, the full server (`book/src/05-full-server.md`).
//!
//! Check them with `cargo exercise ex05a` and `cargo exercise ex05b`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use session_storage::ApiError;
use session_storage::AppState;

// ANCHOR: ex05a
/// Exercise 05a: a new route, `GET /session`, showing the caller's session and how long it has
/// left.
///
/// Answer 200 with JSON `{"user_id","username","created_at","expires_in"}` (`expires_in`: the TTL
/// just set) and the renewed cookie, like `/profile`; 401 `{"detail":"Session expired or invalid"}`
/// without a live session. The test mounts it at `/session` next to the real `/login`.
pub async fn session_info(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    // TODO: authenticate the request, then answer with a `SessionInfo` and the cookie.
    // Hint: `session_storage::http::authenticate(&state, &headers).await?` gives the renewed
    // session and cookie; `(StatusCode::OK, [(SET_COOKIE, cookie)], Json(body)).into_response()`.
    todo!("exercise 05a: session_info")
}
// ANCHOR_END: ex05a

// ANCHOR: ex05b
/// Exercise 05b: accept a username only if it has 1 to 64 characters (characters, not bytes)
/// and no control characters. The error text is what the client sees in `{"detail": ...}`.
pub fn validate_username(username: &str) -> Result<(), String> {
    // TODO: count characters and look for control characters.
    // Hint: `username.chars().count()` and `char::is_control`. Messages: "username must be 1 to
    // 64 characters" and "username must not contain control characters".
    todo!("exercise 05b: validate_username")
}
// ANCHOR_END: ex05b
