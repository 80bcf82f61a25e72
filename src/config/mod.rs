//! Configuration read from the environment, checked once at start.
//!
//! Every variable has a default that works on a laptop, so `cargo run --example 05_full_server`
//! needs none of them. A value that is present but wrong stops the program with a message that
//! names the variable: a typo in `SESSION_TTL_SECS` must not silently become the default.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::client::TrustedProxies;
use crate::origin::AllowedOrigins;
use crate::redis::RedisUrl;
use crate::server::Limits;
use crate::store::{
    DataLimits, LOGOUT_REPLICAS_TIMEOUT, Lifetimes, LoginLimits, LogoutReplicas, MAX_SESSIONS_PER_USER,
    PRIVILEGED_WINDOW,
};

/// Everything the service can be told from outside. Its `Debug` shows `REDIS_URL` without
/// credentials (a [`RedisUrl`] never prints them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `REDIS_URL`. `None` means "not set": use 127.0.0.1:6379 if it answers, else a private
    /// redis-server (see [`crate::redis::connect_or_start`]). A node of a Redis Cluster, or
    /// several nodes separated by commas, makes the service use the cluster (lesson 07).
    pub redis_url: Option<RedisUrl>,
    /// `REDIS_CLUSTER`, e.g. `3`: with no `REDIS_URL`, start a private Redis Cluster of that many
    /// masters (3 to 10) instead of a private redis-server, for trying lesson 07's setup.
    pub private_cluster: Option<usize>,
    /// `HOST`, default `127.0.0.1`.
    pub host: IpAddr,
    /// `PORT`, default `8002` (the original mini-project's port).
    pub port: u16,
    /// `SESSION_TTL_SECS` (the idle lifetime, default 1800, renewed on every request) and
    /// `SESSION_ABSOLUTE_TTL_SECS` (default 28800, 8 hours: no renewal goes past it).
    pub lifetimes: Lifetimes,
    /// `COOKIE_SECURE`, default false: add `Secure` to the cookie (turn it on behind HTTPS).
    pub cookie_secure: bool,
    /// `SESSION_KEY_HASHING`, default off: name each session in Redis by a SHA-256 of its id
    /// instead of the id itself, so nothing in Redis is a working cookie (see
    /// [`SessionId::hashed`](crate::store::SessionId::hashed)). Off keeps the book's `HGETALL session:<id>`
    /// true; turn it on in production.
    pub session_key_hashing: bool,
    /// `REDIS_TIMEOUT_MS`, default 500: the longest a request waits for Redis before a 503.
    pub redis_timeout: Duration,
    /// `HEADER_TIMEOUT_SECS`, `IDLE_TIMEOUT_SECS`, `BODY_TIMEOUT_SECS`, `REQUEST_TIMEOUT_SECS` and
    /// `MAX_CONNECTIONS`: what each connection may cost (see [`Limits`]).
    pub limits: Limits,
    /// `MAX_SESSIONS_PER_USER`, default 50: a login beyond it ends that user's oldest session.
    pub max_sessions_per_user: usize,
    /// `ALLOWED_ORIGINS`, default none: other origins (`https://app.example.com`, comma-separated)
    /// whose state-changing requests are accepted.
    pub allowed_origins: AllowedOrigins,
    /// `LOGIN_ATTEMPTS_PER_MINUTE` (per username and client, default 10) and
    /// `LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT` (per client, default 100); 0 turns one off.
    pub login_limits: LoginLimits,
    /// `TRUSTED_PROXIES`, default none: proxies (IPs or CIDRs, comma-separated) whose
    /// `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// `METRICS_ADDR`, default `127.0.0.1:9102`: where `GET /metrics` is served, apart from the
    /// API; `off` serves it nowhere.
    pub metrics_addr: Option<SocketAddr>,
    /// `PRIVILEGED_WINDOW_SECS`, default 300: how long after its login (or `POST /reauth`) a
    /// session may end the user's other sessions; after it, those routes answer 403
    /// "Re-authentication required". At most the absolute lifetime.
    pub privileged_window: Duration,
    /// `SESSION_DATA_MAX_VALUES` (default 32), `SESSION_DATA_MAX_VALUE_BYTES` (default 4096) and
    /// `SESSION_DATA_MAX_BYTES` (default 16384): what one session's or visitor's own values may
    /// hold (see [`DataLimits`]); a write beyond them answers 413 and writes nothing.
    pub data_limits: DataLimits,
    /// `SERVE_THREADS`, default the number of cores: how many threads serve HTTP, each a
    /// single-threaded Tokio runtime with its own accept loop and its own Redis connection, so a
    /// request, its Redis reply and its answer stay on one core. `1` serves on the caller's
    /// runtime instead (what `serve_with` does for an app of its own).
    pub serve_threads: usize,
    /// `LOGOUT_REPLICAS`, default `auto`: how many replicas logout, revoke and "log out
    /// everywhere" wait for (`WAIT`) before answering, so that a failover cannot bring the
    /// session back: `auto` one where the session's master has replicas, `0` (or `off`) none, a
    /// number that many (see [`LogoutReplicas`]).
    pub logout_replicas: LogoutReplicas,
    /// `LOGOUT_REPLICAS_TIMEOUT_MS`, default 100: the longest that wait lasts; less than
    /// `REDIS_TIMEOUT_MS`, so a logout still answers within its deadline.
    pub logout_replicas_timeout: Duration,
}

