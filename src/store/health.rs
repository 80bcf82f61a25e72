//! `/health`: what the store can say about Redis's memory. A Redis that answers but refuses
//! writes (at `maxmemory` under `noeviction`), or is close to it, is [`Health::Degraded`]; on a
//! cluster every master is asked, and a shard that does not answer is named.

use std::sync::atomic::Ordering;

use crate::redis::{AskError, Backend, ask_every_master, info_field};

use super::{SessionStore, Unavailable};

/// What `/health` reports about Redis's memory. The text of [`Health::Degraded`] is for the
/// log and holds figures and, on a cluster, shard addresses: the HTTP answer shows none of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Redis answers and has room.
    Ok,
    /// Redis answers, but new sessions fail or soon will: why, for an operator.
    Degraded(String),
}

/// `used_memory` and `maxmemory` from `INFO memory` (0 when missing).
fn memory_figures(info: &str) -> (u64, u64) {
    let number = |name: &str| info_field(info, name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (number("used_memory"), number("maxmemory"))
}

/// How full a shard is, for choosing the fullest: the share of `maxmemory` used, or with no
/// limit the bytes used (so a limited shard near its limit counts as fuller than any unlimited one).
fn fullness((used, max): (u64, u64)) -> (bool, f64) {
    if max == 0 { (false, used as f64) } else { (true, used as f64 / max as f64) }
}

impl Health {
    /// At or above this share of `maxmemory`, Redis is "near" it.
    pub const NEAR_MAXMEMORY: f64 = 0.9;

    /// Judges `INFO memory`: with no `maxmemory`, always room; at or past it under `noeviction`,
    /// writes are refused; at 90 % or more, near it (with an eviction policy, sessions are being
    /// or will soon be evicted to make room).
    pub fn from_info(info: &str) -> Health {
        let field = |name: &str| info_field(info, name);
        let number = |name: &str| field(name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let (used, max) = (number("used_memory"), number("maxmemory"));
        if max == 0 {
            return Health::Ok;
        }
        let policy = field("maxmemory_policy").unwrap_or("unknown");
        let share = used as f64 / max as f64;
        if used >= max && policy == "noeviction" {
            Health::Degraded(format!(
                "Redis is full: used_memory {used} of maxmemory {max} under noeviction, so new sessions are refused"
            ))
        } else if share >= Health::NEAR_MAXMEMORY {
            Health::Degraded(format!(
                "Redis is near maxmemory: {:.0}% used (policy {policy})",
                (share * 100.0).min(999.0)
            ))
        } else {
            Health::Ok
        }
    }
}

impl SessionStore {
    /// Redis's memory, for `/health`: one `INFO memory`. On a cluster, every master is asked
    /// (the slot map, then every master at once), and the answer names the shards that did not answer.
    pub async fn health(&self) -> Result<Health, Unavailable> {
        if let Backend::Cluster(cluster) = &self.inner.con.backend {
            return self.cluster_health(cluster).await;
        }
        let mut con = self.connection();
        let info: String = self
            .within_deadline(async move { redis::cmd("INFO").arg("memory").query_async(&mut con).await })
            .await?;
        let (used, max) = memory_figures(&info);
        self.inner.metrics.redis_memory(used, max);
        Ok(Health::from_info(&info))
    }

    // ANCHOR: cluster_health
    /// `/health` on a cluster: the slot map, then `INFO memory` from every master at once, all
    /// under the store's one deadline (see [`ask_every_master`]). A shard that does not answer
    /// makes the cluster [`Health::Degraded`], and the text names it: sessions on the other
    /// shards are still served.
    async fn cluster_health(
        &self,
        cluster: &redis::cluster_async::ClusterConnection,
    ) -> Result<Health, Unavailable> {
        let deadline = tokio::time::Instant::now() + self.inner.timeout;
        let mut info = redis::cmd("INFO");
        info.arg("memory");
        let answers = match ask_every_master(cluster, &info, deadline).await {
            Ok(answers) => answers,
            Err(AskError::Redis(error)) => return Err(Unavailable::Redis(error)),
            Err(AskError::TimedOut(elapsed)) => {
                return Err(Unavailable::TimedOut { after: self.inner.timeout, source: elapsed });
            }
        };
        // The map, and one question per master.
        self.inner.round_trips.fetch_add(1 + answers.len() as u64, Ordering::Relaxed);
        let mut problems = Vec::new();
        let mut fullest: Option<(u64, u64)> = None;
        for (shard, answer) in &answers {
            match answer {
                Some(reply) => {
                    let info: String =
                        redis::FromRedisValue::from_redis_value(reply.clone()).unwrap_or_default();
                    let figures = memory_figures(&info);
                    if fullest.is_none_or(|seen| fullness(figures) > fullness(seen)) {
                        fullest = Some(figures);
                    }
                    if let Health::Degraded(why) = Health::from_info(&info) {
                        problems.push(format!("shard {shard}: {why}"));
                    }
                }
                None => problems.push(format!("shard {shard} did not answer")),
            }
        }
        if let Some((used, max)) = fullest {
            self.inner.metrics.redis_memory(used, max);
        }
        if problems.is_empty() {
            Ok(Health::Ok)
        } else {
            Ok(Health::Degraded(format!("Redis Cluster, {} shards: {}", answers.len(), problems.join("; "))))
        }
    }
    // ANCHOR_END: cluster_health
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_reads_info_memory() {
        let info = |used: u64, max: u64, policy: &str| {
            format!("# Memory\r\nused_memory:{used}\r\nmaxmemory:{max}\r\nmaxmemory_policy:{policy}\r\n")
        };
        assert_eq!(Health::from_info(&info(5_000_000, 0, "noeviction")), Health::Ok);
        assert_eq!(Health::from_info(&info(500, 1000, "noeviction")), Health::Ok);
        let full = Health::from_info(&info(1000, 1000, "noeviction"));
        assert!(matches!(&full, Health::Degraded(why) if why.starts_with("Redis is full")), "{full:?}");
        let near = Health::from_info(&info(950, 1000, "volatile-ttl"));
        assert_eq!(near, Health::Degraded("Redis is near maxmemory: 95% used (policy volatile-ttl)".into()));
        let evicting = Health::from_info(&info(1000, 1000, "volatile-ttl"));
        assert!(
            matches!(&evicting, Health::Degraded(why) if why.starts_with("Redis is near")),
            "{evicting:?}"
        );
    }
}
