//! Exercises for lesson 04, the cookie flow (`book/src/04-cookie-flow.md`).
//!
//! Check them with `cargo exercise ex04a` and `cargo exercise ex04b`.

use std::time::Duration;

use axum::http::HeaderValue;
use session_storage::store::SessionId;

// ANCHOR: ex04a
/// Exercise 04a: the `Set-Cookie` value that hands the browser its session.
///
/// Name `session_id`, value the id; `HttpOnly`, `SameSite=Lax`, `Path=/`, `Max-Age` in whole
/// seconds, and `Secure` only when `secure` is true.
pub fn session_cookie(id: &SessionId, max_age: Duration, secure: bool) -> HeaderValue {
    // TODO: format the cookie and turn it into a HeaderValue.
    // Hint: attributes are joined with "; ", e.g. `format!("session_id={id}; HttpOnly; ...")`,
    // and `HeaderValue::from_str(&text)` returns a Result (a UUID is always a valid value).
    todo!("exercise 04a: session_cookie")
}
// ANCHOR_END: ex04a

// ANCHOR: ex04b
/// Exercise 04b: the `Set-Cookie` value a logout sends, so the browser forgets the session.
///
/// Same name, path and attributes as the session cookie, an empty value, and `Max-Age=0`.
pub fn clear_session_cookie(secure: bool) -> HeaderValue {
    // TODO: the same attributes as 04a, with an empty value and Max-Age=0.
    // Hint: if Path differs from the original cookie's, the browser keeps the old one.
    todo!("exercise 04b: clear_session_cookie")
}
// ANCHOR_END: ex04b
