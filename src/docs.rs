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
    let document = with_link_fields_named(serde_json::to_value(&api).unwrap_or_default());
    Router::new().merge(SwaggerUi::new("/docs").external_url_unchecked("/openapi.json", document)).layer(csp)
}

/// The document with each link's fields named as OpenAPI names them (`operationId`,
/// `operationRef`, `requestBody`): utoipa 5.5 writes them in snake case, which no tool reads.
fn with_link_fields_named(mut document: serde_json::Value) -> serde_json::Value {
    fn rename(value: &mut serde_json::Value, in_links: bool) {
        match value {
            serde_json::Value::Object(map) => {
                if in_links {
                    for (from, to) in [
                        ("operation_id", "operationId"),
                        ("operation_ref", "operationRef"),
                        ("request_body", "requestBody"),
                    ] {
                        if let Some(field) = map.remove(from) {
                            map.insert(to.to_string(), field);
                        }
                    }
                }
                for (key, field) in map.iter_mut() {
                    // A link object is a value of a response's `links` map.
                    if key == "links" {
                        if let serde_json::Value::Object(links) = field {
                            links.values_mut().for_each(|link| rename(link, true));
                        }
                    } else if !in_links {
                        rename(field, false);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|item| rename(item, false)),
            _ => {}
        }
    }
    rename(&mut document, false);
    document
}

// ANCHOR: session_links
/// Links from `POST /login`'s answer to every operation that takes the session cookie: the new
/// `session_id` in the body is the cookie those operations read. A reader of the document sees
/// how the routes chain, and an API fuzzer (schemathesis's stateful phase, `.ci/schemathesis`)
/// follows them: it logs in, then calls the other routes with the session it got.
pub(crate) fn link_the_session(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::link::LinkBuilder;
    let mut targets = Vec::new();
    for item in api.paths.paths.values() {
        let operations = [&item.get, &item.put, &item.post, &item.delete];
        for operation in operations.into_iter().flatten() {
            let takes_the_cookie = operation.parameters.iter().flatten().any(|parameter| {
                parameter.name == "session_id"
                    && parameter.parameter_in == utoipa::openapi::path::ParameterIn::Cookie
            });
            if let (true, Some(id)) = (takes_the_cookie, operation.operation_id.as_ref())
                && id != "login"
            {
                targets.push(id.clone());
            }
        }
    }
    let Some(login) = api.paths.paths.get_mut("/login").and_then(|item| item.post.as_mut()) else {
        return;
    };
    let Some(RefOr::T(ok)) = login.responses.responses.get_mut("200") else { return };
    for id in targets {
        let link = LinkBuilder::new()
            .operation_id(&id)
            .parameter("session_id", "$response.body#/session_id")
            .description("The session this login started")
            .build();
        ok.links.insert(id, RefOr::T(link));
    }
}
// ANCHOR_END: session_links

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_the_field_names_openapi_uses() {
        let document = serde_json::json!({
            "paths": {"/login": {"post": {"operationId": "login", "responses": {"200": {"links": {
                "profile": {"operation_id": "profile", "parameters": {"session_id": "$response.body#/session_id"}},
                "other": {"operation_ref": "#/paths/~1x/get", "request_body": 1}
            }}}}}},
            "components": {"schemas": {"Thing": {"properties": {"operation_id": {"type": "string"}}}}}
        });
        let named = with_link_fields_named(document);
        let links = &named["paths"]["/login"]["post"]["responses"]["200"]["links"];
        assert_eq!(links["profile"]["operationId"], "profile");
        assert!(links["profile"].get("operation_id").is_none());
        assert_eq!(links["other"]["operationRef"], "#/paths/~1x/get");
        assert_eq!(links["other"]["requestBody"], 1);
        // A property that happens to be called so, outside a link, keeps its name.
        assert!(named["components"]["schemas"]["Thing"]["properties"].get("operation_id").is_some());
    }
}
