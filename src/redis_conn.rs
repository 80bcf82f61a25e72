//! Getting a Redis connection: the shared [`ConnectionManager`], and a private `redis-server`
//! for learners who have none running and for every test.
//!
//! The private server's chaos controls (pause, kill, restart) exist only with the `test-util`
//! feature, which the package's own tests switch on.
//!
//! Introduced in lesson 01 (every lesson connects through [`connect_or_start`]) and used as is by
//! the server in lesson 05.

use std::fmt;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;

use crate::cluster::{PrivateCluster, connect_cluster, node_urls};
use crate::store::StoreConnection;

/// Where a learner's Redis is when `REDIS_URL` is not set.
pub(crate) const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// How to install redis-server, printed when it is not on `PATH`.
pub(crate) const INSTALL_HELP: &str = "redis-server was not found on PATH. Install it, then run this again:
  Debian/Ubuntu: sudo apt-get install -y redis-server
  Fedora:        sudo dnf install -y redis
  macOS:         brew install redis
  Docker:        docker run --rm -p 6379:6379 redis:7   (then REDIS_URL=redis://127.0.0.1:6379)";

/// Opens the one shared, multiplexed connection the whole service uses.
///
/// Why one connection and not a pool: Redis executes commands one at a time anyway, and a
/// multiplexed connection pipelines every concurrent request's commands onto one socket, so
/// there is no per-request connect and no pool to size. The [`ConnectionManager`] reconnects by
/// itself when Redis comes back after an outage.
///
/// `timeout` bounds each connection attempt. Responses are bounded one level up, by
/// [`SessionStore::run`](crate::store::SessionStore::run), which also covers the time a request
/// waits for a reconnect; a second timer here would only cost a timer per command. (A timed-out
/// response does not make redis-rs reconnect either way: only a dropped connection does.)
pub async fn connect(url: &str, timeout: Duration) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(url)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(None)
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(20))
        .set_max_delay(Duration::from_millis(200));
    ConnectionManager::new_with_config(client, config).await
}

/// Which Redis [`connect_or_start`] found.
pub enum RedisOrigin {
    /// `REDIS_URL` was set.
    Configured,
    /// Nothing was configured and a Redis answered on 127.0.0.1:6379.
    LocalDefault,
    /// Nothing answered, so a private redis-server was started; it stops when this is dropped.
    Private(PrivateRedis),
    /// `REDIS_CLUSTER=N` asked for a private cluster of N masters; it stops when this is dropped.
    PrivateCluster(PrivateCluster),
}

/// A connection plus, when we started one, the private server behind it.
pub struct RedisHandle {
    /// The shared connection; on a cluster, to the first node named (the store uses
    /// [`RedisHandle::store_connection`]).
    pub manager: ConnectionManager,
    /// The cluster connection, when the Redis is a cluster.
    pub cluster: Option<ClusterConnection>,
    /// The URL it is connected to.
    pub url: String,
    /// Where it came from; holds the private server alive.
    pub origin: RedisOrigin,
    /// `redis_version` from `INFO server`, when the server said.
    pub version: Option<String>,
}

impl RedisHandle {
    /// A warning when the server is older than Redis 7.0, which this project is written and
    /// tested for (7.0 calls a small hash's encoding `listpack`, 6.2 `ziplist`; 7.0 changed
    /// script and `EXPIRE` details the lessons show).
    pub fn version_warning(&self) -> Option<String> {
        let version = self.version.as_deref()?;
        older_than_7(version).then(|| {
            format!(
                "Redis {version} is older than 7.0: the service works, but this project is tested \
                 on 7.0 and the lessons' output will differ (upgrade with the install lines in README.md)"
            )
        })
    }

    /// The connection a [`SessionStore`](crate::SessionStore) should use: the cluster connection on
    /// a cluster, else the shared connection.
    pub fn store_connection(&self) -> StoreConnection {
        match &self.cluster {
            Some(cluster) => StoreConnection::Cluster(cluster.clone()),
            None => StoreConnection::Direct(self.manager.clone()),
        }
    }

