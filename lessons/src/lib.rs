//! # Exercises
//!
//! One file per lesson, `src/exNN_<lesson>.rs`, each with two exercises (`a` and `b`). Open the
//! file, replace each `todo!()` where the `// TODO:` says, and check one exercise at a time:
//!
//! ```text
//! cargo exercise ex01a
//! ```
//!
//! That runs your code against the exercise's committed snapshots in `tests/snapshots/` and shows
//! the difference when the answer is not right yet. Plain `cargo test` at the top of the
//! repository never runs the exercises, so an unfinished one breaks nothing.
//!
//! With `--features solutions` every starter is swapped for its reference solution, which is the
//! real code of the service in `src/`; CI checks that every solution passes and every untouched
//! starter fails (`.ci/check-exercises`).

#[cfg(not(feature = "solutions"))]
#[allow(unused_variables)]
pub mod ex01_hash_basics;
#[cfg(feature = "solutions")]
#[path = "solutions/ex01_hash_basics.rs"]
pub mod ex01_hash_basics;

#[cfg(not(feature = "solutions"))]
#[allow(unused_variables)]
pub mod ex02_expire;
#[cfg(feature = "solutions")]
#[path = "solutions/ex02_expire.rs"]
pub mod ex02_expire;

#[cfg(not(feature = "solutions"))]
#[allow(unused_variables)]
pub mod ex03_sliding_ttl;
#[cfg(feature = "solutions")]
#[path = "solutions/ex03_sliding_ttl.rs"]
pub mod ex03_sliding_ttl;

#[cfg(not(feature = "solutions"))]
#[allow(unused_variables)]
pub mod ex04_cookie_flow;
#[cfg(feature = "solutions")]
#[path = "solutions/ex04_cookie_flow.rs"]
pub mod ex04_cookie_flow;

#[cfg(not(feature = "solutions"))]
#[allow(unused_variables)]
pub mod ex05_full_server;
#[cfg(feature = "solutions")]
#[path = "solutions/ex05_full_server.rs"]
pub mod ex05_full_server;
