//! Shared by the integration tests: a private redis-server, the real service on port 0, an
//! admin connection to look inside Redis, and readers for Redis's own counters.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use session_storage::client::TrustedProxies;
use session_storage::redis::{
    Backend, PrivateCluster, PrivateRedis, Topology, connect, connect_backend, connect_cluster,
};
use session_storage::server::serve_counted;
use session_storage::store::{Lifetimes, SessionStore};
use session_storage::workbook::Narrator;
pub use session_storage::workbook::parse_commandstats;
use session_storage::{AppState, app_with};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Settings a test may change; the rest are the service's defaults.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub idle_ttl: Duration,
    pub absolute_ttl: Duration,
    pub timeout: Duration,
    pub cookie_secure: bool,
    pub limits: session_storage::server::Limits,
    pub max_sessions_per_user: usize,
    /// `ALLOWED_ORIGINS`, as the environment variable would give it.
    pub allowed_origins: &'static str,
    /// `LOGIN_ATTEMPTS_PER_MINUTE...`: off here, unlike the service's default (10 and 100), because
    /// most tests log in far more often than a person; the throttle's tests turn it on.
    pub login_limits: session_storage::store::LoginLimits,
    /// `TRUSTED_PROXIES`, as the environment variable would give it.
    pub trusted_proxies: &'static str,
    /// `SESSION_KEY_HASHING`.
    pub key_hashing: bool,
    /// `PRIVILEGED_WINDOW_SECS`.
    pub privileged_window: Duration,
    /// The password check, when a test replaces the default (any password): true accepts.
    pub password_check: Option<fn(&str, &str) -> bool>,
    /// `SESSION_DATA_MAX_VALUES`, `SESSION_DATA_MAX_VALUE_BYTES`, `SESSION_DATA_MAX_BYTES`.
    pub data_limits: session_storage::store::DataLimits,
    /// `LOGOUT_REPLICAS` and `LOGOUT_REPLICAS_TIMEOUT_MS`.
    pub logout_replicas: (session_storage::store::LogoutReplicas, Duration),
}

/// A test's password check ([`Settings::password_check`]) as the service's [`PasswordCheck`].
struct CheckWith(fn(&str, &str) -> bool);

impl session_storage::PasswordCheck for CheckWith {
    fn verify<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        Box::pin(std::future::ready((self.0)(username, password)))
    }
}

/// The state a test serves: the defaults, with what `settings` changes.
fn test_state(store: SessionStore, settings: &Settings) -> AppState {
    let mut state = AppState {
        cookie_secure: settings.cookie_secure,
        allowed_origins: session_storage::origin::AllowedOrigins::parse(settings.allowed_origins)
            .expect("origins"),
        trusted_proxies: TrustedProxies::parse(settings.trusted_proxies).expect("proxies"),
        ..AppState::new(store)
    };
    if let Some(check) = settings.password_check {
        state.passwords = std::sync::Arc::new(CheckWith(check));
    }
    state
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            idle_ttl: Lifetimes::DEFAULT.idle,
            absolute_ttl: Lifetimes::DEFAULT.absolute,
            timeout: session_storage::Config::default().redis_timeout,
            cookie_secure: false,
            limits: session_storage::server::Limits::DEFAULT,
            max_sessions_per_user: session_storage::store::MAX_SESSIONS_PER_USER,
            allowed_origins: "",
            login_limits: session_storage::store::LoginLimits::OFF,
            trusted_proxies: "",
            key_hashing: false,
            privileged_window: session_storage::Config::default().privileged_window,
            password_check: None,
            data_limits: session_storage::store::DataLimits::DEFAULT,
            logout_replicas: {
                let config = session_storage::Config::default();
                (config.logout_replicas, config.logout_replicas_timeout)
            },
        }
    }
}

/// Which Redis a [`TestApp`] runs on: its own redis-server, or its own Redis Cluster of three
/// masters. [`on_every_backend!`] runs one test on both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Single,
    Cluster,
}

/// The Redis behind a [`TestApp`]: every process is stopped by its PID when this is dropped.
pub enum TestRedis {
    Single(PrivateRedis),
    Cluster(PrivateCluster),
}

impl TestRedis {
    pub fn start(kind: Kind) -> TestRedis {
        match kind {
            Kind::Single => TestRedis::Single(PrivateRedis::start().expect("start a private redis-server")),
            Kind::Cluster => TestRedis::Cluster(PrivateCluster::start(3).expect("start a private cluster")),
        }
    }

