//! # Exercises
//!
//! One file per lesson, `src/exNN_<lesson>.rs`, with two to four exercises each, easiest first.
//! Open the file, replace each `todo!()` where the `// TODO:` says, and check your work:
//!
//! ```text
//! cargo exercise            # every exercise, done or not, and which one is next
//! cargo exercise 02b        # check one; on failure, what differs from the expected answer
//! cargo exercise hint 02b   # a nudge; `... hint 02b more` names the commands and the shape,
//!                           # `... hint 02b answer` gives the answer
//! ```
//!
//! A check runs your code against a private Redis and compares what it did with the answer key
//! in `tests/snapshots/`. It never writes a snapshot, so a wrong answer can never become the
//! expected one. Plain `cargo test` at the top of the repository never runs the exercises, so an
//! unfinished one breaks nothing.
//!
//! Each lesson's file is behind a feature of its own (`l01` ... `l11`, all on by default), and
//! `cargo exercise 04a` builds only lesson 04's (`--no-default-features --features l04`): a file
//! that does not compile yet stops only its own lesson's checks, never another's, and the list
//! still shows every exercise (the runner itself is built with no lesson at all).
//!
//! With `--features solutions` every starter is swapped for its reference solution: the real
//! code of the service in `src/`, or (for exercises the service has no function for) the code in
//! `src/solutions/`. With `--features hints` every starter is the one in `src/` with each
//! exercise's answer hint (the listing in `hints/<id>/answer.md`) put in its place, so the
//! hints compile against today's API and pass their checks (`build.rs` writes those files).
//! With `--features wrong` every starter is swapped for plausible wrong answers (`src/wrong/`):
//! at least three per exercise, each one mistake a learner would make (or one the chapter warns
//! about), named in a `// WRONG (03a/2): ... Shows: key.` comment and run with `LESSONS_WRONG=2`.
//! CI checks that every solution and every answer hint passes, every untouched starter fails,
//! and every wrong answer fails with a snapshot diff that changes a key its comment names
//! (`.ci/check-exercises`).

use std::time::Duration;

#[cfg(all(feature = "l01", not(any(feature = "solutions", feature = "wrong", feature = "hints"))))]
#[allow(unused_variables)]
pub mod ex01_hash_basics;
#[cfg(all(feature = "l01", feature = "solutions", not(any(feature = "wrong", feature = "hints"))))]
#[path = "solutions/ex01_hash_basics.rs"]
pub mod ex01_hash_basics;
#[cfg(all(feature = "l01", feature = "wrong", not(feature = "hints")))]
#[path = "wrong/ex01_hash_basics.rs"]
pub mod ex01_hash_basics;
#[cfg(all(feature = "l01", feature = "hints"))]
#[allow(unused_imports)]
pub mod ex01_hash_basics {
    include!(concat!(env!("OUT_DIR"), "/hints/ex01_hash_basics.rs"));
}

#[cfg(all(feature = "l02", not(any(feature = "solutions", feature = "wrong", feature = "hints"))))]
#[allow(unused_variables)]
pub mod ex02_expire;
#[cfg(all(feature = "l02", feature = "solutions", not(any(feature = "wrong", feature = "hints"))))]
#[path = "solutions/ex02_expire.rs"]
pub mod ex02_expire;
#[cfg(all(feature = "l02", feature = "wrong", not(feature = "hints")))]
#[path = "wrong/ex02_expire.rs"]
pub mod ex02_expire;
#[cfg(all(feature = "l02", feature = "hints"))]
#[allow(unused_imports)]
pub mod ex02_expire {
    include!(concat!(env!("OUT_DIR"), "/hints/ex02_expire.rs"));
}

