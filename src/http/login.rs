//! Logging in and out: `POST /login` and `POST /logout`, the original mini-project's, and the
//! username's check. Lessons 04 and 05.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{AppendHeaders, IntoResponse};

use crate::cookies::{
    clear_session_cookie, clear_visitor_cookie, read_session_cookies, read_visitor_cookie, session_cookie,
};
use crate::error::{ApiError, ErrorBody};
use crate::metrics::LoginOutcome;
use crate::store::{Device, Login, NewSession, Session, SessionId, canonical_username, user_id_for};

use super::body::{LoginRequest, LoginResponse, MessageResponse};
use super::extract::{ClientAddr, ClientDevice, SameOrigin};
use super::{AppState, MAX_USERNAME_CHARS};

// ANCHOR: validate_username
/// Checks a username: 1 to `MAX_USERNAME_CHARS` (64) characters, none of them control characters.
pub fn validate_username(username: &str) -> Result<(), String> {
    let chars = username.chars().count();
    if chars == 0 || chars > MAX_USERNAME_CHARS {
        return Err(format!("username must be 1 to {MAX_USERNAME_CHARS} characters"));
    }
    if username.chars().any(char::is_control) {
        return Err("username must not contain control characters".into());
    }
    Ok(())
}
// ANCHOR_END: validate_username

// ANCHOR: login
/// Log in: the password goes to the service's one check ([`AppState::passwords`]; by default
/// any password is accepted). Sets the `session_id` cookie.
///
/// Throttled first (per username and client, and per client; lesson 09), before the password
/// is checked. A session already held by this browser is deleted (fixation defence). A user
/// already at `MAX_SESSIONS_PER_USER` sessions loses the oldest. The session records the device
/// (its `User-Agent`, named) and the client address, and the user's security log a `login`.
/// Every answer is counted in `session_logins_total{outcome}`.
#[utoipa::path(
    post, path = "/login", tag = "sessions",
    request_body = LoginRequest,
    params(("session_id" = Option<String>, Cookie, description = "A session this browser already holds (`__Host-session_id` with COOKIE_SECURE=true); it is destroyed")),
    responses(
        (status = 200, description = "Logged in; the session id is also set as an HttpOnly cookie", body = LoginResponse,
            headers(("set-cookie" = String, description = "session_id=<uuid>; HttpOnly; SameSite=Lax; Path=/; Max-Age=1800"))),
        (status = 401, description = "`Invalid username or password`: the password check refused them (never with the default check, which accepts any password)", body = ErrorBody),
        (status = 403, description = "Cross-site request refused: `Sec-Fetch-Site: cross-site`, or an `Origin` naming another host than `Host` (and not in ALLOWED_ORIGINS)", body = ErrorBody),
        (status = 400, description = "The body could not be read at all (for example a broken chunked encoding)", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "Malformed JSON, missing fields or an invalid username: 1 to 64 characters; no control, zero-width, bidi-control, byte-order-mark, line- or paragraph-separator characters; no space at either end or two in a row; letters, digits, printable ASCII and single spaces (RFC 8265)", body = ErrorBody),
        (status = 429, description = "Too many login attempts from this client (LOGIN_ATTEMPTS_PER_MINUTE for this username, LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT in all); no session was created (the refusal is recorded in the user's refusals, beside the security log)", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds until the next attempt is allowed"))),
        (status = 503, description = "Redis did not answer in time, or is full", body = ErrorBody),
    )
)]
pub async fn login(
    same_origin: Result<SameOrigin, ApiError>,
    client: ClientAddr,
    ClientDevice(device): ClientDevice,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let answer = log_in(same_origin, Attempt { client, device }, &state, &headers, body).await;
    state.store.metrics().login(match &answer {
        Ok(_) => LoginOutcome::Ok,
        Err(ApiError::Throttled { .. }) => LoginOutcome::Throttled,
        Err(ApiError::CrossSite) => LoginOutcome::CrossSite,
        Err(ApiError::Unavailable(_)) => LoginOutcome::Unavailable,
        Err(_) => LoginOutcome::Invalid,
    });
    answer
}

/// Where an attempt comes from: the client's address (the throttle counts per address) and its
/// device (recorded in the session and its log event).
pub(super) struct Attempt {
    pub(super) client: ClientAddr,
    pub(super) device: Device,
}

