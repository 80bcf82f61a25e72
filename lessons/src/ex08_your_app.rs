//! Exercises for lesson 08, sessions in your own axum app (`book/src/08-your-app.md`).
//!
//! Check them with `cargo exercise 08a` and `08b`; `cargo exercise hint 08a` helps.

// The extractor of lesson 05, for your answers: both handlers start without an argument.
#[allow(unused_imports)]
use session_storage::Authenticated;

// ANCHOR: ex08a
/// Exercise 08a: `GET /me`, a route of your own that needs a session.
///
/// Answer `"<username> (<user_id>), session <handle>, <expires_in> s left"`, for example
/// `alice (user_1), session 3f2a9c0d41b7e865, 1800 s left`, where the seconds are the session's
/// own time left: the TTL its renewal just set (the idle lifetime, or less near the absolute
/// one). Without a live session it must never run: the check expects the service's 401 JSON.
/// The renewed cookie is not your job.
pub async fn me() -> String {
    // TODO: take the caller's session as an argument (an extractor), and format its fields.
    todo!("exercise 08a: me")
}
// ANCHOR_END: ex08a

// ANCHOR: ex08b
/// Exercise 08b: `GET /greeting`, a route that needs no session but says more to a caller who
/// has one: `"hello again, <username>"` for a live session, `"hello, stranger"` for everyone else.
///
/// Everyone else means: no cookie, a malformed one, or a cookie of a dead session. It does not
/// mean "Redis did not answer": then the answer must be the service's 503, never a stranger's
/// greeting (a user who is logged in would be told they are not).
pub async fn greeting() -> String {
    // TODO: take the caller's session as an argument that may be missing, and say hello.
    todo!("exercise 08b: greeting")
}
// ANCHOR_END: ex08b
