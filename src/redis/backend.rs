//! [`Backend`]: the one connection type the store talks through, to a single Redis or to a
//! Redis Cluster. It implements redis-rs's `ConnectionLike` once, so every operation of the
//! store is written once for both; narration (the lessons') is a wrapper around it
//! (`workbook::Narrated`, feature `workbook`), not another kind of backend.
//!
//! The one thing that differs on a cluster lives here: a plain pipeline whose commands name keys
//! of several slots is split, each command sent to its own shard, all at once.

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

/// A connection to the Redis that holds the sessions. Cheap to clone: both variants are handles
/// on shared, multiplexed connections.
#[derive(Clone)]
pub enum Backend {
    /// One Redis: the shared, multiplexed [`ConnectionManager`], which reconnects by itself.
    Single(ConnectionManager),
    /// A Redis Cluster: one multiplexed connection per shard, commands routed by the slot of
    /// their first key, `MOVED` and `ASK` followed, the slot map refreshed after a failover.
    Cluster(ClusterConnection),
}

/// Which Redis the service runs on: what differs from one to another is in [`Backend`] and in
/// the store's login (a cluster sends each login step on its own), and nowhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Topology {
    /// One Redis (with or without replicas): every command on one connection, in order.
    Single,
    /// A Redis Cluster: commands routed by the slot of their key (lesson 07).
    Cluster,
}

impl Topology {
    /// True for a Redis Cluster.
    pub fn is_cluster(self) -> bool {
        self == Topology::Cluster
    }

    /// How the service names it, in its log and on `/health`: `single` or `cluster`.
    pub fn name(self) -> &'static str {
        match self {
            Topology::Single => "single",
            Topology::Cluster => "cluster",
        }
    }
}

impl Backend {
    /// Which Redis this connection reaches.
    pub fn topology(&self) -> Topology {
        match self {
            Backend::Single(_) => Topology::Single,
            Backend::Cluster(_) => Topology::Cluster,
        }
    }
}

impl From<ConnectionManager> for Backend {
    fn from(con: ConnectionManager) -> Self {
        Backend::Single(con)
    }
}

impl From<ClusterConnection> for Backend {
    fn from(con: ClusterConnection) -> Self {
        Backend::Cluster(con)
    }
}

// ANCHOR: split_pipeline
/// A plain (non-transaction) pipeline on a cluster: redis-rs's cluster connection sends a
/// pipeline to one shard only and refuses one whose commands name keys of several slots
/// (`CROSSSLOT`). The store's pipelines are lists of single-key commands about different
/// sessions, so on a cluster each command is sent on its own, all at once, each to its shard,
/// and the replies are put back in order: the commands wait together, as one pipeline's would.
/// A transaction (`MULTI`) names keys of one slot and goes as it is, and so does a pipeline whose
/// commands all name keys of one slot ([`one_slot`]): sent one by one, its commands could run out
/// of order, while as one pipeline they run in order on the slot's node.
fn split_pipeline<'a>(
    con: &'a mut ClusterConnection,
    pipeline: &'a Pipeline,
    offset: usize,
    count: usize,
) -> RedisFuture<'a, Vec<Value>> {
    if pipeline.is_transaction() || one_slot(pipeline) {
        return con.req_packed_commands(pipeline, offset, count);
    }
    Box::pin(async move {
        let sends = pipeline.cmd_iter().map(|cmd| {
            let mut con = con.clone();
            async move { con.req_packed_command(cmd).await }
        });
        let replies = futures_util::future::try_join_all(sends).await?;
        Ok(replies.into_iter().skip(offset).take(count).collect())
    })
}
// ANCHOR_END: split_pipeline

/// True when the first argument after every command's name is a key, and all those keys hash to
/// one slot: the reads and writes of one session, and a logout's take of the session's
/// `moved:{session:<id>}` marker, whose hash tag is the session's key. Scripts are left out
/// (their first argument is the script, not a key).
fn one_slot(pipeline: &Pipeline) -> bool {
    let mut slot: Option<u16> = None;
    for cmd in pipeline.cmd_iter() {
        let mut args = cmd.args_iter();
        let (Some(redis::Arg::Simple(name)), Some(redis::Arg::Simple(first))) = (args.next(), args.next())
        else {
            return false;
        };
        if name.eq_ignore_ascii_case(b"EVAL") || name.eq_ignore_ascii_case(b"EVALSHA") {
            return false;
        }
        let here = super::hash_slot(&String::from_utf8_lossy(first));
        match slot {
            None => slot = Some(here),
            Some(seen) if seen == here => {}
            Some(_) => return false,
        }
    }
    slot.is_some()
}

impl ConnectionLike for Backend {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Backend::Single(con) => con.req_packed_command(cmd),
            Backend::Cluster(con) => con.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Backend::Single(con) => con.req_packed_commands(pipeline, offset, count),
            Backend::Cluster(con) => split_pipeline(con, pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Backend::Single(con) => con.get_db(),
            Backend::Cluster(con) => con.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pipelines_of_one_slot_go_as_they_are() {
        let mut renew = redis::pipe();
        renew.cmd("HMGET").arg("session:a").arg("user_id").cmd("EXPIRE").arg("session:a").arg(1800);
        assert!(one_slot(&renew));
        let mut logout = redis::pipe();
        logout
            .cmd("HGET")
            .arg("session:a")
            .arg("user_id")
            .del("session:a")
            .cmd("GETDEL")
            .arg("moved:{session:a}");
        assert!(one_slot(&logout), "the marker's hash tag is the session's key");
        let mut two = redis::pipe();
        two.del("session:a").del("session:b");
        assert!(!one_slot(&two));
        let mut script = redis::pipe();
        script.cmd("EVALSHA").arg("abc").arg(1).arg("k");
        assert!(!one_slot(&script));
        assert!(!one_slot(&redis::pipe()));
        let mut bare = redis::pipe();
        bare.cmd("PING");
        assert!(!one_slot(&bare));
    }
}