#[cfg(all(feature = "l03", not(any(feature = "solutions", feature = "wrong", feature = "hints"))))]
#[allow(unused_variables)]
pub mod ex03_sliding_ttl;
#[cfg(all(feature = "l03", feature = "solutions", not(any(feature = "wrong", feature = "hints"))))]
#[path = "solutions/ex03_sliding_ttl.rs"]
pub mod ex03_sliding_ttl;
#[cfg(all(feature = "l03", feature = "wrong", not(feature = "hints")))]
#[path = "wrong/ex03_sliding_ttl.rs"]
pub mod ex03_sliding_ttl;
#[cfg(all(feature = "l03", feature = "hints"))]
#[allow(unused_imports)]
pub mod ex03_sliding_ttl {
    include!(concat!(env!("OUT_DIR"), "/hints/ex03_sliding_ttl.rs"));
}

#[cfg(all(feature = "l04", not(any(feature = "solutions", feature = "wrong", feature = "hints"))))]
#[allow(unused_variables)]
pub mod ex04_cookie_flow;
#[cfg(all(feature = "l04", feature = "solutions", not(any(feature = "wrong", feature = "hints"))))]
#[path = "solutions/ex04_cookie_flow.rs"]
pub mod ex04_cookie_flow;
#[cfg(all(feature = "l04", feature = "wrong", not(feature = "hints")))]
#[path = "wrong/ex04_cookie_flow.rs"]
pub mod ex04_cookie_flow;
#[cfg(all(feature = "l04", feature = "hints"))]
#[allow(unused_imports)]
pub mod ex04_cookie_flow {
    include!(concat!(env!("OUT_DIR"), "/hints/ex04_cookie_flow.rs"));
}

#[cfg(all(feature = "l05", not(any(feature = "solutions", feature = "wrong", feature = "hints"))))]
#[allow(unused_variables)]
pub mod ex05_full_server;
#[cfg(all(feature = "l05", feature = "solutions", not(any(feature = "wrong", feature = "hints"))))]
#[path = "solutions/ex05_full_server.rs"]
pub mod ex05_full_server;
#[cfg(all(feature = "l05", feature = "wrong", not(feature = "hints")))]
#[path = "wrong/ex05_full_server.rs"]
pub mod ex05_full_server;
#[cfg(all(feature = "l05", feature = "hints"))]
#[allow(unused_imports)]
pub mod ex05_full_server {
    include!(concat!(env!("OUT_DIR"), "/hints/ex05_full_server.rs"));
}

#[cfg(all(feature = "l06", not(any(feature = "solutions", feature = "wrong", feature = "hints"))))]
#[allow(unused_variables)]
pub mod ex06_every_device;
#[cfg(all(feature = "l06", feature = "solutions", not(any(feature = "wrong", feature = "hints"))))]
#[path = "solutions/ex06_every_device.rs"]
pub mod ex06_every_device;
#[cfg(all(feature = "l06", feature = "wrong", not(feature = "hints")))]
#[path = "wrong/ex06_every_device.rs"]
pub mod ex06_every_device;
#[cfg(all(feature = "l06", feature = "hints"))]
#[allow(unused_imports)]
pub mod ex06_every_device {
    include!(concat!(env!("OUT_DIR"), "/hints/ex06_every_device.rs"));
}

#[cfg(all(feature = "l07", not(any(feature = "solutions", feature = "wrong", feature = "hints"))))]
#[allow(unused_variables)]
pub mod ex07_scale_out;
#[cfg(all(feature = "l07", feature = "solutions", not(any(feature = "wrong", feature = "hints"))))]
#[path = "solutions/ex07_scale_out.rs"]
pub mod ex07_scale_out;
#[cfg(all(feature = "l07", feature = "wrong", not(feature = "hints")))]
#[path = "wrong/ex07_scale_out.rs"]
pub mod ex07_scale_out;
#[cfg(all(feature = "l07", feature = "hints"))]
#[allow(unused_imports)]
pub mod ex07_scale_out {
    include!(concat!(env!("OUT_DIR"), "/hints/ex07_scale_out.rs"));
}

