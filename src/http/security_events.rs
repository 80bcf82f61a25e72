//! `GET /security-events`: the user's security log, newest first (lesson 10).

use axum::Json;
use axum::extract::State;

use crate::error::{ApiError, ErrorBody};
use crate::store::SecurityEvent;

use super::AppState;
use super::body::{SecurityEventEntry, SecurityEvents};
use super::extract::Authenticated;

// ANCHOR: security_events
/// The user's security log, newest first: at most 100 of the user's own events (logins,
/// logouts, revocations with the device that was ended, "log out everywhere",
/// re-authentications), and the refused logins of this user, one entry per client with its
/// count (at most 20 clients). Each names a session by its handle, never its id. Renews the caller's
/// session like `/profile`.
#[utoipa::path(
    get, path = "/security-events", tag = "every device",
    params(("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true)")),
    responses(
        (status = 200, description = "The newest events first; the caller's TTL was renewed", body = SecurityEvents,
            headers(("set-cookie" = String, description = "The same cookie with a fresh Max-Age"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn security_events(
    who: Authenticated,
    State(state): State<AppState>,
) -> Result<Json<SecurityEvents>, ApiError> {
    let events = state.store.security_events(who.user_id()).await?;
    let events = events
        .into_iter()
        .map(|SecurityEvent { kind, at, device, ip, handle, count }| SecurityEventEntry {
            kind,
            at,
            device,
            ip,
            handle,
            count,
        })
        .collect();
    Ok(Json(SecurityEvents { events }))
}
// ANCHOR_END: security_events
