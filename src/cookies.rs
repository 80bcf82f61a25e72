//! The session cookie: reading it from a request, and the `Set-Cookie` headers the service
//! sends. Introduced in lesson 04.
//!
//! Over plain HTTP the cookie is `session_id`, as in the original service. With
//! `COOKIE_SECURE=true` it is `__Host-session_id`: browsers accept a `__Host-` cookie only with
//! `Secure`, `Path=/` and no `Domain`, so a sibling subdomain (or plain HTTP) cannot plant one.
//!
//! Formatting uses the `cookie` crate rather than `format!`, so attribute spelling, `Max-Age`
//! and the removal form are right by construction.

use std::time::Duration;

use axum::http::header::{COOKIE, HeaderMap, HeaderValue};
use cookie::{Cookie, CookieBuilder, SameSite};

use crate::store::SessionId;
/// The ids a request carries (defined with the store, which tries them in order), and how many
/// are tried at most.
use crate::store::SessionIds;

/// The cookie's name over plain HTTP, as in the original service.
pub(crate) const COOKIE_NAME: &str = "session_id";
/// The cookie's name with `COOKIE_SECURE=true`.
pub(crate) const SECURE_COOKIE_NAME: &str = "__Host-session_id";

/// The session cookie's name: `__Host-session_id` when `secure`, else `session_id`.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE_NAME } else { COOKIE_NAME }
}

// ANCHOR: read_cookie
/// The session ids in a request's `Cookie` headers, in order. Over HTTP/1.1 a browser sends one
/// `Cookie` header; over HTTP/2 and HTTP/3 it may split it into several, so every one is read.
///
/// The header is read as bytes, not as text: this service's cookie is found by its ASCII name
/// and only its value is parsed. Other cookies are skipped whatever bytes they hold, since a
/// browser sends UTF-8 values (`theme=café`) and any page of the site, or a sibling subdomain,
/// can set one: rejecting the whole header for one of them would lock the user out.
///
/// Only canonical ids count: anything else is skipped without asking Redis. Several cookies of
/// the same name happen: a sibling subdomain can plant one (cookie tossing), and refusing the
/// request would lock the user out, since logging in again cannot remove a cookie set for another
/// domain or path. So each well-formed one is tried, at most [`MAX_SESSION_COOKIES`](crate::store::MAX_SESSION_COOKIES) (8), and
/// the first live session wins (see `authenticate`); more than one is logged, as a sign of
/// tossing. Over HTTPS the `__Host-` name makes planting impossible.
pub fn read_session_cookies(headers: &HeaderMap, secure: bool) -> SessionIds {
    let name = cookie_name(secure).as_bytes();
    let mut ids = SessionIds::default();
    let mut named = 0usize;
    'headers: for header in headers.get_all(COOKIE) {
        for pair in header.as_bytes().split(|&byte| byte == b';') {
            let Some(value) = pair.trim_ascii().strip_prefix(name).and_then(|rest| rest.strip_prefix(b"="))
            else {
                continue;
            };
            named += 1;
            let Some(id) = std::str::from_utf8(value).ok().and_then(SessionId::from_cookie) else {
                continue;
            };
            if !ids.iter().any(|seen| seen == id) && !ids.push(id) {
                break 'headers;
            }
        }
    }
    if named > 1 {
        tracing::warn!(cookies = named, "several session cookies in one request (a sign of cookie tossing)");
    }
    ids
}
// ANCHOR_END: read_cookie