#[cfg(all(feature = "l08", not(any(feature = "solutions", feature = "wrong", feature = "hints"))))]
#[allow(unused_variables)]
pub mod ex08_your_app;
#[cfg(all(feature = "l08", feature = "solutions", not(any(feature = "wrong", feature = "hints"))))]
#[path = "solutions/ex08_your_app.rs"]
pub mod ex08_your_app;
#[cfg(all(feature = "l08", feature = "wrong", not(feature = "hints")))]
#[path = "wrong/ex08_your_app.rs"]
pub mod ex08_your_app;
#[cfg(all(feature = "l08", feature = "hints"))]
#[allow(unused_imports)]
pub mod ex08_your_app {
    include!(concat!(env!("OUT_DIR"), "/hints/ex08_your_app.rs"));
}

#[cfg(all(feature = "l09", not(any(feature = "solutions", feature = "wrong", feature = "hints"))))]
#[allow(unused_variables)]
pub mod ex09_rate_limit;
#[cfg(all(feature = "l09", feature = "solutions", not(any(feature = "wrong", feature = "hints"))))]
#[path = "solutions/ex09_rate_limit.rs"]
pub mod ex09_rate_limit;
#[cfg(all(feature = "l09", feature = "wrong", not(feature = "hints")))]
#[path = "wrong/ex09_rate_limit.rs"]
pub mod ex09_rate_limit;
#[cfg(all(feature = "l09", feature = "hints"))]
#[allow(unused_imports)]
pub mod ex09_rate_limit {
    include!(concat!(env!("OUT_DIR"), "/hints/ex09_rate_limit.rs"));
}

#[cfg(all(feature = "l10", not(any(feature = "solutions", feature = "wrong", feature = "hints"))))]
#[allow(unused_variables)]
pub mod ex10_security_log;
#[cfg(all(feature = "l10", feature = "solutions", not(any(feature = "wrong", feature = "hints"))))]
#[path = "solutions/ex10_security_log.rs"]
pub mod ex10_security_log;
#[cfg(all(feature = "l10", feature = "wrong", not(feature = "hints")))]
#[path = "wrong/ex10_security_log.rs"]
pub mod ex10_security_log;
#[cfg(all(feature = "l10", feature = "hints"))]
#[allow(unused_imports)]
pub mod ex10_security_log {
    include!(concat!(env!("OUT_DIR"), "/hints/ex10_security_log.rs"));
}

#[cfg(all(feature = "l11", not(any(feature = "solutions", feature = "wrong", feature = "hints"))))]
#[allow(unused_variables)]
pub mod ex11_your_data;
#[cfg(all(feature = "l11", feature = "solutions", not(any(feature = "wrong", feature = "hints"))))]
#[path = "solutions/ex11_your_data.rs"]
pub mod ex11_your_data;
#[cfg(all(feature = "l11", feature = "wrong", not(feature = "hints")))]
#[path = "wrong/ex11_your_data.rs"]
pub mod ex11_your_data;
#[cfg(all(feature = "l11", feature = "hints"))]
#[allow(unused_imports)]
pub mod ex11_your_data {
    include!(concat!(env!("OUT_DIR"), "/hints/ex11_your_data.rs"));
}

/// Which of its wrong answers each exercise runs under `--features wrong`: `LESSONS_WRONG=2` runs
/// every exercise's second one (`// WRONG (03a/2)`); the first when unset.
#[cfg(feature = "wrong")]
pub fn wrong_variant() -> u32 {
    std::env::var("LESSONS_WRONG").ok().and_then(|n| n.parse().ok()).unwrap_or(1)
}

/// What an exercise does under `LESSONS_WRONG=n` when it has no `n`th wrong answer: it fails
/// (`.ci/check-exercises` never asks it to pass).
#[cfg(feature = "wrong")]
pub fn no_wrong_answer(id: &str, n: u32) -> ! {
    panic!("exercise {id} has no wrong answer {n}")
}

// ANCHOR: ttl_state
/// What `TTL` says about a key, as a type instead of a number with special values (exercise 02a).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum TtlState {
    /// `TTL` answered -2: there is no such key.
    Missing,
    /// `TTL` answered -1: the key exists and never expires.
    Forever,
    /// The key expires after this long.
    ExpiresIn(Duration),
}
// ANCHOR_END: ttl_state

