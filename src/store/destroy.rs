//! Ending sessions: one by its key ([`destroy_session`], lesson 02), or every session id a
//! request's cookies carry ([`SessionStore::destroy_cookie_sessions`], logout). Several ids
//! of one user at once are in `index.rs` ([`destroy_sessions`](super::destroy_sessions)), and
//! every session of a user too ([`SessionStore::destroy_user_sessions`]).

use redis::aio::ConnectionLike;

use super::{SessionIds, SessionStore, Unavailable, unindex};

// ANCHOR: destroy_session
/// Logout: `DEL`. True when a session was there to delete.
pub async fn destroy_session<C: ConnectionLike>(con: &mut C, key: &str) -> redis::RedisResult<bool> {
    let deleted: u64 = redis::cmd("DEL").arg(key).query_async(con).await?;
    Ok(deleted == 1)
}
// ANCHOR_END: destroy_session

impl SessionStore {
    /// Logout of every session id the request carries, under one deadline. For each: one
    /// transaction reads the owner and deletes the session, then one `ZREM` takes it out of its
    /// owner's index (two steps: on a cluster the session and the index live in different
    /// slots). Returns how many existed.
    pub async fn destroy_cookie_sessions(&self, ids: &SessionIds) -> Result<u64, Unavailable> {
        let mut con = self.connection();
        self.within_deadline(async {
            let mut deleted = 0;
            for id in ids.iter() {
                let key = self.keys.session(&id);
                let (owner, existed): (Option<String>, u64) =
                    redis::pipe().atomic().hget(&key, "user_id").del(&key).query_async(&mut con).await?;
                if let Some(owner) = owner {
                    unindex(&mut con, &self.keys.user_sessions(&owner), &[id]).await?;
                }
                deleted += existed;
            }
            Ok(deleted)
        })
        .await
    }
}
