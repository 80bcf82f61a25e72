//! What a handler needs, as extractors: [`Authenticated`] (a live session, read and renewed
//! in <!-- cost: GET /profile | a live session -->one round trip), [`SameOrigin`] (no cross-site request), [`ClientAddr`] (who is asking) and
//! [`ClientDevice`] (on what device), and the layer that gives every answer the renewed cookie ([`renew_cookie`]).
//!
//! ## Why a layer writes the renewed cookie
//! Every authenticated request renews the session in Redis (the sliding TTL), so the browser's
//! cookie must be sent again with a fresh `Max-Age`, or the browser would drop it while Redis
//! still holds the session. An extractor cannot touch the response, and making every handler
//! return the cookie is the plumbing this module exists to remove. So [`renew_cookie`], a
//! middleware that [`app_with`](super::app_with) puts around every route (yours included), hands
//! each request an empty slot; [`Authenticated`] fills it with the renewed cookie; after the
//! handler, the layer adds it to the answer unless the handler set a cookie of its own (a
//! logout clears it). A handler that takes `Authenticated` writes no cookie code at all.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

use crate::client::client_address;
use crate::cookies::{read_session_cookies, session_cookie};
use crate::error::ApiError;
use crate::metrics::AuthOutcome;
use crate::origin::cross_site;
use crate::store::{Caller, Device, Session, SessionId, Touched};
use crate::user_agent::request_device;

use super::AppState;

// ANCHOR: authenticated
/// A live session: put it in a handler's arguments and the handler runs only for a caller with
/// one. Extracting it reads and renews the session with one pipeline (`store::renew`) per
/// well-formed `session_id` cookie, tried in order until one is live, and the answer carries the
/// renewed cookie through [`renew_cookie`].
///
/// It refuses, with the service's own answers and before the handler runs:
/// - 403 `{"detail":"Cross-site request refused"}` on a state-changing method (`POST`, `PUT`,
///   `PATCH`, `DELETE`) from another site (see [`SameOrigin`]), before Redis is asked;
/// - 401 `{"detail":"Session expired or invalid"}` without a live session (a malformed cookie
///   costs no Redis call);
/// - 503 `{"detail":"Session store unavailable"}` when Redis does not answer within
///   `REDIS_TIMEOUT_MS`.
///
/// ```
/// use session_storage::Authenticated;
///
/// async fn hello(who: Authenticated) -> String {
///     format!("hello {} ({})", who.username(), who.user_id())
/// }
/// ```
///
/// It works with any router state from which an [`AppState`] can be taken (`FromRef`).
#[derive(Clone, Debug)]
pub struct Authenticated {
    id: SessionId,
    at_rest: SessionId,
    touched: Touched,
    cookie: HeaderValue,
}

impl Authenticated {
    /// The user's stable id, `user_<n>`.
    pub fn user_id(&self) -> &str {
        &self.touched.session.user_id
    }

    /// The name the user logged in with.
    pub fn username(&self) -> &str {
        &self.touched.session.username
    }

    /// The session's public name (16 hex characters of the SHA-256 of its id): safe to show and
    /// to log, useless to hijack, the one `GET /sessions` lists.
    pub fn handle(&self) -> String {
        self.at_rest.handle()
    }

    /// Unix seconds at login (Redis's clock).
    pub fn created_at(&self) -> u64 {
        self.touched.session.created_at
    }

    /// Seconds until the session expires if unused: the TTL just set (the idle lifetime, or less
    /// when the absolute lifetime is closer).
    pub fn expires_in(&self) -> u64 {
        self.touched.ttl_secs
    }

    /// The session's fields as stored.
    pub fn session(&self) -> &Session {
        &self.touched.session
    }

    /// The session id itself: the service's own routes need it to tell "this device" apart.
    /// Not public: whoever holds an id is logged in, so handlers get the [`handle`](Self::handle).
    pub(crate) fn id(&self) -> SessionId {
        self.id
    }

