//! Plausible wrong answers for lesson 04 (feature `wrong`): each one solves its exercise except
//! for one mistake a learner would really make, or one the chapter warns about. Its check in
//! `tests/exercises/l04.rs` must refuse it. `LESSONS_WRONG=n` picks the `n`th of each exercise.

use std::time::Duration;

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};
use session_storage::cookies::cookie_name;
use session_storage::store::{SessionId, SessionIds};

use crate::{no_wrong_answer, wrong_variant};

/// The cookie as a header value (`header_value` in `src/cookies.rs`).
fn header_value(cookie: &Cookie<'_>) -> HeaderValue {
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whole seconds, for `Max-Age`.
fn seconds(secs: u128) -> cookie::time::Duration {
    cookie::time::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// Exercise 04a: the `Set-Cookie` value that hands the browser its session.
pub fn session_cookie(id: &SessionId, max_age: Duration, secure: bool) -> HeaderValue {
    let secs = u128::from(max_age.as_secs());
    let cookie = match wrong_variant() {
        // WRONG (04a/1): `secure` adds the `Secure` attribute but the name stays `session_id` (the `__Host-` prefix is forgotten), so a sibling subdomain can still plant one: the check records `session_id=...` instead of `__Host-session_id=...` for the secure cookie. Shows: secure_77_s_left.
        1 => Cookie::build(("session_id", id.to_string()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .secure(secure)
            .max_age(seconds(secs))
            .build(),
        // WRONG (04a/2): `SameSite=Strict` ("stricter is safer"), where the chapter chose `Lax`: a user who follows a link to the site arrives without the cookie and looks logged out. The check records `SameSite=Strict` for every cookie. Shows: plain_http_1234_s_left, secure_77_s_left, the_default_30_minutes.
        2 => Cookie::build((cookie_name(secure), id.to_string()))
            .http_only(true)
            .same_site(SameSite::Strict)
            .path("/")
            .secure(secure)
            .max_age(seconds(secs))
            .build(),
        // WRONG (04a/3): `HttpOnly` left out, so any script on the page, an injected one included, reads the id from `document.cookie`: the check records every cookie without `HttpOnly`. Shows: plain_http_1234_s_left, secure_77_s_left, the_default_30_minutes.
        3 => Cookie::build((cookie_name(secure), id.to_string()))
            .same_site(SameSite::Lax)
            .path("/")
            .secure(secure)
            .max_age(seconds(secs))
            .build(),
        // WRONG (04a/4): `Max-Age` in milliseconds (`as_millis()`), where it counts seconds: the browser keeps the cookie a thousand times too long, and the check records `Max-Age=1234000`, `77000` and `1800000`. Shows: plain_http_1234_s_left, secure_77_s_left, the_default_30_minutes.
        4 => Cookie::build((cookie_name(secure), id.to_string()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .secure(secure)
            .max_age(seconds(max_age.as_millis()))
            .build(),
        // WRONG (04a/5): `Path=/` left out, so the browser scopes the cookie to the directory of the request that set it (`/` for `/login`, but `/api` for a service mounted at `/api/login`, whose cookie then never reaches `/profile`), and refuses a `__Host-` cookie without it altogether: the check records every cookie without `Path=/`. Shows: plain_http_1234_s_left, secure_77_s_left, the_default_30_minutes.
        5 => Cookie::build((cookie_name(secure), id.to_string()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .max_age(seconds(secs))
            .build(),
        // WRONG (04a/6): `Secure` forgotten: the name switches to `__Host-session_id`, but a browser refuses a `__Host-` cookie without `Secure`, so nobody can log in over HTTPS. The check records the secure cookie without `Secure`. Shows: secure_77_s_left.
        6 => Cookie::build((cookie_name(secure), id.to_string()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .max_age(seconds(secs))
            .build(),
        // WRONG (04a/7): `Max-Age` typed in from the chapter (1800, the idle TTL) instead of `max_age`, so a renewal near the end of the absolute lifetime tells the browser to keep a cookie Redis will forget sooner: the check records `Max-Age=1800` where it passed 1234 and 77. Shows: plain_http_1234_s_left, secure_77_s_left.
        7 => Cookie::build((cookie_name(secure), id.to_string()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .secure(secure)
            .max_age(cookie::time::Duration::seconds(1800))
            .build(),
        n => no_wrong_answer("04a", n),
    };
    header_value(&cookie)
}

/// Exercise 04b: the `Set-Cookie` value a logout sends, so the browser forgets the session.
pub fn clear_session_cookie(secure: bool) -> HeaderValue {
    let cookie = match wrong_variant() {
        // WRONG (04b/1): the removal cookie leaves out `Path=/`, so the browser gives it the directory of the logout request as its path, and it clears the session cookie only where that happens to be `/`; a `__Host-` cookie without `Path=/` is refused altogether, so over HTTPS the session cookie stays. The check records both cookies without `Path=/`. Shows: plain_http, secure.
        1 => Cookie::build((cookie_name(secure), String::new()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .max_age(cookie::time::Duration::ZERO)
            .build(),
        // WRONG (04b/2): the value emptied but no `Max-Age=0`, so the browser does not delete the cookie: it keeps an empty one, which without `Max-Age` lives until the browser closes. The check records both cookies without `Max-Age`. Shows: plain_http, secure.
        2 => Cookie::build((cookie_name(secure), String::new()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .secure(secure)
            .build(),
        // WRONG (04b/3): the name is always `session_id` (the `__Host-` prefix forgotten), so over HTTPS the logout clears a cookie the browser does not hold and keeps `__Host-session_id`: the check records `session_id=` instead of `__Host-session_id=` for the secure case. Shows: secure.
        3 => Cookie::build(("session_id", String::new()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .secure(secure)
            .max_age(cookie::time::Duration::ZERO)
            .build(),
        // WRONG (04b/4): `Secure` forgotten on the removal: a browser refuses a `__Host-` cookie without `Secure`, so over HTTPS the session cookie stays. The check records the secure case without `Secure`. Shows: secure.
        4 => Cookie::build((cookie_name(secure), String::new()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .max_age(cookie::time::Duration::ZERO)
            .build(),
        n => no_wrong_answer("04b", n),
    };
    header_value(&cookie)
}

/// Exercise 04c: the session ids a request's `Cookie` headers carry, in the order it sent them.
pub fn read_session_cookies(headers: &HeaderMap, secure: bool) -> SessionIds {
    match wrong_variant() {
        1 => as_text(headers, secure),
        2 => only_the_first(headers, secure),
        3 => every_copy(headers, secure),
        4 => cap_on_every_named_cookie(headers, secure),
        5 => only_the_first_header(headers, secure),
        6 => plain_name_too(headers, secure),
        7 => untrimmed(headers, secure),
        8 => any_uuid(headers, secure),
        n => no_wrong_answer("04c", n),
    }
}

/// The value of `pair` when it is the cookie `name` (the service's way, on bytes).
fn value_of<'a>(pair: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    pair.trim_ascii().strip_prefix(name).and_then(|rest| rest.strip_prefix(b"="))
}

// WRONG (04c/1): each `Cookie` header is read as text with `HeaderValue::to_str()` and skipped when that fails, so another cookie's UTF-8 or binary value hides the session id in the same header: the check records `none` "after a cookie whose value is UTF-8" and "after a cookie that is not even UTF-8". Shows: `after a cookie whose value is UTF-8`, `after a cookie that is not even UTF-8`.
fn as_text(headers: &HeaderMap, secure: bool) -> SessionIds {
    let name = cookie_name(secure);
    let mut ids = SessionIds::default();
    'headers: for header in headers.get_all(COOKIE) {
        let Ok(text) = header.to_str() else {
            continue;
        };
        for pair in text.split(';') {
            let Some(value) = pair.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')) else {
                continue;
            };
            let Some(id) = SessionId::from_cookie(value) else {
                continue;
            };
            if !ids.iter().any(|seen| seen == id) && !ids.push(id) {
                break 'headers;
            }
        }
    }
    ids
}

// WRONG (04c/2): the search ends at the first well-formed id ("a request has one session"), so a planted dead cookie that comes first locks the user out, which the chapter warns about: the check records only `id 2` for "a planted one first", and one id wherever there are several. Shows: `a planted one first`, `in two headers`.
fn only_the_first(headers: &HeaderMap, secure: bool) -> SessionIds {
    let name = cookie_name(secure).as_bytes();
    let mut ids = SessionIds::default();
    for header in headers.get_all(COOKIE) {
        for pair in header.as_bytes().split(|&byte| byte == b';') {
            let Some(value) = value_of(pair, name) else {
                continue;
            };
            if let Some(id) = std::str::from_utf8(value).ok().and_then(SessionId::from_cookie) {
                ids.push(id);
                return ids;
            }
        }
    }
    ids
}

// WRONG (04c/3): no check for an id already found, so the same id sent twice is tried twice, and nine copies of one id fill all eight places: the check records `id 1; id 1` for "the same id twice", and `id 1` eight times with no `id 2` for "nine copies of one id before another". Shows: `the same id twice`, `nine copies of one id before another`.
fn every_copy(headers: &HeaderMap, secure: bool) -> SessionIds {
    let name = cookie_name(secure).as_bytes();
    let mut ids = SessionIds::default();
    'headers: for header in headers.get_all(COOKIE) {
        for pair in header.as_bytes().split(|&byte| byte == b';') {
            let Some(value) = value_of(pair, name) else {
                continue;
            };
            let Some(id) = std::str::from_utf8(value).ok().and_then(SessionId::from_cookie) else {
                continue;
            };
            if !ids.push(id) {
                break 'headers;
            }
        }
    }
    ids
}

// WRONG (04c/4): the cap of eight counts every cookie named `session_id`, malformed and repeated ones too, instead of the distinct well-formed ids: eight planted `session_id=x` cookies push the live one out. The check records `none` for "eight malformed ones before a real one" and only `id 1` for "nine copies of one id before another". Shows: `eight malformed ones before a real one`, `nine copies of one id before another`.
fn cap_on_every_named_cookie(headers: &HeaderMap, secure: bool) -> SessionIds {
    let name = cookie_name(secure).as_bytes();
    let mut ids = SessionIds::default();
    let mut seen = 0;
    for header in headers.get_all(COOKIE) {
        for pair in header.as_bytes().split(|&byte| byte == b';') {
            let Some(value) = value_of(pair, name) else {
                continue;
            };
            seen += 1;
            if seen > session_storage::store::MAX_SESSION_COOKIES {
                return ids;
            }
            let Some(id) = std::str::from_utf8(value).ok().and_then(SessionId::from_cookie) else {
                continue;
            };
            if !ids.iter().any(|known| known == id) {
                ids.push(id);
            }
        }
    }
    ids
}

// WRONG (04c/5): only the first `Cookie` header is read (`HeaderMap::get`), as if every request came over HTTP/1.1; over HTTP/2 a browser may split its cookies over several headers: the check records `none` for "in the second Cookie header" and only `id 1` for "in two headers". Shows: `in the second Cookie header`, `in two headers`.
fn only_the_first_header(headers: &HeaderMap, secure: bool) -> SessionIds {
    let name = cookie_name(secure).as_bytes();
    let mut ids = SessionIds::default();
    let Some(header) = headers.get(COOKIE) else {
        return ids;
    };
    for pair in header.as_bytes().split(|&byte| byte == b';') {
        let Some(value) = value_of(pair, name) else {
            continue;
        };
        let Some(id) = std::str::from_utf8(value).ok().and_then(SessionId::from_cookie) else {
            continue;
        };
        if !ids.iter().any(|seen| seen == id) && !ids.push(id) {
            break;
        }
    }
    ids
}

// WRONG (04c/6): with `secure`, a plain `session_id` is accepted as well as `__Host-session_id` ("for browsers that still hold the old cookie"), which gives back the planting the `__Host-` name exists to stop: the check records the planted `id 2` for "secure, __Host- after a plain one" and "secure, a plain one only". Shows: `secure, __Host- after a plain one`, `secure, a plain one only`.
fn plain_name_too(headers: &HeaderMap, secure: bool) -> SessionIds {
    let names: &[&[u8]] = if secure { &[b"__Host-session_id", b"session_id"] } else { &[b"session_id"] };
    let mut ids = SessionIds::default();
    'headers: for header in headers.get_all(COOKIE) {
        for pair in header.as_bytes().split(|&byte| byte == b';') {
            let Some(value) = names.iter().find_map(|name| value_of(pair, name)) else {
                continue;
            };
            let Some(id) = std::str::from_utf8(value).ok().and_then(SessionId::from_cookie) else {
                continue;
            };
            if !ids.iter().any(|seen| seen == id) && !ids.push(id) {
                break 'headers;
            }
        }
    }
    ids
}

// WRONG (04c/7): the pieces between the `;` are not trimmed, so every cookie after the first keeps its leading space and never matches the name: the check records `none` for "among other cookies", and only the first id of a header with several. Shows: `among other cookies`.
fn untrimmed(headers: &HeaderMap, secure: bool) -> SessionIds {
    let name = cookie_name(secure).as_bytes();
    let mut ids = SessionIds::default();
    'headers: for header in headers.get_all(COOKIE) {
        for pair in header.as_bytes().split(|&byte| byte == b';') {
            let Some(value) = pair.strip_prefix(name).and_then(|rest| rest.strip_prefix(b"=")) else {
                continue;
            };
            let Some(id) = std::str::from_utf8(value).ok().and_then(SessionId::from_cookie) else {
                continue;
            };
            if !ids.iter().any(|seen| seen == id) && !ids.push(id) {
                break 'headers;
            }
        }
    }
    ids
}

// WRONG (04c/8): the value is checked with `SessionId::parse`, which takes any canonical UUID, so a digest of step 6 (a version-8 UUID read from Redis, a replica or a backup) is taken for a session id: the check records `id 0; id 1` for "a digest (version 8) first". Shows: `a digest (version 8) first`.
fn any_uuid(headers: &HeaderMap, secure: bool) -> SessionIds {
    let name = cookie_name(secure).as_bytes();
    let mut ids = SessionIds::default();
    'headers: for header in headers.get_all(COOKIE) {
        for pair in header.as_bytes().split(|&byte| byte == b';') {
            let Some(value) = value_of(pair, name) else {
                continue;
            };
            let Some(id) = std::str::from_utf8(value).ok().and_then(SessionId::parse) else {
                continue;
            };
            if !ids.iter().any(|seen| seen == id) && !ids.push(id) {
                break 'headers;
            }
        }
    }
    ids
}
