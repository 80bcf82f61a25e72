//! A private Redis Cluster (feature `private-redis`): `REDIS_CLUSTER=N` for a learner trying
//! lesson 07's setup, and the clusters the tests run the service suites on. Its nodes are
//! [`PrivateRedis`] servers, joined with `redis-cli --cluster create`.

use std::net::{Ipv4Addr, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{PrivateRedis, SetupError};

/// A Redis Cluster of our own: `masters` masters, each with `replicas` replicas, on free ports
/// of 127.0.0.1 (each node also needs its port + 10000 free, for the cluster bus), each in a
/// temporary directory of its own, created with `redis-cli --cluster create`. Every process is
/// stopped by its PID when this is dropped.
///
/// The nodes run with `cluster-require-full-coverage no`: when one shard is down, the others
/// keep serving their slots (the default, `yes`, stops the whole cluster).
#[derive(Debug)]
pub struct PrivateCluster {
    nodes: Vec<PrivateRedis>,
    masters: usize,
}

impl PrivateCluster {
    /// A cluster of `masters` masters and no replicas.
    pub fn start(masters: usize) -> Result<PrivateCluster, SetupError> {
        PrivateCluster::start_with(masters, 0, Duration::from_secs(15))
    }

    /// A cluster of `masters` masters with `replicas` replicas each; a master that stops
    /// answering for `node_timeout` is failed over to one of its replicas.
    pub fn start_with(
        masters: usize,
        replicas: usize,
        node_timeout: Duration,
    ) -> Result<PrivateCluster, SetupError> {
        let masters = masters.max(3);
        let timeout = node_timeout.as_millis().to_string();
        let args = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            timeout.as_str(),
            "--cluster-require-full-coverage",
            "no",
            // A replica's first sync starts at once instead of after 5 s.
            "--repl-diskless-sync-delay",
            "0",
        ];
        let mut nodes = Vec::new();
        for _ in 0..masters * (1 + replicas) {
            nodes.push(PrivateRedis::start_cluster_node(&args, free_port_pair)?);
        }
        let addresses: Vec<String> = nodes.iter().map(|node| format!("127.0.0.1:{}", node.port())).collect();
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|error| SetupError::StartFailed(format!("redis-cli --cluster create: {error}")))?;
        if !output.status.success() {
            return Err(SetupError::StartFailed(format!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&output.stdout).trim()
            )));
        }
        let cluster = PrivateCluster { nodes, masters };
        cluster.wait_until_ok(masters * replicas, Duration::from_secs(30))?;
        Ok(cluster)
    }

    /// Waits until every node says `cluster_state:ok`, knows every other node and sees all
    /// `replicas` replicas as such, and every replica has finished its first sync (`master_link_status:up`): a replica that never
    /// synced cannot take over from its master.
    fn wait_until_ok(&self, replicas: usize, limit: Duration) -> Result<(), SetupError> {
        let deadline = Instant::now() + limit;
        loop {
            let ready = self.nodes.iter().all(|node| {
                let info = cli(node.port(), &["CLUSTER", "INFO"]);
                let replication = cli(node.port(), &["INFO", "replication"]);
                // Every node sees every replica as one (redis-cli makes them replicas just
                // after it creates the cluster, so for a moment they are empty masters).
                let seen_replicas = cli(node.port(), &["CLUSTER", "NODES"])
                    .lines()
                    .filter(|line| {
                        line.split_whitespace().nth(2).is_some_and(|flags| flags.contains("slave"))
                    })
                    .count();
                info.contains("cluster_state:ok")
                    && info.contains(&format!("cluster_known_nodes:{}", self.nodes.len()))
                    && seen_replicas == replicas
                    && (replication.contains("role:master") || replication.contains("master_link_status:up"))
            });
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(SetupError::StartFailed("the cluster did not reach cluster_state:ok".into()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every node's URL, comma-separated: a `REDIS_URL` for this cluster.
    pub fn url(&self) -> String {
        self.urls().join(",")
    }

    /// Every node's `redis://127.0.0.1:<port>`.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(PrivateRedis::url).collect()
    }

    /// How many masters (shards) it was created with.
    pub fn masters(&self) -> usize {
        self.masters
    }

    /// The nodes, masters first as `redis-cli --cluster create` assigned them.
    pub fn nodes(&self) -> &[PrivateRedis] {
        &self.nodes
    }

    /// One node, to pause or kill it (tests).
    #[cfg(feature = "test-util")]
    pub fn node_mut(&mut self, index: usize) -> &mut PrivateRedis {
        &mut self.nodes[index]
    }
}

/// `redis-cli -p <port> <args>`'s output, or "" when it fails (a paused or dead node).
fn cli(port: u16, args: &[&str]) -> String {
    Command::new("timeout")
        .args(["2", "redis-cli", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

/// A free port below 55536 whose cluster-bus port (+10000) is free too.
fn free_port_pair() -> std::io::Result<u16> {
    for _ in 0..100 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        if port < 55536 && TcpListener::bind((Ipv4Addr::LOCALHOST, port + 10000)).is_ok() {
            return Ok(port);
        }
    }
    Err(std::io::Error::other("no free port pair (port and port + 10000) found"))
}