    /// The session's id as Redis holds it (see `SessionStore::at_rest`): what the index lists.
    pub(crate) fn at_rest(&self) -> SessionId {
        self.at_rest
    }

    /// The renewed `Set-Cookie` value this request's answer carries.
    pub(crate) fn cookie(&self) -> &HeaderValue {
        &self.cookie
    }
}

impl<S> FromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Authenticated, ApiError> {
        let state = AppState::from_ref(state);
        if !is_safe(&parts.method) {
            refuse_cross_site(parts, &state)?;
        }
        let ids = read_session_cookies(&parts.headers, state.cookie_secure);
        let found = if ids.is_empty() { Ok(None) } else { state.store.touch_first(&ids).await };
        state.store.metrics().authenticated(match &found {
            Ok(Some(_)) => AuthOutcome::Ok,
            Ok(None) => AuthOutcome::Unauthorized,
            Err(_) => AuthOutcome::Unavailable,
        });
        let (id, touched) = found?.ok_or(ApiError::InvalidSession)?;
        Ok(Authenticated::renewed(parts, &state, id, touched))
    }
}

/// `Option<Authenticated>`: for a route that serves everyone and says more to a caller with a
/// session. No cookie, or a dead or malformed one, is `None` (the handler runs); a Redis that
/// does not answer is still the 503, and a cross-site state-changing request still the 403:
/// "Redis is down" must never quietly become "you are nobody".
impl<S> OptionalFromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Authenticated>, ApiError> {
        match <Authenticated as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(who) => Ok(Some(who)),
            Err(ApiError::InvalidSession) => Ok(None),
            Err(other) => Err(other),
        }
    }
}
// ANCHOR_END: authenticated

impl Authenticated {
    /// The session `id`, just read and renewed (`touched`): its renewed cookie goes into the
    /// request's slot, for [`renew_cookie`] to put on the answer.
    pub(super) fn renewed(parts: &Parts, state: &AppState, id: SessionId, touched: Touched) -> Authenticated {
        let cookie = session_cookie(&id, Duration::from_secs(touched.ttl_secs), state.cookie_secure);
        if let Some(slots) = parts.extensions.get::<CookieSlots>() {
            slots.set_session(cookie.clone());
        }
        let at_rest = state.store.at_rest(&id);
        Authenticated { id, at_rest, touched, cookie }
    }

    /// Who is asking, as the store's "my sessions" operations need it: the user, this session's
    /// id and the moment it last authenticated (for the privileged window).
    pub(crate) fn caller(&self) -> Caller {
        Caller { user_id: self.user_id().to_string(), session: self.id, authenticated_at: self.created_at() }
    }
}

/// `GET`, `HEAD`, `OPTIONS` and `TRACE` change nothing, so a cross-site one is harmless.
pub(super) fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// The slots [`renew_cookie`] gives each request: [`Authenticated`] fills the session's, a
/// visitor's read or first write ([`VisitorData`](super::VisitorData), lesson 11) the visitor's.
#[derive(Clone, Default)]
pub(super) struct CookieSlots(Arc<Slots>);

#[derive(Default)]
struct Slots {
    session: OnceLock<HeaderValue>,
    /// The last visitor cookie set: a visitor that ended during the request is followed by a
    /// new one, whose cookie must win.
    visitor: Mutex<Option<HeaderValue>>,
}

impl CookieSlots {
    /// Puts `cookie` (the renewed session's) on the answer.
    pub(super) fn set_session(&self, cookie: HeaderValue) {
        let _ = self.0.session.set(cookie);
    }

    /// Puts `cookie` (a visitor's) on the answer, in place of any set before in this request.
    pub(super) fn set_visitor(&self, cookie: HeaderValue) {
        if let Ok(mut slot) = self.0.visitor.lock() {
            *slot = Some(cookie);
        }
    }

