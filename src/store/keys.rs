//! The key layout: every key the service writes, its type, its bound and its slot.
//!
//! | key | type | what | bound | slot rule (Redis Cluster) |
//! |---|---|---|---|---|
//! | `session:<uuid>` | hash `user_id`, `username`, `created_at`, `device`, `ip`, and the application's values `data:<name>` (lesson 11) | one login session | TTL: idle, capped by the absolute lifetime; values bounded by [`DataLimits`](super::DataLimits) | no hash tag: sessions spread over every shard |
//! | `visitor:<uuid>` | hash `created_at` and values `data:<name>` | a visitor's values before login (a cart), created at its first write (lesson 11) | TTL: idle, capped by the absolute lifetime; values bounded by [`DataLimits`](super::DataLimits); each creation is an attempt of the client's login throttle | no hash tag |
//! | `user:{<user_id>}:sessions` | sorted set: session id → absolute expiry (unix ms) | the index of one user's sessions (lesson 06) | at most [`MAX_SESSIONS_PER_USER`](super::MAX_SESSIONS_PER_USER) members; `PEXPIREAT` at its largest score | hash tag `{<user_id>}`: one user's keys share a slot |
//! | `user:{<user_id>}:events` | stream: `type`, `device`, `ip`, `handle` per entry | the user's security log (lesson 10) | about [`MAX_EVENTS`](super::MAX_EVENTS) entries (`MAXLEN ~`); TTL: the absolute lifetime, set again by each write of the user's own | the index's hash tag |
//! | `user:{<user_id>}:refused` | hash: client → JSON `count`, `at`, `type`, `device`, `ip` | refused logins of the user (429, wrong password), one entry per client, rewritten in place (lesson 10) | at most [`MAX_REFUSING_CLIENTS`](super::MAX_REFUSING_CLIENTS) fields; written only while the user's log exists, expiring when the log does | the index's hash tag |
//! | `moved:{session:<uuid>}` | string: the new session's id | what a re-authenticated session became, so that a logout with the old cookie ends the new one too (`rotate.rs`) | TTL 60 s ([`MOVED_TTL`](super::MOVED_TTL)); one per re-authentication, which needs a live session | the hash tag is the old session's key: its slot |
//! | `login:{<client>}` | string: a time in unix ms | the login throttle's count for one client (lesson 09); `<client>` is an IPv4 address or an IPv6 /64 | TTL: at most the throttle's period (60 s) | hash tag `{<client>}` |
//! | `login:{<client>}:<user_id>` | string: a time in unix ms | the throttle's count for one username from that client | TTL: at most 60 s | the same slot as its client's key |
//!
//! Nothing else is ever written, and every key has a TTL. There is no user registry: a user's
//! id is derived from the name ([`user_id_for`](super::user_id_for)), so no key grows with the
//! users and no login touches a key every other login touches. What one user leaves in Redis
//! ends at most an absolute lifetime after that user's last session: the index goes with its
//! last entry (a logout removes it; an index nobody touches again expires at its newest session's
//! absolute deadline), and the security log an absolute lifetime after the last event that set
//! its TTL (every event of the user's own does; the last is often the logout).
//!
//! Every command, script and transaction names the keys of one slot only (Redis Cluster,
//! lesson 07): a session key alone, a visitor key alone, an index alone, an index with its user's log (one slot,
//! through the `{<user_id>}` tag), or one client's two throttle keys, which share their slot
//! through the `{<client>}` tag. Where a step touches several sessions (the
//! listing, logout everywhere, a login that ends older sessions), it sends one single-key
//! command per session, never a multi-key command.

use std::sync::Arc;

use super::SessionId;

/// Prefix of every session key.
const SESSION_PREFIX: &str = "session:";
/// Prefix of the login throttle's keys.
const LOGIN_PREFIX: &str = "login:";

/// The most sessions one user may hold at once (`MAX_SESSIONS_PER_USER`): a login beyond it ends
/// that user's oldest session. It is also the size bound of the user's index.
pub const MAX_SESSIONS_PER_USER: usize = 50;