/// The default `METRICS_ADDR`: loopback only, Prometheus's conventional exporter range.
pub const DEFAULT_METRICS_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9102);

impl Default for Config {
    fn default() -> Self {
        Config {
            redis_url: None,
            private_cluster: None,
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8002,
            lifetimes: Lifetimes::DEFAULT,
            cookie_secure: false,
            session_key_hashing: false,
            redis_timeout: Duration::from_millis(500),
            limits: Limits::DEFAULT,
            max_sessions_per_user: MAX_SESSIONS_PER_USER,
            allowed_origins: AllowedOrigins::default(),
            login_limits: LoginLimits::DEFAULT,
            trusted_proxies: TrustedProxies::default(),
            metrics_addr: Some(DEFAULT_METRICS_ADDR),
            privileged_window: PRIVILEGED_WINDOW,
            data_limits: DataLimits::DEFAULT,
            serve_threads: crate::server::cores(),
            logout_replicas: LogoutReplicas::Auto,
            logout_replicas_timeout: LOGOUT_REPLICAS_TIMEOUT,
        }
    }
}

/// A variable that is set but cannot be used. The message names the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable at fault, e.g. `PORT`.
    pub var: &'static str,
    /// What was wrong with it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.var, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// The address the HTTP server binds: `HOST:PORT`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests can pass a map instead of touching the
    /// process environment (which is shared by every test thread). Each setting is read by one
    /// line: its variable, its default, and how its text becomes a value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let d = Config::default();
        let get = |var: &str| lookup(var).filter(|value| !value.trim().is_empty());
        // An empty COOKIE_SECURE or SESSION_KEY_HASHING is refused rather than read as unset:
        // for these two the default is the less safe reading, so `COOKIE_SECURE=` left by a
        // template must not quietly serve cookies without `Secure`.
        for var in ["COOKIE_SECURE", "SESSION_KEY_HASHING"] {
            if lookup(var).is_some_and(|value| value.trim().is_empty()) {
                let message = "is set but empty: say true or false (or unset it for the default)".into();
                return Err(ConfigError { var, message });
            }
        }
        let idle = setting(&get, "SESSION_TTL_SECS", d.lifetimes.idle, &seconds(1, 31_536_000))?;
        let absolute =
            setting(&get, "SESSION_ABSOLUTE_TTL_SECS", d.lifetimes.absolute, &seconds(1, 31_536_000))?;
        if absolute < idle {
            let message =
                format!("{}s is shorter than SESSION_TTL_SECS ({}s)", absolute.as_secs(), idle.as_secs());
            return Err(ConfigError { var: "SESSION_ABSOLUTE_TTL_SECS", message });
        }
        // Not through `setting`, which quotes what was given: a URL may hold a password.
        let redis_url = match get("REDIS_URL") {
            None => None,
            Some(url) => Some(
                RedisUrl::parse(url.trim()).map_err(|message| ConfigError { var: "REDIS_URL", message })?,
            ),
        };
        let timeouts = seconds(1, 3600);
        let limits = Limits {
            header_timeout: setting(&get, "HEADER_TIMEOUT_SECS", d.limits.header_timeout, &timeouts)?,
            idle_timeout: setting(&get, "IDLE_TIMEOUT_SECS", d.limits.idle_timeout, &timeouts)?,
            body_timeout: setting(&get, "BODY_TIMEOUT_SECS", d.limits.body_timeout, &timeouts)?,
            request_timeout: setting(&get, "REQUEST_TIMEOUT_SECS", d.limits.request_timeout, &timeouts)?,
            max_connections: setting(
                &get,
                "MAX_CONNECTIONS",
                d.limits.max_connections,
                &number(1, 1_000_000, "a number of connections"),
            )?,
        };
        let attempts = number(0, 100_000, "attempts per minute, 0 (off)");
        let login_limits = LoginLimits {
            per_user_and_client: setting(
                &get,
                "LOGIN_ATTEMPTS_PER_MINUTE",
                d.login_limits.per_user_and_client,
                &attempts,
            )?,
            per_client: setting(
                &get,
                "LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT",
                d.login_limits.per_client,
                &attempts,
            )?,
        };
        let data_limits = {
            let values = setting(
                &get,
                "SESSION_DATA_MAX_VALUES",
                d.data_limits.values,
                &number(1, 10_000, "a number of values"),
            )?;
            let total_bytes = setting(
                &get,
                "SESSION_DATA_MAX_BYTES",
                d.data_limits.total_bytes,
                &number(16, 16 * 1024 * 1024, "bytes"),
            )?;
            let value_bytes =
                setting(&get, "SESSION_DATA_MAX_VALUE_BYTES", d.data_limits.value_bytes, &|v| {
                    number(16, total_bytes, "bytes")(v).map_err(|_| {
                        format!("expected bytes from 16 to SESSION_DATA_MAX_BYTES ({total_bytes})")
                    })
                })?;
            DataLimits { values, value_bytes, total_bytes }
        };
        let redis_timeout = setting(&get, "REDIS_TIMEOUT_MS", d.redis_timeout, &|v| {
            number(1, 60_000, "milliseconds")(v).map(Duration::from_millis)
        })?;
        // Below the request's deadline, so a logout still answers in time: by default 100 ms,
        // or half of a shorter REDIS_TIMEOUT_MS.
        let below_deadline = u64::try_from(redis_timeout.as_millis()).unwrap_or(u64::MAX).saturating_sub(1);
        let logout_replicas_timeout = setting(
            &get,
            "LOGOUT_REPLICAS_TIMEOUT_MS",
            d.logout_replicas_timeout.min(redis_timeout / 2),
            &|v| {
                number(1, below_deadline, "milliseconds")(v).map(Duration::from_millis).map_err(|_| {
                    format!("expected milliseconds from 1 to {below_deadline} (below REDIS_TIMEOUT_MS)")
                })
            },
        )?;
        Ok(Config {
            redis_url,
            private_cluster: setting(&get, "REDIS_CLUSTER", None, &|v| {
                number(3, 10, "a number of masters")(v).map(Some)
            })?,
            host: setting(&get, "HOST", d.host, &|v| {
                v.parse().map_err(|_| "expected an IP address such as 127.0.0.1".into())
            })?,
            port: setting(&get, "PORT", d.port, &number(0, 65_535, "a port number"))?,
            lifetimes: Lifetimes { idle, absolute },
            cookie_secure: setting(&get, "COOKIE_SECURE", d.cookie_secure, &boolean)?,
            session_key_hashing: setting(&get, "SESSION_KEY_HASHING", d.session_key_hashing, &boolean)?,
            redis_timeout,
            limits,
            max_sessions_per_user: setting(
                &get,
                "MAX_SESSIONS_PER_USER",
                d.max_sessions_per_user,
                &number(1, 10_000, "a number of sessions"),
            )?,
            allowed_origins: setting(&get, "ALLOWED_ORIGINS", d.allowed_origins, &AllowedOrigins::parse)?,
            login_limits,
            trusted_proxies: setting(&get, "TRUSTED_PROXIES", d.trusted_proxies, &TrustedProxies::parse)?,
            metrics_addr: setting(&get, "METRICS_ADDR", d.metrics_addr, &|v| {
                if v.eq_ignore_ascii_case("off") {
                    return Ok(None);
                }
                v.parse().map(Some).map_err(|_| "expected an address such as 127.0.0.1:9102, or off".into())
            })?,
            privileged_window: setting(&get, "PRIVILEGED_WINDOW_SECS", d.privileged_window, &|v| {
                seconds(1, absolute.as_secs())(v).map_err(|_| {
                    format!(
                        "expected whole seconds from 1 to SESSION_ABSOLUTE_TTL_SECS ({})",
                        absolute.as_secs()
                    )
                })
            })?,
            data_limits,
            serve_threads: setting(
                &get,
                "SERVE_THREADS",
                d.serve_threads,
                &number(1, 256, "a number of threads"),
            )?,
            logout_replicas: setting(&get, "LOGOUT_REPLICAS", d.logout_replicas, &|v| match v
                .to_ascii_lowercase()
                .as_str()
            {
                "auto" => Ok(LogoutReplicas::Auto),
                "off" | "0" => Ok(LogoutReplicas::Off),
                _ => number(1, 16, "auto, 0 (off), or a number of replicas")(v).map(LogoutReplicas::Exactly),
            })?,
            logout_replicas_timeout,
        })
    }
}

