//! The page at `/`: the cookie flow, seen in a browser.
//!
//! One small HTML page, its script and its style sheet, compiled into the binary
//! (`include_str!`): no CDN, no build step, no framework. The script calls the same routes as
//! the curl walkthrough. Every answer carries strict headers:
//!
//! - `Content-Security-Policy`: scripts, styles, images and requests from this origin only, no
//!   inline script or style (so an injected `<script>` does not run), no framing, no `<base>`,
//!   forms post only here;
//! - `X-Content-Type-Options: nosniff`: a browser never guesses another type than the one sent;
//! - `Referrer-Policy: same-origin`: the page's address never leaks to another site;
//! - `Cache-Control: no-store`: nothing about a session is kept by a cache.

use axum::Router;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX_HTML: &str = include_str!("page/index.html");
const APP_JS: &str = include_str!("page/app.js");
const APP_CSS: &str = include_str!("page/app.css");

// ANCHOR: page_headers
/// The page's Content-Security-Policy: everything from this origin only, nothing inline.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The headers every answer of the page carries.
fn page_headers(content_type: &'static str) -> [(HeaderName, HeaderValue); 5] {
    [
        (CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (REFERRER_POLICY, HeaderValue::from_static("same-origin")),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}
// ANCHOR_END: page_headers

/// The page: a login form, then the profile, the session's countdown, its cookie and the list
/// of the user's sessions.
#[utoipa::path(
    get, path = "/", tag = "page",
    responses(
        (status = 200, description = "The page (HTML, with its script at /page/app.js and style sheet at /page/app.css), under a strict Content-Security-Policy", content_type = "text/html", body = String),
    )
)]
pub async fn index() -> impl IntoResponse {
    (page_headers("text/html; charset=utf-8"), INDEX_HTML)
}

async fn script() -> impl IntoResponse {
    (page_headers("text/javascript; charset=utf-8"), APP_JS)
}

async fn style() -> impl IntoResponse {
    (page_headers("text/css; charset=utf-8"), APP_CSS)
}

/// The page's script and style sheet (the page itself is registered with the API routes, so
/// that the OpenAPI document lists it).
pub(crate) fn assets<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/page/app.js", get(script)).route("/page/app.css", get(style))
}
