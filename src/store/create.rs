//! Creating a session: the user's stable id from the registry, then the session hash and its
//! TTL in one transaction (lessons 02 and 03).

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;

use super::{Keys, Session, ttl_secs};

// ANCHOR: user_id
/// The Lua source of the registry script, `scripts/user_id.lua` (lesson 07 runs it on a cluster
/// with and without the hash tag).
pub const USER_ID_SOURCE: &str = include_str!("scripts/user_id.lua");

pub(super) static USER_ID_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(USER_ID_SOURCE));

/// The stable `user_<n>` for `username`, handing out the next number on a first login.
///
/// Why a script: "read, and if missing increment and write" as separate commands lets two first
/// logins of the same name both miss and take two numbers. A script runs atomically in Redis, so
/// the second one finds the first one's id. One round trip either way.
pub async fn user_id_for<C: ConnectionLike>(
    con: &mut C,
    keys: &Keys,
    username: &str,
) -> redis::RedisResult<String> {
    USER_ID_SCRIPT.key(keys.user_ids()).key(keys.user_counter()).arg(username).invoke_async(con).await
}
// ANCHOR_END: user_id

// ANCHOR: create_session
/// Writes a new session at `key` and its idle TTL in one atomic round trip (`MULTI` … `EXEC`).
///
/// `replacing` is the key of a session to delete in the same transaction (lesson 02): on a single
/// Redis, a login that replaces the browser's previous session this way ends with exactly one
/// live session for that browser. The service's login passes `None` and deletes the previous
/// session in a step of its own (see [`SessionStore::start_session`](super::SessionStore::start_session)), because on Redis Cluster
/// the two session keys usually live in different hash slots, and a transaction may only name
/// keys of one slot.
pub async fn create_session<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    session: &Session,
    idle_ttl: Duration,
    replacing: Option<&str>,
) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    if let Some(old) = replacing {
        pipe.del(old).ignore();
    }
    pipe.cmd("HSET").arg(key).arg(&session.to_fields()).ignore();
    pipe.expire(key, ttl_secs(idle_ttl)).ignore();
    pipe.query_async(con).await
}
// ANCHOR_END: create_session
