//! Redis Cluster (lesson 07): connecting to one, finding out whether a Redis is one, which slot
//! a key hashes to, and which master serves which slots.
//!
//! The service finds out by itself whether `REDIS_URL` names a cluster: a node of a cluster
//! answers `cluster_enabled:1` in `INFO cluster` (see [`detect`]). `REDIS_URL` may also list
//! several nodes separated by commas, which is always a cluster: any one that answers is enough
//! to learn the whole slot map.

use std::fmt;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;

use super::{Backend, connect, info_field};

// ANCHOR: connect_cluster
/// Opens redis-rs's cluster connection, seeded with any of the cluster's nodes.
///
/// Every wait has a bound, so a dead or stalled shard costs a request a 503 within
/// `REDIS_TIMEOUT_MS` rather than a hang: each connection attempt (`connection_timeout`), each
/// answer (`response_timeout`) and a whole request, retries and redirections included
/// (`overall_response_timeout`). The store adds its own deadline over all of a request's round
/// trips on top. The connection follows `MOVED` and `ASK` by itself, and refreshes its slot map
/// when a node fails over.
pub async fn connect_cluster(nodes: &[String], timeout: Duration) -> redis::RedisResult<ClusterConnection> {
    let client = ClusterClient::builder(nodes.to_vec())
        .connection_timeout(timeout)
        .response_timeout(timeout)
        .overall_response_timeout(Some(timeout))
        .retries(3)
        .min_retry_wait(10)
        .max_retry_wait(100)
        .build()?;
    client.get_async_connection().await
}
// ANCHOR_END: connect_cluster

// ANCHOR: detect_cluster
/// Connects to `url` (one URL, or several separated by commas) and finds out whether it is a
/// cluster: several URLs always are; a single node is when `INFO cluster` says
/// `cluster_enabled:1`. Returns a plain connection to the first node that answered, and the
/// [`Backend`] the store should use: that same connection, or a cluster connection seeded with
/// every URL given.
pub(crate) async fn detect(url: &str, timeout: Duration) -> redis::RedisResult<(ConnectionManager, Backend)> {
    let nodes = node_urls(url);
    // The first node that answers (any one is enough to learn a cluster's whole slot map).
    let mut manager = None;
    let mut last_error = None;
    for node in &nodes {
        match connect(node, timeout).await {
            Ok(connected) => {
                manager = Some(connected);
                break;
            }
            Err(error) => last_error = Some(error),
        }
    }
    let manager = match (manager, last_error) {
        (Some(manager), _) => manager,
        (None, Some(error)) => return Err(error),
        (None, None) => connect(url, timeout).await?,
    };
    let mut probe = manager.clone();
    let info: String =
        tokio::time::timeout(timeout, redis::cmd("INFO").arg("cluster").query_async(&mut probe))
            .await
            .map_err(|_| redis::RedisError::from(std::io::Error::other("no answer to INFO cluster")))??;
    let is_cluster = nodes.len() > 1 || info_field(&info, "cluster_enabled") == Some("1");
    let backend = if is_cluster {
        Backend::Cluster(connect_cluster(&nodes, timeout).await?)
    } else {
        Backend::Single(manager.clone())
    };
    Ok((manager, backend))
}
// ANCHOR_END: detect_cluster

// ANCHOR: hash_slot
/// The hash slot (0 to 16383) Redis Cluster assigns `key` to: CRC16 (XMODEM) of the key, modulo
/// 16384. When the key holds a hash tag, a `{...}` with at least one character inside, only what
/// is inside the first such pair is hashed, so `login:{1.2.3.4}` and `login:{1.2.3.4}:user_7` share a
/// slot.
/// The same answer as `CLUSTER KEYSLOT`.
pub fn hash_slot(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let hashed = match bytes.iter().position(|&b| b == b'{') {
        Some(open) => match bytes[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &bytes[open + 1..open + 1 + len],
            _ => bytes,
        },
        None => bytes,
    };
    crc16_xmodem(hashed) % 16384
}

/// CRC16 with the XMODEM parameters (polynomial 0x1021, initial value 0), bit by bit.
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
// ANCHOR_END: hash_slot

/// The nodes a `REDIS_URL` names: one URL, or several separated by commas.
pub fn node_urls(redis_url: &str) -> Vec<String> {
    redis_url.split(',').map(str::trim).filter(|url| !url.is_empty()).map(str::to_string).collect()
}

/// One shard of a Redis Cluster: the address of its master and the slot ranges it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// The master's host, as the cluster announces it.
    pub host: String,
    /// The master's port.
    pub port: u16,
    /// The slot ranges, inclusive.
    pub slots: Vec<(u16, u16)>,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ranges: Vec<String> = self.slots.iter().map(|(a, b)| format!("{a}-{b}")).collect();
        write!(f, "{}:{} (slots {})", self.host, self.port, ranges.join(", "))
    }
}

