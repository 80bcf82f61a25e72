//! The one error type of the HTTP layer. Every failure becomes JSON `{"detail": ...}` with the
//! status a client can act on: 4xx for what the client sent, 503 when Redis cannot answer.
//! Nothing a client sends can produce a 500.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::Unavailable;

/// The original service's answer for any session problem.
pub const INVALID_SESSION: &str = "Session expired or invalid";
/// The answer while Redis is down or stalled.
pub const STORE_UNAVAILABLE: &str = "Session store unavailable";

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a human.
    #[schema(example = "Session expired or invalid")]
    pub detail: String,
}

/// Everything a handler can fail with.
#[derive(Debug)]
pub enum ApiError {
    /// 401: no cookie, a malformed one, or no live session behind it.
    InvalidSession,
    /// 503: Redis did not answer in time or answered with an error.
    Unavailable(Unavailable),
    /// Any other 4xx with its message (bad body, unknown route, ...).
    Client(StatusCode, String),
}

impl From<Unavailable> for ApiError {
    fn from(error: Unavailable) -> Self {
        ApiError::Unavailable(error)
    }
}

impl From<JsonRejection> for ApiError {
    /// Maps axum's body rejections onto the documented answers: 415 without a JSON content
    /// type, 413 for a body over the limit, 422 for anything that is not a valid login body.
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::Client(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/json".into(),
            ),
            JsonRejection::JsonSyntaxError(e) => ApiError::Client(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Malformed JSON: {}", inner(&e.body_text())),
            ),
            JsonRejection::JsonDataError(e) => ApiError::Client(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Invalid body: {}", inner(&e.body_text())),
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::Client(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large".into())
            }
            other => ApiError::Client(
                StatusCode::BAD_REQUEST,
                format!("Could not read the body: {}", other.body_text()),
            ),
        }
    }
}

/// axum's texts start with a generic sentence; keep the part that names the problem.
fn inner(text: &str) -> &str {
    text.split_once(": ").map_or(text, |(_, rest)| rest)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, detail) = match self {
            ApiError::InvalidSession => (StatusCode::UNAUTHORIZED, INVALID_SESSION.to_string()),
            ApiError::Unavailable(error) => {
                tracing::warn!(%error, "answering 503");
                (StatusCode::SERVICE_UNAVAILABLE, STORE_UNAVAILABLE.to_string())
            }
            ApiError::Client(status, detail) => (status, detail),
        };
        (status, Json(ErrorBody { detail })).into_response()
    }
}
