//! API documentation: `/openapi.json`, generated from the handlers' `#[utoipa::path]`
//! annotations, and Swagger UI at `/docs`, whose files are compiled into the binary
//! (`utoipa-swagger-ui`'s `vendored` feature), so the docs work with no network at all.

use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ErrorBody;
use crate::http::{AppState, LoginRequest, LoginResponse, MessageResponse, ProfileResponse, SessionInfo};

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "session-storage",
        description = "Login sessions stored as Redis hashes, with a sliding 30-minute TTL. \
            Log in with any password; the session travels in the HttpOnly `session_id` cookie."
    ),
    paths(crate::http::login, crate::http::profile, crate::http::session_info, crate::http::logout, crate::http::health),
    components(schemas(LoginRequest, LoginResponse, ProfileResponse, SessionInfo, MessageResponse, ErrorBody)),
    tags(
        (name = "sessions", description = "Log in, use and end a session"),
        (name = "operations", description = "For load balancers and operators"),
    )
)]
pub struct ApiDoc;

/// `/docs` (Swagger UI) and `/openapi.json`.
pub fn docs_router() -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}
