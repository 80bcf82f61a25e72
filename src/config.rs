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
use crate::server::Limits;
use crate::store::{Lifetimes, LoginLimits, MAX_SESSIONS_PER_USER, PRIVILEGED_WINDOW};

/// Everything the service can be told from outside. Its `Debug` shows `REDIS_URL` without
/// credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// `REDIS_URL`. `None` means "not set": use 127.0.0.1:6379 if it answers, else a private
    /// redis-server (see [`crate::redis::connect_or_start`]). A node of a Redis Cluster, or
    /// several nodes separated by commas, makes the service use the cluster (lesson 07).
    pub redis_url: Option<String>,
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
    /// `SERVE_THREADS`, default the number of cores: how many threads serve HTTP, each a
    /// single-threaded Tokio runtime with its own accept loop and its own Redis connection, so a
    /// request, its Redis reply and its answer stay on one core. `1` serves on the caller's
    /// runtime instead (what `serve_with` does for an app of its own).
    pub serve_threads: usize,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("redis_url", &self.redis_url.as_deref().map(crate::redis::redacted_url))
            .field("private_cluster", &self.private_cluster)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("lifetimes", &self.lifetimes)
            .field("cookie_secure", &self.cookie_secure)
            .field("session_key_hashing", &self.session_key_hashing)
            .field("redis_timeout", &self.redis_timeout)
            .field("limits", &self.limits)
            .field("max_sessions_per_user", &self.max_sessions_per_user)
            .field("allowed_origins", &self.allowed_origins)
            .field("login_limits", &self.login_limits)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("metrics_addr", &self.metrics_addr)
            .field("privileged_window", &self.privileged_window)
            .field("serve_threads", &self.serve_threads)
            .finish()
    }
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
            serve_threads: cores(),
        }
    }
}

