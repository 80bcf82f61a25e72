//! Plausible wrong answers for lesson 08 (feature `wrong`): each exercise is solved except for
//! one mistake a learner would really make, which its check in `tests/exercises.rs` catches.

use session_storage::Authenticated;

// WRONG (08a): the first two arguments of `format!` are swapped (user id first, then the name in parentheses), which the check catches because "logged in" records the body `user_13569015450504309734941639474 (alice), session <its handle>, 1800 s left`.
/// Exercise 08a: `GET /me`, a route of your own that needs a session.
pub async fn me(who: Authenticated) -> String {
    format!("{} ({}), session {}, {} s left", who.user_id(), who.username(), who.handle(), who.expires_in())
}

// WRONG (08b): the live caller is greeted by `who.user_id()` instead of `who.username()`, which the check catches because "logged in" records the body `hello again, user_13569015450504309734941639474` instead of `hello again, alice`.
/// Exercise 08b: `GET /greeting`, a route that needs no session but says more to a caller who
/// has one.
pub async fn greeting(who: Option<Authenticated>) -> String {
    match who {
        Some(who) => format!("hello again, {}", who.user_id()),
        None => "hello, stranger".to_string(),
    }
}