async fn log_in(
    same_origin: Result<SameOrigin, ApiError>,
    Attempt { client: ClientAddr(client), device }: Attempt,
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<impl IntoResponse + use<>, ApiError> {
    same_origin?;
    let Json(request) = body?;
    validate_username(&request.username).map_err(ApiError::InvalidUsername)?;
    canonical_username(&request.username).map_err(ApiError::InvalidUsername)?;
    // The session this browser already holds (the first it names) is replaced; a visitor's
    // values (lesson 11) move into the new session.
    let previous = read_session_cookies(headers, state.cookie_secure).first();
    let visitor = read_visitor_cookie(headers, state.cookie_secure);
    let new = NewSession::new(&request.username)
        .on(device)
        .replacing(previous.as_ref())
        .carrying(visitor.as_ref())
        .throttled_for(client)
        .with_password(&*state.passwords, &request.password);
    let (id, session) = started(state.store.start_session(new).await?, client, &request.username)?;
    tracing::info!(session = %id.redacted(), user_id = %session.user_id, replaced = previous.is_some(), "login");
    let mut cookies =
        vec![(SET_COOKIE, session_cookie(&id, state.store.lifetimes().idle, state.cookie_secure))];
    if visitor.is_some() {
        cookies.push((SET_COOKIE, clear_visitor_cookie(state.cookie_secure)));
    }
    let body = LoginResponse {
        message: "Login successful".into(),
        username: session.username,
        session_id: id.to_string(),
    };
    Ok((AppendHeaders(cookies), Json(body)))
}
// ANCHOR_END: login

/// A login's or a re-authentication's outcome as the answer sees it: the new session, or 429
/// when over a limit, or 401 when the password check refused.
pub(super) fn started(
    login: Login,
    client: std::net::IpAddr,
    username: &str,
) -> Result<(SessionId, Session), ApiError> {
    match login {
        Login::Started(id, session) => Ok((id, session)),
        Login::Throttled(retry_after) => {
            tracing::info!(%client, user_id = %user_id_for(username), "login throttled");
            Err(ApiError::Throttled { retry_after })
        }
        Login::Gone => Err(ApiError::InvalidSession),
        _ => {
            tracing::info!(%client, user_id = %user_id_for(username), "wrong password");
            Err(ApiError::WrongPassword)
        }
    }
}

// ANCHOR: logout
/// Log out: deletes the session and clears the cookie. Idempotent: without a live session it
/// still answers 200 and clears the cookie.
#[utoipa::path(
    post, path = "/logout", tag = "sessions",
    params(("session_id" = Option<String>, Cookie, description = "The session to destroy (`__Host-session_id` with COOKIE_SECURE=true); every well-formed one sent, at most eight, is destroyed")),
    responses(
        (status = 200, description = "Session destroyed (if there was one); cookie cleared", body = MessageResponse,
            headers(("set-cookie" = String, description = "session_id=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"))),
        (status = 403, description = "Cross-site request refused", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time; the session may still exist", body = ErrorBody),
    )
)]
pub async fn logout(
    _: SameOrigin,
    ClientDevice(device): ClientDevice,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let ids = read_session_cookies(&headers, state.cookie_secure);
    if let Some(first) = ids.first() {
        let deleted = state.store.destroy_cookie_sessions(&ids, &device).await?;
        tracing::info!(session = %first.redacted(), deleted, "logout");
    }
    let mut cookies = vec![(SET_COOKIE, clear_session_cookie(state.cookie_secure))];
    // A visitor's values (lesson 11) end with the logout too.
    if let Some(visitor) = read_visitor_cookie(&headers, state.cookie_secure) {
        state.store.end_visitor(&visitor).await?;
        cookies.push((SET_COOKIE, clear_visitor_cookie(state.cookie_secure)));
    }
    let body = MessageResponse { message: "Logged out successfully".into() };
    Ok((AppendHeaders(cookies), Json(body)))
}
// ANCHOR_END: logout

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(validate_username("alice").is_ok());
        assert!(validate_username("Zoë Ångström").is_ok());
        assert!(validate_username(&"é".repeat(64)).is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username(&"a".repeat(65)).is_err());
        assert!(validate_username("bob\n").is_err());
        assert!(validate_username("nul\0").is_err());
        assert!(validate_username("del\u{7f}").is_err());
    }

    /// The published pattern (`USERNAME_PATTERN`) is never stricter than the service: every
    /// name the service accepts matches it, and every name outside it is refused. Names that
    /// match it may still be refused (RFC 8265's rules, in words in the document).
    #[test]
    fn the_published_pattern_refuses_only_what_the_service_refuses() {
        let pattern = regex::Regex::new(super::super::body::USERNAME_PATTERN).expect("a valid regex");
        let accepted = |name: &str| validate_username(name).is_ok() && canonical_username(name).is_ok();
        let names = [
            "alice",
            "Zoë Ångström",
            "bob@example.com",
            "a b c",
            "\u{FF41}lice",
            "\u{5d0}\u{5d1}",
            "李小龙",
            "o'neil",
            "!#$%&*+-./:;<=>?@[]^_`{|}~",
            "l\u{b7}l",
            "a\u{301}",
            "123",
            "x",
            // Outside the pattern: each must be refused.
            "",
            " alice",
            "alice ",
            "a  b",
            "a\tb",
            "a\nb",
            "nul\0",
            "del\u{7f}",
            "c1\u{85}",
            "al\u{200B}ice",
            "\u{202E}ecila",
            "\u{FEFF}bom",
            "soft\u{AD}hy",
            "l\u{2028}s",
            "p\u{2029}s",
            "w\u{2060}j",
            "i\u{2066}s",
            "m\u{180E}v",
            "a\u{61C}m",
            // Inside the pattern, refused for RFC 8265's rules only: the 422 the document allows.
            "\u{3000}alice",
            "emoji\u{1F600}",
            "\u{C4F00}",
            "a\u{5d0}",
            "\u{FB01}sh",
        ];
        for name in names {
            let matches = pattern.is_match(name);
            if accepted(name) {
                assert!(matches, "{name:?} is accepted but outside the published pattern");
            }
            if !matches {
                assert!(!accepted(name), "{name:?} is outside the published pattern but accepted");
            }
        }
        assert!(pattern.is_match("\u{C4F00}") && !accepted("\u{C4F00}"), "a private-use character: 422");
        let longest = "é".repeat(MAX_USERNAME_CHARS);
        assert!(accepted(&longest) && pattern.is_match(&longest));
    }
}