    /// One sentence for the log or the lesson's first line.
    pub fn describe(&self) -> String {
        let kind = if self.cluster.is_some() { "Redis Cluster" } else { "Redis" };
        match &self.origin {
            RedisOrigin::Configured => format!("using {kind} at {} (REDIS_URL)", self.url),
            RedisOrigin::PrivateCluster(cluster) => format!(
                "REDIS_CLUSTER={} started a private Redis Cluster of {} masters (it stops when this program \
                 exits); explore it with: redis-cli -c -p {}",
                cluster.masters(),
                cluster.masters(),
                cluster.nodes()[0].port()
            ),
            RedisOrigin::LocalDefault => format!("using the Redis already running at {}", self.url),
            RedisOrigin::Private(server) => format!(
                "no Redis was running, so a private redis-server was started on port {port} \
                 (it stops when this program exits); explore it with: redis-cli -p {port}",
                port = server.port()
            ),
        }
    }
}

/// Why no Redis could be had.
#[derive(Debug)]
pub enum SetupError {
    /// `REDIS_URL` was set but did not answer after a few tries.
    Unreachable { url: String, error: String },
    /// Nothing answered and redis-server is not installed.
    NotInstalled,
    /// redis-server is installed but would not start.
    StartFailed(String),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Unreachable { url, error } => {
                write!(f, "cannot reach Redis at {url} (REDIS_URL): {error}")
            }
            SetupError::NotInstalled => f.write_str(INSTALL_HELP),
            SetupError::StartFailed(why) => write!(f, "could not start a private redis-server: {why}"),
        }
    }
}

impl std::error::Error for SetupError {}

/// Finds a Redis the way a learner expects:
/// 1. `REDIS_URL` set: use it, retrying briefly (it may still be starting), else fail.
/// 2. Not set: use 127.0.0.1:6379 if something answers PING there.
/// 3. Otherwise start a private redis-server on a free port ([`PrivateRedis`]).
pub async fn connect_or_start(redis_url: Option<&str>, timeout: Duration) -> Result<RedisHandle, SetupError> {
    if let Some(url) = redis_url {
        let mut last_error = String::new();
        for attempt in 0..5 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
            match connect_detecting_cluster(url, timeout).await {
                Ok((manager, cluster)) => {
                    let handle = RedisHandle::new(manager, url.to_string(), RedisOrigin::Configured).await;
                    return Ok(RedisHandle { cluster, ..handle });
                }
                Err(error) => last_error = error.to_string(),
            }
        }
        return Err(SetupError::Unreachable { url: url.to_string(), error: last_error });
    }

    if answers_ping(SocketAddr::from((Ipv4Addr::LOCALHOST, 6379)), Duration::from_millis(300))
        && let Ok(manager) = connect(DEFAULT_REDIS_URL, timeout).await
    {
        let url = DEFAULT_REDIS_URL.to_string();
        return Ok(RedisHandle::new(manager, url, RedisOrigin::LocalDefault).await);
    }

    let server = tokio::task::spawn_blocking(PrivateRedis::start)
        .await
        .map_err(|join| SetupError::StartFailed(join.to_string()))??;
    let url = server.url();
    let manager = connect(&url, timeout).await.map_err(|error| SetupError::StartFailed(error.to_string()))?;
    Ok(RedisHandle::new(manager, url, RedisOrigin::Private(server)).await)
}

// ANCHOR: detect_cluster
/// Connects to `url` (one URL, or several separated by commas) and finds out whether it is a
/// cluster: several URLs always are; a single node is when `INFO cluster` says
/// `cluster_enabled:1`. Then the cluster connection is opened too, seeded with every URL given.
async fn connect_detecting_cluster(
    url: &str,
    timeout: Duration,
) -> redis::RedisResult<(ConnectionManager, Option<ClusterConnection>)> {
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
    let cluster = if is_cluster { Some(connect_cluster(&nodes, timeout).await?) } else { None };
    Ok((manager, cluster))
}
// ANCHOR_END: detect_cluster

