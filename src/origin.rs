//! Cross-site requests refused: the check every state-changing route makes first (lesson 06).
//! This module only judges headers; the extractors that apply it are in `src/http/extract.rs`.
//!
//! `SameSite=Lax` already keeps the session cookie off cross-site `POST`s in current browsers.
//! This is the second, independent layer OWASP recommends ("verifying origin with standard
//! headers"): a browser says where a request comes from, and the service refuses one that comes
//! from another site, whatever the cookie does.
//!
//! - `Sec-Fetch-Site: cross-site`: the browser itself says the request comes from another site.
//! - `Origin` present and naming another host or port than the request's `Host`. The scheme is
//!   not compared: behind a TLS-terminating proxy the page is `https://` while the request
//!   reaches the service as plain HTTP. An origin listed in `ALLOWED_ORIGINS` is accepted.
//!
//! A request with neither header (curl, a server-side client) is served: those are not made by a
//! browser on a user's behalf, so they cannot carry a victim's cookie into a forged request.

use std::sync::Arc;

use axum::http::uri::{Authority, Uri};
use axum::http::{HeaderMap, header};

/// Extra origins whose requests are accepted (`ALLOWED_ORIGINS`, comma-separated), each
/// `scheme://host[:port]`, kept in the form a browser sends: lower case, no trailing slash, and
/// no port when it is the scheme's default (`https://app.example.com:443` is stored, and
/// matched, as `https://app.example.com`, which is what the browser's `Origin` says).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Arc<[String]>);

impl AllowedOrigins {
    /// Parses `https://app.example.com, http://localhost:3000`. Each must be an origin: a scheme
    /// (`http` or `https`) and a host, no path. A wildcard (`https://*.example.com`) or a user
    /// name (`https://user@app.example.com`) is refused: a browser's `Origin` never holds either,
    /// so such an entry could never match, and a setting that silently matches nothing is a
    /// configuration mistake that should stop the start.
    pub fn parse(list: &str) -> Result<AllowedOrigins, String> {
        let mut origins = Vec::new();
        for item in list.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            if item.contains('*') {
                return Err(format!("{item:?}: wildcards are not supported; list each origin"));
            }
            if item
                .split_once("://")
                .is_some_and(|(_, rest)| rest.split('/').next().unwrap_or("").contains('@'))
            {
                return Err(format!("{item:?}: an origin has no user name or password"));
            }
            let normalized = normalize(item.trim_end_matches('/'))
                .ok_or_else(|| format!("{item:?} is not an origin such as https://app.example.com"))?;
            origins.push(normalized);
        }
        Ok(AllowedOrigins(origins.into()))
    }

    /// The origins, normalized.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    fn contains(&self, origin: &str) -> bool {
        normalize(origin).is_some_and(|origin| self.0.contains(&origin))
    }
}

/// `HTTPS://App.Example.com:443` as `https://app.example.com`: lower case, the default port
/// dropped. `None` for anything that is not a bare `http`/`https` origin.
fn normalize(origin: &str) -> Option<String> {
    let uri: Uri = origin.to_ascii_lowercase().parse().ok()?;
    let scheme = uri.scheme_str()?;
    let default_port = match scheme {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = uri.authority()?;
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return None;
    }
    if uri.path_and_query().is_some_and(|pq| pq.as_str() != "/") {
        return None;
    }
    Some(match authority.port_u16() {
        Some(port) if port != default_port => format!("{scheme}://{}:{port}", authority.host()),
        _ => format!("{scheme}://{}", authority.host()),
    })
}

// ANCHOR: same_origin
/// Why a request counts as cross-site, if it does.
pub(crate) fn cross_site(headers: &HeaderMap, allowed: &AllowedOrigins) -> Option<&'static str> {
    let origin = headers.get(header::ORIGIN).map(|value| value.to_str().unwrap_or("(not text)"));
    if let Some(origin) = origin
        && allowed.contains(origin)
    {
        return None;
    }
    let fetch_site = headers.get("sec-fetch-site").map(|value| value.as_bytes());
    if fetch_site == Some(b"cross-site".as_slice()) {
        return Some("Sec-Fetch-Site: cross-site");
    }
    let origin = origin?;
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok());
    match host {
        Some(host) if same_host_and_port(origin, host) => None,
        _ => Some("Origin names another host"),
    }
}
// ANCHOR_END: same_origin

