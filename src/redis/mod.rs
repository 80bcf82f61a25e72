//! Getting Redis: connecting to it, finding out whether it is a cluster, and (feature
//! `private-redis`) starting a private `redis-server` or cluster when none runs.
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | [`connect`], [`connect_or_start`], [`RedisHandle`]: which Redis, and how it was found |
//! | `backend.rs` | [`Backend`]: the one connection type the store uses, single Redis or cluster |
//! | `cluster.rs` | Redis Cluster: [`connect_cluster`], detection, [`hash_slot`], the slot map |
//! | `private.rs` | [`PrivateRedis`]: a `redis-server` of our own (feature `private-redis`) |
//! | `private_cluster.rs` | [`PrivateCluster`]: a cluster of them (feature `private-redis`) |
//!
//! Nothing here knows about sessions: the store (`src/store/`) builds on this.
//! Introduced in lesson 01 (every lesson connects through [`connect_or_start`]) and used as is by
//! the service in lesson 05; the cluster parts in lesson 07.

use std::fmt;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{IntoConnectionInfo, ProtocolVersion};

mod backend;
mod cluster;
#[cfg(feature = "private-redis")]
mod private;
#[cfg(feature = "private-redis")]
mod private_cluster;

pub use backend::{Backend, Topology};
pub(crate) use cluster::{AskError, ask_every_master};
pub use cluster::{Shard, connect_cluster, hash_slot, node_urls, shards_from_cluster_slots};
#[cfg(feature = "private-redis")]
pub use private::PrivateRedis;
#[cfg(feature = "private-redis")]
pub use private_cluster::PrivateCluster;

/// Where a learner's Redis is when `REDIS_URL` is not set.
pub(crate) const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// How to install redis-server, printed when it is not on `PATH`.
pub(crate) const INSTALL_HELP: &str = "redis-server was not found on PATH. Install it, then run this again:
  Debian/Ubuntu: sudo apt-get install -y redis-server
  Fedora:        sudo dnf install -y redis
  macOS:         brew install redis
  Docker:        docker run --rm -p 6379:6379 redis:7   (then REDIS_URL=redis://127.0.0.1:6379)";

/// Opens a shared, multiplexed connection to one Redis, speaking RESP2 as `redis-cli` does: the
/// lessons' connection. The service's store makes its own with [`connect_backend`] (RESP3), one
/// per serving thread.
///
/// Why one connection and not a pool: Redis executes commands one at a time anyway, and a
/// multiplexed connection pipelines every concurrent request's commands onto one socket, so
/// there is no per-request connect and no pool to size. The [`ConnectionManager`] reconnects by
/// itself when Redis comes back after an outage.
///
/// `timeout` bounds each connection attempt. Responses are bounded one level up, by the
/// store's deadline on each of its calls ([`SessionStore`](crate::store::SessionStore)), which also
/// covers the time a call waits for a reconnect; a second timer here would only cost a timer per
/// command. (A timed-out response does not make redis-rs reconnect either way: only a dropped
/// connection does.)
pub async fn connect(url: &str, timeout: Duration) -> redis::RedisResult<ConnectionManager> {
    connect_speaking(url, timeout, ProtocolVersion::RESP2).await
}

/// [`connect`] in the given protocol. The lessons speak RESP2, as `redis-cli` does by default, so
/// their transcripts read like it (a sorted set's score is a string there, a double in RESP3).
/// The service's store speaks RESP3 ([`connect_backend`]): with it the connection hears at once
/// when Redis goes away (its end of stream is a push the manager listens to) and reconnects
/// before any request finds it broken, which RESP2 cannot tell it.
async fn connect_speaking(
    url: &str,
    timeout: Duration,
    protocol: ProtocolVersion,
) -> redis::RedisResult<ConnectionManager> {
    let info = url.into_connection_info()?;
    let settings = info.redis_settings().clone().set_protocol(protocol);
    let client = redis::Client::open(info.set_redis_settings(settings))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(None)
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(20))
        .set_max_delay(Duration::from_millis(200));
    ConnectionManager::new_with_config(client, config).await
}

/// A new connection for the service's store to the Redis at `url`, of a known `topology`: a
/// [`ConnectionManager`] speaking RESP3 (see `connect_speaking`), or on a cluster a cluster
/// connection seeded with the same nodes. The service's serving threads (`SERVE_THREADS`) each
/// make one on their own runtime, so a request and its Redis reply are handled on one thread.
pub async fn connect_backend(
    url: &str,
    topology: Topology,
    timeout: Duration,
) -> redis::RedisResult<Backend> {
    Ok(match topology {
        Topology::Cluster => {
            Backend::Cluster(cluster::connect_cluster(&cluster::node_urls(url), timeout).await?)
        }
        Topology::Single => Backend::Single(connect_speaking(url, timeout, ProtocolVersion::RESP3).await?),
    })
}

