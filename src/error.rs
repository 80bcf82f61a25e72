//! The one error type of the HTTP layer. Every failure becomes JSON `{"detail": ...}` with the
//! status a client can act on: 4xx for what the client sent, 503 when Redis cannot answer.
//!
//! Nothing a client sends can produce a 500, and that holds by construction: each variant of
//! [`ApiError`] has one fixed status, and only [`ApiError::Unavailable`] and [`ApiError::Degraded`]
//! (both about Redis, never about the request) are a 5xx: 503.
//! Turning an error into a response has no side effects (no logging): the 503's cause rides
//! along in the response's extensions as a [`ServerErrorReport`], and one layer of the router
//! logs it (see `log_server_errors` in `src/http/mod.rs`).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::{DataError, Unavailable};

/// The original service's answer for any session problem.
pub(crate) const INVALID_SESSION: &str = "Session expired or invalid";
/// The answer while Redis is down or stalled.
pub(crate) const STORE_UNAVAILABLE: &str = "Session store unavailable";
/// The answer when Redis refuses a write for lack of memory.
pub(crate) const STORE_FULL: &str = "Session store is full: no new sessions until memory is freed";

/// `/health`'s answer when Redis is full or near it: anyone who can reach the port reads it, so
/// it holds no figure, policy or address (those go to the log and to `/metrics`).
pub(crate) const STORE_DEGRADED: &str = "Session store degraded";

/// The answer to a route that ends other sessions, from a session whose last authentication is
/// older than `PRIVILEGED_WINDOW_SECS`.
pub(crate) const REAUTH_REQUIRED: &str = "Re-authentication required";

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a human.
    #[schema(example = "Session expired or invalid")]
    pub detail: String,
}

// ANCHOR: api_error
/// Everything a handler can fail with. Each variant has one status; only `Unavailable` and
/// `Degraded` (Redis's state, not the request's) are a 5xx.
#[derive(Debug)]
pub enum ApiError {
    /// 401: no cookie, a malformed one, or no live session behind it.
    InvalidSession,
    /// 422: the username breaks a rule; the text says which.
    InvalidUsername(String),
    /// 408, 415, 413, 422 or 400: the body stopped coming or is not a JSON login body (see
    /// [`ApiError::status`]).
    BadBody(JsonRejection),
    /// 403: a state-changing request from another site (see `src/origin.rs`).
    CrossSite,
    /// 401: the password check refused the name and password (login, `/reauth`).
    WrongPassword,
    /// 403: ending other sessions needs a recent authentication (`POST /reauth`).
    ReauthRequired,
    /// 404: no such route.
    NotFound,
    /// 404: the handle names none of the caller's live sessions.
    NoSuchSession,
    /// 405: the route exists, the method does not.
    MethodNotAllowed,
    /// 408: the whole request took longer than `REQUEST_TIMEOUT_SECS`.
    RequestTimeout,
    /// 429: over a login limit; the answer carries `Retry-After` in whole seconds.
    Throttled {
        /// How long until the next attempt is allowed.
        retry_after: Duration,
    },
    /// 503: Redis did not answer in time or answered with an error.
    Unavailable(Unavailable),
    /// 503 from `/health`: Redis answers, but is full or near `maxmemory`. The text says which,
    /// with figures, for the log only: the answer says only "Session store degraded".
    Degraded(String),
    /// A session's values could not be read or written (lesson 11): 401 when the session is
    /// gone, 413 over a bound, 422 for a bad name or a non-number increment, 429 for a visitor's
    /// first write over the client's login throttle, 503 when Redis does not answer, and 500 for
    /// a stored value that is not of the type the application asked for (its own mistake).
    Data(DataError),
}

/// `?` on a value's read or write turns its [`DataError`] into the answer above.
impl From<DataError> for ApiError {
    fn from(error: DataError) -> Self {
        match error {
            DataError::Unavailable(error) => ApiError::Unavailable(error),
            DataError::Gone => ApiError::InvalidSession,
            DataError::Throttled(retry_after) => ApiError::Throttled { retry_after },
            other => ApiError::Data(other),
        }
    }
}

/// `?` on a store call turns its [`Unavailable`] into a 503.
impl From<Unavailable> for ApiError {
    fn from(error: Unavailable) -> Self {
        ApiError::Unavailable(error)
    }
}

/// `?` on the `Json` extractor's result turns a bad body into a 4xx.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::BadBody(rejection)
    }
}
// ANCHOR_END: api_error

