//! Plausible wrong answers for lesson 08 (feature `wrong`): each one solves its exercise except
//! for one mistake a learner would really make, or one the chapter warns about. Its check in
//! `tests/exercises/l08.rs` must refuse it. `LESSONS_WRONG=n` picks the `n`th of each exercise.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use session_storage::cookies::read_session_cookies;
use session_storage::{ApiError, AppState, Authenticated};

use crate::{no_wrong_answer, wrong_variant};

/// Exercise 08a: `GET /me`, a route of your own that needs a session. (The wrong answers take
/// `Option<Authenticated>` and the state, so that each can make its own mistake; those that
/// meant to take `Authenticated` answer its 401 themselves.)
pub async fn me(who: Option<Authenticated>, State(state): State<AppState>) -> Result<String, ApiError> {
    let variant = wrong_variant();
    let Some(who) = who else {
        return match variant {
            // WRONG (08a/2): the handler takes `Option<Authenticated>` ("so that it never fails") and answers a stranger itself: the check records 200 `not logged in` for the request without a cookie and the one with a dead session, instead of the service's 401. Shows: `1. without a cookie`, `2. a dead session`.
            2 => Ok("not logged in".to_string()),
            1 | 3 => Err(ApiError::InvalidSession),
            n => no_wrong_answer("08a", n),
        };
    };
    let left = who.expires_in();
    match variant {
        // WRONG (08a/1): the first two arguments of `format!` are swapped (user id first, then the name in parentheses): the check records `user_... (alice), session <its handle>, 1234 s left`. Shows: `a. a fresh session`, `b. 987 s of its lifetime left`.
        1 => Ok(format!("{} ({}), session {}, {} s left", who.user_id(), who.username(), who.handle(), left)),
        2 => Ok(format!("{} ({}), session {}, {} s left", who.username(), who.user_id(), who.handle(), left)),
        // WRONG (08a/3): the seconds left are the store's idle lifetime (`state.store.lifetimes().idle`) instead of the session's own time left: right for a fresh session, but the check records `1234 s left` for the session with 987 s of its lifetime left. Shows: `b. 987 s of its lifetime left`.
        3 => {
            let idle = state.store.lifetimes().idle.as_secs();
            Ok(format!("{} ({}), session {}, {} s left", who.username(), who.user_id(), who.handle(), idle))
        }
        n => no_wrong_answer("08a", n),
    }
}

/// Exercise 08b: `GET /greeting`, a route that needs no session but says more to a caller who
/// has one. (The wrong answers take the request's head and run the extractor they meant to take
/// themselves, so that each can make its own mistake.)
pub async fn greeting(mut parts: Parts, State(state): State<AppState>) -> Result<String, ApiError> {
    let variant = wrong_variant();
    if variant == 3 {
        // WRONG (08b/3): the greeting judges by the cookie alone ("a session cookie means a returning user") and never asks Redis: the check records `hello again, friend` for a dead session (instead of a stranger's greeting), for alice (whose name it never learns, and whose session is not renewed), and while Redis does not answer (instead of the 503). Shows: `3. a dead session`, `4. logged in`, `6. logged in, while Redis does not answer`.
        return Ok(if read_session_cookies(&parts.headers, state.cookie_secure).is_empty() {
            "hello, stranger".to_string()
        } else {
            "hello again, friend".to_string()
        });
    }
    let who = Authenticated::from_request_parts(&mut parts, &state).await;
    match (variant, who) {
        // WRONG (08b/1): the live caller is greeted by `who.user_id()` instead of `who.username()`: the check records `hello again, user_...` instead of `hello again, alice`. Shows: `4. logged in`, `5. logged in, behind a dead cookie`.
        (1, Ok(who)) => Ok(format!("hello again, {}", who.user_id())),
        (1, Err(ApiError::InvalidSession)) => Ok("hello, stranger".to_string()),
        // WRONG (08b/2): the handler takes `Result<Authenticated, ApiError>` and greets a stranger on any `Err`, so Redis's 503 becomes "you are nobody": the check records 200 `hello, stranger` for the logged-in caller while Redis does not answer. Shows: `6. logged in, while Redis does not answer`.
        (2, Ok(who)) => Ok(format!("hello again, {}", who.username())),
        (2, Err(_)) => Ok("hello, stranger".to_string()),
        // WRONG (08b/4): the handler takes `Authenticated`, as in 08a, so a caller without a session never reaches it: the check records the service's 401 for no cookie, a malformed one and a dead session, instead of `hello, stranger`. Shows: `1. without a cookie`, `2. a malformed cookie`, `3. a dead session`.
        (4, Ok(who)) => Ok(format!("hello again, {}", who.username())),
        (1 | 4, Err(error)) => Err(error),
        (n, _) => no_wrong_answer("08b", n),
    }
}