/// Starts a private Redis Cluster of `masters` masters (`REDIS_CLUSTER=N`) and connects to it.
pub async fn start_private_cluster(masters: usize, timeout: Duration) -> Result<RedisHandle, SetupError> {
    let cluster = tokio::task::spawn_blocking(move || PrivateCluster::start(masters))
        .await
        .map_err(|join| SetupError::StartFailed(join.to_string()))??;
    let url = cluster.url();
    let (manager, connection) = connect_detecting_cluster(&url, timeout)
        .await
        .map_err(|error| SetupError::StartFailed(error.to_string()))?;
    let handle = RedisHandle::new(manager, url, RedisOrigin::PrivateCluster(cluster)).await;
    Ok(RedisHandle { cluster: connection, ..handle })
}

impl RedisHandle {
    async fn new(manager: ConnectionManager, url: String, origin: RedisOrigin) -> RedisHandle {
        let mut con = manager.clone();
        let info = tokio::time::timeout(
            Duration::from_secs(2),
            redis::cmd("INFO").arg("server").query_async::<String>(&mut con),
        )
        .await;
        let version = match info {
            Ok(Ok(info)) => info_field(&info, "redis_version").map(str::to_string),
            _ => None,
        };
        RedisHandle { manager, cluster: None, url, origin, version }
    }
}

/// One field of an `INFO` reply (`name:value` lines), trimmed: `info_field(info, "used_memory")`.
pub fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':')).map(str::trim)
}

/// True for a `redis_version` before 7.0 (`6.2.14`, `5.0.7`); false for 7.x and later, and for
/// anything unreadable (no warning is better than a wrong one).
fn older_than_7(version: &str) -> bool {
    version.split('.').next().and_then(|major| major.parse::<u32>().ok()).is_some_and(|major| major < 7)
}

/// True when something at `addr` answers the inline command `PING` with `+PONG`.
fn answers_ping(addr: SocketAddr, timeout: Duration) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

/// A `redis-server` of our own: a free port on 127.0.0.1, no persistence
/// (`--save "" --appendonly no`), its files in a temporary directory, killed by PID on drop.
///
/// Tests use one each, so they never touch a Redis they did not start and can run in parallel.
/// "Ours" is checked, not assumed: a start counts only when the server on the port reports our
/// child's PID as its `process_id`, so a Redis that some other test started on a port we just
/// picked is never adopted.
#[derive(Debug)]
pub struct PrivateRedis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    extra_args: Vec<String>,
}

impl PrivateRedis {
    /// Starts a server with the defaults above.
    pub fn start() -> Result<PrivateRedis, SetupError> {
        PrivateRedis::start_with(&[])
    }

    /// Starts a server with extra configuration, e.g. `["--appendonly", "yes"]`; later arguments
    /// override the defaults.
    #[cfg(feature = "test-util")]
    pub fn start_with_args(extra_args: &[&str]) -> Result<PrivateRedis, SetupError> {
        PrivateRedis::start_with(extra_args)
    }

    /// Starts a server on `port` (a test of the default `127.0.0.1:6379` needs one there).
    #[cfg(feature = "test-util")]
    pub fn start_on_port(port: u16) -> Result<PrivateRedis, SetupError> {
        let mut server = PrivateRedis::unstarted(&[])?;
        server.port = port;
        server.spawn().map_err(SetupError::StartFailed)?;
        Ok(server)
    }

    fn unstarted(extra_args: &[&str]) -> Result<PrivateRedis, SetupError> {
        if !on_path("redis-server") {
            return Err(SetupError::NotInstalled);
        }
        let dir = tempfile::Builder::new()
            .prefix("session-storage-redis-")
            .tempdir()
            .map_err(|e| SetupError::StartFailed(format!("temp dir: {e}")))?;
        Ok(PrivateRedis {
            child: None,
            port: 0,
            dir,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        })
    }

    fn start_with(extra_args: &[&str]) -> Result<PrivateRedis, SetupError> {
        PrivateRedis::start_cluster_node(extra_args, free_port)
    }