/// The names of the keys the service writes, with an optional namespace in front.
///
/// The service uses no namespace (`session:<uuid>`, as in the original). The lessons use their own (`lesson04:session:<uuid>`, ...) so that they never
/// touch a real session in the Redis they run against.
///
/// The prefix is shared (`Arc<str>`), so cloning the store for every request allocates nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keys {
    prefix: Arc<str>,
}

impl Keys {
    /// Every key starts with `prefix`, e.g. `lesson04:`.
    pub fn prefixed(prefix: &str) -> Keys {
        Keys { prefix: Arc::from(prefix) }
    }

    /// `session:<uuid>`.
    pub fn session(&self, id: &SessionId) -> String {
        format!("{}{SESSION_PREFIX}{id}", self.prefix)
    }

    /// `visitor:<uuid>`, a visitor's values before login (lesson 11).
    pub fn visitor(&self, id: &SessionId) -> String {
        format!("{}visitor:{id}", self.prefix)
    }

    /// `login:{198.51.100.7}`, the login throttle's count for one client (lesson 09).
    ///
    /// The braces are a hash tag: both of a client's throttle keys share one slot, so one script
    /// checks both.
    pub fn login_client(&self, client: &str) -> String {
        format!("{}{LOGIN_PREFIX}{{{client}}}", self.prefix)
    }

    /// `login:{198.51.100.7}:user_7`, the throttle's count for one username from one client.
    pub fn login_user(&self, client: &str, user_id: &str) -> String {
        format!("{}{LOGIN_PREFIX}{{{client}}}:{user_id}", self.prefix)
    }

    /// `user:{user_7}:sessions`, the index of one user's sessions (lesson 06).
    ///
    /// The braces are a Redis Cluster hash tag: only `user_7` is hashed to pick the slot, so
    /// every key named `...{user_7}...` lives on the same shard and one script may name them
    /// together: the index and the user's security log ([`user_events`](Self::user_events)).
    pub fn user_sessions(&self, user_id: &str) -> String {
        format!("{}user:{{{user_id}}}:sessions", self.prefix)
    }

    /// `user:{user_7}:events`, the user's security log, a stream (lesson 10); the same slot as
    /// the user's index.
    pub fn user_events(&self, user_id: &str) -> String {
        format!("{}user:{{{user_id}}}:events", self.prefix)
    }

    /// `moved:{session:<id>}`: what a re-authenticated session became (see `rotate.rs`); its
    /// hash tag is the session's key, so it lives in the session's slot.
    pub fn moved(&self, id: &SessionId) -> String {
        format!("{}moved:{{{}}}", self.prefix, self.session(id))
    }

    /// `user:{user_7}:refused`, the user's refused logins, one entry per client (lesson 10);
    /// the same slot as the user's log.
    pub fn user_refusals(&self, user_id: &str) -> String {
        format!("{}user:{{{user_id}}}:refused", self.prefix)
    }

    /// Both of one user's keys, which share a slot: what one script may name together.
    pub fn user(&self, user_id: &str) -> UserKeys {
        UserKeys { index: self.user_sessions(user_id), log: self.user_events(user_id) }
    }
}

/// One user's keys, in one slot (their hash tag is the user id): the index of the user's
/// sessions and the user's security log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserKeys {
    /// `user:{<user_id>}:sessions`.
    pub index: String,
    /// `user:{<user_id>}:events`.
    pub log: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_redacted_form() {
        let id = SessionId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").expect("canonical");
        assert_eq!(Keys::default().session(&id), "session:0f8fad5b-d9cb-469f-a165-70867728950e");
        let lesson = Keys::prefixed("lesson04:");
        assert_eq!(lesson.session(&id), "lesson04:session:0f8fad5b-d9cb-469f-a165-70867728950e");
        assert_eq!(
            (lesson.login_client("198.51.100.7"), lesson.login_user("198.51.100.7", "user_7")),
            ("lesson04:login:{198.51.100.7}".into(), "lesson04:login:{198.51.100.7}:user_7".into())
        );
        assert_eq!(id.redacted(), "0f8fad5b…");
    }
}
