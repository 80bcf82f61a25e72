//! Reference solutions for lesson 11. The service's own write (`src/store/data.rs`,
//! `write_data`, and `src/store/scripts/data_write.lua`) is one script for a whole batch of
//! changes, with bounds; these are its two essentials, each in a script of its own: nothing is
//! written into a hash that is gone, and a counter is added to in Redis.

use std::sync::LazyLock;

use redis::Script;
use redis::aio::ConnectionLike;

// ANCHOR: set_value
/// Writes `data:<name>` only into a hash that exists: the check and the write in one script,
/// which Redis runs whole, so no `DEL` can land between them. `HSET` leaves the TTL alone.
static SET_VALUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'data:' .. ARGV[1], ARGV[2])
return 1
",
    )
});

/// Exercise 11a: set the value `name` of the session at `key` to `json`, only if the session
/// exists; `false` when it is gone.
pub async fn set_value<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    name: &str,
    json: &str,
) -> redis::RedisResult<bool> {
    SET_VALUE.key(key).arg(name).arg(json).invoke_async(con).await
}
// ANCHOR_END: set_value

// ANCHOR: add_to_cart
/// Adds to `data:cart.<sku>` in Redis (`HINCRBY`: no request reads the quantity first, so no
/// addition is lost), only in a hash that exists. Lua's `false` arrives as `None`.
static ADD_TO_CART: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return redis.call('HINCRBY', KEYS[1], 'data:cart.' .. ARGV[1], ARGV[2])
",
    )
});

/// Exercise 11b: add `quantity` of `sku` to the cart of the session at `key`; `None` when the
/// session is gone.
pub async fn add_to_cart<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    sku: &str,
    quantity: i64,
) -> redis::RedisResult<Option<i64>> {
    ADD_TO_CART.key(key).arg(sku).arg(quantity).invoke_async(con).await
}
// ANCHOR_END: add_to_cart
