//! Ending sessions: one by its key ([`destroy_session`], lesson 02), or every session id a
//! request's cookies carry ([`SessionStore::destroy_cookie_sessions`], logout). Several ids
//! of one user at once are in `index.rs` ([`destroy_sessions`](super::destroy_sessions)), and
//! every session of a user too ([`SessionStore::destroy_user_sessions`]).

use redis::aio::ConnectionLike;

use super::{Device, EventKind, NewEvent, SessionId, SessionIds, SessionStore, Unavailable, fields};

// ANCHOR: destroy_session
/// Logout: `DEL`. True when a session was there to delete.
pub async fn destroy_session<C: ConnectionLike>(con: &mut C, key: &str) -> redis::RedisResult<bool> {
    let deleted: u64 = redis::cmd("DEL").arg(key).query_async(con).await?;
    Ok(deleted == 1)
}
// ANCHOR_END: destroy_session

impl SessionStore {
    /// Logout of every session id the request carries, under one deadline. For each id,
    /// first <!-- sends: POST /logout | a live session -->one pipeline reads the owner (`HGET`),
    /// deletes the session (`DEL`) and takes its re-authentication marker (`GETDEL`: a session
    /// it names is ended the same way, see `rotate.rs`), then one script takes it out of its owner's index and
    /// appends a `logout` event on `device` (the request's) to the owner's log (two steps: on a
    /// cluster the session and the index live in different slots). Where the session's master
    /// has a replica, a `WAIT` then makes sure it has the deletion (`LOGOUT_REPLICAS`, see
    /// `replicas.rs`). Returns how many existed.
    ///
    /// Why a plain pipeline and not a transaction: at `maxmemory` under `noeviction` Redis refuses
    /// every command queued after a `MULTI`, even `DEL`, which frees memory. Outside a
    /// transaction <!-- sends: POST /logout | a live session -->`HGET`, `DEL` and `ZREM` all run,
    /// so logout works when Redis is full. Nothing is lost without the
    /// transaction: an id is never reused, so the owner read just before the `DEL` is the owner of
    /// what it deleted, and a session deleted in between by someone else only makes `DEL` count 0.
    pub async fn destroy_cookie_sessions(
        &self,
        ids: &SessionIds,
        device: &Device,
    ) -> Result<u64, Unavailable> {
        let mut con = self.connection();
        self.within_deadline(async {
            let mut deleted = Vec::new();
            // The cookie's sessions, and what a re-authentication made of them (`rotate.rs`).
            let mut ending: Vec<SessionId> = ids.iter().map(|id| self.at_rest(&id)).collect();
            while let Some(id) = ending.pop() {
                let key = self.inner.keys.session(&id);
                let (owner, existed, moved): (Option<String>, u64, Option<String>) = redis::pipe()
                    .hget(&key, fields::USER_ID)
                    .del(&key)
                    .cmd("GETDEL")
                    .arg(self.inner.keys.moved(&id))
                    .query_async(&mut con)
                    .await?;
                if let Some(owner) = owner {
                    let handle = id.handle();
                    let event = NewEvent { kind: EventKind::Logout, device, handle: Some(&handle) };
                    self.unlist(&mut con, &owner, &[id], &event).await?;
                }
                if existed == 1 {
                    deleted.push(key);
                }
                ending.extend(moved.as_deref().and_then(SessionId::parse));
            }
            let count = deleted.len() as u64;
            self.wait_for_replicas(&con, deleted).await?;
            Ok(count)
        })
        .await
    }
}
