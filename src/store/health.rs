//! `/health`: what the store can say about Redis's memory. A Redis that answers but refuses
//! writes (at `maxmemory` under `noeviction`), or is close to it, is [`Health::Degraded`]; on a
//! cluster every master is asked, and a shard that does not answer is named.

use crate::redis::{Backend, info_field};

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

/// What `INFO memory` says of one Redis: the bytes used, the limit (0: none) and the policy
/// at the limit. Read once, by [`Memory::from_info`], for the health check and for `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Memory {
    used: u64,
    max: u64,
    policy: String,
}

impl Memory {
    /// `used_memory`, `maxmemory` (0 when missing) and `maxmemory_policy` of an `INFO memory` reply.
    fn from_info(info: &str) -> Memory {
        let number = |name: &str| info_field(info, name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        Memory {
            used: number("used_memory"),
            max: number("maxmemory"),
            policy: info_field(info, "maxmemory_policy").unwrap_or("unknown").to_string(),
        }
    }

    /// How full it is, for choosing the fullest shard: the share of `maxmemory` used, or with no
    /// limit the bytes used (so a limited shard near its limit counts as fuller than any
    /// unlimited one).
    fn fullness(&self) -> (bool, f64) {
        if self.max == 0 { (false, self.used as f64) } else { (true, self.used as f64 / self.max as f64) }
    }

    /// With no `maxmemory`, always room; at or past it under `noeviction`, writes are refused;
    /// at 90 % or more, near it (with an eviction policy, sessions are being or will soon be
    /// evicted to make room).
    fn health(&self) -> Health {
        let Memory { used, max, policy } = self;
        if *max == 0 {
            return Health::Ok;
        }
        let share = *used as f64 / *max as f64;
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

impl Health {
    /// At or above this share of `maxmemory`, Redis is "near" it.
    pub const NEAR_MAXMEMORY: f64 = 0.9;

    /// Judges an `INFO memory` reply (with no `maxmemory`, always room; at or past it under `noeviction`, full; at 90 % or more, near it).
    pub fn from_info(info: &str) -> Health {
        Memory::from_info(info).health()
    }
}

impl SessionStore {
    /// Redis's memory, for `/health`: one `INFO memory`. On a cluster, every master is asked
    /// (the slot map, then every master at once), and the answer names the shards that did not
    /// answer. Either way under one deadline, every round trip counted and timed like any
    /// other call's.
    pub async fn health(&self) -> Result<Health, Unavailable> {
        let mut info = redis::cmd("INFO");
        info.arg("memory");
        // The same when done twice: it may be sent again after a lost connection.
        let mut con = self.connection().idempotent();
        if let Backend::Cluster(cluster) = &self.inner.con.backend {
            let answers = con.every_master(cluster, &info, self.deadline()).await?;
            return Ok(self.cluster_health(&answers));
        }
        let reply: String = self.within_deadline(info.query_async(&mut con)).await?;
        let memory = Memory::from_info(&reply);
        self.inner.metrics.redis_memory(memory.used, memory.max);
        Ok(memory.health())
    }

    // ANCHOR: cluster_health
    /// `/health` on a cluster, from every master's answer: a shard that did not answer makes the
    /// cluster [`Health::Degraded`], and the text names it (sessions on the other shards are
    /// still served); `/metrics` shows the fullest shard.
    fn cluster_health(&self, answers: &[(crate::redis::Shard, Option<redis::Value>)]) -> Health {
        let mut problems = Vec::new();
        let mut fullest: Option<Memory> = None;
        for (shard, answer) in answers {
            match answer {
                Some(reply) => {
                    let info: String =
                        redis::FromRedisValue::from_redis_value(reply.clone()).unwrap_or_default();
                    let memory = Memory::from_info(&info);
                    if let Health::Degraded(why) = memory.health() {
                        problems.push(format!("shard {shard}: {why}"));
                    }
                    if fullest.as_ref().is_none_or(|seen| memory.fullness() > seen.fullness()) {
                        fullest = Some(memory);
                    }
                }
                None => problems.push(format!("shard {shard} did not answer")),
            }
        }
        if let Some(memory) = fullest {
            self.inner.metrics.redis_memory(memory.used, memory.max);
        }
        if problems.is_empty() {
            Health::Ok
        } else {
            Health::Degraded(format!("Redis Cluster, {} shards: {}", answers.len(), problems.join("; ")))
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
