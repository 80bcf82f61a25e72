//! Exercises for lesson 07, scale out (`book/src/07-scale-out.md`).
//!
//! Check them with `cargo exercise 07a` and `07b`; `cargo exercise hint 07a` helps. The checks
//! start a private Redis Cluster of three masters.

use redis::cluster_async::ClusterConnection;

// ANCHOR: ex07a
/// Exercise 07a: the hash slot Redis Cluster assigns `key` to, as `CLUSTER KEYSLOT` answers.
///
/// The slot is CRC16 of the key (the XMODEM variant: polynomial 0x1021, initial value 0)
/// modulo 16384. If the key contains a `{`, and a `}` after it with at least one character in
/// between, only the characters between the first `{` and the first `}` after it are hashed.
pub fn hash_slot(key: &str) -> u16 {
    // TODO: find the hash tag, if any, then compute CRC16 bit by bit and take it mod 16384.
    todo!("exercise 07a: hash_slot")
}
// ANCHOR_END: ex07a

// ANCHOR: ex07b
/// Exercise 07b: delete every key in `keys` from a cluster, and return how many existed.
///
/// The keys are session keys, spread over every shard. `DEL k1 k2 k3` names keys of several
/// slots, which a cluster node refuses (`CROSSSLOT`), and redis-rs's cluster connection refuses a
/// pipeline whose commands name several slots too. Send one `DEL` per key, all at once, so the
/// whole deletion still costs one round trip of waiting. No keys: answer 0.
pub async fn delete_all(con: &ClusterConnection, keys: &[String]) -> redis::RedisResult<u64> {
    // TODO: one DEL per key on a clone of the connection each, joined with
    // futures_util::future::try_join_all, then add up the replies.
    todo!("exercise 07b: delete_all")
}
// ANCHOR_END: ex07b