/// Reads a `CLUSTER SLOTS` reply: `[start, end, [host, port, id], replicas...]` per range,
/// grouped by master.
pub fn shards_from_cluster_slots(reply: &redis::Value) -> Vec<Shard> {
    use redis::Value;
    let text = |value: &Value| match value {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    };
    let number = |value: &Value| match value {
        Value::Int(n) => u16::try_from(*n).ok(),
        _ => None,
    };
    let mut shards: Vec<Shard> = Vec::new();
    let Value::Array(ranges) = reply else { return shards };
    for range in ranges {
        let Value::Array(parts) = range else { continue };
        let (Some(start), Some(end), Some(Value::Array(master))) =
            (parts.first().and_then(number), parts.get(1).and_then(number), parts.get(2))
        else {
            continue;
        };
        let (Some(host), Some(port)) = (master.first().and_then(text), master.get(1).and_then(number)) else {
            continue;
        };
        match shards.iter_mut().find(|shard| shard.host == host && shard.port == port) {
            Some(shard) => shard.slots.push((start, end)),
            None => shards.push(Shard { host, port, slots: vec![(start, end)] }),
        }
    }
    for shard in &mut shards {
        shard.slots.sort_unstable();
    }
    shards.sort_by_key(|shard| shard.slots.first().copied());
    shards
}

// ANCHOR: ask_every_master
/// Asks every master of the cluster one command (`INFO memory`, for `/health`), all at once,
/// under one `deadline`: first the slot map (`CLUSTER SLOTS`, asked of every node, the first
/// answer wins, so a dead node cannot hide the map), then each master by its address. A master
/// that fails or does not answer in time gets `None`: the caller names it.
pub(crate) async fn ask_every_master(
    cluster: &ClusterConnection,
    cmd: &redis::Cmd,
    deadline: tokio::time::Instant,
) -> Result<Vec<(Shard, Option<redis::Value>)>, AskError> {
    use redis::cluster_routing::{
        MultipleNodeRoutingInfo, ResponsePolicy, RoutingInfo, SingleNodeRoutingInfo,
    };
    let ask = |cmd: redis::Cmd, routing: RoutingInfo| {
        let mut con = cluster.clone();
        async move { tokio::time::timeout_at(deadline, con.route_command(cmd, routing)).await }
    };
    let mut slots_cmd = redis::cmd("CLUSTER");
    slots_cmd.arg("SLOTS");
    let everyone =
        RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllNodes, Some(ResponsePolicy::OneSucceeded)));
    let map = match ask(slots_cmd, everyone).await {
        Ok(Ok(reply)) => shards_from_cluster_slots(&reply),
        Ok(Err(error)) => return Err(AskError::Redis(error)),
        Err(elapsed) => return Err(AskError::TimedOut(elapsed)),
    };
    let asks = map.iter().map(|shard| {
        let routing = SingleNodeRoutingInfo::ByAddress { host: shard.host.clone(), port: shard.port };
        ask(cmd.clone(), RoutingInfo::SingleNode(routing))
    });
    let answers = futures_util::future::join_all(asks).await;
    Ok(map
        .into_iter()
        .zip(answers)
        .map(|(shard, answer)| (shard, answer.ok().and_then(Result::ok)))
        .collect())
}
// ANCHOR_END: ask_every_master

/// Why [`ask_every_master`] could not even read the slot map.
#[derive(Debug)]
pub(crate) enum AskError {
    /// Every node failed.
    Redis(redis::RedisError),
    /// No node answered before the deadline.
    TimedOut(tokio::time::error::Elapsed),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_slots_match_redis() {
        // Values from CLUSTER KEYSLOT on Redis 7.0.
        assert_eq!(crc16_xmodem(b"123456789"), 0x31c3);
        assert_eq!(hash_slot("foo"), 12182);
        assert_eq!(hash_slot("{users}:ids"), hash_slot("{users}:next_id"));
        assert_eq!(hash_slot("{users}:ids"), hash_slot("users"));
        assert_eq!(hash_slot("{}x"), crc16_xmodem(b"{}x") % 16384);
        assert_eq!(hash_slot("a{b}{c}"), hash_slot("b"));
    }

    #[test]
    fn urls_split_on_commas() {
        assert_eq!(node_urls("redis://a:1"), ["redis://a:1"]);
        assert_eq!(node_urls("redis://a:1, redis://b:2,"), ["redis://a:1", "redis://b:2"]);
    }

    #[test]
    fn cluster_slots_are_grouped_by_master() {
        use redis::Value;
        let node = |port: i64| {
            Value::Array(vec![
                Value::BulkString(b"127.0.0.1".to_vec()),
                Value::Int(port),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let range = |a: i64, b: i64, port: i64| Value::Array(vec![Value::Int(a), Value::Int(b), node(port)]);
        let reply =
            Value::Array(vec![range(10923, 16383, 7003), range(0, 5460, 7001), range(5461, 10922, 7002)]);
        let shards = shards_from_cluster_slots(&reply);
        assert_eq!(shards.len(), 3);
        assert_eq!(shards[0].to_string(), "127.0.0.1:7001 (slots 0-5460)");
        assert_eq!(shards[2], Shard { host: "127.0.0.1".into(), port: 7003, slots: vec![(10923, 16383)] });
        assert!(shards_from_cluster_slots(&Value::Nil).is_empty());
    }
}