/// The cores this process may use: [`Config::serve_threads`]' default.
pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
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
    /// process environment (which is shared by every test thread).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let defaults = Config::default();
        let get = |var: &str| lookup(var).filter(|value| !value.trim().is_empty());

        let redis_url = match get("REDIS_URL") {
            Some(url)
                if url
                    .split(',')
                    .map(str::trim)
                    .all(|one| one.starts_with("redis://") || one.starts_with("unix://")) =>
            {
                Some(url)
            }
            Some(url) => {
                return Err(ConfigError {
                    var: "REDIS_URL",
                    message: format!(
                        "{:?} must start with redis:// or unix:// (several cluster nodes: separated by commas)",
                        crate::redis::redacted_url(&url)
                    ),
                });
            }
            None => None,
        };
        let private_cluster = match get("REDIS_CLUSTER") {
            None => None,
            Some(raw) => match raw.trim().parse::<usize>() {
                Ok(n) if (3..=10).contains(&n) => Some(n),
                _ => {
                    return Err(ConfigError {
                        var: "REDIS_CLUSTER",
                        message: format!("{raw:?}: expected a number of masters from 3 to 10"),
                    });
                }
            },
        };
        let host = parse(&get, "HOST", defaults.host, |v| {
            v.parse::<IpAddr>().map_err(|_| "expected an IP address such as 127.0.0.1".into())
        })?;
        let port = parse(&get, "PORT", defaults.port, |v| {
            v.parse::<u16>().map_err(|_| "expected a port number from 0 to 65535".into())
        })?;
        let idle = parse(&get, "SESSION_TTL_SECS", defaults.lifetimes.idle, positive_secs)?;
        let absolute = parse(&get, "SESSION_ABSOLUTE_TTL_SECS", defaults.lifetimes.absolute, positive_secs)?;
        if absolute < idle {
            return Err(ConfigError {
                var: "SESSION_ABSOLUTE_TTL_SECS",
                message: format!(
                    "{}s is shorter than SESSION_TTL_SECS ({}s)",
                    absolute.as_secs(),
                    idle.as_secs()
                ),
            });
        }
        // An empty COOKIE_SECURE or SESSION_KEY_HASHING is refused rather than read as unset:
        // for these two the default is the less safe reading, so `COOKIE_SECURE=` left by a
        // template must not quietly serve cookies without `Secure`.
        let strict = |var: &'static str| match lookup(var) {
            Some(value) if value.trim().is_empty() => Err(ConfigError {
                var,
                message: "is set but empty: say true or false (or unset it for the default)".into(),
            }),
            _ => Ok(()),
        };
        strict("COOKIE_SECURE")?;
        strict("SESSION_KEY_HASHING")?;
        let cookie_secure = parse(&get, "COOKIE_SECURE", defaults.cookie_secure, boolean)?;
        let session_key_hashing = parse(&get, "SESSION_KEY_HASHING", defaults.session_key_hashing, boolean)?;
        let redis_timeout =
            parse(&get, "REDIS_TIMEOUT_MS", defaults.redis_timeout, |v| match v.parse::<u64>() {
                Ok(ms) if (1..=60_000).contains(&ms) => Ok(Duration::from_millis(ms)),
                _ => Err("expected milliseconds from 1 to 60000".into()),
            })?;

        let lifetimes = Lifetimes { idle, absolute };
        let seconds = |value: &str| match value.parse::<u64>() {
            Ok(secs) if (1..=3600).contains(&secs) => Ok(Duration::from_secs(secs)),
            _ => Err("expected whole seconds from 1 to 3600".to_string()),
        };
        let d = defaults.limits;
        let limits = Limits {
            header_timeout: parse(&get, "HEADER_TIMEOUT_SECS", d.header_timeout, seconds)?,
            idle_timeout: parse(&get, "IDLE_TIMEOUT_SECS", d.idle_timeout, seconds)?,
            body_timeout: parse(&get, "BODY_TIMEOUT_SECS", d.body_timeout, seconds)?,
            request_timeout: parse(&get, "REQUEST_TIMEOUT_SECS", d.request_timeout, seconds)?,
            max_connections: parse(&get, "MAX_CONNECTIONS", d.max_connections, |v| {
                match v.parse::<usize>() {
                    Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
                    _ => Err("expected a number of connections from 1 to 1000000".into()),
                }
            })?,
        };
        let max_sessions_per_user =
            parse(&get, "MAX_SESSIONS_PER_USER", defaults.max_sessions_per_user, |v| {
                match v.parse::<usize>() {
                    Ok(n) if (1..=10_000).contains(&n) => Ok(n),
                    _ => Err("expected a number of sessions from 1 to 10000".into()),
                }
            })?;
        let allowed_origins =
            parse(&get, "ALLOWED_ORIGINS", defaults.allowed_origins, AllowedOrigins::parse)?;
        let attempts = |v: &str| match v.parse::<u32>() {
            Ok(n) if n <= 100_000 => Ok(n),
            _ => Err("expected attempts per minute from 0 (off) to 100000".to_string()),
        };
        let login_limits = LoginLimits {
            per_user_and_client: parse(
                &get,
                "LOGIN_ATTEMPTS_PER_MINUTE",
                defaults.login_limits.per_user_and_client,
                attempts,
            )?,
            per_client: parse(
                &get,
                "LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT",
                defaults.login_limits.per_client,
                attempts,
            )?,
        };
        let trusted_proxies =
            parse(&get, "TRUSTED_PROXIES", defaults.trusted_proxies, TrustedProxies::parse)?;
        let metrics_addr = parse(&get, "METRICS_ADDR", defaults.metrics_addr, |v| {
            if v.eq_ignore_ascii_case("off") {
                return Ok(None);
            }
            v.parse::<SocketAddr>()
                .map(Some)
                .map_err(|_| "expected an address such as 127.0.0.1:9102, or off".into())
        })?;
        let privileged_window =
            parse(&get, "PRIVILEGED_WINDOW_SECS", defaults.privileged_window, |v| match v.parse::<u64>() {
                Ok(secs) if secs >= 1 && secs <= absolute.as_secs() => Ok(Duration::from_secs(secs)),
                _ => Err(format!(
                    "expected whole seconds from 1 to SESSION_ABSOLUTE_TTL_SECS ({})",
                    absolute.as_secs()
                )),
            })?;
        let serve_threads =
            parse(&get, "SERVE_THREADS", defaults.serve_threads, |v| match v.parse::<usize>() {
                Ok(n) if (1..=256).contains(&n) => Ok(n),
                _ => Err("expected a number of threads from 1 to 256".into()),
            })?;
        Ok(Config {
            serve_threads,
            privileged_window,
            redis_url,
            private_cluster,
            host,
            port,
            lifetimes,
            cookie_secure,
            session_key_hashing,
            redis_timeout,
            limits,
            max_sessions_per_user,
            allowed_origins,
            login_limits,
            trusted_proxies,
            metrics_addr,
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

fn parse<T>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
    convert: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(raw) => {
            convert(raw.trim()).map_err(|message| ConfigError { var, message: format!("{raw:?}: {message}") })
        }
    }
}

/// Whole seconds, at least 1 and at most a year: Redis's EXPIRE takes seconds, and a zero TTL
/// would delete every session the moment it is created.
fn positive_secs(value: &str) -> Result<Duration, String> {
    match value.parse::<u64>() {
        Ok(secs) if (1..=31_536_000).contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => Err("expected whole seconds from 1 to 31536000".into()),
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
        assert_eq!(self::config(&[]).expect("defaults").serve_threads, cores());
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
        assert_eq!(config.redis_url.as_deref(), Some("redis://10.0.0.1:7000"));
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
        assert_eq!(config.redis_url.as_deref(), Some("redis://:hunter2@10.0.0.1:6379"), "still usable");
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