// ANCHOR: api_error_status
impl ApiError {
    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidSession => StatusCode::UNAUTHORIZED,
            ApiError::InvalidUsername(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadBody(rejection) => match rejection {
                _ if is_body_timeout(rejection) => StatusCode::REQUEST_TIMEOUT,
                JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                JsonRejection::JsonSyntaxError(_) | JsonRejection::JsonDataError(_) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
                // Any other failure to read the body (a broken chunked encoding, a client gone
                // mid-body): the request was bad, not the server.
                _ => StatusCode::BAD_REQUEST,
            },
            ApiError::CrossSite | ApiError::ReauthRequired => StatusCode::FORBIDDEN,
            ApiError::WrongPassword => StatusCode::UNAUTHORIZED,
            ApiError::NotFound | ApiError::NoSuchSession => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Degraded(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Data(error) => match error {
                DataError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                DataError::BadName(_) | DataError::NotANumber(_) => StatusCode::UNPROCESSABLE_ENTITY,
                DataError::Gone => StatusCode::UNAUTHORIZED,
                DataError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
                DataError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }
}
// ANCHOR_END: api_error_status

impl ApiError {
    /// The `detail` text a client sees. A 503 never shows the cause: that is for the log.
    pub fn detail(&self) -> String {
        match self {
            ApiError::InvalidSession => INVALID_SESSION.into(),
            ApiError::InvalidUsername(why) => why.clone(),
            ApiError::BadBody(rejection) => match rejection {
                _ if is_body_timeout(rejection) => "Request body too slow".into(),
                JsonRejection::MissingJsonContentType(_) => "Content-Type must be application/json".into(),
                JsonRejection::JsonSyntaxError(e) => format!("Malformed JSON: {}", inner(&e.body_text())),
                JsonRejection::JsonDataError(e) => format!("Invalid body: {}", inner(&e.body_text())),
                other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => "Request body too large".into(),
                other => format!("Could not read the body: {}", other.body_text()),
            },
            ApiError::CrossSite => "Cross-site request refused".into(),
            ApiError::WrongPassword => "Invalid username or password".into(),
            ApiError::ReauthRequired => REAUTH_REQUIRED.into(),
            ApiError::NotFound => "Not Found".into(),
            ApiError::NoSuchSession => "No such session".into(),
            ApiError::MethodNotAllowed => "Method Not Allowed".into(),
            ApiError::RequestTimeout => "Request took too long".into(),
            ApiError::Throttled { retry_after } => {
                format!("Too many login attempts; try again in {} s", whole_seconds(*retry_after))
            }
            ApiError::Unavailable(error) if error.is_out_of_memory() => STORE_FULL.into(),
            ApiError::Unavailable(_) => STORE_UNAVAILABLE.into(),
            ApiError::Degraded(_) => STORE_DEGRADED.into(),
            ApiError::Data(DataError::NotThatType(..)) => {
                "A session value is not of the type expected".into()
            }
            ApiError::Data(error) => error.to_string(),
        }
    }
}

/// True when the body stopped coming: the server's per-part body timeout (tower-http's
/// `TimeoutBody`) ended the read. Found by walking the rejection's error sources.
fn is_body_timeout(rejection: &JsonRejection) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = source {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// axum's texts start with a generic sentence; keep the part that names the problem.
fn inner(text: &str) -> &str {
    text.split_once(": ").map_or(text, |(_, rest)| rest)
}

/// The cause of a 5xx, attached to the response for the logging layer to report.
#[derive(Clone, Debug)]
pub(crate) struct ServerErrorReport(pub Arc<dyn std::error::Error + Send + Sync>);

/// A wait in whole seconds, rounded up and at least 1: `Retry-After: 0` would invite an
/// immediate retry that is refused again.
fn whole_seconds(wait: Duration) -> u64 {
    wait.as_millis().div_ceil(1000).max(1).try_into().unwrap_or(u64::MAX)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, Json(ErrorBody { detail: self.detail() })).into_response();
        if let ApiError::Throttled { retry_after } = self {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(whole_seconds(retry_after)));
        }
        match self {
            ApiError::Unavailable(cause) => {
                response.extensions_mut().insert(ServerErrorReport(Arc::new(cause)));
            }
            ApiError::Degraded(why) => {
                let why: Box<dyn std::error::Error + Send + Sync> = why.into();
                response.extensions_mut().insert(ServerErrorReport(Arc::from(why)));
            }
            ApiError::Data(error @ DataError::NotThatType(..)) => {
                response.extensions_mut().insert(ServerErrorReport(Arc::new(error)));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unavailable_is_a_server_error() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
        let elapsed = runtime
            .block_on(async {
                tokio::time::timeout(std::time::Duration::ZERO, std::future::pending::<()>()).await
            })
            .expect_err("times out");
        let unavailable = ApiError::Unavailable(Unavailable::TimedOut {
            after: std::time::Duration::ZERO,
            source: elapsed,
        });
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(unavailable.detail(), STORE_UNAVAILABLE);
        let response = unavailable.into_response();
        let report = response.extensions().get::<ServerErrorReport>().expect("the cause rides along");
        assert!(report.0.source().is_some(), "the timeout is kept as the source");
        for client in [ApiError::InvalidSession, ApiError::InvalidUsername("x".into()), ApiError::NotFound] {
            assert!(client.status().is_client_error(), "{client:?}");
            assert!(client.into_response().extensions().get::<ServerErrorReport>().is_none());
        }
        assert_eq!(ApiError::MethodNotAllowed.status(), StatusCode::METHOD_NOT_ALLOWED);
        let degraded = ApiError::Degraded("shard 10.0.0.7:7001: used_memory 99 of maxmemory 100".into());
        assert_eq!(degraded.detail(), STORE_DEGRADED, "no figure or address in the answer");
        let response = degraded.into_response();
        let report = response.extensions().get::<ServerErrorReport>().expect("the why goes to the log");
        assert!(report.0.to_string().contains("10.0.0.7:7001"));
    }

    #[test]
    fn throttled_says_when_to_come_back_in_whole_seconds() {
        for (wait_ms, seconds) in
            [(1, "1"), (999, "1"), (1000, "1"), (1001, "2"), (6000, "6"), (59_999, "60")]
        {
            let error = ApiError::Throttled { retry_after: Duration::from_millis(wait_ms) };
            assert_eq!(error.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(error.detail(), format!("Too many login attempts; try again in {seconds} s"));
            let response = error.into_response();
            assert_eq!(response.headers()[RETRY_AFTER], seconds, "{wait_ms} ms");
        }
    }
}
