//! Plausible wrong answers for lesson 11 (feature `wrong`): each one solves its exercise except
//! for one mistake a learner would really make, or one the chapter warns about. Its check in
//! `tests/exercises/l11.rs` must refuse it. `LESSONS_WRONG=n` picks the `n`th of each exercise.

use std::collections::BTreeMap;

use redis::Script;
use redis::aio::ConnectionLike;

use crate::{no_wrong_answer, wrong_variant};

/// The guarded write with the field named `field`, answering `answer` (Lua) after the `HSET`.
async fn guarded_hset<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    field: &str,
    json: &str,
    answer: &str,
) -> redis::RedisResult<bool> {
    let source = format!(
        "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n\
         local added = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n\
         return {answer}\n"
    );
    Script::new(&source).key(key).arg(field).arg(json).invoke_async(con).await
}

/// Exercise 11a: set the value `name` of the session at `key` to `json`, only if the session
/// exists.
pub async fn set_value<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    name: &str,
    json: &str,
) -> redis::RedisResult<bool> {
    let field = format!("data:{name}");
    match wrong_variant() {
        // WRONG (11a/1): a plain `HSET`, the write lesson 03 warned about: into a session that was logged out it brings the key back, without a TTL: the check records `answer: true`, `exists_after: 1` and `ttl_after: -1` for the deleted session, and in every race round a key left without a TTL. Shows: answer, exists_after, ttl_after, rounds_leaving_a_key_without_ttl.
        1 => {
            let _: i64 = redis::cmd("HSET").arg(key).arg(&field).arg(json).query_async(con).await?;
            Ok(true)
        }
        // WRONG (11a/2): the check in Rust, `EXISTS` and then `HSET`, two round trips (check-then-act): a logout that lands between them is not seen, and the `HSET` brings the session back: the check records the write as not one atomic step, the key it injected a `DEL` into left without a TTL, and race rounds that left one. Shows: in_one_atomic_step, exists_after, ttl_after, rounds_leaving_a_key_without_ttl.
        2 => {
            let exists: bool = redis::cmd("EXISTS").arg(key).query_async(&mut *con).await?;
            if !exists {
                return Ok(false);
            }
            let _: i64 = redis::cmd("HSET").arg(key).arg(&field).arg(json).query_async(con).await?;
            Ok(true)
        }
        // WRONG (11a/3): `HSET` then `EXPIRE 1800` in one transaction, to give a brought-back key a TTL: it is still brought back (the deleted session exists again, with a TTL), and the live session's TTL of 1234 s is overwritten with the service's default: the check records `ttl_after: 1800`, `exists_after: 1` and race rounds that left a key. Shows: ttl_after, exists_after, rounds_leaving_a_key.
        3 => {
            redis::pipe()
                .atomic()
                .cmd("HSET")
                .arg(key)
                .arg(&field)
                .arg(json)
                .ignore()
                .cmd("EXPIRE")
                .arg(key)
                .arg(1800)
                .ignore()
                .exec_async(con)
                .await?;
            Ok(true)
        }
        // WRONG (11a/4): the guarded script, but the field is `name` itself, without `data:`: a value named `username` overwrites the session's own `username`, and the cart is the field `cart`: the check's hash shows `username: "\"mallory\""` and `cart`. Shows: username, cart.
        4 => guarded_hset(con, key, name, json, "1").await,
        // WRONG (11a/5): the guarded script answers `HSET`'s own reply, the number of fields it *added*: a new text for a value that exists answers 0, `false`, as if the session were gone: the check records `overwrite: false`. Shows: overwrite.
        5 => guarded_hset(con, key, &field, json, "added").await,
        n => no_wrong_answer("11a", n),
    }
}

/// Exercise 11b: add `quantity` of `sku` to the cart of the session at `key`; `None` when the
/// session is gone.
pub async fn add_to_cart<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    sku: &str,
    quantity: i64,
) -> redis::RedisResult<Option<i64>> {
    let field = format!("data:cart.{sku}");
    match wrong_variant() {
        // WRONG (11b/1): read the quantity, add, write it back (`HGET`, then `HSET`, after an `EXISTS`): requests that add at once all read the same quantity, and all but the last write are lost: the check records the hundred additions' answers repeated and the quantities far below 114 and 126. Shows: distinct_answers, highest_answer, `data:cart.tea`, `data:cart.milk`.
        1 => {
            let exists: bool = redis::cmd("EXISTS").arg(key).query_async(&mut *con).await?;
            if !exists {
                return Ok(None);
            }
            let now: Option<i64> = redis::cmd("HGET").arg(key).arg(&field).query_async(&mut *con).await?;
            let new = now.unwrap_or(0) + quantity;
            let _: i64 = redis::cmd("HSET").arg(key).arg(&field).arg(new).query_async(con).await?;
            Ok(Some(new))
        }
        // WRONG (11b/2): the whole cart as one JSON object in `data:cart`, read, changed and written back: the blob design of the chapter, in small, and its lost update: the check records a `data:cart` field instead of one counter per sku, and the answers repeated. Shows: `data:cart`, distinct_answers, highest_answer.
        2 => {
            let exists: bool = redis::cmd("EXISTS").arg(key).query_async(&mut *con).await?;
            if !exists {
                return Ok(None);
            }
            let json: Option<String> =
                redis::cmd("HGET").arg(key).arg("data:cart").query_async(&mut *con).await?;
            let mut cart: BTreeMap<String, i64> =
                json.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default();
            let new = cart.get(sku).copied().unwrap_or(0) + quantity;
            cart.insert(sku.to_string(), new);
            let json = serde_json::to_string(&cart).unwrap_or_default();
            let _: i64 = redis::cmd("HSET").arg(key).arg("data:cart").arg(json).query_async(con).await?;
            Ok(Some(new))
        }
        // WRONG (11b/3): a cart key of its own, `<key>:cart`, counted with `HINCRBY` in a guarded script: nothing is lost, but the cart is not part of the session: it has no TTL and outlives the logout: the check records a key besides the session, without a TTL, and no `data:cart.*` field. Shows: other_keys, other_keys_without_ttl, `data:cart.tea`.
        3 => {
            let script = Script::new(
                "if redis.call('EXISTS', KEYS[1]) == 0 then return false end\n\
                 return redis.call('HINCRBY', KEYS[1] .. ':cart', ARGV[1], ARGV[2])\n",
            );
            script.key(key).arg(sku).arg(quantity).invoke_async(con).await
        }
        // WRONG (11b/4): a plain `HINCRBY`, atomic and lossless but unguarded: an addition to a session that was logged out brings the key back, with only the cart and no TTL: the check records the deleted session's `answer: 3` and `exists_after: 1`, and the first addition not as one atomic step. Shows: exists_after, answer, in_one_atomic_step.
        4 => {
            let new: i64 = redis::cmd("HINCRBY").arg(key).arg(&field).arg(quantity).query_async(con).await?;
            Ok(Some(new))
        }
        // WRONG (11b/5): the guarded script with `HINCRBY`, but the field `cart.<sku>` without `data:`: the quantities are not values of the session (the service reads only `data:` fields), and a sku named like a session field would overwrite it: the check's hash shows `cart.tea` and `cart.milk`. Shows: `cart.tea`, `cart.milk`.
        5 => {
            let script = Script::new(
                "if redis.call('EXISTS', KEYS[1]) == 0 then return false end\n\
                 return redis.call('HINCRBY', KEYS[1], 'cart.' .. ARGV[1], ARGV[2])\n",
            );
            script.key(key).arg(sku).arg(quantity).invoke_async(con).await
        }
        n => no_wrong_answer("11b", n),
    }
}