    /// Every node's URL (one for a single Redis).
    pub fn urls(&self) -> Vec<String> {
        match self {
            TestRedis::Single(redis) => vec![redis.url()],
            TestRedis::Cluster(cluster) => cluster.urls(),
        }
    }

    /// A connection for looking inside, in RESP2 as `redis-cli` speaks it.
    pub async fn admin_backend(&self, timeout: Duration) -> Backend {
        match self {
            TestRedis::Single(redis) => connect(&redis.url(), timeout).await.expect("connect").into(),
            TestRedis::Cluster(_) => self.backend(timeout).await,
        }
    }

    /// What the service's store uses (RESP3 on a single Redis, as the service).
    pub async fn backend(&self, timeout: Duration) -> Backend {
        match self {
            TestRedis::Single(redis) => {
                connect_backend(&redis.url(), Topology::Single, timeout).await.expect("connect")
            }
            TestRedis::Cluster(cluster) => {
                connect_cluster(&cluster.urls(), timeout).await.expect("connect to the cluster").into()
            }
        }
    }
}

/// Runs each named `async fn name(kind: Kind)` as two tests, `name::single_redis` and
/// `name::cluster`: the same suite on a single Redis and on a 3-master private cluster (as
/// tower-sessions' `route_tests!` runs one suite on every store). The attributes given (the
/// `#[tokio::test]` flavour) go on both.
#[macro_export]
macro_rules! on_every_backend {
    ($($(#[$attr:meta])+ $name:ident;)*) => {
        $(
            mod $name {
                $(#[$attr])+
                async fn single_redis() {
                    super::$name($crate::common::Kind::Single).await
                }

                $(#[$attr])+
                async fn cluster() {
                    super::$name($crate::common::Kind::Cluster).await
                }
            }
        )*
    };
}

/// The service's store on `redis`, with `settings`: its own connection, as each instance has.
async fn store_for(redis: &TestRedis, settings: &Settings) -> SessionStore {
    let lifetimes = Lifetimes { idle: settings.idle_ttl, absolute: settings.absolute_ttl };
    SessionStore::new(redis.backend(settings.timeout).await, lifetimes, settings.timeout)
        .await
        .expect("load scripts")
        .with_max_sessions_per_user(settings.max_sessions_per_user)
        .with_login_limits(settings.login_limits)
        .with_key_hashing(settings.key_hashing)
        .with_privileged_window(settings.privileged_window)
        .with_data_limits(settings.data_limits)
        .with_logout_replicas(settings.logout_replicas.0, settings.logout_replicas.1)
}

/// The service on 127.0.0.1:<random port>, backed by its own redis-server or cluster.
pub struct TestApp {
    redis: Option<TestRedis>,
    pub addr: SocketAddr,
    /// A connection for looking inside Redis: commands naming a key go to the key's node.
    pub admin: Backend,
    /// One plain connection per node, for what every node must be asked (SCAN, counters).
    nodes: Vec<MultiplexedConnection>,
    pub settings: Settings,
    /// A clone of the service's store: its round-trip counter is the service's.
    pub store: SessionStore,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::start_with(Settings::default()).await
    }

    pub async fn start_with(settings: Settings) -> TestApp {
        TestApp::start_on_with(Kind::Single, settings).await
    }

    /// The service with the default settings on a Redis of `kind`.
    pub async fn start_on(kind: Kind) -> TestApp {
        TestApp::start_on_with(kind, Settings::default()).await
    }

    /// The service with `settings` on a Redis of `kind`.
    pub async fn start_on_with(kind: Kind, settings: Settings) -> TestApp {
        TestApp::serve_router(TestRedis::start(kind), settings, axum::Router::new()).await
    }

    /// Serves `app_with(state, extra)`: the service plus `extra` routes under its middleware.
    pub async fn start_with_extra(kind: Kind, settings: Settings, extra: axum::Router<AppState>) -> TestApp {
        TestApp::serve_router(TestRedis::start(kind), settings, extra).await
    }

    /// The service on `cluster` (one made with replicas, say), with `settings`.
    pub async fn start_on_cluster(cluster: PrivateCluster, settings: Settings) -> TestApp {
        TestApp::serve_router(TestRedis::Cluster(cluster), settings, axum::Router::new()).await
    }

    /// A second instance of the service on the same Redis, with its own connection and store,
    /// like another machine behind a load balancer; stopped when it is dropped.
    pub async fn another_instance(&self) -> Instance {
        self.another_instance_with(self.settings).await
    }

    /// [`another_instance`](Self::another_instance) with settings of its own (another
    /// `SESSION_KEY_HASHING`, say, as in a rolling deploy).
    pub async fn another_instance_with(&self, settings: Settings) -> Instance {
        let redis = self.redis.as_ref().expect("redis is held until the app is dropped");
        let store = store_for(redis, &settings).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let state = test_state(store.clone(), &settings);
        let router = app_with(state, axum::Router::new());
        let shutdown = async move {
            let _ = rx.await;
        };
        let connections = store.metrics().connections();
        let server = tokio::spawn(serve_counted(listener, router, shutdown, settings.limits, connections));
        Instance { addr, store, shutdown: Some(tx), server: Some(server) }
    }

    /// The private cluster behind this app.
    pub fn cluster(&self) -> &PrivateCluster {
        match &self.redis {
            Some(TestRedis::Cluster(cluster)) => cluster,
            _ => panic!("this test needs an app on a cluster"),
        }
    }

    /// The private cluster, to pause or kill a node.
    pub fn cluster_mut(&mut self) -> &mut PrivateCluster {
        match &mut self.redis {
            Some(TestRedis::Cluster(cluster)) => cluster,
            _ => panic!("this test needs an app on a cluster"),
        }
    }

    /// Serves the app against an already running private Redis.
    pub async fn serve_on(redis: PrivateRedis, settings: Settings) -> TestApp {
        TestApp::serve_router(TestRedis::Single(redis), settings, axum::Router::new()).await
    }

    async fn serve_router(redis: TestRedis, settings: Settings, extra: axum::Router<AppState>) -> TestApp {
        let store = store_for(&redis, &settings).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let state = test_state(store.clone(), &settings);
        let router = app_with(state, extra);
        let shutdown = async move {
            let _ = rx.await;
        };
        let connections = store.metrics().connections();
        let server = tokio::spawn(serve_counted(listener, router, shutdown, settings.limits, connections));
        let admin = redis.admin_backend(Duration::from_secs(2)).await;
        let nodes = node_connections(&redis).await;
        TestApp {
            redis: Some(redis),
            addr,
            admin,
            nodes,
            settings,
            store,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// What `GET /metrics` would answer now (the service's own counters).
    pub fn metrics(&self) -> String {
        self.store.metrics().render()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the HTTP server (graceful), keeping Redis, and hands the Redis back.
    pub async fn stop_server(mut self) -> PrivateRedis {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
        match self.redis.take() {
            Some(TestRedis::Single(redis)) => redis,
            _ => panic!("stop_server is for an app on a single Redis"),
        }
    }

    /// The private redis-server behind this app (a single Redis only: pausing or killing one
    /// is a test of its own on a cluster, in tests/07_scale_out.rs).
    pub fn redis(&self) -> &PrivateRedis {
        match &self.redis {
            Some(TestRedis::Single(redis)) => redis,
            _ => panic!("this test needs an app on a single Redis"),
        }
    }

    /// The private redis-server, to kill or restart it.
    pub fn redis_mut(&mut self) -> &mut PrivateRedis {
        match &mut self.redis {
            Some(TestRedis::Single(redis)) => redis,
            _ => panic!("this test needs an app on a single Redis"),
        }
    }

    /// Opens new admin connections (after Redis was restarted: the old ones are broken).
    pub async fn reconnect_admin(&mut self) {
        let redis = self.redis.as_ref().expect("redis is held until the app is dropped");
        self.admin = redis.admin_backend(Duration::from_secs(2)).await;
        self.nodes = node_connections(redis).await;
    }

    /// Runs a command on the admin connection (counts in Redis's stats: reset after).
    pub async fn cmd<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        query(&mut self.admin.clone(), args).await
    }

    /// Every `session:*` key, by SCAN on every node.
    pub async fn session_keys(&self) -> Vec<String> {
        self.scan("session:*").await
    }

    /// Every key in the database, by SCAN on every node.
    pub async fn all_keys(&self) -> Vec<String> {
        self.scan("*").await
    }

    async fn scan(&self, pattern: &str) -> Vec<String> {
        let mut keys = Vec::new();
        for node in &self.nodes {
            keys.extend(scan(node, pattern).await);
        }
        keys.sort();
        keys
    }

    /// A number from `INFO <section>` (`info_number("memory", "used_memory")`), summed over
    /// every node.
    pub async fn info_number(&self, section: &str, field: &str) -> u64 {
        let mut total = 0;
        for node in &self.nodes {
            let info: String = query(&mut node.clone(), &["INFO", section]).await;
            let value = session_storage::redis::info_field(&info, field);
            total += value
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("INFO {section} has no number {field}"));
        }
        total
    }

    /// Forgets Redis's per-command counters, on every node.
    pub async fn reset_stats(&self) {
        for node in &self.nodes {
            let _: () = query(&mut node.clone(), &["CONFIG", "RESETSTAT"]).await;
        }
    }

    /// Calls per command since the last reset, summed over every node, leaving out the admin's
    /// own CONFIG and INFO, and what a cluster connection sends about the cluster itself
    /// (CLUSTER, and CLIENT and PING on a new connection to a node).
    pub async fn command_calls(&self) -> BTreeMap<String, u64> {
        let mut total = BTreeMap::new();
        for node in self.command_calls_per_node().await {
            for (name, calls) in node {
                *total.entry(name).or_insert(0) += calls;
            }
        }
        total
    }

    /// [`command_calls`](Self::command_calls) of each node apart (one on a single Redis).
    pub async fn command_calls_per_node(&self) -> Vec<BTreeMap<String, u64>> {
        let mut per_node = Vec::new();
        for node in &self.nodes {
            let info: String = query(&mut node.clone(), &["INFO", "commandstats"]).await;
            let calls = parse_commandstats(&info)
                .into_iter()
                .filter(|(name, _)| {
                    !["info", "config", "cluster", "client", "ping", "readonly"]
                        .iter()
                        .any(|skip| name.starts_with(skip))
                })
                .collect();
            per_node.push(calls);
        }
        per_node
    }
}

async fn node_connections(redis: &TestRedis) -> Vec<MultiplexedConnection> {
    let mut nodes = Vec::new();
    for url in redis.urls() {
        let client = redis::Client::open(url).expect("url");
        nodes.push(client.get_multiplexed_async_connection().await.expect("node connection"));
    }
    nodes
}

/// Another instance of the service on a [`TestApp`]'s Redis ([`TestApp::another_instance`]).
pub struct Instance {
    pub addr: SocketAddr,
    pub store: SessionStore,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl Instance {
    /// What `GET /metrics` would answer now (the service's own counters).
    pub fn metrics(&self) -> String {
        self.store.metrics().render()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Expected per-command calls, in the shape of [`TestApp::command_calls`]: `calls(&[("del", 1)])`.
/// What a logout of one live session runs, with no replica to wait for: the pipeline's `HGET`,
/// `DEL` and `GETDEL` (the re-authentication marker), then the script's `ZREM`, `XADD` and
/// `PEXPIRE`.
pub const LOGOUT_COMMANDS: [(&str, u64); 7] =
    [("del", 1), ("evalsha", 1), ("getdel", 1), ("hget", 1), ("pexpire", 1), ("xadd", 1), ("zrem", 1)];

pub fn calls(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    // A command counted 0 times is one Redis never ran: `INFO commandstats` leaves it out.
    pairs.iter().filter(|(_, n)| *n > 0).map(|(name, n)| (name.to_string(), *n)).collect()
}

/// Sends one command given as words (`["HGETALL", key]`), panicking with the command on error.
pub async fn query<T: redis::FromRedisValue>(con: &mut impl redis::aio::ConnectionLike, args: &[&str]) -> T {
    session_storage::workbook::command(args)
        .query_async(con)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

pub async fn admin_connection(redis: &PrivateRedis) -> MultiplexedConnection {
    let client = redis::Client::open(redis.url()).expect("url");
    client.get_multiplexed_async_connection().await.expect("admin connection")
}

pub async fn scan(admin: &MultiplexedConnection, pattern: &str) -> Vec<String> {
    let mut admin = admin.clone();
    let mut keys = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut admin)
            .await
            .expect("SCAN");
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys
}

/// A client that keeps cookies, like a browser.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().expect("client")
}

/// A client that keeps nothing: the test sets every header itself.
pub fn plain_client() -> reqwest::Client {
    reqwest::Client::builder().build().expect("client")
}

/// The value of the single `Set-Cookie` header, if any.
pub fn set_cookie(response: &reqwest::Response) -> Option<String> {
    let mut all = response.headers().get_all("set-cookie").iter();
    let first = all.next()?.to_str().expect("ascii").to_string();
    assert!(all.next().is_none(), "more than one Set-Cookie");
    Some(first)
}

/// The `Max-Age` of a Set-Cookie value.
pub fn max_age(set_cookie: &str) -> u64 {
    set_cookie
        .split("; ")
        .find_map(|attr| attr.strip_prefix("Max-Age="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Max-Age in {set_cookie}"))
}

pub async fn post_login(client: &reqwest::Client, app: &TestApp, username: &str) -> reqwest::Response {
    post_login_at(client, &app.url("/login"), username).await
}

/// `POST url` with a login body for `username`.
pub async fn post_login_at(client: &reqwest::Client, url: &str, username: &str) -> reqwest::Response {
    client
        .post(url)
        .json(&serde_json::json!({"username": username, "password": "pw"}))
        .send()
        .await
        .expect("login request")
}

/// Logs in with a plain client and returns the session id.
pub async fn login_id(app: &TestApp, username: &str) -> String {
    let response = post_login(&plain_client(), app, username).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    body["session_id"].as_str().expect("session_id").to_string()
}

pub async fn profile_with(app: &TestApp, session_id: &str) -> reqwest::Response {
    get_with_session(&app.url("/profile"), session_id).await
}

/// `POST url` with `session_id` in the Cookie header and no body, from a client that keeps
/// nothing: the status.
pub async fn post_with_session(url: &str, session_id: &str) -> u16 {
    plain_client()
        .post(url)
        .header("cookie", format!("session_id={session_id}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"))
        .status()
        .as_u16()
}

/// `GET url` with `session_id` in the Cookie header, from a client that keeps nothing.
pub async fn get_with_session(url: &str, session_id: &str) -> reqwest::Response {
    plain_client()
        .get(url)
        .header("cookie", format!("session_id={session_id}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

// The redactions below check a value's shape and hide what changes from run to run. A value of
// the wrong shape is never a panic: it stays in the snapshot, marked, so the diff shows every
// fact that differs at once (an exercise's learner sees them all, not only the first).

/// What a redaction leaves for a value of the wrong shape: the value itself, and what was expected.
pub fn unexpected(value: &insta::internals::Content, expected: &str) -> insta::internals::Content {
    let shown = if let Some(text) = value.as_str() {
        text.to_string()
    } else if let Some(number) = value.as_i64() {
        number.to_string()
    } else if value.is_nil() {
        "~".to_string()
    } else {
        format!("{value:?}")
    };
    insta::internals::Content::from(format!("{shown} (expected {expected})"))
}

/// Redaction for a canonical UUID v4: checks the shape, then hides the random value.
pub fn uuid_redaction() -> insta::internals::Redaction {
    insta::dynamic_redaction(|value, _path| match value.as_str() {
        Some(text) if is_uuid_v4(text) => insta::internals::Content::from("[uuid]"),
        _ => unexpected(&value, "a canonical UUID v4"),
    })
}

/// Redaction for a string that embeds one UUID v4 (a cookie header): checks it, then hides it.
pub fn embedded_uuid_redaction() -> insta::internals::Redaction {
    insta::dynamic_redaction(|value, _path| {
        let re = uuid_regex();
        match value.as_str() {
            Some(text) if re.find_iter(text).count() == 1 => {
                insta::internals::Content::from(re.replace(text, "[uuid]").into_owned())
            }
            _ => unexpected(&value, "text holding one UUID v4"),
        }
    })
}

/// Redaction for unix seconds: a whole number within a minute of now.
pub fn unix_time_redaction() -> insta::internals::Redaction {
    insta::dynamic_redaction(|value, _path| {
        let secs = value.as_str().and_then(|text| text.parse::<u64>().ok()).or_else(|| value.as_u64());
        let now = session_storage::store::unix_now();
        match secs {
            Some(secs) if secs <= now && now - secs < 60 => insta::internals::Content::from("[unix time]"),
            _ => unexpected(&value, "unix seconds within a minute of now"),
        }
    })
}

/// Redaction for a TTL in seconds that should be just under `full`: in `full-10..=full`.
pub fn ttl_redaction(full: u64) -> insta::internals::Redaction {
    ttl_range_redaction(full - 10, full)
}

/// Redaction for a TTL in seconds that must lie in `low..=high`: checks it, then shows the range.
pub fn ttl_range_redaction(low: u64, high: u64) -> insta::internals::Redaction {
    insta::dynamic_redaction(move |value, _path| {
        let range = format!("[ttl {low}..={high}]");
        match value.as_i64() {
            Some(ttl) if (low as i64..=high as i64).contains(&ttl) => insta::internals::Content::from(range),
            _ => unexpected(&value, &range),
        }
    })
}

/// A canonical lowercase UUID v4, as `SessionId` writes it.
pub const UUID_V4: &str = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

/// A session's name at rest with `SESSION_KEY_HASHING` (`SessionId::hashed`): a version-8 UUID.
pub const HASHED_ID: &str = "[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

pub fn uuid_regex() -> regex::Regex {
    regex::Regex::new(UUID_V4).expect("regex")
}

pub fn is_uuid_v4(text: &str) -> bool {
    text.len() == 36 && uuid_regex().is_match(text)
}

/// A new session of `username` on an unknown device, through the one way sessions start
/// (`SessionStore::start_session`), without throttle or password check.
pub async fn log_in(
    store: &SessionStore,
    username: &str,
) -> (session_storage::store::SessionId, session_storage::store::Session) {
    let login = store.start_session(session_storage::store::NewSession::new(username)).await;
    login.expect("Redis answers").started().expect("a session is started")
}

/// A private Redis and a connection to it, for a lesson.
pub async fn lesson_redis() -> (PrivateRedis, redis::aio::ConnectionManager) {
    let redis = PrivateRedis::start().expect("start a private redis-server");
    let con = connect(&redis.url(), Duration::from_secs(2)).await.expect("connect");
    (redis, con)
}

/// Snapshots every step of a lesson's transcript, one snapshot per step, after the filters
/// below. Each filter matches only values of the expected shape, so anything else shows up in
/// the diff instead of being hidden.
///
/// Snapshots land in `tests/snapshots/<lesson>__step_NN_<title>.snap`.
///
/// `steps` is the number of steps the lesson has: a lesson that loses a step fails here, and so
/// does a committed snapshot of this lesson that no step produces any more (the book would keep
/// showing it).
pub fn assert_steps(lesson: &str, narrator: &Narrator, steps: usize) {
    assert_eq!(narrator.steps().len(), steps, "{lesson}: the number of steps changed");
    let produced: std::collections::BTreeSet<String> =
        narrator.steps().iter().map(|step| format!("{lesson}__{}.snap", step.snapshot_name())).collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let committed: std::collections::BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("tests/snapshots")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&format!("{lesson}__step_")) && name.ends_with(".snap"))
        .collect();
    let stale: Vec<&String> = committed.difference(&produced).collect();
    assert!(stale.is_empty(), "{lesson}: committed snapshots that no step produces: {stale:?}");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    for (pattern, replacement) in [
        // Random session ids (UUID v4 only).
        (UUID_V4, "[uuid]"),
        // A stream entry's id: Redis's clock in ms, then a sequence number (lesson 10).
        (r"\b1[7-9][0-9]{11}-[0-9]+\b", "[entry id]"),
        // Unix seconds from this decade, and milliseconds (scores in the index, lesson 06).
        (r"\b1[7-9][0-9]{8}\b", "[unix time]"),
        (r"\b1[7-9][0-9]{11}\b", "[unix ms]"),
        // A session's handle: 16 lowercase hex characters after "handle ".
        (r"handle [0-9a-f]{16}\b", "handle [handle]"),
        // The PTTL of an index just written: up to 10 s under the 8-hour absolute lifetime.
        (
            r"(redis> PTTL \S+\n  )\(integer\) (2879[0-9]{4}|28800000)\n",
            "$1(integer) [28790000..=28800000]\n",
        ),
        // Any other handle: 16 lowercase hex characters alone (the security log's events).
        (r"\b[0-9a-f]{16}\b", "[handle]"),
        // The port the lesson's server got.
        (r"127\.0\.0\.1:[0-9]{2,5}\b", "127.0.0.1:[port]"),
        // MEMORY USAGE depends on the Redis build; keep the shape (2-4 digit byte counts).
        (r"(redis> MEMORY USAGE \S+\n  )\(integer\) [0-9]{2,4}\n", "$1(integer) [bytes]\n"),
        // TTL jitter: a TTL read up to 10 s after it was set to 1800, 900 or 600 shows as set.
        (r"(redis> TTL \S+\n  )\(integer\) 1(79[0-9]|800)\n", "$1(integer) 1800\n"),
        (r"(redis> TTL \S+\n  )\(integer\) (89[0-9]|900)\n", "$1(integer) 900\n"),
        (r"(redis> TTL \S+\n  )\(integer\) (59[0-9]|600)\n", "$1(integer) 600\n"),
        (r"(redis> PTTL \S+\n  )\(integer\) 1(79[0-9]{4}|800000)\n", "$1(integer) [1790000..=1800000]\n"),
        // A TTL of 5 s read just after it was set (lesson 03's absolute cap): 3 to 5.
        (r"(redis> TTL \S+\n  )\(integer\) [345]\n", "$1(integer) [3..=5]\n"),
        // The script's TTL with 5 s of the absolute lifetime left: 4 if Redis's second ticked.
        (r"(  4\) )\(integer\) [345]\n", "$1(integer) [3..=5]\n"),
        // TIME's second element: microseconds.
        (r#"(redis> TIME\n  1\) [^\n]+\n  2\) )"[0-9]{1,6}"\n"#, "$1\"[microseconds]\"\n"),
        // A connection's id depends on how many connected before it.
        (
            r"(  redis> CLIENT ID\n  redis> CLIENT ID\n)  \(integer\) [0-9]+\n  \(integer\) [0-9]+\n",
            "$1  (integer) [client id]\n  (integer) [client id]\n",
        ),
        // The login throttle (lesson 09): a refusal's wait in ms, read a few ms after the burst
        // that set it (12 s or 20 s at most), and a throttle key's PTTL (60 s at most).
        (
            r"(redis> EVALSHA [0-9a-f]{40} [12] \S*login:\{[^\n]*\n  )\(integer\) (1[01][0-9]{3}|12000)\n",
            "$1(integer) [11000..=12000]\n",
        ),
        (
            r"(redis> EVALSHA [0-9a-f]{40} [12] \S*login:\{[^\n]*\n  )\(integer\) (19[0-9]{3}|20000)\n",
            "$1(integer) [19000..=20000]\n",
        ),
        (r"(redis> PTTL \S*login:\{\S+\n  )\(integer\) (5[0-9]{4}|60000)\n", "$1(integer) [50000..=60000]\n"),
        // A re-authentication's index step (lesson 10): the absolute lifetime the old session
        // had left, in ms, a few seconds under the 8 hours, by how long ago it logged in.
        (
            r"(index_add\.lua> 1 \S+ \[uuid-[0-9]+\] )287[0-9]{2}000( 50 \[uuid-[0-9]+\])",
            "$1[28790000..=28799000]$2",
        ),
        // A PTTL read just after PEXPIRE 2000 (lesson 02): anything up to 2000 ms.
        (r"(redis> PTTL \S+\n  )\(integer\) ([0-9]{1,3}|1[0-9]{3}|2000)\n", "$1(integer) [0..=2000]\n"),
    ] {
        settings.add_filter(pattern, replacement);
    }
    // Distinct session ids are told apart: the first one the lesson shows is [uuid-1], the next
    // [uuid-2], and so on, across all its steps.
    // Likewise the digests that name sessions in Redis with SESSION_KEY_HASHING (version 8).
    let uuid = uuid_regex();
    let digest = regex::Regex::new(HASHED_ID).expect("regex");
    let mut seen: Vec<String> = Vec::new();
    let mut seen_digests: Vec<String> = Vec::new();
    settings.bind(|| {
        for step in narrator.steps() {
            let text = uuid.replace_all(&step.text, |found: &regex::Captures| {
                let id = found[0].to_string();
                let n = seen.iter().position(|s| *s == id).unwrap_or_else(|| {
                    seen.push(id);
                    seen.len() - 1
                });
                format!("[uuid-{}]", n + 1)
            });
            let text = digest.replace_all(&text, |found: &regex::Captures| {
                let id = found[0].to_string();
                let n = seen_digests.iter().position(|s| *s == id).unwrap_or_else(|| {
                    seen_digests.push(id);
                    seen_digests.len() - 1
                });
                format!("[digest-{}]", n + 1)
            });
            insta::assert_snapshot!(format!("{lesson}__{}", step.snapshot_name()), text);
        }
    });
}

/// Runs a lesson against its own private Redis, as its test: every command it causes is in its
/// transcript (checked against Redis's MONITOR), one snapshot per step, and no key left behind.
pub async fn check_lesson(
    lesson: &str,
    steps: usize,
    run: impl AsyncFnOnce(&Narrator, redis::aio::ConnectionManager) -> redis::RedisResult<()>,
) {
    let (redis, mut con) = lesson_redis().await;
    let monitor = Monitor::start(&redis);
    let out = Narrator::capture();
    run(&out, con.clone()).await.expect("the lesson runs");
    let sent = monitor.commands(&redis);
    let mut shown = transcript_commands(&out);
    let mut sent_sorted = sent.clone();
    shown.sort();
    sent_sorted.sort();
    assert_eq!(shown, sent_sorted, "{lesson}: the transcript must show exactly the commands Redis received");
    assert_steps(lesson, &out, steps);
    assert_no_keys_left(&mut con).await;
}

/// The command names a transcript shows (`redis> HGET ...` gives `HGET`), in order.
pub fn transcript_commands(out: &Narrator) -> Vec<String> {
    let mut text = out.preamble();
    for step in out.steps() {
        text.push_str(&step.text);
    }
    text.lines()
        .filter_map(|line| line.trim_start().strip_prefix("redis> "))
        .filter_map(|command| command.split_whitespace().next())
        .map(str::to_uppercase)
        .collect()
}

/// Redis's own record of the commands it ran (`MONITOR`), read on a thread of its own. Commands a
/// script runs inside Redis are left out: they are part of the EVALSHA that the transcript shows.
pub struct Monitor {
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    marker: String,
}

impl Monitor {
    pub fn start(redis: &PrivateRedis) -> Monitor {
        use std::io::{BufRead, BufReader, Write};
        let mut stream =
            std::net::TcpStream::connect(("127.0.0.1", redis.port())).expect("monitor connection");
        stream.write_all(b"MONITOR\r\n").expect("MONITOR");
        stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        let mut reader = BufReader::new(stream);
        let mut ok = String::new();
        reader.read_line(&mut ok).expect("MONITOR answers");
        assert_eq!(ok.trim_end(), "+OK", "MONITOR did not start");
        let marker = format!("end-of-lesson-{}", session_storage::store::SessionId::new());
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (sink, end) = (lines.clone(), marker.clone());
        let reader = std::thread::spawn(move || {
            for line in reader.lines() {
                let Ok(line) = line else { break };
                if line.contains(&end) {
                    break;
                }
                sink.lock().expect("lines").push(line);
            }
        });
        Monitor { lines, reader: Some(reader), marker }
    }

    /// Stops recording and returns the names of the commands clients sent, in order.
    pub fn commands(self, redis: &PrivateRedis) -> Vec<String> {
        self.lines(redis)
            .iter()
            .filter(|line| !line.contains(" lua] "))
            .filter_map(|line| line.split_once("] \"")?.1.split('"').next().map(str::to_uppercase))
            .collect()
    }

    /// Stops recording (after a marker command, so every earlier command has been read) and
    /// returns MONITOR's lines, in the order Redis ran the commands; those a script ran are
    /// marked ` lua] `.
    pub fn lines(mut self, redis: &PrivateRedis) -> Vec<String> {
        use std::io::{Read, Write};
        let mut stream =
            std::net::TcpStream::connect(("127.0.0.1", redis.port())).expect("marker connection");
        stream.write_all(format!("ECHO {}\r\n", self.marker).as_bytes()).expect("marker");
        let mut answer = [0u8; 64];
        let _ = stream.read(&mut answer);
        if let Some(reader) = self.reader.take() {
            reader.join().expect("monitor reader");
        }
        self.lines.lock().expect("lines").clone()
    }
}

/// The lesson deleted everything it wrote.
pub async fn assert_no_keys_left(con: &mut redis::aio::ConnectionManager) {
    let size: u64 = redis::cmd("DBSIZE").query_async(con).await.expect("DBSIZE");
    assert_eq!(size, 0, "the lesson left keys behind");
}