// ANCHOR: set_cookie
/// `session_id=<id>; HttpOnly; SameSite=Lax; Path=/; Max-Age=<ttl>`, or with `secure`
/// `__Host-session_id=<id>; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=<ttl>`.
///
/// - `HttpOnly`: page scripts cannot read it through `document.cookie`.
/// - `SameSite=Lax`: not sent on cross-site POSTs, which blunts CSRF against `/logout`.
/// - `Path=/`: every route of the site gets it.
/// - `Max-Age`: the browser forgets it when Redis does; re-sent on every renewal. It also makes
///   the cookie persistent: it outlives a browser restart until it expires.
/// - `Secure` and the `__Host-` name (with `COOKIE_SECURE=true`): only ever sent over HTTPS, and
///   no other site, subdomain or path can set a cookie of that name.
pub fn session_cookie(id: &SessionId, max_age: Duration, secure: bool) -> HeaderValue {
    let max_age = cookie::time::Duration::seconds(i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX));
    header_value(&with_attributes(id.to_string(), secure).max_age(max_age).build())
}
// ANCHOR_END: set_cookie

// ANCHOR: clear_cookie
/// The logout cookie: same name, path and attributes, empty value and `Max-Age=0`, which tells
/// the browser to delete it now.
pub fn clear_session_cookie(secure: bool) -> HeaderValue {
    header_value(&with_attributes(String::new(), secure).max_age(cookie::time::Duration::ZERO).build())
}
// ANCHOR_END: clear_cookie

// ANCHOR: cookie_attributes
/// The attributes both cookies share. A browser deletes a cookie only when the removal names the
/// same name, path (and domain): building both from here keeps them in step by construction.
fn with_attributes(value: String, secure: bool) -> CookieBuilder<'static> {
    Cookie::build((cookie_name(secure), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure)
}
// ANCHOR_END: cookie_attributes

/// A visitor's cookie (lesson 11) over plain HTTP, and with `COOKIE_SECURE=true`.
pub(crate) const VISITOR_COOKIE_NAME: &str = "visitor_id";
pub(crate) const SECURE_VISITOR_COOKIE_NAME: &str = "__Host-visitor_id";

/// The visitor cookie's name: `__Host-visitor_id` when `secure`, else `visitor_id`.
pub fn visitor_cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_VISITOR_COOKIE_NAME } else { VISITOR_COOKIE_NAME }
}

/// The visitor's cookie: `visitor_id=<id>` with the session cookie's attributes (`HttpOnly`,
/// `SameSite=Lax`, `Path=/`, `Max-Age`, and with `secure` the `__Host-` name and `Secure`).
pub fn visitor_cookie(id: &SessionId, max_age: Duration, secure: bool) -> HeaderValue {
    let max_age = cookie::time::Duration::seconds(i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX));
    header_value(&visitor_attributes(id.to_string(), secure).max_age(max_age).build())
}

/// The visitor cookie's removal (at login, when the visitor's values move into the session, and
/// at logout).
pub fn clear_visitor_cookie(secure: bool) -> HeaderValue {
    header_value(&visitor_attributes(String::new(), secure).max_age(cookie::time::Duration::ZERO).build())
}

fn visitor_attributes(value: String, secure: bool) -> CookieBuilder<'static> {
    Cookie::build((visitor_cookie_name(secure), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure)
}

/// The visitor id a request carries: the first well-formed `visitor_id` cookie (read as bytes,
/// like the session's), or `None`.
pub fn read_visitor_cookie(headers: &HeaderMap, secure: bool) -> Option<SessionId> {
    let name = visitor_cookie_name(secure).as_bytes();
    headers.get_all(COOKIE).iter().flat_map(|header| header.as_bytes().split(|&byte| byte == b';')).find_map(
        |pair| {
            let value = pair.trim_ascii().strip_prefix(name)?.strip_prefix(b"=")?;
            std::str::from_utf8(value).ok().and_then(SessionId::from_cookie)
        },
    )
}