/// Which Redis [`connect_or_start`] found.
pub enum RedisOrigin {
    /// `REDIS_URL` was set.
    Configured,
    /// Nothing was configured and a Redis answered on 127.0.0.1:6379.
    LocalDefault,
    /// Nothing answered, so a private redis-server was started; it stops when this is dropped.
    #[cfg(feature = "private-redis")]
    Private(PrivateRedis),
    /// `REDIS_CLUSTER=N` asked for a private cluster of N masters; it stops when this is dropped.
    #[cfg(feature = "private-redis")]
    PrivateCluster(PrivateCluster),
}

/// A connection plus, when we started one, the private server behind it.
pub struct RedisHandle {
    /// A plain connection to the first node that answered (the lessons use it; on a cluster it
    /// reaches only that node).
    pub manager: ConnectionManager,
    /// What the store should use: the same connection, or the cluster connection on a cluster.
    pub backend: Backend,
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

    /// One sentence for the log or the lesson's first line.
    pub fn describe(&self) -> String {
        let kind = match self.backend.topology() {
            Topology::Cluster => "Redis Cluster",
            _ => "Redis",
        };
        match &self.origin {
            RedisOrigin::Configured => format!("using {kind} at {} (REDIS_URL)", redacted_url(&self.url)),
            RedisOrigin::LocalDefault => {
                format!("using the Redis already running at {}", redacted_url(&self.url))
            }
            #[cfg(feature = "private-redis")]
            RedisOrigin::PrivateCluster(cluster) => format!(
                "REDIS_CLUSTER={} started a private Redis Cluster of {} masters (it stops when this program \
                 exits); explore it with: redis-cli -c -p {}",
                cluster.masters(),
                cluster.masters(),
                cluster.nodes()[0].port()
            ),
            #[cfg(feature = "private-redis")]
            RedisOrigin::Private(server) => format!(
                "no Redis was running, so a private redis-server was started on port {port} \
                 (it stops when this program exits); explore it with: redis-cli -p {port}",
                port = server.port()
            ),
        }
    }

    async fn new(
        manager: ConnectionManager,
        backend: Backend,
        url: String,
        origin: RedisOrigin,
    ) -> RedisHandle {
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
        RedisHandle { manager, backend, url, origin, version }
    }
}

/// Why no Redis could be had.
#[derive(Debug)]
pub enum SetupError {
    /// `REDIS_URL` was set but did not answer after a few tries.
    Unreachable {
        /// The URL as configured.
        url: String,
        /// The last error.
        error: String,
    },
    /// Nothing answered and redis-server is not installed.
    NotInstalled,
    /// Nothing answered, and this build cannot start a Redis of its own (feature
    /// `private-redis` off).
    NoRedis,
    /// redis-server is installed but would not start.
    StartFailed(String),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Unreachable { url, error } => {
                let error = scrub_credentials(error, url);
                write!(f, "cannot reach Redis at {} (REDIS_URL): {error}", redacted_url(url))
            }
            SetupError::NotInstalled => f.write_str(INSTALL_HELP),
            SetupError::NoRedis => write!(
                f,
                "no Redis answered at {DEFAULT_REDIS_URL}; set REDIS_URL (this build was made without the \
                 private-redis feature, so it cannot start one of its own)"
            ),
            SetupError::StartFailed(why) => write!(f, "could not start a private redis-server: {why}"),
        }
    }
}

impl std::error::Error for SetupError {}

/// Finds a Redis the way a learner expects:
/// 1. `REDIS_URL` set: use it, retrying briefly (it may still be starting), else fail. A cluster
///    node, or a comma-separated list of nodes, is used as a cluster.
/// 2. Not set: use 127.0.0.1:6379 if something answers PING there.
/// 3. Otherwise (feature `private-redis`) start a private redis-server on a free port
///    ([`PrivateRedis`]).
pub async fn connect_or_start(redis_url: Option<&str>, timeout: Duration) -> Result<RedisHandle, SetupError> {
    if let Some(url) = redis_url {
        let mut last_error = String::new();
        for attempt in 0..5 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(400)).await;
            }
            match cluster::detect(url, timeout).await {
                Ok((manager, backend)) => {
                    return Ok(
                        RedisHandle::new(manager, backend, url.to_string(), RedisOrigin::Configured).await
                    );
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
        let backend = Backend::Single(manager.clone());
        return Ok(RedisHandle::new(manager, backend, url, RedisOrigin::LocalDefault).await);
    }
    start_private(timeout).await
}

#[cfg(feature = "private-redis")]
async fn start_private(timeout: Duration) -> Result<RedisHandle, SetupError> {
    let server = tokio::task::spawn_blocking(PrivateRedis::start)
        .await
        .map_err(|join| SetupError::StartFailed(join.to_string()))??;
    let url = server.url();
    let manager = connect(&url, timeout).await.map_err(|error| SetupError::StartFailed(error.to_string()))?;
    let backend = Backend::Single(manager.clone());
    Ok(RedisHandle::new(manager, backend, url, RedisOrigin::Private(server)).await)
}

