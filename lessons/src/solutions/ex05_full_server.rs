//! Reference solutions for lesson 05: the service's own `validate_username`, `session_info` and
//! `logout` (`src/http/sessions.rs`, anchors `validate_username`, `session_info` and `logout`), and
//! `ApiError::status` (`src/error.rs`, anchor `api_error_status`).

use axum::http::StatusCode;
use session_storage::ApiError;

pub use session_storage::http::{logout, session_info, validate_username};

/// Exercise 05c, solved by the service's code.
pub fn error_status(error: &ApiError) -> StatusCode {
    error.status()
}