    /// The cookies the request's extractors left for the answer.
    fn filled(&self) -> Vec<HeaderValue> {
        let visitor = self.0.visitor.lock().ok().and_then(|mut slot| slot.take());
        self.0.session.get().cloned().into_iter().chain(visitor).collect()
    }
}

/// A `Set-Cookie` value's cookie name: what comes before its first `=`.
fn cookie_name(set_cookie: &HeaderValue) -> &[u8] {
    set_cookie.as_bytes().split(|&byte| byte == b'=').next().unwrap_or_default()
}

// ANCHOR: renew_cookie
/// The middleware that puts the renewed session cookie on every answer whose request was
/// [`Authenticated`] (and a visitor's cookie), unless the handler set a cookie of that name
/// itself. [`app_with`](super::app_with) and `run` install it around every route; a router you
/// assemble yourself gets it with `.layer(axum::middleware::from_fn(session_storage::http::renew_cookie))`.
pub async fn renew_cookie(mut request: Request, next: Next) -> Response {
    let slots = CookieSlots::default();
    request.extensions_mut().insert(slots.clone());
    let mut response = next.run(request).await;
    for cookie in slots.filled() {
        let set =
            response.headers().get_all(SET_COOKIE).iter().any(|set| cookie_name(set) == cookie_name(&cookie));
        if !set {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
    }
    response
}
// ANCHOR_END: renew_cookie

/// An extractor that admits only same-origin requests (or ones with neither header): put it
/// first in a state-changing handler that needs no session (login, logout), and a cross-site
/// request is answered 403 before anything else happens. [`Authenticated`] makes the same check
/// by itself on every state-changing method.
pub struct SameOrigin;

impl<S> FromRequestParts<S> for SameOrigin
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<SameOrigin, ApiError> {
        refuse_cross_site(parts, &AppState::from_ref(state))?;
        Ok(SameOrigin)
    }
}

pub(super) fn refuse_cross_site(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    match cross_site(&parts.headers, &state.allowed_origins) {
        None => Ok(()),
        Some(why) => {
            tracing::info!(why, path = %parts.uri.path(), "cross-site request refused");
            Err(ApiError::CrossSite)
        }
    }
}

// ANCHOR: client_addr
/// The client's address (see `src/client.rs`): the TCP peer, or behind a proxy listed in
/// `TRUSTED_PROXIES`, the address that proxy saw. The login throttle counts per client.
///
/// The peer comes from axum's `ConnectInfo<SocketAddr>`, which [`serve`](crate::server::serve) and
/// [`run`](crate::run) provide; a router served with plain `axum::serve` needs
/// `.into_make_service_with_connect_info::<SocketAddr>()`. Without it every request is counted
/// as one client, `0.0.0.0` (a warning is logged once): throttling stays on, never bypassed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl<S> FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ClientAddr, Infallible> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            static WARNED: AtomicBool = AtomicBool::new(false);
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "no ConnectInfo<SocketAddr> on requests: every client counts as 0.0.0.0 for the login throttle"
                );
            }
            return Ok(ClientAddr(IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
        };
        let state = AppState::from_ref(state);
        Ok(ClientAddr(client_address(peer.ip(), &parts.headers, &state.trusted_proxies)))
    }
}
// ANCHOR_END: client_addr

// ANCHOR: client_device
/// The device a request comes from: its `User-Agent` named ("Firefox on Linux", see
/// `src/user_agent.rs`) and its [`ClientAddr`]. Login stores it in the session; the security log
/// records it with every event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientDevice(pub Device);

impl<S> FromRequestParts<S> for ClientDevice
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ClientDevice, Infallible> {
        let ClientAddr(ip) = <ClientAddr as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        Ok(ClientDevice(request_device(&parts.headers, ip)))
    }
}
// ANCHOR_END: client_device

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_state_changing_methods_are_checked() {
        for safe in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(is_safe(&safe), "{safe}");
        }
        for changing in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(!is_safe(&changing), "{changing}");
        }
    }
}
