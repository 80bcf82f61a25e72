//! A logout that a failover cannot undo, as far as Redis allows: after logout, revoke and "log
//! out everywhere" have deleted their sessions, they wait (`WAIT`) until a replica of each
//! session's master has the deletion too, for at most `LOGOUT_REPLICAS_TIMEOUT_MS`.
//!
//! Why: Redis replicates asynchronously. A master that answers a `DEL` and dies before its
//! replica has it leaves the replica, promoted by a failover (Sentinel, or Redis Cluster),
//! holding the session: its cookie works again. `WAIT n timeout` blocks the connection until
//! `n` replicas have acknowledged every write the connection sent before it, or until the
//! timeout, and answers how many did. The service's connection is shared, so the wait also
//! covers other requests' earlier writes; it never delays them (Redis blocks only this reply).
//!
//! What it does not give: `WAIT` is not a consensus. A replica that acknowledged may still not
//! be the one promoted, and a master whose replicas all lag answers after the timeout with
//! fewer acknowledgements: then the logout still answers 200 (the session is gone from the
//! master, which is what serves it), and the service logs a warning and counts it in
//! `session_logouts_unreplicated_total`. See the production notes.
//!
//! Which replicas exist is learned from Redis ([`SessionStore::learn_replicas`]: `ROLE`, on
//! one Redis or on every master of a cluster), at start and then every few seconds by the service,
//! never on a request's path: with `LOGOUT_REPLICAS=auto` a master without replicas costs its
//! logouts nothing.

use std::sync::RwLock;
use std::time::Duration;

use redis::Value;

use crate::redis::{Backend, hash_slot};

use super::{SessionStore, Unavailable, connection::Counted};

/// How many replicas logout, revoke and "log out everywhere" wait for (`LOGOUT_REPLICAS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogoutReplicas {
    /// One, wherever the session's master has a replica; none where it has none (the default).
    Auto,
    /// Never wait (`0` or `off`): a failover right after a logout may bring the session back.
    Off,
    /// Always wait for this many, replicas or not: a master with fewer makes every logout wait
    /// the whole timeout, and counts it as unreplicated.
    Exactly(u32),
}

/// How long a logout waits for its replica by default (`LOGOUT_REPLICAS_TIMEOUT_MS`): a replica
/// on the same network acknowledges in about a millisecond.
pub const LOGOUT_REPLICAS_TIMEOUT: Duration = Duration::from_millis(100);

/// The replicas each range of slots has, as last learned: one range, 0 to 16383, on one Redis.
#[derive(Debug, Default)]
pub(super) struct KnownReplicas(RwLock<Vec<(u16, u16, usize)>>);

impl KnownReplicas {
    /// The known range holding `slot` (one Redis: the one range) and how many replicas its
    /// master has; `None` before anything is known.
    fn of_slot(&self, slot: u16) -> Option<(u16, u16, usize)> {
        let ranges = self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        ranges.iter().find(|(low, high, _)| (*low..=*high).contains(&slot)).copied()
    }

    fn set(&self, ranges: Vec<(u16, u16, usize)>) {
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = ranges;
    }
}

/// The replicas connected to a master, from its `ROLE` reply (`master`, offset, replicas); 0
/// for a replica or anything else.
fn replicas_of_role(reply: &Value) -> usize {
    match reply {
        Value::Array(parts) if matches!(parts.first(), Some(Value::BulkString(role)) if role == b"master") => {
            match parts.get(2) {
                Some(Value::Array(replicas)) => replicas.len(),
                _ => 0,
            }
        }
        _ => 0,
    }
}

impl SessionStore {
    /// Asks Redis which masters have replicas (`ROLE` of each master), for
    /// `LOGOUT_REPLICAS=auto`. The service calls it at start and every few seconds after;
    /// returns how many replicas the best-served master has.
    pub async fn learn_replicas(&self) -> Result<usize, Unavailable> {
        let mut con = self.connection().idempotent();
        let role = redis::cmd("ROLE");
        let known = if let Backend::Cluster(cluster) = &self.inner.con.backend {
            // Each master's own word: `CLUSTER SLOTS` lists a replica only once gossip has
            // carried its offset, seconds after it is there.
            let answers = con.every_master(cluster, &role, self.deadline()).await?;
            let per_shard =
                answers.iter().map(|(shard, role)| (shard, role.as_ref().map_or(0, replicas_of_role)));
            per_shard
                .flat_map(|(shard, n)| shard.slots.iter().map(move |&(low, high)| (low, high, n)))
                .collect()
        } else {
            let reply: Value = self.within_deadline(role.query_async(&mut con)).await?;
            vec![(0, 16383, replicas_of_role(&reply))]
        };
        let most = known.iter().map(|(_, _, n)| *n).max().unwrap_or(0);
        self.inner.replicas.set(known);
        Ok(most)
    }

