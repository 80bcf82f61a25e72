//! The page's note (lesson 11): a short text kept in the caller's session data, a visitor's
//! before login and the session's after (it moves at login), with a counter of its saves:
//! `GET /note` and `PUT /note`. The service's own example of [`VisitorData`].

use axum::Json;
use axum::extract::rejection::JsonRejection;

use crate::error::{ApiError, ErrorBody};
use crate::store::Changes;

use super::body::{NoteRequest, NoteResponse};
use super::data::VisitorData;

// ANCHOR: note
/// The caller's note and how many times it was saved: the logged-in session's, else the
/// visitor's; `null` and 0 for a caller who never saved one (no Redis call without a cookie).
#[utoipa::path(
    get, path = "/note", tag = "data",
    params(
        ("session_id" = Option<String>, Cookie, description = "A session id from /login (`__Host-session_id` with COOKIE_SECURE=true)"),
        ("visitor_id" = Option<String>, Cookie, description = "The visitor id the first PUT /note set (`__Host-visitor_id` with COOKIE_SECURE=true)"),
    ),
    responses(
        (status = 200, description = "The note; a session's TTL was renewed", body = NoteResponse),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn read_note(data: VisitorData) -> Result<Json<NoteResponse>, ApiError> {
    Ok(Json(NoteResponse { note: data.get("note")?, saves: data.get("note_saves")?.unwrap_or(0) }))
}

/// Saves the caller's note and counts the save, in one script (a visitor's first save is also
/// an attempt of its login throttle, and sets the `visitor_id` cookie).
#[utoipa::path(
    put, path = "/note", tag = "data",
    request_body = NoteRequest,
    params(
        ("session_id" = Option<String>, Cookie, description = "A session id from /login (`__Host-session_id` with COOKIE_SECURE=true)"),
        ("visitor_id" = Option<String>, Cookie, description = "The visitor id the first PUT /note set (`__Host-visitor_id` with COOKIE_SECURE=true)"),
    ),
    responses(
        (status = 200, description = "Saved; a visitor's first save also sets the visitor cookie", body = NoteResponse),
        (status = 400, description = "The body could not be read at all", body = ErrorBody),
        (status = 401, description = "The caller's session ended while the note was being saved: nothing was written", body = ErrorBody),
        (status = 403, description = "Cross-site request refused", body = ErrorBody),
        (status = 413, description = "The note, or the body, is over its size limit: nothing was written", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "Malformed JSON, or no `note`", body = ErrorBody),
        (status = 429, description = "Too many new visitors from this client (its login throttle)", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds until the next attempt is allowed"))),
        (status = 503, description = "Redis did not answer in time", body = ErrorBody),
    )
)]
pub async fn write_note(
    mut data: VisitorData,
    body: Result<Json<NoteRequest>, JsonRejection>,
) -> Result<Json<NoteResponse>, ApiError> {
    let Json(request) = body?;
    let changes = Changes::new().insert("note", &request.note)?.increment("note_saves", 1)?;
    let applied = data.apply(changes).await?;
    let saves = applied.counters.first().copied().unwrap_or_default();
    Ok(Json(NoteResponse { note: Some(request.note), saves }))
}
// ANCHOR_END: note
