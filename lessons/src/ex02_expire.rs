//! Exercises for lesson 02, expire (`book/src/02-expire.md`).
//!
//! Check them with `cargo exercise ex02a` and `cargo exercise ex02b`.

use std::time::Duration;

use redis::aio::ConnectionLike;
use session_storage::store::{Keys, Session};

// ANCHOR: ex02a
/// Exercise 02a: create a session so that it can never exist without its TTL.
///
/// Write `session`'s three fields to the hash at `key` and give it `idle_ttl` (whole seconds),
/// in one atomic round trip. If `replacing` names an old session key, delete it in the same step.
pub async fn create_session<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    session: &Session,
    idle_ttl: Duration,
    replacing: Option<&str>,
) -> redis::RedisResult<()> {
    // TODO: build a pipeline that is a MULTI/EXEC transaction and send it once.
    // Hint: `let mut pipe = redis::pipe(); pipe.atomic();` then `pipe.del(..)`, `pipe.hset_multiple(..)`
    // or `pipe.cmd("HSET")...`, `pipe.expire(..)`, each `.ignore()`d, then `pipe.query_async(con).await`.
    todo!("exercise 02a: create_session")
}
// ANCHOR_END: ex02a

// ANCHOR: ex02b
/// Exercise 02b: the stable `user_<n>` for a username.
///
/// The first login of a name takes the next number from the counter at `keys.user_counter()` and
/// records it in the hash at `keys.user_ids()`; later logins get the same id. Two first logins
/// of one name racing each other must still agree.
pub async fn user_id_for<C: ConnectionLike>(
    con: &mut C,
    keys: &Keys,
    username: &str,
) -> redis::RedisResult<String> {
    // TODO: make "look up, else increment and record" atomic.
    // Hint: a Lua script runs atomically: `redis::Script::new("...").key(..).key(..).arg(..)
    // .invoke_async(con)`. In Lua, `redis.call('HGET', KEYS[1], ARGV[1])` is false when missing.
    todo!("exercise 02b: user_id_for")
}
// ANCHOR_END: ex02b
