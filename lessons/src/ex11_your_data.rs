//! Exercises for lesson 11, your data in the session (`book/src/11-your-data.md`).
//!
//! Both are Lua scripts sent from Rust. Check them with `cargo exercise 11a` and `cargo exercise
//! 11b`; `cargo exercise hint 11a` helps.

use redis::aio::ConnectionLike;

// ANCHOR: ex11a
/// Exercise 11a: set the value `name` of the session at `key` to `json`: the field
/// `data:<name>` of the session's hash, so that no value can overwrite `user_id`, `username` or
/// `created_at`.
///
/// Only a live session is written: answer `true` when the value was written (a new value or a
/// new text for an old one), `false` when the session is gone (logged out, expired, never there),
/// and then write nothing and create no key, whatever runs at the same moment. Leave the
/// session's TTL as it is.
pub async fn set_value<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    name: &str,
    json: &str,
) -> redis::RedisResult<bool> {
    // TODO: one Lua script (redis::Script) that checks that the key exists, and only then writes
    // the field; answer what it did.
    todo!("exercise 11a: set_value")
}
// ANCHOR_END: ex11a

// ANCHOR: ex11b
/// Exercise 11b: add `quantity` of `sku` to the cart of the session at `key`, and answer the
/// sku's new quantity. Each sku is a counter of its own: the field `data:cart.<sku>` of the
/// session's hash, a whole number as its decimal text; a missing one counts from 0.
///
/// Every addition counts, however many requests add at once. Only a live session's cart
/// changes: for a session that is gone answer `None`, and write nothing and create no key.
/// Leave the session's TTL as it is.
pub async fn add_to_cart<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    sku: &str,
    quantity: i64,
) -> redis::RedisResult<Option<i64>> {
    // TODO: one Lua script that checks that the key exists, and only then adds to the sku's
    // counter in Redis; answer the new quantity, or nothing for a session that is gone.
    todo!("exercise 11b: add_to_cart")
}
// ANCHOR_END: ex11b