    /// How many replicas to wait for after deleting a key of a master with `replicas` replicas
    /// (`None`: not known), by `LOGOUT_REPLICAS`.
    fn replicas_wanted(&self, replicas: Option<usize>) -> u32 {
        match self.inner.logout_replicas {
            LogoutReplicas::Off => 0,
            LogoutReplicas::Exactly(n) => n,
            LogoutReplicas::Auto => u32::from(replicas.unwrap_or(0) > 0),
        }
    }

    // ANCHOR: wait_for_replicas
    /// After the deletion of `keys` (sessions a logout, a revocation or "log out everywhere"
    /// ended): `WAIT` until the replicas `LOGOUT_REPLICAS` asks for have it, one `WAIT` per
    /// master involved, all at once, each for at most `LOGOUT_REPLICAS_TIMEOUT_MS`. Nothing is
    /// sent where no replica is wanted. A master whose replicas did not all acknowledge in time
    /// is logged and counted; the caller answers as usual.
    pub(super) async fn wait_for_replicas(
        &self,
        con: &Counted<'_>,
        keys: impl IntoIterator<Item = String>,
    ) -> redis::RedisResult<()> {
        // One `WAIT` per master: on one Redis, one; on a cluster, one per slot range involved
        // (per slot where no range is known yet).
        let mut waits: Vec<(u16, u32)> = Vec::new();
        let mut masters: Vec<(u16, u16)> = Vec::new();
        for key in keys {
            let slot = hash_slot(&key);
            let known = self.inner.replicas.of_slot(slot);
            let wanted = self.replicas_wanted(known.map(|(_, _, n)| n));
            let master = known.map_or((slot, slot), |(low, high, _)| (low, high));
            if wanted > 0 && !masters.contains(&master) {
                masters.push(master);
                waits.push((slot, wanted));
            }
        }
        if waits.is_empty() {
            return Ok(());
        }
        let timeout_ms = u64::try_from(self.inner.replica_timeout.as_millis()).unwrap_or(u64::MAX);
        let answers = futures_util::future::try_join_all(waits.iter().map(|&(slot, wanted)| {
            let mut wait = redis::cmd("WAIT");
            wait.arg(wanted).arg(timeout_ms);
            con.on_slot(slot, wait)
        }))
        .await?;
        for (&(slot, wanted), acknowledged) in waits.iter().zip(answers) {
            let acknowledged: u32 = redis::from_redis_value(acknowledged).unwrap_or(0);
            if acknowledged < wanted {
                self.inner.metrics.logout_unreplicated();
                tracing::warn!(
                    slot,
                    wanted,
                    acknowledged,
                    timeout_ms,
                    "sessions ended, but not acknowledged by the replicas LOGOUT_REPLICAS asks for \
                     within LOGOUT_REPLICAS_TIMEOUT_MS: a failover now could bring them back"
                );
            }
        }
        Ok(())
    }
    // ANCHOR_END: wait_for_replicas
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn replicas_are_read_from_role_and_kept_per_range() {
        let master = Value::Array(vec![
            bulk("master"),
            Value::Int(100),
            Value::Array(vec![Value::Array(vec![bulk("127.0.0.1"), bulk("7001"), bulk("100")])]),
        ]);
        assert_eq!(replicas_of_role(&master), 1);
        let alone = Value::Array(vec![bulk("master"), Value::Int(0), Value::Array(vec![])]);
        assert_eq!(replicas_of_role(&alone), 0);
        let replica = Value::Array(vec![bulk("slave"), bulk("127.0.0.1"), Value::Int(7000)]);
        assert_eq!(replicas_of_role(&replica), 0);
        let known = KnownReplicas::default();
        assert_eq!(known.of_slot(42), None, "nothing known");
        known.set(vec![(0, 5460, 1), (5461, 10922, 0), (10923, 16383, 2)]);
        let replicas = |slot| known.of_slot(slot).map(|(_, _, n)| n);
        assert_eq!((replicas(0), replicas(5460), replicas(5461)), (Some(1), Some(1), Some(0)));
        assert_eq!((replicas(10922), replicas(10923), replicas(16383)), (Some(0), Some(2), Some(2)));
        assert_eq!(known.of_slot(5461), Some((5461, 10922, 0)));
        assert_eq!(known.of_slot(5460), Some((0, 5460, 1)));
    }
}
