//! The service's use of session data (lesson 11): a logged-in session's values, read with its
//! renewal and written with one script, and a visitor's, created at its first write. The
//! mechanism (the values, the batch of changes, the script) is in `data.rs`.

use std::net::IpAddr;

use crate::client::client_key;

use super::data::{Applied, Changes, Creating, DataError, DataLimits, Values, renew_all, write_data};
use super::throttle::{Limit, throttle};
use super::{LoginLimits, Session, SessionId, SessionIds, SessionStore, Touched, Unavailable, fields};

impl SessionStore {
    /// The same store with other bounds on each session's values (`SESSION_DATA_MAX_VALUES`, ...).
    pub fn with_data_limits(self, limits: DataLimits) -> SessionStore {
        self.with(|inner| inner.data_limits = limits)
    }

    /// The bounds on each session's (and visitor's) values.
    pub fn data_limits(&self) -> DataLimits {
        self.inner.data_limits
    }

    /// [`touch_first`](Self::touch_first) with the session's values: <!-- sends: GET /note | a live session: the values come with the renewal -->the renewal with `HGETALL`
    /// for <!-- sends: GET /profile | a live session -->`HMGET` ([`renew_all`]), <!-- cost: GET /note | a live session: the values come with the renewal -->one round trip per id tried, the values
    /// in the same one. A hash without a `user_id` or `username` is not a session: it is deleted
    /// and refused, as by the renewal without values.
    pub async fn touch_first_with_values(
        &self,
        ids: &SessionIds,
    ) -> Result<Option<(SessionId, Touched, Values)>, Unavailable> {
        // The same when done twice: it may be sent again after a lost connection.
        let mut con = self.connection().idempotent();
        self.within_deadline(async {
            for id in ids.iter() {
                let key = self.inner.keys.session(&self.at_rest(&id));
                let Some((hash, ttl_secs)) = renew_all(&mut con, &key, self.inner.lifetimes).await? else {
                    continue;
                };
                let (Some(user_id), Some(username), Some(created_at)) = (
                    hash.get(fields::USER_ID),
                    hash.get(fields::USERNAME),
                    hash.get(fields::CREATED_AT).and_then(|at| at.parse().ok()),
                ) else {
                    redis::cmd("DEL").arg(&key).exec_async(&mut con).await?;
                    continue;
                };
                let touched = Touched { session: Session::new(user_id, username, created_at), ttl_secs };
                return Ok(Some((id, touched, Values::from_hash(&hash))));
            }
            Ok(None)
        })
        .await
    }

    // ANCHOR: change_values
    /// Applies `changes` to the values of session `id` (the cookie's id): one script, all or
    /// nothing. A session that is gone is [`DataError::Gone`], and nothing is
    /// written or created: a write can never bring back a session that was logged out.
    pub async fn change_values(&self, id: &SessionId, changes: &Changes) -> Result<Applied, DataError> {
        if changes.is_empty() {
            return Ok(Applied::default());
        }
        let mut con = self.connection();
        let key = self.inner.keys.session(&self.at_rest(id));
        let how = (Creating::Never, self.inner.data_limits, self.inner.lifetimes.idle);
        self.within_deadline(write_data(&mut con, &key, changes, how)).await?
    }
    // ANCHOR_END: change_values

    /// A visitor's values, its TTL renewed like a session's (<!-- cost: GET /note | a visitor -->one round trip), or `None` when
    /// the visitor is gone (or never wrote anything).
    pub async fn visitor_values(&self, id: &SessionId) -> Result<Option<Values>, Unavailable> {
        // The same when done twice: it may be sent again after a lost connection.
        let mut con = self.connection().idempotent();
        let key = self.inner.keys.visitor(&self.at_rest(id));
        let renewed = self.within_deadline(renew_all(&mut con, &key, self.inner.lifetimes)).await?;
        Ok(renewed.map(|(hash, _)| Values::from_hash(&hash)))
    }

    /// Applies `changes` to visitor `id`'s values. With `new_from` (the visitor holds no key
    /// yet: this is its first write) the visitor is created, and its creation is an attempt of
    /// that client's login throttle (<!-- cost: PUT /note | a visitor's first save: the throttle, then the write -->two round trips: the throttle, then the write): an anonymous client
    /// cannot make the service keep more than its login throttle allows. Without it, a visitor
    /// that is gone is [`DataError::Gone`].
    pub async fn change_visitor_values(
        &self,
        id: &SessionId,
        changes: &Changes,
        new_from: Option<IpAddr>,
    ) -> Result<Applied, DataError> {
        if changes.is_empty() {
            return Ok(Applied::default());
        }
        let mut con = self.connection();
        let deadline = self.deadline();
        let per_client = self.inner.login_limits.per_client;
        if let Some(client) = new_from
            && per_client > 0
        {
            let limit = [Limit { key: self.inner.keys.login_client(&client_key(client)), limit: per_client }];
            if let Some(wait) = self.before(deadline, throttle(&mut con, &limit, LoginLimits::PERIOD)).await?
            {
                return Err(DataError::Throttled(wait));
            }
        }
        let key = self.inner.keys.visitor(&self.at_rest(id));
        let creating = if new_from.is_some() { Creating::Visitor } else { Creating::Never };
        let how = (creating, self.inner.data_limits, self.inner.lifetimes.idle);
        self.before(deadline, write_data(&mut con, &key, changes, how)).await?
    }

    /// Ends visitor `id` (a logout from its browser): one `DEL`. True when it existed.
    pub async fn end_visitor(&self, id: &SessionId) -> Result<bool, Unavailable> {
        let mut con = self.connection();
        let key = self.inner.keys.visitor(&self.at_rest(id));
        let deleted: u64 = self.within_deadline(redis::cmd("DEL").arg(&key).query_async(&mut con)).await?;
        Ok(deleted == 1)
    }
}