#[cfg(not(feature = "private-redis"))]
async fn start_private(_timeout: Duration) -> Result<RedisHandle, SetupError> {
    Err(SetupError::NoRedis)
}

/// Starts a private Redis Cluster of `masters` masters (`REDIS_CLUSTER=N`) and connects to it.
#[cfg(feature = "private-redis")]
pub async fn start_private_cluster(masters: usize, timeout: Duration) -> Result<RedisHandle, SetupError> {
    let cluster = tokio::task::spawn_blocking(move || PrivateCluster::start(masters))
        .await
        .map_err(|join| SetupError::StartFailed(join.to_string()))??;
    let url = cluster.url();
    let (manager, backend) =
        cluster::detect(&url, timeout).await.map_err(|error| SetupError::StartFailed(error.to_string()))?;
    Ok(RedisHandle::new(manager, backend, url, RedisOrigin::PrivateCluster(cluster)).await)
}

/// A Redis URL as `REDIS_URL` gives it: one node, or several separated by commas (a cluster's),
/// each `redis://` or `unix://` (this build has no TLS). It prints itself without credentials, in `Display`
/// and `Debug` alike ([`redacted_url`]), so a configuration logged or shown in an error never
/// carries the password; [`expose`](Self::expose) gives the whole URL to connect with.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// Checks the scheme of every node; the error says what is expected, without the URL's
    /// credentials.
    pub fn parse(url: &str) -> Result<RedisUrl, String> {
        let schemes = ["redis://", "unix://"];
        if url.split(',').map(str::trim).all(|one| schemes.iter().any(|scheme| one.starts_with(scheme))) {
            Ok(RedisUrl(url.to_string()))
        } else {
            Err(format!(
                "{:?} must start with redis:// or unix:// (several cluster nodes: separated by commas)",
                redacted_url(url)
            ))
        }
    }

    /// The whole URL, credentials included: for connecting, never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redacted_url(&self.0))
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RedisUrl").field(&redacted_url(&self.0)).finish()
    }
}

// ANCHOR: redacted_url
/// A Redis URL fit for a log line: scheme, host, port and database only. The user name and
/// password (`redis://user:secret@host`) and any query (`unix:///run/redis.sock?pass=secret`)
/// are dropped, so a start-up line or an error never carries a credential whatever `RUST_LOG`
/// is. Several comma-separated nodes are each redacted.
pub fn redacted_url(url: &str) -> String {
    url.split(',').map(|one| redact_one(one.trim())).collect::<Vec<_>>().join(",")
}

fn redact_one(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(not a redis:// URL)".to_string();
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    if path.is_empty() { format!("{scheme}://{host}") } else { format!("{scheme}://{host}/{path}") }
}

/// `text` (an error from the driver) with every credential of `url` blanked out, in case the
/// driver quotes what it was given.
fn scrub_credentials(text: &str, url: &str) -> String {
    let mut text = text.replace(url, &redacted_url(url));
    for one in url.split(',') {
        let Some((_, rest)) = one.trim().split_once("://") else { continue };
        let authority = rest.split('/').next().unwrap_or_default();
        let query = rest.split_once('?').map_or("", |(_, query)| query);
        let userinfo = authority.rsplit_once('@').map_or("", |(userinfo, _)| userinfo);
        let secrets = userinfo
            .split(':')
            .chain(query.split('&').filter_map(|pair| pair.split_once('=').map(|(_, v)| v)));
        for secret in secrets.filter(|secret| secret.len() >= 3) {
            text = text.replace(secret, "***");
        }
    }
    text
}
// ANCHOR_END: redacted_url

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

#[cfg(test)]
mod tests {
    use super::{older_than_7, redacted_url, scrub_credentials};

    #[test]
    fn credentials_never_reach_a_log_line() {
        for (url, shown) in [
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            ("redis://:hunter2@10.0.0.1:6380/2", "redis://10.0.0.1:6380/2"),
            ("redis://app:hunter2@cache.internal/0?protocol=resp3", "redis://cache.internal/0"),
            ("rediss://app:p%40ss@h:1", "rediss://h:1"),
            ("unix:///run/redis.sock?db=1&pass=hunter2", "unix:///run/redis.sock"),
            ("redis://:a@b:1, redis://:hunter2@c:2", "redis://b:1,redis://c:2"),
            ("hunter2", "(not a redis:// URL)"),
        ] {
            assert_eq!(redacted_url(url), shown, "{url}");
        }
        let url = "redis://app:hunter2@10.0.0.1:6380";
        let error = format!("could not connect to {url}: auth failed for app:hunter2");
        let scrubbed = scrub_credentials(&error, url);
        assert!(!scrubbed.contains("hunter2"), "{scrubbed}");
        assert!(scrubbed.contains("redis://10.0.0.1:6380"), "{scrubbed}");
    }

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