/// One exercise: its short name, its check (a test in `tests/exercises/`: `main.rs` and the
/// lesson's `lNN.rs`), its file, and what it asks for.
#[derive(Clone, Copy, Debug)]
pub struct Exercise {
    /// `02b`.
    pub id: &'static str,
    /// The test that checks it.
    pub test: &'static str,
    /// The starter file, from the repository root.
    pub file: &'static str,
    /// One line on what to write.
    pub title: &'static str,
}

/// Every exercise, in the order to do them: lesson by lesson, easiest first within each.
pub const EXERCISES: &[Exercise] = &[
    ex("01a", "ex01a_session_fields", EX01, "a session's hash fields"),
    ex("01b", "ex01b_session_from_fields", EX01, "a session back from HGETALL"),
    ex("01c", "ex01c_username_of", EX01, "one field with a typed HGET"),
    ex("02a", "ex02a_ttl_state", EX02, "what TTL's answers mean"),
    ex("02b", "ex02b_create_session_atomically", EX02, "create a session in one atomic step"),
    ex("02c", "ex02c_ttls_in_one_round_trip", EX02, "many TTLs in one round trip"),
    ex("03a", "ex03a_touch", EX03, "read and renew in one script, capped"),
    ex("03b", "ex03b_user_ids_are_stable", EX03, "a stable user id, derived from the name"),
    ex("04a", "ex04a_session_cookie", EX04, "the session cookie"),
    ex("04b", "ex04b_clear_session_cookie", EX04, "the logout cookie"),
    ex("04c", "ex04c_read_session_cookies", EX04, "every session id a request carries"),
    ex("05a", "ex05a_validate_username", EX05, "validate a username"),
    ex("05b", "ex05b_session_route", EX05, "a GET /session handler"),
    ex("05c", "ex05c_error_status", EX05, "each error's HTTP status"),
    ex("05d", "ex05d_logout_keeps_the_cookie_when_redis_is_down", EX05, "a logout that fails safe"),
    ex("06a", "ex06a_index_session", EX06, "a per-user index that cannot leak"),
    ex("06b", "ex06b_handle", EX06, "a session's public handle"),
    ex("07a", "ex07a_hash_slot", EX07, "a key's hash slot, as CLUSTER KEYSLOT"),
    ex("07b", "ex07b_delete_all_on_a_cluster", EX07, "delete keys of many slots on a cluster"),
    ex("08a", "ex08a_a_route_of_your_own", EX08, "a route of your own that needs a session"),
    ex("08b", "ex08b_a_route_for_everyone", EX08, "a route for everyone, with more for a session"),
    ex("09a", "ex09a_throttle", EX09, "a rate limiter in one script (GCRA)"),
    ex("10a", "ex10a_append_event", EX10, "append to a capped stream, with its TTL"),
    ex("10b", "ex10b_latest_events", EX10, "the newest events first"),
    ex("11a", "ex11a_set_value", EX11, "a write that never brings a session back"),
    ex("11b", "ex11b_add_to_cart", EX11, "a cart that loses no concurrent addition"),
];

const EX01: &str = "lessons/src/ex01_hash_basics.rs";
const EX02: &str = "lessons/src/ex02_expire.rs";
const EX03: &str = "lessons/src/ex03_sliding_ttl.rs";
const EX04: &str = "lessons/src/ex04_cookie_flow.rs";
const EX05: &str = "lessons/src/ex05_full_server.rs";
const EX06: &str = "lessons/src/ex06_every_device.rs";
const EX07: &str = "lessons/src/ex07_scale_out.rs";
const EX08: &str = "lessons/src/ex08_your_app.rs";
const EX09: &str = "lessons/src/ex09_rate_limit.rs";
const EX10: &str = "lessons/src/ex10_security_log.rs";
const EX11: &str = "lessons/src/ex11_your_data.rs";

const fn ex(id: &'static str, test: &'static str, file: &'static str, title: &'static str) -> Exercise {
    Exercise { id, test, file, title }
}
