//! Exercises for lesson 04, the cookie flow (`book/src/04-cookie-flow.md`).
//!
//! Check them with `cargo exercise 04a`, `04b` and `04c`; `cargo exercise hint 04a` helps.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use session_storage::store::{SessionId, SessionIds};

// ANCHOR: ex04a
/// Exercise 04a: the `Set-Cookie` value that hands the browser its session.
///
/// Name `session_id`, value the id; `HttpOnly`, `SameSite=Lax`, `Path=/`, `Max-Age` in whole
/// seconds. When `secure` is true, also `Secure`, and the name `__Host-session_id` (a name that
/// only an HTTPS response for this exact host, with `Path=/`, can set).
pub fn session_cookie(id: &SessionId, max_age: Duration, secure: bool) -> HeaderValue {
    // TODO: build the cookie text and turn it into a HeaderValue.
    todo!("exercise 04a: session_cookie")
}
// ANCHOR_END: ex04a

// ANCHOR: ex04b
/// Exercise 04b: the `Set-Cookie` value a logout sends, so the browser forgets the session.
///
/// Same name, path and attributes as the session cookie, an empty value, and `Max-Age=0`.
pub fn clear_session_cookie(secure: bool) -> HeaderValue {
    // TODO: the same attributes as 04a, with an empty value and Max-Age=0.
    todo!("exercise 04b: clear_session_cookie")
}
// ANCHOR_END: ex04b

// ANCHOR: ex04c
/// Exercise 04c: the session ids a request's `Cookie` headers carry, in the order it sent them.
///
/// Look at every `Cookie` header (one over HTTP/1.1, several over HTTP/2) and every cookie in
/// each, named `session_id` (or `__Host-session_id` when `secure`). Read the header as bytes:
/// another cookie's value may be UTF-8 or anything, and must not hide ours. Keep only ids this
/// service mints ([`SessionId::from_cookie`]), each once, and at most eight (malformed and
/// repeated ones take no place): a few planted cookies must not lock anyone out, and a flood of
/// them must not cost a Redis call each.
pub fn read_session_cookies(headers: &HeaderMap, secure: bool) -> SessionIds {
    // TODO: walk every Cookie header, split it into cookies, and collect the well-formed ids.
    todo!("exercise 04c: read_session_cookies")
}
// ANCHOR_END: ex04c