    /// Starts a server on a port that `pick` chooses (a cluster node needs its port + 10000
    /// free as well), with extra arguments.
    pub(crate) fn start_cluster_node(
        extra_args: &[&str],
        pick: fn() -> std::io::Result<u16>,
    ) -> Result<PrivateRedis, SetupError> {
        let mut server = PrivateRedis::unstarted(extra_args)?;
        // The port is free when we pick it but another process could take it before redis-server
        // binds it, so try a few ports.
        let mut last_error = String::new();
        for _ in 0..5 {
            server.port = pick().map_err(|e| SetupError::StartFailed(format!("free port: {e}")))?;
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(error) => last_error = error,
            }
        }
        Err(SetupError::StartFailed(last_error))
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .arg("--logfile")
            .arg(self.log_path())
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = command.spawn().map_err(|e| format!("spawn redis-server: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                return Err(format!("redis-server exited with {status}: {}", log.trim()));
            }
            // Whatever answers must be our child, not another Redis that holds the port.
            match server_pid(addr, Duration::from_millis(200)) {
                Some(pid) if pid == child.id() => {
                    self.child = Some(child);
                    return Ok(());
                }
                Some(other) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("port {} is held by another redis-server (pid {other})", self.port));
                }
                None => {}
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("redis-server did not answer within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    /// The TCP port it listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Chaos controls, for the tests only (`test-util` feature).
#[cfg(feature = "test-util")]
impl PrivateRedis {
    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Freezes the server with SIGSTOP: connections stay open but nothing answers, which is what
    /// an overloaded or swapping Redis looks like to a client.
    pub fn pause(&self) -> std::io::Result<()> {
        self.signal("-STOP")
    }

    /// Thaws a paused server with SIGCONT.
    pub fn resume(&self) -> std::io::Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, signal: &str) -> std::io::Result<()> {
        let pid = self.pid().ok_or_else(|| std::io::Error::other("redis-server is not running"))?;
        let status = Command::new("kill").args([signal, &pid.to_string()]).status()?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!("kill {signal} {pid}: {status}")))
        }
    }

    /// Kills the server (SIGKILL, as a crash would) and waits for it to exit.
    pub fn kill(&mut self) {
        self.stop();
    }

    /// Stops cleanly with `SHUTDOWN` semantics (SIGTERM), so an AOF is flushed, and waits.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory (after [`kill`](Self::kill) or
    /// [`terminate`](Self::terminate)), with the same arguments. The new process is checked to be
    /// the one answering, so a server someone else started on the freed port is never adopted.
    pub fn restart(&mut self) -> Result<(), SetupError> {
        self.stop();
        let mut last_error = String::new();
        for _ in 0..50 {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(error) => last_error = error,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(SetupError::StartFailed(last_error))
    }

    /// The directory holding its log and, when persistence is on, its data files.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        // A paused server ignores SIGTERM but not SIGKILL.
        self.stop();
    }
}

/// The `process_id` that the Redis at `addr` reports in `INFO server`, if one answers.
fn server_pid(addr: SocketAddr, timeout: Duration) -> Option<u32> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    stream.write_all(b"INFO server\r\n").ok()?;
    // A bulk reply: `$<length>\r\n<text>\r\n`. Read until the whole text is in.
    let mut reply = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = stream.read(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        reply.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&reply);
        let (header, body) = text.split_once("\r\n")?;
        let length: usize = header.strip_prefix('$')?.parse().ok()?;
        if body.len() >= length {
            return body.lines().find_map(|line| line.strip_prefix("process_id:")?.trim().parse().ok());
        }
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::older_than_7;

    #[test]
    fn versions_before_7_are_flagged() {
        for old in ["6.2.14", "6.0.0", "5.0.7"] {
            assert!(older_than_7(old), "{old}");
        }
        for current in ["7.0.15", "7.2.4", "8.0.0", "", "unknown"] {
            assert!(!older_than_7(current), "{current}");
        }
    }
}
