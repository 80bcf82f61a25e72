//! `Config::from_lookup` against every setting: defaults, values, bounds and the errors.

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
        ("TRUSTED_PROXIES", "0.0.0.0/0"),
        ("TRUSTED_PROXIES", "10.0.0.1,::/0"),
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
        ("LOGOUT_REPLICAS", "all"),
        ("LOGOUT_REPLICAS", "17"),
        ("LOGOUT_REPLICAS", "-1"),
        ("LOGOUT_REPLICAS_TIMEOUT_MS", "0"),
        ("LOGOUT_REPLICAS_TIMEOUT_MS", "500"),
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

#[test]
fn logouts_wait_for_a_replica_within_the_deadline() {
    let defaults = config(&[]).expect("defaults");
    assert_eq!(defaults.logout_replicas, LogoutReplicas::Auto);
    assert_eq!(defaults.logout_replicas_timeout, Duration::from_millis(100));
    for (value, wanted) in [
        ("AUTO", LogoutReplicas::Auto),
        ("off", LogoutReplicas::Off),
        ("0", LogoutReplicas::Off),
        ("1", LogoutReplicas::Exactly(1)),
        ("16", LogoutReplicas::Exactly(16)),
    ] {
        assert_eq!(config(&[("LOGOUT_REPLICAS", value)]).expect(value).logout_replicas, wanted, "{value}");
    }
    // Both sides of the bound: one millisecond below REDIS_TIMEOUT_MS, and REDIS_TIMEOUT_MS itself.
    let below = config(&[("REDIS_TIMEOUT_MS", "250"), ("LOGOUT_REPLICAS_TIMEOUT_MS", "249")]).expect("249");
    assert_eq!(below.logout_replicas_timeout, Duration::from_millis(249));
    let at = config(&[("REDIS_TIMEOUT_MS", "250"), ("LOGOUT_REPLICAS_TIMEOUT_MS", "250")]).expect_err("250");
    assert_eq!(at.var, "LOGOUT_REPLICAS_TIMEOUT_MS");
    assert!(at.message.contains("below REDIS_TIMEOUT_MS"), "{at}");
    // A short deadline shortens the default wait to half of it.
    let short = config(&[("REDIS_TIMEOUT_MS", "50")]).expect("50");
    assert_eq!(short.logout_replicas_timeout, Duration::from_millis(25));
}
