//! Your own data in the session, in a handler (lesson 11): [`SessionData`] for a route that
//! needs a login, [`VisitorData`] for a route that serves everyone (a cart before checkout).
//!
//! Both read the values with the renewal, in the same <!-- cost: GET /note | a live session: the values come with the renewal -->one round trip, so a handler that only
//! reads them costs what `Authenticated` costs. A write is <!-- cost: PUT /note | a live session: the renewal, then the write minus GET /note | a live session: the values come with the renewal -->one more round trip however many
//! values it changes ([`Changes`]), never creates a session that was logged out meanwhile (the
//! answer is then 401, and nothing was written), and cannot lose a concurrent request's write:
//! each value is a field of its own, and a counter is incremented in Redis.

use std::net::IpAddr;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cookies::{read_session_cookies, read_visitor_cookie, visitor_cookie};
use crate::error::ApiError;
use crate::metrics::AuthOutcome;
use crate::store::{Applied, Changes, DataError, SessionId, Values};

use super::AppState;
use super::extract::{Authenticated, ClientAddr, CookieSlots};

// ANCHOR: session_data
/// A live session and its values: take it in a handler instead of [`Authenticated`] to read and
/// write values of your own (`cart`, `note`, `visits`) on the session's hash. Extracting it
/// renews the session as `Authenticated` does, and reads every value with it, in the renewal's
/// pipeline (no extra cost); it refuses what `Authenticated` refuses (401, 403 cross-site, 503).
///
/// ```
/// use session_storage::SessionData;
/// use session_storage::ApiError;
///
/// async fn visit(mut data: SessionData) -> Result<String, ApiError> {
///     let visits = data.increment("visits", 1).await?;
///     Ok(format!("{} has visited {visits} times", data.who().username()))
/// }
/// ```
pub struct SessionData {
    who: Authenticated,
    values: Values,
    state: AppState,
}

impl SessionData {
    /// Who the session is: the same as an [`Authenticated`].
    pub fn who(&self) -> &Authenticated {
        &self.who
    }

    /// The value `name` as a `T` (JSON), as read with the renewal and changed since by this
    /// request's own writes; `None` when there is none. Redis is not asked again.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ApiError> {
        Ok(self.values.get(name)?)
    }

    /// Every value's name.
    pub fn names(&self) -> Vec<String> {
        self.values.names().map(str::to_string).collect()
    }

    /// Sets `name` to `value`: a write to Redis of its own (see [`apply`](Self::apply)).
    pub async fn insert<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), ApiError> {
        self.apply(Changes::new().insert(name, value)?).await.map(|_| ())
    }

    /// Removes `name`: a write of its own.
    pub async fn remove(&mut self, name: &str) -> Result<(), ApiError> {
        self.apply(Changes::new().remove(name)?).await.map(|_| ())
    }

    /// Adds `by` to the counter `name` (from 0) and answers its new value: a write of its own, and
    /// no concurrent increment is lost (`HINCRBY`).
    pub async fn increment(&mut self, name: &str, by: i64) -> Result<i64, ApiError> {
        let applied = self.apply(Changes::new().increment(name, by)?).await?;
        Ok(applied.counters.first().copied().unwrap_or_default())
    }

    /// Applies several changes together, in one script, all or none: 401 when the session is gone
    /// meanwhile (nothing is written or created), 413 over a bound, 422 for an increment of a
    /// value that is not a whole number.
    pub async fn apply(&mut self, changes: Changes) -> Result<Applied, ApiError> {
        let applied = self.state.store.change_values(&self.who.id(), &changes).await?;
        self.values.apply(&changes, &applied);
        Ok(applied)
    }
}

impl<S> FromRequestParts<S> for SessionData
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<SessionData, ApiError> {
        let state = AppState::from_ref(state);
        let (who, values) = with_values(parts, &state).await?.ok_or(ApiError::InvalidSession)?;
        Ok(SessionData { who, values, state })
    }
}
// ANCHOR_END: session_data

/// The live session a request's cookies name, read and renewed with its values (<!-- cost: GET /note | a live session: the values come with the renewal -->one round trip
/// per id tried), after the cross-site check of a state-changing request.
async fn with_values(parts: &Parts, state: &AppState) -> Result<Option<(Authenticated, Values)>, ApiError> {
    if !super::extract::is_safe(&parts.method) {
        super::extract::refuse_cross_site(parts, state)?;
    }
    let ids = read_session_cookies(&parts.headers, state.cookie_secure);
    let found = if ids.is_empty() { Ok(None) } else { state.store.touch_first_with_values(&ids).await };
    state.store.metrics().authenticated(match &found {
        Ok(Some(_)) => AuthOutcome::Ok,
        Ok(None) => AuthOutcome::Unauthorized,
        Err(_) => AuthOutcome::Unavailable,
    });
    Ok(found?.map(|(id, touched, values)| (Authenticated::renewed(parts, state, id, touched), values)))
}

