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
use crate::store::{DataLimits, Lifetimes, LoginLimits, MAX_SESSIONS_PER_USER, PRIVILEGED_WINDOW};

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
            redis_timeout: setting(&get, "REDIS_TIMEOUT_MS", d.redis_timeout, &|v| {
                number(1, 60_000, "milliseconds")(v).map(Duration::from_millis)
            })?,
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
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_match_the_original_service() {
        let config = config(&[]).expect("defaults are valid");
        assert_eq!(config.addr().to_string(), "127.0.0.1:8002");
        assert_eq!(config.lifetimes.idle, Duration::from_secs(1800));
        assert_eq!(config.lifetimes.absolute, Duration::from_secs(28_800));
        assert_eq!(config.redis_timeout, Duration::from_millis(500));
        assert_eq!(config.limits, Limits::DEFAULT);
        assert!(!config.cookie_secure);
        assert!(!config.session_key_hashing);
        assert_eq!(config.redis_url, None);
        assert_eq!(config.max_sessions_per_user, 50);
        assert!(config.allowed_origins.as_slice().is_empty());
        assert_eq!(config.login_limits, LoginLimits { per_user_and_client: 10, per_client: 100 });
        assert!(config.trusted_proxies.is_empty());
        assert_eq!(config.metrics_addr.map(|a| a.to_string()).as_deref(), Some("127.0.0.1:9102"));
    }

    #[test]
    fn values_are_read() {
        let config = config(&[
            ("REDIS_URL", "redis://10.0.0.1:7000"),
            ("HOST", "0.0.0.0"),
            ("PORT", "9000"),
            ("SESSION_TTL_SECS", "60"),
            ("SESSION_ABSOLUTE_TTL_SECS", "120"),
            ("COOKIE_SECURE", "TRUE"),
            ("REDIS_TIMEOUT_MS", "250"),
            ("HEADER_TIMEOUT_SECS", "5"),
            ("IDLE_TIMEOUT_SECS", "75"),
            ("BODY_TIMEOUT_SECS", "6"),
            ("REQUEST_TIMEOUT_SECS", "20"),
            ("MAX_CONNECTIONS", "500"),
            ("MAX_SESSIONS_PER_USER", "5"),
            ("ALLOWED_ORIGINS", "https://app.example.com,http://localhost:3000"),
            ("LOGIN_ATTEMPTS_PER_MINUTE", "0"),
            ("LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT", "30"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1"),
            ("METRICS_ADDR", "0.0.0.0:9200"),
            ("PRIVILEGED_WINDOW_SECS", "5"),
            ("SERVE_THREADS", "3"),
        ])
        .expect("valid");
        assert_eq!(config.serve_threads, 3);
        assert_eq!(self::config(&[]).expect("defaults").serve_threads, crate::server::cores());
        assert_eq!(config.privileged_window, Duration::from_secs(5));
        assert_eq!(self::config(&[]).expect("defaults").privileged_window, Duration::from_secs(300));
        assert_eq!(config.login_limits, LoginLimits { per_user_and_client: 0, per_client: 30 });
        assert!(config.trusted_proxies.trusts("10.20.30.40".parse().expect("ip")));
        assert!(config.trusted_proxies.trusts("192.0.2.1".parse().expect("ip")));
        assert!(!config.trusted_proxies.trusts("192.0.2.2".parse().expect("ip")));
        assert_eq!(config.metrics_addr.map(|a| a.to_string()).as_deref(), Some("0.0.0.0:9200"));
        assert_eq!(self::config(&[("METRICS_ADDR", "OFF")]).expect("off").metrics_addr, None);
        assert_eq!(
            config.limits,
            Limits {
                header_timeout: Duration::from_secs(5),
                idle_timeout: Duration::from_secs(75),
                body_timeout: Duration::from_secs(6),
                request_timeout: Duration::from_secs(20),
                max_connections: 500,
            }
        );
        assert_eq!(config.redis_url.as_ref().map(RedisUrl::expose), Some("redis://10.0.0.1:7000"));
        assert_eq!(config.addr().to_string(), "0.0.0.0:9000");
        assert_eq!(config.lifetimes.idle, Duration::from_secs(60));
        assert_eq!(config.lifetimes.absolute, Duration::from_secs(120));
        assert!(config.cookie_secure);
        assert_eq!(config.redis_timeout, Duration::from_millis(250));
        assert_eq!(config.max_sessions_per_user, 5);
        assert_eq!(config.allowed_origins.as_slice(), ["https://app.example.com", "http://localhost:3000"]);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, value) in [
            ("PORT", "80000"),
            ("HOST", "localhost:1"),
            ("SESSION_TTL_SECS", "0"),
            ("SESSION_TTL_SECS", "ten"),
            ("SESSION_ABSOLUTE_TTL_SECS", "-5"),
            ("COOKIE_SECURE", "maybe"),
            ("COOKIE_SECURE", ""),
            ("COOKIE_SECURE", "  "),
            ("SESSION_KEY_HASHING", ""),
            ("SESSION_KEY_HASHING", "sha256"),
            ("ALLOWED_ORIGINS", "https://*.example.com"),
            ("ALLOWED_ORIGINS", "https://user:pw@app.example.com"),
            ("REDIS_TIMEOUT_MS", "0"),
            ("REDIS_URL", "http://example"),
            ("REDIS_URL", "redis://a:1,http://b:2"),
            ("REDIS_CLUSTER", "2"),
            ("REDIS_CLUSTER", "many"),
            ("HEADER_TIMEOUT_SECS", "0"),
            ("IDLE_TIMEOUT_SECS", "forever"),
            ("BODY_TIMEOUT_SECS", "3601"),
            ("REQUEST_TIMEOUT_SECS", "-1"),
            ("MAX_CONNECTIONS", "0"),
            ("MAX_SESSIONS_PER_USER", "0"),
            ("ALLOWED_ORIGINS", "example.com"),
            ("LOGIN_ATTEMPTS_PER_MINUTE", "-1"),
            ("LOGIN_ATTEMPTS_PER_MINUTE", "ten"),
            ("LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT", "100001"),
            ("TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal"),
            ("TRUSTED_PROXIES", "10.0.0.0/40"),
            ("METRICS_ADDR", "9102"),
            ("METRICS_ADDR", "localhost:9102"),
            ("SERVE_THREADS", "0"),
            ("SERVE_THREADS", "all"),
            ("PRIVILEGED_WINDOW_SECS", "0"),
            ("PRIVILEGED_WINDOW_SECS", "five"),
            ("PRIVILEGED_WINDOW_SECS", "28801"),
            ("SESSION_DATA_MAX_VALUES", "0"),
            ("SESSION_DATA_MAX_VALUES", "many"),
            ("SESSION_DATA_MAX_BYTES", "15"),
            ("SESSION_DATA_MAX_VALUE_BYTES", "16385"),
        ] {
            let err = config(&[(var, value)]).expect_err(var);
            assert_eq!(err.var, var);
            assert!(err.to_string().starts_with(&format!("invalid {var}: ")), "{err}");
        }
    }

    #[test]
    fn no_credential_in_an_error_or_in_debug() {
        let err = config(&[("REDIS_URL", "http://:hunter2@example")]).expect_err("bad scheme");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let config = config(&[("REDIS_URL", "redis://:hunter2@10.0.0.1:6379")]).expect("valid");
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2") && debug.contains("redis://10.0.0.1:6379"), "{debug}");
        assert_eq!(
            config.redis_url.as_ref().map(RedisUrl::expose),
            Some("redis://:hunter2@10.0.0.1:6379"),
            "still usable"
        );
    }

    #[test]
    fn data_limits_are_read_and_one_value_fits_in_all() {
        assert_eq!(config(&[]).expect("defaults").data_limits, DataLimits::DEFAULT);
        let config = config(&[
            ("SESSION_DATA_MAX_VALUES", "3"),
            ("SESSION_DATA_MAX_BYTES", "100"),
            ("SESSION_DATA_MAX_VALUE_BYTES", "100"),
        ])
        .expect("valid");
        assert_eq!(config.data_limits, DataLimits { values: 3, value_bytes: 100, total_bytes: 100 });
        let err = self::config(&[("SESSION_DATA_MAX_BYTES", "100"), ("SESSION_DATA_MAX_VALUE_BYTES", "101")])
            .expect_err("one value larger than all");
        assert_eq!(err.var, "SESSION_DATA_MAX_VALUE_BYTES");
    }

    #[test]
    fn key_hashing_is_off_unless_asked() {
        assert!(!config(&[]).expect("defaults").session_key_hashing);
        for on in ["on", "true", "1", "YES"] {
            assert!(config(&[("SESSION_KEY_HASHING", on)]).expect(on).session_key_hashing, "{on}");
        }
        assert!(!config(&[("SESSION_KEY_HASHING", "off")]).expect("off").session_key_hashing);
    }

    #[test]
    fn absolute_ttl_may_not_be_shorter_than_idle_ttl() {
        let err = config(&[("SESSION_TTL_SECS", "600"), ("SESSION_ABSOLUTE_TTL_SECS", "60")])
            .expect_err("absolute < idle");
        assert_eq!(err.var, "SESSION_ABSOLUTE_TTL_SECS");
    }
}
