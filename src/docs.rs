//! API documentation: `/openapi.json` and Swagger UI at `/docs`, whose files are compiled into
//! the binary (`utoipa-swagger-ui`'s `vendored` feature), so the docs work with no network at all.
//!
//! The paths are not listed here: `src/http/mod.rs` registers each handler once, with utoipa-axum's
//! `routes!`, which adds it to the router and to the OpenAPI document together, so the two
//! cannot drift. This module only adds the document's title and tags and serves the result;
//! it depends on nothing else in the crate. Every answer under `/docs` carries [`DOCS_CSP`].

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_SECURITY_POLICY;
use tower_http::set_header::SetResponseHeaderLayer;
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
            or an `Origin` that names another host than `Host` and is not in ALLOWED_ORIGINS. \
            Ending another session, or every session, needs a login or `POST /reauth` at most \
            PRIVILEGED_WINDOW_SECS old (403 `Re-authentication required` otherwise). \
            `PUT /note` keeps a note in the caller's session (a visitor's before login), bounded \
            by SESSION_DATA_MAX_VALUE_BYTES and SESSION_DATA_MAX_BYTES (413 past them)."
    ),
    tags(
        (name = "sessions", description = "Log in, use and end a session"),
        (name = "every device", description = "The user's sessions on every device: list them with their device and address, revoke one, log out everywhere, re-authenticate, read the security log"),
        (name = "operations", description = "For load balancers and operators"),
        (name = "page", description = "The page at `/`: the cookie flow in a browser"),
        (name = "data", description = "Values kept in the session: a visitor's before login (the `visitor_id` cookie, made at the first write), the session's after it; they move into the session at login and end at logout"),
    )
)]
pub(crate) struct ApiDoc;

// ANCHOR: docs_csp
/// The Content-Security-Policy of `/docs`: Swagger UI's files and the document from this origin
/// only, no inline script, no framing. Swagger UI needs two allowances, checked in Chromium by
/// `tests/browser.rs`: inline `style` (its components set style attributes) and `data:` images
/// (its icons). It shares the API's origin, so a script injected here could call the API with
/// the user's cookie: this policy is what keeps one from running.
pub(crate) const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";
// ANCHOR_END: docs_csp

/// `/docs` (Swagger UI) and `/openapi.json`, serving `api`, under [`DOCS_CSP`].
pub(crate) fn docs_router<S: Clone + Send + Sync + 'static>(api: utoipa::openapi::OpenApi) -> Router<S> {
    let csp = SetResponseHeaderLayer::overriding(CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP));
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", api)).layer(csp)
}