/// `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, any case.
fn boolean(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false (or on/off)".into()),
    }
}

/// One setting: `default` when `var` is unset or blank, else its value through `convert`; a value
/// that does not convert is a [`ConfigError`] naming `var` and quoting what was given.
fn setting<T>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
    convert: &dyn Fn(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(raw) => {
            convert(raw.trim()).map_err(|message| ConfigError { var, message: format!("{raw:?}: {message}") })
        }
    }
}

/// A whole number from `low` to `high`: "expected `what` from `low` to `high`" otherwise ("expected
/// a number of connections from 1 to 1000000").
fn number<T>(low: T, high: T, what: &'static str) -> impl Fn(&str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    move |value: &str| match value.parse::<T>() {
        Ok(n) if low <= n && n <= high => Ok(n),
        _ => Err(format!("expected {what} from {low} to {high}")),
    }
}

/// Whole seconds from `low` to `high`: Redis's `EXPIRE` takes seconds, and a zero TTL would
/// delete every session the moment it is created.
fn seconds(low: u64, high: u64) -> impl Fn(&str) -> Result<Duration, String> {
    move |value: &str| match value.parse::<u64>() {
        Ok(secs) if (low..=high).contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => Err(format!("expected whole seconds from {low} to {high}")),
    }
}

#[cfg(test)]
mod tests;
