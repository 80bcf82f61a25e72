//! Exercises for lesson 05, the full server (`book/src/05-full-server.md`).
//!
//! Check them with `cargo exercise 05a` to `05d`; `cargo exercise hint 05a` helps.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use session_storage::http::{ClientDevice, SessionInfo};
use session_storage::{ApiError, AppState, Authenticated, SameOrigin};

// ANCHOR: ex05a
/// Exercise 05a: accept a username only if it has 1 to 64 characters (characters, not bytes)
/// and no control characters: Unicode's category Cc, which is U+0000 to U+001F (tab, newline,
/// NUL, escape, ...), U+007F (DEL) and U+0080 to U+009F (the C1 controls). The error text is
/// what the client sees in `{"detail": ...}`: "username must be 1 to 64 characters" or "username
/// must not contain control characters". The length rule comes first: a name that breaks both
/// gets the length error.
pub fn validate_username(username: &str) -> Result<(), String> {
    // TODO: count characters and look for control characters.
    todo!("exercise 05a: validate_username")
}
// ANCHOR_END: ex05a

// ANCHOR: ex05b
/// Exercise 05b: a new route, `GET /session`, showing the caller's session and how long it has
/// left.
///
/// Answer 200 with JSON `{"user_id","username","created_at","expires_in"}`, like `/profile`:
/// `created_at` is the session's own (unix seconds at login, as Redis holds it), and `expires_in`
/// the TTL just set, which is the idle lifetime only while the absolute lifetime is further away.
/// `Authenticated` has already answered 401 `{"detail":"Session expired or invalid"}` without a
/// live session, and the `renew_cookie` middleware adds the renewed cookie. The check mounts it
/// at `/session` next to the real `/login`, with lifetimes other than the defaults.
pub async fn session_info(who: Authenticated) -> Json<SessionInfo> {
    // TODO: answer with a `SessionInfo` made from `who`'s fields.
    todo!("exercise 05b: session_info")
}
// ANCHOR_END: ex05b

// ANCHOR: ex05c
/// Exercise 05c: the status each [`ApiError`] answers with, as the chapter's error table lists
/// them: 401 for an invalid session or a wrong password, 422 for a bad username, 403 for a
/// cross-site request or a missing re-authentication, 404 for an unknown route or session
/// handle, 405 for an unknown method, 408 for a request that took too long, 429 when throttled,
/// 503 when Redis is unavailable or degraded; and for a bad body: 415 without a JSON content
/// type, 422 for JSON that is broken or not a login body, 413 for a body over the limit, 400 for
/// a body that could not be read at all. (The service also answers 408 for a body that stopped
/// coming; the check does not ask for that case.) And for `Data`, the errors of lesson 11's own
/// values in the session (`session_storage::store::DataError`): 413 for `TooLarge`, 500 for
/// `NotThatType` (a value the application stored as another type than it reads: its own mistake,
/// never the client's), 422 for any other.
pub fn error_status(error: &ApiError) -> StatusCode {
    // TODO: one match over the variants; look inside BadBody for the kind of rejection.
    todo!("exercise 05c: error_status")
}
// ANCHOR_END: ex05c

// ANCHOR: ex05d
/// Exercise 05d: `POST /logout`, as the service's own handler takes it: `SameOrigin` first (a
/// request from another site is answered 403 before anything else), the device the request
/// comes from, the state and the headers.
///
/// End the session of every session id the cookies name (a planted cookie may come first), with
/// the logout recorded on this device in each owner's security log, and answer 200
/// `{"message":"Logged out successfully"}` with the cookie-clearing `Set-Cookie`, with or without
/// a session. But when Redis cannot be asked, answer 503 and leave the cookie alone: a browser
/// told its session is gone while it still lives in Redis would keep a session it cannot end.
pub async fn logout(
    _: SameOrigin,
    ClientDevice(device): ClientDevice,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // TODO: end the session of every id the cookies name, on this device; then clear the cookie.
    todo!("exercise 05d: logout")
}
// ANCHOR_END: ex05d
