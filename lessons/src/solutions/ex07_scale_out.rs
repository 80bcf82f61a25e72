//! Reference solutions for lesson 07: the service's own `hash_slot` (`src/redis/cluster.rs`, anchor
//! `hash_slot`), and `delete_all`, the way the service sends a pipeline of single-key commands
//! on a cluster (`src/redis/backend.rs`, anchor `split_pipeline`).

use redis::cluster_async::ClusterConnection;

pub use session_storage::redis::hash_slot;

/// Exercise 07b: one `DEL` per key, all sent at once, each to its shard.
pub async fn delete_all(con: &ClusterConnection, keys: &[String]) -> redis::RedisResult<u64> {
    let deletes = keys.iter().map(|key| {
        let mut con = con.clone();
        async move { redis::cmd("DEL").arg(key).query_async::<u64>(&mut con).await }
    });
    Ok(futures_util::future::try_join_all(deletes).await?.into_iter().sum())
}
