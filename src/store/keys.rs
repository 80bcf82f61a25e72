//! The key layout: every key the service writes, its type, its bound and its slot.
//!
//! | key | type | what | bound | slot rule (Redis Cluster) |
//! |---|---|---|---|---|
//! | `session:<uuid>` | hash `user_id`, `username`, `created_at` | one login session | TTL: idle, capped by the absolute lifetime | no hash tag: sessions spread over every shard |
//! | `user:{<user_id>}:sessions` | sorted set: session id → absolute expiry (unix ms) | the index of one user's sessions (lesson 06) | at most [`MAX_SESSIONS_PER_USER`](super::MAX_SESSIONS_PER_USER) members; `PEXPIREAT` at its largest score | hash tag `{<user_id>}`: one user's keys share a slot |
//! | `{users}:ids` | hash `username` → `user_<n>` | the user registry: a stable id per name | none: one field per username that ever logged in, like a user table (no TTL by design) | hash tag `{users}`: the registry script names both registry keys, so they share one slot |
//! | `{users}:next_id` | string (counter) | the last `<n>` handed out | one key | the same slot as `{users}:ids` |
//!
//! Nothing else is ever written. Every command, script and transaction names the keys of one
//! slot only (Redis Cluster, lesson 07): a session key alone, an index alone, or the two
//! registry keys, which share their slot through the `{users}` tag. Where a step touches several
//! sessions (the listing, logout everywhere, a login that ends older sessions), it sends one
//! single-key command per session, never a multi-key command. The price of the registry's tag:
//! every login's first round trip goes to the one shard that holds the `{users}` slot.

use std::sync::Arc;

use super::SessionId;

/// Prefix of every session key.
const SESSION_PREFIX: &str = "session:";
/// The user registry hash: username → `user_<n>`. The `{users}` hash tag puts it in the slot of
/// its counter (lesson 07).
const USER_IDS_KEY: &str = "{users}:ids";
/// The counter behind `user_<n>`.
const USER_COUNTER_KEY: &str = "{users}:next_id";

/// The most sessions one user may hold at once (`MAX_SESSIONS_PER_USER`): a login beyond it ends
/// that user's oldest session. It is also the size bound of the user's index.
pub const MAX_SESSIONS_PER_USER: usize = 50;

/// The names of the keys the service writes, with an optional namespace in front.
///
/// The service uses no namespace (`session:<uuid>`, `{users}:ids`, `{users}:next_id`, as in the
/// original). The lessons use their own (`lesson04:session:<uuid>`, ...) so that they never
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

    /// `{users}:ids`, the registry hash.
    pub fn user_ids(&self) -> String {
        format!("{}{USER_IDS_KEY}", self.prefix)
    }

    /// `{users}:next_id`, the counter behind `user_<n>`.
    pub fn user_counter(&self) -> String {
        format!("{}{USER_COUNTER_KEY}", self.prefix)
    }

    /// `user:{user_7}:sessions`, the index of one user's sessions (lesson 06).
    ///
    /// The braces are a Redis Cluster hash tag: only `user_7` is hashed to pick the slot, so
    /// every key named `...{user_7}...` lives on the same shard and one script may name them
    /// together. Today the index is the only such key; the tag keeps that door open at no cost.
    pub fn user_sessions(&self, user_id: &str) -> String {
        format!("{}user:{{{user_id}}}:sessions", self.prefix)
    }
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
            (lesson.user_ids(), lesson.user_counter()),
            ("lesson04:{users}:ids".into(), "lesson04:{users}:next_id".into())
        );
        assert_eq!(id.redacted(), "0f8fad5b…");
    }
}
