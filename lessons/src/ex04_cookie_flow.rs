//! Exercises for lesson 04, the cookie flow (`book/src/04-cookie-flow.md`).
//!
//! Check them with `cargo exercise 04a`, `04b` and `04c`; `cargo exercise hint 04a` helps.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use session_storage::cookies::SessionCookie;
use session_storage::store::SessionId;

// ANCHOR: ex04a
/// Exercise 04a: the `Set-Cookie` value that hands the browser its session.
///
/// Name `session_id`, value the id; `HttpOnly`, `SameSite=Lax`, `Path=/`, `Max-Age` in whole
/// seconds, and `Secure` only when `secure` is true.
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
/// Exercise 04c: what a request's `Cookie` headers say about the session.
///
/// Look at every `Cookie` header (a browser may send several) and every cookie in each.
/// `Missing` without a `session_id`; `Present(id)` for exactly one whose value is a canonical
/// session id ([`SessionId::parse`]); `Malformed` for anything else: a value that is not an id,
/// a header that is not text, or two `session_id` cookies (the service refuses to guess which
/// one the user meant).
pub fn read_session_cookie(headers: &HeaderMap) -> SessionCookie {
    // TODO: walk every Cookie header, split it into cookies, and judge the session_id ones.
    todo!("exercise 04c: read_session_cookie")
}
// ANCHOR_END: ex04c
