//! Reference solutions for lesson 08: routes an application writes itself, so they live here
//! rather than in `src/` (the extractor they use is `src/http/extract.rs`, anchor
//! `authenticated`).

use session_storage::Authenticated;

// ANCHOR: me
/// Exercise 08a, solved.
pub async fn me(who: Authenticated) -> String {
    format!("{} ({}), session {}, {} s left", who.username(), who.user_id(), who.handle(), who.expires_in())
}
// ANCHOR_END: me

// ANCHOR: greeting
/// Exercise 08b, solved: `Option<Authenticated>` is `None` only for "no live session"; a Redis
/// outage is still the extractor's 503.
pub async fn greeting(who: Option<Authenticated>) -> String {
    match who {
        Some(who) => format!("hello again, {}", who.username()),
        None => "hello, stranger".to_string(),
    }
}
// ANCHOR_END: greeting