/// `Origin: http://127.0.0.1:8002` against `Host: 127.0.0.1:8002`: the same host
/// (case-insensitive) and the same port. A port left out means the scheme's default on the
/// Origin side; on the Host side, where the scheme is unknown (a proxy may have ended TLS), a
/// missing port matches 80 or 443.
fn same_host_and_port(origin: &str, host: &str) -> bool {
    let Ok(origin) = origin.parse::<Uri>() else { return false };
    let Some(origin_authority) = origin.authority() else { return false };
    let Ok(host) = host.parse::<Authority>() else { return false };
    if !origin_authority.host().eq_ignore_ascii_case(host.host()) {
        return false;
    }
    let origin_port = origin_authority.port_u16().or(match origin.scheme_str() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    });
    match (origin_port, host.port_u16()) {
        (Some(a), Some(b)) => a == b,
        (Some(port), None) => port == 80 || port == 443,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn origins_against_host() {
        let none = AllowedOrigins::default();
        let host = ("host", "127.0.0.1:8002");
        for (pairs, refused) in [
            (vec![host], false),
            (vec![host, ("origin", "http://127.0.0.1:8002")], false),
            (vec![host, ("origin", "https://127.0.0.1:8002")], false),
            (vec![host, ("origin", "http://127.0.0.1:8003")], true),
            (vec![host, ("origin", "http://localhost:8002")], true),
            (vec![host, ("origin", "http://127.0.0.1")], true),
            (vec![host, ("origin", "null")], true),
            (vec![("origin", "http://127.0.0.1:8002")], true),
            (vec![host, ("sec-fetch-site", "cross-site")], true),
            (vec![host, ("sec-fetch-site", "same-origin")], false),
            (vec![host, ("sec-fetch-site", "same-site")], false),
            (vec![host, ("sec-fetch-site", "none")], false),
            (vec![("host", "App.Example.com"), ("origin", "https://app.example.com")], false),
            (vec![("host", "app.example.com"), ("origin", "http://app.example.com")], false),
            (vec![("host", "app.example.com:8443"), ("origin", "https://app.example.com")], true),
            (vec![("host", "[::1]:8002"), ("origin", "http://[::1]:8002")], false),
        ] {
            let map = headers(&pairs);
            assert_eq!(cross_site(&map, &none).is_some(), refused, "{pairs:?}");
        }
    }

    #[test]
    fn default_ports_are_dropped_on_both_sides() {
        let allowed =
            AllowedOrigins::parse("https://app.example.com:443, http://Local.test:80, http://x.test:8080")
                .expect("valid");
        assert_eq!(
            allowed.as_slice(),
            ["https://app.example.com", "http://local.test", "http://x.test:8080"]
        );
        for (origin, accepted) in [
            ("https://app.example.com", true),
            ("https://app.example.com:443", true),
            ("https://app.example.com:8443", false),
            ("http://app.example.com", false),
            ("http://local.test", true),
            ("http://x.test:8080", true),
            ("http://x.test", false),
        ] {
            let map = headers(&[("host", "api.example.com"), ("origin", origin)]);
            assert_eq!(cross_site(&map, &allowed).is_none(), accepted, "{origin}");
        }
    }

    #[test]
    fn allowed_origins_override() {
        let allowed =
            AllowedOrigins::parse(" https://App.example.com/ , http://localhost:3000").expect("valid");
        assert_eq!(allowed.as_slice(), ["https://app.example.com", "http://localhost:3000"]);
        let map = headers(&[
            ("host", "api.example.com"),
            ("origin", "https://app.example.com"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert_eq!(cross_site(&map, &allowed), None);
        let other = headers(&[("host", "api.example.com"), ("origin", "https://evil.example")]);
        assert!(cross_site(&other, &allowed).is_some());
        for bad in [
            "example.com",
            "ftp://example.com",
            "https://example.com/path",
            "https://",
            "*",
            "https://*.example.com",
            "https://user@app.example.com",
            "https://user:pw@app.example.com",
        ] {
            assert!(AllowedOrigins::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(AllowedOrigins::parse("").expect("empty"), AllowedOrigins::default());
    }
}
