//! API documentation: `/openapi.json` and Swagger UI at `/docs`, whose files are compiled into
//! the binary (`utoipa-swagger-ui`'s `vendored` feature), so the docs work with no network at all.
//!
//! The paths are not listed here: `src/http/mod.rs` registers each handler once, with utoipa-axum's
//! `routes!`, which adds it to the router and to the OpenAPI document together, so the two
//! cannot drift. This module only adds the document's title and tags and serves the result;
//! it depends on nothing else in the crate.

use axum::Router;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// The document's frame: title, description and tags. The paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "session-storage",
        description = "Login sessions stored as Redis hashes, with a sliding 30-minute TTL. \
            Log in with any password; the session travels in the HttpOnly `session_id` cookie \
            (`__Host-session_id`, Secure, when the service runs with COOKIE_SECURE=true). \
            Slow or idle connections are closed (HEADER_TIMEOUT_SECS, IDLE_TIMEOUT_SECS), a request \
            that takes too long is answered 408, and connections past MAX_CONNECTIONS are closed. \
            Every state-changing route refuses cross-site requests (403): `Sec-Fetch-Site: cross-site`, \
            or an `Origin` that names another host than `Host` and is not in ALLOWED_ORIGINS."
    ),
    tags(
        (name = "sessions", description = "Log in, use and end a session"),
        (name = "every device", description = "The user's sessions on every device: list them, revoke one, log out everywhere"),
        (name = "operations", description = "For load balancers and operators"),
        (name = "page", description = "The page at `/`: the cookie flow in a browser"),
    )
)]
pub(crate) struct ApiDoc;

/// `/docs` (Swagger UI) and `/openapi.json`, serving `api`.
pub(crate) fn docs_router<S: Clone + Send + Sync + 'static>(api: utoipa::openapi::OpenApi) -> Router<S> {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", api))
}