fn header_value(cookie: &Cookie<'_>) -> HeaderValue {
    // The name is a constant and the value a UUID or empty, so this is always a valid header.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(COOKIE, HeaderValue::from_str(value).expect("ascii"));
        }
        map
    }

    fn ids(found: SessionIds) -> Vec<SessionId> {
        found.iter().collect()
    }

    #[test]
    fn reads_the_cookie_among_others() {
        let id = SessionId::new();
        let found =
            read_session_cookies(&headers(&[&format!("theme=dark; session_id={id}; lang=en")]), false);
        assert_eq!(ids(found), [id]);
        assert!(read_session_cookies(&headers(&["theme=dark"]), false).is_empty());
        assert!(read_session_cookies(&headers(&[]), false).is_empty());
    }

    #[test]
    fn every_well_formed_id_counts_in_order_at_most_eight() {
        let [a, b, c, d] = [SessionId::new(), SessionId::new(), SessionId::new(), SessionId::new()];
        let found = read_session_cookies(
            &headers(&[
                &format!("session_id=abc; session_id={a}"),
                &format!("session_id={b}; session_id={a}"),
            ]),
            false,
        );
        assert_eq!(ids(found), [a, b], "malformed skipped, duplicates once, header order kept");
        let four = format!("session_id={a}; session_id={b}; session_id={c}; session_id={d}");
        assert_eq!(ids(read_session_cookies(&headers(&[&four]), false)), [a, b, c, d]);
        let many: Vec<SessionId> = (0..10).map(|_| SessionId::new()).collect();
        let ten: Vec<String> = many.iter().map(|id| format!("session_id={id}")).collect();
        assert_eq!(
            ids(read_session_cookies(&headers(&[&ten.join("; ")]), false)),
            many[..crate::store::MAX_SESSION_COOKIES]
        );
        assert_eq!(crate::store::MAX_SESSION_COOKIES, 8);
        let quoted = format!("session_id=\"{a}\"");
        assert!(
            read_session_cookies(&headers(&[&quoted]), false).is_empty(),
            "the service never quotes its id"
        );
        for near in [format!("session_idx={a}"), format!("xsession_id={a}"), format!("Session_id={a}")] {
            assert!(read_session_cookies(&headers(&[&near]), false).is_empty(), "{near}");
        }
        for value in [
            "session_id=abc".to_string(),
            "session_id=".to_string(),
            format!("session_id={}", a.to_string().to_uppercase()),
        ] {
            assert!(read_session_cookies(&headers(&[&value]), false).is_empty(), "{value}");
        }
        let mut binary = HeaderMap::new();
        binary.append(COOKIE, HeaderValue::from_bytes(b"session_id=\xff").expect("opaque bytes"));
        assert!(read_session_cookies(&binary, false).is_empty());
    }

    #[test]
    fn other_cookies_bytes_never_hide_ours() {
        let id = SessionId::new();
        for other in [&b"theme=caf\xc3\xa9"[..], b"x=\xff\xfe", b"\xe2\x98\x83=snow", b"broken"] {
            let mut value = other.to_vec();
            value.extend_from_slice(format!("; session_id={id}; lang=en").as_bytes());
            let mut map = HeaderMap::new();
            map.append(COOKIE, HeaderValue::from_bytes(&value).expect("opaque bytes"));
            assert_eq!(ids(read_session_cookies(&map, false)), [id], "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn with_cookie_secure_only_the_host_prefixed_name_counts() {
        let [planted, real] = [SessionId::new(), SessionId::new()];
        let value = format!("session_id={planted}; __Host-session_id={real}");
        assert_eq!(ids(read_session_cookies(&headers(&[&value]), true)), [real]);
        assert_eq!(ids(read_session_cookies(&headers(&[&value]), false)), [planted]);
    }

    #[test]
    fn set_and_clear_cookie_attributes() {
        let id = SessionId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").expect("canonical");
        assert_eq!(
            session_cookie(&id, Duration::from_secs(1800), false),
            "session_id=0f8fad5b-d9cb-469f-a165-70867728950e; HttpOnly; SameSite=Lax; Path=/; Max-Age=1800"
        );
        assert_eq!(
            session_cookie(&id, Duration::from_secs(60), true),
            "__Host-session_id=0f8fad5b-d9cb-469f-a165-70867728950e; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=60"
        );
        assert_eq!(clear_session_cookie(false), "session_id=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
        assert_eq!(
            clear_session_cookie(true),
            "__Host-session_id=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0"
        );
    }
}
