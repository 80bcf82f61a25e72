//! The session, seen from its own device: `GET /profile` (the original mini-project's),
//! `GET /session` and `GET /session/details`, the page's view. Lessons 04 and 05.

use axum::Json;
use axum::extract::State;

use crate::error::ErrorBody;

use super::AppState;
use super::body::{CookieAttribute, ProfileResponse, SessionDetails, SessionInfo};
use super::extract::Authenticated;

// ANCHOR: profile
/// The logged-in user. Renews the session (sliding TTL) and re-sends the cookie with a fresh
/// `Max-Age`, so browser and Redis expire together.
#[utoipa::path(
    get, path = "/profile", tag = "sessions",
    params(("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true). When several arrive, each well-formed one is tried in order, at most eight, and the first live session wins; other cookies are skipped whatever bytes they hold")),
    responses(
        (status = 200, description = "The session's user; the TTL was renewed", body = ProfileResponse,
            headers(("set-cookie" = String, description = "The same cookie with a fresh Max-Age"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn profile(who: Authenticated) -> Json<ProfileResponse> {
    Json(ProfileResponse { user_id: who.user_id().to_string(), username: who.username().to_string() })
}
// ANCHOR_END: profile

// ANCHOR: session_info
/// The caller's session as the store sees it, including how long it has left. Like every
/// authenticated request, it renews the session.
#[utoipa::path(
    get, path = "/session", tag = "sessions",
    params(("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true). When several arrive, each well-formed one is tried in order, at most eight, and the first live session wins; other cookies are skipped whatever bytes they hold")),
    responses(
        (status = 200, description = "The session; the TTL was renewed", body = SessionInfo,
            headers(("set-cookie" = String, description = "The same cookie with a fresh Max-Age"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn session_info(who: Authenticated) -> Json<SessionInfo> {
    Json(SessionInfo::from(&who))
}

/// What `/session` (and `/session/details`) say about the caller's session.
impl From<&Authenticated> for SessionInfo {
    fn from(who: &Authenticated) -> SessionInfo {
        SessionInfo {
            user_id: who.user_id().to_string(),
            username: who.username().to_string(),
            created_at: who.created_at(),
            expires_in: who.expires_in(),
        }
    }
}
// ANCHOR_END: session_info

// ANCHOR: session_details
/// Everything the page at `/` shows about the caller's session: its fields, its lifetimes, and
/// the cookie the server sets with this very answer (the id left out: the page's script must
/// never see it). Renews the session like every authenticated request.
#[utoipa::path(
    get, path = "/session/details", tag = "sessions",
    params(("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true)")),
    responses(
        (status = 200, description = "The session, its lifetimes and its cookie's attributes; the TTL was renewed", body = SessionDetails,
            headers(("set-cookie" = String, description = "The same cookie with a fresh Max-Age"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn session_details(who: Authenticated, State(state): State<AppState>) -> Json<SessionDetails> {
    let written = who.cookie().to_str().unwrap_or_default();
    let set_cookie = written.replacen(&who.id().to_string(), "<id, not shown>", 1);
    let cookie_attributes = written.split("; ").skip(1).map(cookie_attribute).collect();
    let absolute_deadline = who.created_at() + state.store.lifetimes().absolute.as_secs();
    Json(SessionDetails {
        session: SessionInfo::from(&who),
        idle_ttl: state.store.lifetimes().idle.as_secs(),
        absolute_deadline,
        set_cookie,
        cookie_attributes,
    })
}

/// What one `Set-Cookie` attribute makes the browser do.
fn cookie_attribute(attribute: &str) -> CookieAttribute {
    let meaning = match attribute.split_once('=') {
        None if attribute.eq_ignore_ascii_case("HttpOnly") => {
            "page scripts cannot read it: document.cookie leaves it out".to_string()
        }
        None if attribute.eq_ignore_ascii_case("Secure") => "sent over HTTPS only".to_string(),
        Some(("SameSite", "Lax")) => {
            "not sent with requests other sites make (forms, fetches); sent when you follow a link here"
                .to_string()
        }
        Some(("Path", "/")) => "sent with every path of this site".to_string(),
        Some(("Max-Age", seconds)) => {
            format!(
                "the browser forgets it after {seconds} seconds without a request, as Redis forgets the session"
            )
        }
        _ => "see the cookie chapter (lesson 04)".to_string(),
    };
    CookieAttribute { name: attribute.to_string(), meaning }
}
// ANCHOR_END: session_details
