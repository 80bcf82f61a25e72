//! Plausible wrong answers for lesson 07 (feature `wrong`): each one solves its exercise except
//! for one mistake a learner would really make, or one the chapter warns about. Its check in
//! `tests/exercises/l07.rs` must refuse it. `LESSONS_WRONG=n` picks the `n`th of each exercise.

use redis::cluster_async::ClusterConnection;

use crate::{no_wrong_answer, wrong_variant};

/// CRC16 bit by bit, with the polynomial 0x1021 and the initial value `init` (0 for XMODEM,
/// what Redis Cluster uses).
fn crc16(bytes: &[u8], init: u16) -> u16 {
    let mut crc = init;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

/// The tag as the chapter says: between the first `{` and the first `}` after it, if not empty.
fn tag(key: &str) -> &[u8] {
    let bytes = key.as_bytes();
    match bytes.iter().position(|&b| b == b'{') {
        Some(open) => match bytes[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &bytes[open + 1..open + 1 + len],
            _ => bytes,
        },
        None => bytes,
    }
}

/// Exercise 07a: the hash slot Redis Cluster assigns `key` to, as `CLUSTER KEYSLOT` answers.
pub fn hash_slot(key: &str) -> u16 {
    match wrong_variant() {
        // WRONG (07a/1): an empty hash tag `{}` is taken as the tag (the "at least one character in between" rule is forgotten), so `{}empty-tag` hashes the empty string: the check records slot 0 instead of 16021, and `every_slot_matches_cluster_keyslot: false`. Shows: slot, every_slot_matches_cluster_keyslot.
        1 => {
            let bytes = key.as_bytes();
            let hashed = match bytes.iter().position(|&b| b == b'{') {
                Some(open) => match bytes[open + 1..].iter().position(|&b| b == b'}') {
                    Some(len) => &bytes[open + 1..open + 1 + len],
                    None => bytes,
                },
                None => bytes,
            };
            crc16(hashed, 0) % 16384
        }
        // WRONG (07a/2): the closing brace is the *last* `}` (`rfind`), not the first after the `{`: `a{b}{c}` hashes `b}{c` instead of `b`, and the check records another slot than `CLUSTER KEYSLOT` for it. Shows: slot, every_slot_matches_cluster_keyslot.
        2 => {
            let hashed = match key.find('{') {
                Some(open) => match key.rfind('}') {
                    Some(close) if close > open + 1 => &key.as_bytes()[open + 1..close],
                    _ => key.as_bytes(),
                },
                None => key.as_bytes(),
            };
            crc16(hashed, 0) % 16384
        }
        // WRONG (07a/3): the CRC starts at 0xFFFF (CRC-16/CCITT-FALSE, the variant most CRC16 snippets use) instead of 0 (XMODEM): every slot the check records differs from `CLUSTER KEYSLOT`, except by chance. Shows: slot, every_slot_matches_cluster_keyslot.
        3 => crc16(tag(key), 0xFFFF) % 16384,
        // WRONG (07a/4): the `}` is searched from the start of the key (`key.find('}')`) instead of after the `{`: in `a}b{c}` it comes first, the tag is not found, and the check records the slot of the whole key instead of the slot of `c`. Shows: slot, every_slot_matches_cluster_keyslot.
        4 => {
            let hashed = match (key.find('{'), key.find('}')) {
                (Some(open), Some(close)) if close > open + 1 => &key.as_bytes()[open + 1..close],
                _ => key.as_bytes(),
            };
            crc16(hashed, 0) % 16384
        }
        // WRONG (07a/5): the key is hashed by `char`s, each cut to a byte (`c as u8`), instead of by its UTF-8 bytes: ASCII keys come out right, and the check records another slot for `zoë:{ångström}`. Shows: slot, every_slot_matches_cluster_keyslot.
        5 => {
            let chars: Vec<char> = key.chars().collect();
            let hashed = match chars.iter().position(|&c| c == '{') {
                Some(open) => match chars[open + 1..].iter().position(|&c| c == '}') {
                    Some(len) if len > 0 => &chars[open + 1..open + 1 + len],
                    _ => &chars[..],
                },
                None => &chars[..],
            };
            let bytes: Vec<u8> = hashed.iter().map(|&c| c as u8).collect();
            crc16(&bytes, 0) % 16384
        }
        n => no_wrong_answer("07a", n),
    }
}

/// Exercise 07b: delete every key in `keys` from a cluster, and return how many existed.
pub async fn delete_all(con: &ClusterConnection, keys: &[String]) -> redis::RedisResult<u64> {
    match wrong_variant() {
        // WRONG (07b/1): the `DEL`s go in one pipeline (one round trip, as on a single Redis), which redis-rs's cluster connection refuses because the keys live in several slots: the check records the error as `deleted`, and 20 keys left. Shows: Err, left.
        1 => {
            if keys.is_empty() {
                return Ok(0);
            }
            let mut pipe = redis::pipe();
            for key in keys {
                pipe.del(key);
            }
            let mut con = con.clone();
            let deleted: Vec<u64> = pipe.query_async(&mut con).await?;
            Ok(deleted.into_iter().sum())
        }
        // WRONG (07b/2): one Lua script that deletes every key and adds up the replies, "atomic, as lesson 03's scripts": a script runs on one shard, so a cluster refuses one whose keys live in several slots (`CROSSSLOT`), which the chapter warns about: the check records the error as `deleted`, and 20 keys left. Shows: Err, left.
        2 => {
            let script = redis::Script::new(
                "local n = 0 for _, key in ipairs(KEYS) do n = n + redis.call('DEL', key) end return n",
            );
            let mut invocation = script.prepare_invoke();
            for key in keys {
                invocation.key(key);
            }
            let mut con = con.clone();
            invocation.invoke_async(&mut con).await
        }
        // WRONG (07b/3): the answer counts the `DEL`s sent (`keys.len()`) instead of adding up their replies (1 for a key that existed, 0 for one that did not): the check records 30 deleted where 20 existed. Shows: Ok.
        3 => {
            let deletes = keys.iter().map(|key| {
                let mut con = con.clone();
                async move { redis::cmd("DEL").arg(key).query_async::<u64>(&mut con).await }
            });
            let replies = futures_util::future::try_join_all(deletes).await?;
            Ok(replies.len() as u64)
        }
        // WRONG (07b/4): one pipeline per shard (slot / 5461, three masters), all at once: but a cluster pipeline must name one slot, not one shard, and keys of one shard are in many slots, so redis-rs refuses each: the check records the error, and 20 keys left. Shows: Err, left.
        4 => {
            let mut shards: std::collections::BTreeMap<u16, redis::Pipeline> =
                std::collections::BTreeMap::new();
            for key in keys {
                shards
                    .entry(session_storage::redis::hash_slot(key) / 5461)
                    .or_insert_with(redis::pipe)
                    .del(key);
            }
            let deletes = shards.into_values().map(|pipe| {
                let mut con = con.clone();
                async move { pipe.query_async::<Vec<u64>>(&mut con).await }
            });
            Ok(futures_util::future::try_join_all(deletes).await?.into_iter().flatten().sum())
        }
        n => no_wrong_answer("07b", n),
    }
}
