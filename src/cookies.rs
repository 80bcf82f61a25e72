//! The `session_id` cookie: reading it from a request, and the `Set-Cookie` headers the service
//! sends. Introduced in lesson 04.
//!
//! Formatting uses the `cookie` crate rather than `format!`, so attribute spelling, `Max-Age`
//! and the removal form are right by construction.

use std::time::Duration;

use axum::http::header::{COOKIE, HeaderMap, HeaderValue};
use cookie::{Cookie, CookieBuilder, SameSite};

use crate::store::SessionId;

/// The cookie's name, as in the original service.
pub(crate) const COOKIE_NAME: &str = "session_id";

/// What the request's `Cookie` headers say about the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCookie {
    /// No `session_id` cookie at all.
    Missing,
    /// A `session_id` that can never be valid: not a canonical UUID, sent twice, or in a header
    /// that is not text. Rejected without asking Redis.
    Malformed,
    /// A well-formed id; only Redis can say whether it is a live session.
    Present(SessionId),
}

impl SessionCookie {
    /// The id, if well-formed.
    pub fn id(self) -> Option<SessionId> {
        match self {
            SessionCookie::Present(id) => Some(id),
            _ => None,
        }
    }
}

// ANCHOR: read_cookie
/// Finds `session_id` across every `Cookie` header of a request.
///
/// Two `session_id` cookies are refused rather than "first wins": a sibling subdomain can plant
/// a second cookie of the same name (cookie tossing), and guessing which one the user meant is how
/// fixation bugs start.
pub fn read_session_cookie(headers: &HeaderMap) -> SessionCookie {
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        let Ok(text) = header.to_str() else {
            return SessionCookie::Malformed;
        };
        for cookie in Cookie::split_parse(text).flatten() {
            if cookie.name() != COOKIE_NAME {
                continue;
            }
            if found.is_some() {
                return SessionCookie::Malformed;
            }
            found = Some(SessionId::parse(cookie.value()));
        }
    }
    match found {
        None => SessionCookie::Missing,
        Some(None) => SessionCookie::Malformed,
        Some(Some(id)) => SessionCookie::Present(id),
    }
}
// ANCHOR_END: read_cookie

// ANCHOR: set_cookie
/// `session_id=<id>; HttpOnly; SameSite=Lax; Path=/; Max-Age=<ttl>` (+ `Secure`).
///
/// - `HttpOnly`: page scripts cannot read it through `document.cookie`.
/// - `SameSite=Lax`: not sent on cross-site POSTs, which blunts CSRF against `/logout`.
/// - `Path=/`: every route of the site gets it.
/// - `Max-Age`: the browser forgets it when Redis does; re-sent on every renewal. It also makes
///   the cookie persistent: it outlives a browser restart until it expires.
/// - `Secure` (with `COOKIE_SECURE=true`): only ever sent over HTTPS.
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
    Cookie::build((COOKIE_NAME, value)).http_only(true).same_site(SameSite::Lax).path("/").secure(secure)
}
// ANCHOR_END: cookie_attributes

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

    #[test]
    fn reads_the_cookie_among_others() {
        let id = SessionId::new();
        let found = read_session_cookie(&headers(&[&format!("theme=dark; session_id={id}; lang=en")]));
        assert_eq!(found, SessionCookie::Present(id));
        assert_eq!(read_session_cookie(&headers(&["theme=dark"])), SessionCookie::Missing);
        assert_eq!(read_session_cookie(&headers(&[])), SessionCookie::Missing);
    }

    #[test]
    fn malformed_and_duplicated_cookies_are_refused() {
        let id = SessionId::new();
        for value in [
            "session_id=abc".to_string(),
            "session_id=".to_string(),
            format!("session_id={}", id.to_string().to_uppercase()),
            format!("session_id={id}; session_id={id}"),
        ] {
            assert_eq!(read_session_cookie(&headers(&[&value])), SessionCookie::Malformed, "{value}");
        }
        let twice = headers(&[&format!("session_id={id}"), &format!("session_id={}", SessionId::new())]);
        assert_eq!(read_session_cookie(&twice), SessionCookie::Malformed);
        let mut binary = HeaderMap::new();
        binary.append(COOKIE, HeaderValue::from_bytes(b"session_id=\xff").expect("opaque bytes"));
        assert_eq!(read_session_cookie(&binary), SessionCookie::Malformed);
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
            "session_id=0f8fad5b-d9cb-469f-a165-70867728950e; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=60"
        );
        assert_eq!(clear_session_cookie(false), "session_id=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    }
}