/// Whose values a [`VisitorData`] holds.
enum Owner {
    /// A logged-in session's.
    Session,
    /// A visitor's whose hash exists.
    Visitor(SessionId),
    /// Nobody's yet: the first write creates a visitor.
    Nobody,
}

// ANCHOR: visitor_data
/// The caller's values, whoever the caller is: a logged-in session's (read with its renewal,
/// as [`SessionData`]), else a visitor's (a cart filled before login). A visitor gets a Redis
/// key and a `visitor_id` cookie only at its first write (no key and no cookie for a caller
/// who only looks), and that first write is an attempt of the client's login throttle. At
/// login, the visitor's values move into the new session, and the visitor's id is dead.
///
/// No cookie, no Redis call; a session cookie or a visitor cookie, the renewal's pipeline.
pub struct VisitorData {
    who: Option<Authenticated>,
    owner: Owner,
    /// The client's address: a new visitor is an attempt of its login throttle.
    client: IpAddr,
    values: Values,
    state: AppState,
    slots: Option<CookieSlots>,
}

impl VisitorData {
    /// The logged-in session, if the caller has one.
    pub fn who(&self) -> Option<&Authenticated> {
        self.who.as_ref()
    }

    /// The value `name` as a `T`, as read with the request; `None` when there is none.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ApiError> {
        Ok(self.values.get(name)?)
    }

    /// Sets `name` to `value` (a new visitor's first write is also an attempt of the client's
    /// login throttle).
    pub async fn insert<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), ApiError> {
        self.apply(Changes::new().insert(name, value)?).await.map(|_| ())
    }

    /// Removes `name`.
    pub async fn remove(&mut self, name: &str) -> Result<(), ApiError> {
        self.apply(Changes::new().remove(name)?).await.map(|_| ())
    }

    /// Adds `by` to the counter `name` and answers its new value.
    pub async fn increment(&mut self, name: &str, by: i64) -> Result<i64, ApiError> {
        let applied = self.apply(Changes::new().increment(name, by)?).await?;
        Ok(applied.counters.first().copied().unwrap_or_default())
    }

    /// Applies several changes together, in one script, all or none. A visitor whose key expired
    /// meanwhile starts again as a new one.
    pub async fn apply(&mut self, changes: Changes) -> Result<Applied, ApiError> {
        let store = &self.state.store;
        let applied = match (&self.owner, &self.who) {
            (Owner::Session, Some(who)) => store.change_values(&who.id(), &changes).await?,
            (Owner::Visitor(id), _) => match store.change_visitor_values(id, &changes, None).await {
                Err(DataError::Gone) => self.first_write(&changes).await?,
                other => other?,
            },
            (Owner::Nobody, _) => self.first_write(&changes).await?,
            (Owner::Session, None) => return Err(ApiError::InvalidSession),
        };
        self.values.apply(&changes, &applied);
        Ok(applied)
    }

    /// A new visitor's first write: a new id, the throttle, the write, and the cookie.
    async fn first_write(&mut self, changes: &Changes) -> Result<Applied, ApiError> {
        let id = SessionId::new();
        let applied = self.state.store.change_visitor_values(&id, changes, Some(self.client)).await?;
        let cookie = visitor_cookie(&id, self.state.store.lifetimes().idle, self.state.cookie_secure);
        if let Some(slots) = &self.slots {
            slots.set_visitor(cookie);
        }
        self.owner = Owner::Visitor(id);
        Ok(applied)
    }
}

impl<S> FromRequestParts<S> for VisitorData
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<VisitorData, ApiError> {
        let app = AppState::from_ref(state);
        let slots = parts.extensions.get::<CookieSlots>().cloned();
        let Ok(ClientAddr(client)) = ClientAddr::from_request_parts(parts, state).await;
        if let Some((who, values)) = with_values(parts, &app).await? {
            let owner = Owner::Session;
            return Ok(VisitorData { who: Some(who), owner, client, values, state: app, slots });
        }
        let (owner, values) = match read_visitor_cookie(&parts.headers, app.cookie_secure) {
            Some(id) => match app.store.visitor_values(&id).await? {
                Some(values) => {
                    // Renewed in Redis, so renewed in the browser too, as a session's cookie is.
                    if let Some(slots) = &slots {
                        slots.set_visitor(visitor_cookie(&id, app.store.lifetimes().idle, app.cookie_secure));
                    }
                    (Owner::Visitor(id), values)
                }
                None => (Owner::Nobody, Values::default()),
            },
            None => (Owner::Nobody, Values::default()),
        };
        Ok(VisitorData { who: None, owner, client, values, state: app, slots })
    }
}
// ANCHOR_END: visitor_data
