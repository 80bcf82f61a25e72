//! Plausible wrong answers for lesson 07 (feature `wrong`): each exercise is solved except for
//! one mistake a learner would really make, which its check in `tests/exercises.rs` catches.

use redis::cluster_async::ClusterConnection;

/// CRC16 with the XMODEM parameters (polynomial 0x1021, initial value 0), bit by bit
/// (`crc16_xmodem` in `src/redis/cluster.rs`).
fn crc16_xmodem(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

// WRONG (07a): an empty hash tag `{}` is taken as the tag (the "at least one character in between" rule is forgotten), so `{}empty-tag` hashes the empty string, which the check catches because it records slot 0 instead of 16021 for `{}empty-tag` and `every_slot_matches_cluster_keyslot: false`.
/// Exercise 07a: the hash slot Redis Cluster assigns `key` to, as `CLUSTER KEYSLOT` answers.
pub fn hash_slot(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let hashed = match bytes.iter().position(|&b| b == b'{') {
        Some(open) => match bytes[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) => &bytes[open + 1..open + 1 + len],
            None => bytes,
        },
        None => bytes,
    };
    crc16_xmodem(hashed) % 16384
}

// WRONG (07b): the DELs go in one pipeline (one round trip, as on a single Redis), which redis-rs's cluster connection refuses with a CROSSSLOT error since the keys live in several slots, which the check catches because it records `deleted: Err(...)` instead of `Ok: 20` and `left: 20` instead of 0.
/// Exercise 07b: delete every key in `keys` from a cluster, and return how many existed.
pub async fn delete_all(con: &ClusterConnection, keys: &[String]) -> redis::RedisResult<u64> {
    // redis-rs refuses to send an empty pipeline; no keys need no round trip at all.
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
