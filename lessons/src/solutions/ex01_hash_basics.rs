//! Reference solutions for lesson 01: the service's own `Session::to_fields` and
//! `Session::from_fields` (`src/store/session.rs`, anchors `to_fields` and `from_fields`), and a typed
//! `HGET` written here.

use std::collections::HashMap;

use redis::AsyncCommands;
use redis::aio::ConnectionLike;
use session_storage::store::Session;

/// Exercise 01a, solved by the service's code.
pub fn session_fields(session: &Session) -> [(&'static str, String); 3] {
    session.to_fields()
}

/// Exercise 01b, solved by the service's code.
pub fn session_from_fields(fields: &HashMap<String, String>) -> Option<Session> {
    Session::from_fields(fields)
}

// ANCHOR: ex01c
/// Exercise 01c: `Option<String>` is the type that can say "nothing there": a missing key or
/// field is a `nil` reply, which reads as `None` (as `String` it would be an error).
pub async fn username_of<C: ConnectionLike + Send + Sync>(
    con: &mut C,
    key: &str,
) -> redis::RedisResult<Option<String>> {
    con.hget(key, "username").await
}
// ANCHOR_END: ex01c
