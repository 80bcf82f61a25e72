//! `POST /reauth`: the password proved again, and the caller's session replaced by a new,
//! privileged one (lesson 10).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};

use crate::cookies::session_cookie;
use crate::error::{ApiError, ErrorBody};
use crate::store::NewSession;

use super::AppState;
use super::body::{ReauthRequest, ReauthResponse};
use super::extract::{Authenticated, ClientAddr, ClientDevice};
use super::login::started;

// ANCHOR: reauth
/// Proves the password again: the caller's session is replaced by a new one (new id, new cookie;
/// the old id is dead at once, as at login) that is privileged for `PRIVILEGED_WINDOW_SECS`.
/// The password goes to the same check as `/login`, throttled like a login; refused cross-site.
#[utoipa::path(
    post, path = "/reauth", tag = "every device",
    request_body = ReauthRequest,
    params(("session_id" = Option<String>, Cookie, description = "The session id from /login (`__Host-session_id` with COOKIE_SECURE=true)")),
    responses(
        (status = 200, description = "Re-authenticated: a new session id in the cookie, privileged for `privileged_for` seconds", body = ReauthResponse,
            headers(("set-cookie" = String, description = "session_id=<new uuid>; HttpOnly; SameSite=Lax; Path=/; Max-Age=1800"))),
        (status = 400, description = "The body could not be read at all", body = ErrorBody),
        (status = 401, description = "`Session expired or invalid` (no live session), or `Invalid username or password` (the password check refused it; the session is unchanged)", body = ErrorBody),
        (status = 403, description = "Cross-site request refused", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "Malformed JSON or no `password`", body = ErrorBody),
        (status = 429, description = "Too many attempts from this client, as for /login", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds until the next attempt is allowed"))),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn reauth(
    who: Authenticated,
    ClientAddr(client): ClientAddr,
    ClientDevice(device): ClientDevice,
    State(state): State<AppState>,
    body: Result<Json<ReauthRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    let current = who.id();
    let new = NewSession::new(who.username())
        .on(device)
        .reauthenticating(&current)
        .throttled_for(client)
        .with_password(&*state.passwords, &request.password);
    let (id, session) = started(state.store.start_session(new).await?, client, who.username())?;
    tracing::info!(session = %id.redacted(), replaced = %current.redacted(), user_id = %session.user_id, "reauth");
    let cookie = session_cookie(&id, state.store.lifetimes().idle, state.cookie_secure);
    let window = state.store.privileged_window().as_secs();
    let body = ReauthResponse { message: "Re-authenticated".into(), privileged_for: window };
    Ok(([(SET_COOKIE, cookie)], Json(body)).into_response())
}
// ANCHOR_END: reauth
