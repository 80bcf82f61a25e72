//! Every device (lesson 06): `GET /sessions` lists the user's sessions, `DELETE
//! /sessions/{handle}` ends one, `POST /logout-everywhere` ends all. Each needs a live session
//! ([`Authenticated`]), and those that end something refuse cross-site requests through it.
//! Ending *another* session needs a privileged one (see `src/store/index.rs`): 403
//! `{"detail":"Re-authentication required"}` otherwise, and `POST /reauth` makes it privileged.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};

use crate::cookies::clear_session_cookie;
use crate::error::{ApiError, ErrorBody};
use crate::store::{ListedSession, Privileged};

use super::AppState;
use super::body::{LoggedOutEverywhere, MessageResponse, SessionEntry, SessionList};
use super::extract::{Authenticated, ClientDevice};

// ANCHOR: list_sessions
/// Every live session of the caller's user, newest first, the caller's own marked `current`,
/// each with the device and address it logged in from. Renews the caller's session like
/// `/profile`. Each session is named by its handle, never by its id: an id is a login, a handle
/// only a name.
#[utoipa::path(
    get, path = "/sessions", tag = "every device",
    params(("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true)")),
    responses(
        (status = 200, description = "The user's live sessions, newest first; the caller's TTL was renewed", body = SessionList,
            headers(("set-cookie" = String, description = "The same cookie with a fresh Max-Age"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn list_sessions(
    who: Authenticated,
    State(state): State<AppState>,
) -> Result<Json<SessionList>, ApiError> {
    let current = who.at_rest();
    let sessions = state.store.list_sessions(who.user_id(), &who.id()).await?;
    let sessions = sessions
        .into_iter()
        .map(|ListedSession { id, created_at, last_active, expires_in, device, ip }| SessionEntry {
            handle: id.handle(),
            created_at,
            last_active,
            expires_in,
            device,
            ip,
            current: id == current,
        })
        .collect();
    Ok(Json(SessionList { sessions }))
}
// ANCHOR_END: list_sessions

/// True for what a handle looks like: 16 lowercase hex characters.
fn is_handle(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

// ANCHOR: revoke_session
/// Ends one of the caller's user's sessions, named by its handle (from `GET /sessions`): that
/// device answers 401 from its next request. Revoking the caller's own session also clears its
/// cookie. Revoking another needs a privileged session (login or `/reauth` at most
/// `PRIVILEGED_WINDOW_SECS` ago). The user's security log records `revoked` with the ended
/// session's device.
#[utoipa::path(
    delete, path = "/sessions/{handle}", tag = "every device",
    params(
        ("handle" = String, Path, description = "A handle from `GET /sessions`: 16 lowercase hex characters"),
        ("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true)"),
    ),
    responses(
        (status = 200, description = "Session revoked; the caller's cookie renewed, or cleared when it revoked itself", body = MessageResponse,
            headers(("set-cookie" = String, description = "The caller's cookie, renewed or cleared"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`, or `Re-authentication required`: the handle is another session's and this session's last authentication is older than PRIVILEGED_WINDOW_SECS (call `POST /reauth`); nothing was revoked", body = ErrorBody),
        (status = 404, description = "The handle names none of this user's live sessions; nothing was revoked", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn revoke_session(
    who: Authenticated,
    State(state): State<AppState>,
    handle: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    // A path segment that is not even text (`%FF`) names no session either.
    let handle = match handle {
        Ok(Path(handle)) if is_handle(&handle) => handle,
        _ => return Err(ApiError::NoSuchSession),
    };
    let current = who.at_rest();
    let revoked = match state.store.revoke(&who.caller(), &handle).await? {
        Privileged::Done(revoked) => revoked.ok_or(ApiError::NoSuchSession)?,
        Privileged::ReauthRequired => return Err(ApiError::ReauthRequired),
    };
    tracing::info!(session = %revoked.redacted(), by = %current.redacted(), "revoked");
    let body = Json(MessageResponse { message: "Session revoked".into() });
    if revoked == current {
        // This device logged itself out: its cookie goes too (the renewed one is not sent).
        Ok(([(SET_COOKIE, clear_session_cookie(state.cookie_secure))], body).into_response())
    } else {
        Ok(body.into_response())
    }
}
// ANCHOR_END: revoke_session

// ANCHOR: logout_everywhere
/// Ends every session of the caller's user, this one included, and clears the cookie. Needs a
/// privileged session (login or `/reauth` at most `PRIVILEGED_WINDOW_SECS` ago): whoever stole a
/// cookie must not be able to lock the owner out. The security log records
/// `logout_everywhere`.
///
/// Guarantee: every session of the user that existed when this request read the user's index
/// is ended. A login that completes after that moment is a new login and survives.
#[utoipa::path(
    post, path = "/logout-everywhere", tag = "every device",
    params(("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true)")),
    responses(
        (status = 200, description = "Every session of the user ended; cookie cleared", body = LoggedOutEverywhere,
            headers(("set-cookie" = String, description = "session_id=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"))),
        (status = 401, description = "No cookie, a malformed one, or an expired or unknown session", body = ErrorBody),
        (status = 403, description = "`Cross-site request refused`, or `Re-authentication required`: this session's last authentication is older than PRIVILEGED_WINDOW_SECS (call `POST /reauth`); nothing was ended", body = ErrorBody),
        (status = 503, description = "Redis did not answer in time; some sessions may remain", body = ErrorBody),
    )
)]
pub async fn logout_everywhere(
    who: Authenticated,
    ClientDevice(device): ClientDevice,
    State(state): State<AppState>,
) -> Result<impl IntoResponse, ApiError> {
    let revoked = match state.store.destroy_user_sessions(&who.caller(), &device).await? {
        Privileged::Done(revoked) => revoked,
        Privileged::ReauthRequired => return Err(ApiError::ReauthRequired),
    };
    tracing::info!(user_id = %who.user_id(), revoked, "logout everywhere");
    let body = LoggedOutEverywhere { message: "Logged out everywhere".into(), revoked };
    Ok(([(SET_COOKIE, clear_session_cookie(state.cookie_secure))], Json(body)))
}
// ANCHOR_END: logout_everywhere
