//! Creating a session: the user's stable id (derived from the name, nothing stored), then the
//! session hash and its TTL in one transaction (lessons 02 and 03).

use std::time::Duration;

use redis::aio::ConnectionLike;
use sha2::{Digest, Sha256};

use super::{Session, ttl_secs};

/// The stable `user_<digits>` of `username`: [`hashed_user_id`] of the name's canonical form
/// ([`canonical_username`](super::canonical_username)), so `Alice`, `alice` and `ａlice` are one
/// user. The service refuses a name with no canonical form before it gets here (422); a caller
/// of the library that passes one anyway gets the id of the name's bytes as they are.
pub fn user_id_for(username: &str) -> String {
    let canonical = super::canonical_username(username);
    hashed_user_id(canonical.as_deref().unwrap_or(username))
}

// ANCHOR: user_id
/// `user_<digits>` for a name: the first 96 bits of the SHA-256 of its UTF-8 bytes, as a
/// decimal number. The same name always gives the same id, on every instance, with nothing
/// stored: no registry key grows with the users, and no login waits on a shared one.
///
/// Why 96 bits: two different names sharing an id would share one index of sessions (each
/// could list and end the other's). Among `n` names the chance that any two collide is about
/// `n² / 2^97`: 6 in a trillion for a billion names. Choosing a name that lands on a given
/// user's id means inverting SHA-256 over 96 bits (about 2^96 attempts), out of reach.
pub fn hashed_user_id(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let mut high = [0u8; 16];
    high[4..].copy_from_slice(&digest[..12]);
    format!("user_{}", u128::from_be_bytes(high))
}
// ANCHOR_END: user_id

// ANCHOR: create_session
/// Writes a new session at `key` and its idle TTL in <!-- cost: 02_expire | create_session -->one atomic round trip (`MULTI` … `EXEC`).
///
/// `replacing` is the key of a session to delete in the same transaction (lesson 02): on a single
/// Redis, a login that replaces the browser's previous session this way ends with exactly one
/// live session for that browser. The service's login sends this same transaction (with the
/// device's fields too) inside its one pipeline, and deletes the previous session in a step of
/// its own (see [`SessionStore::start_session`](super::SessionStore::start_session)), because on
/// Redis Cluster the two session keys usually live in different hash slots, and a transaction
/// may only name keys of one slot.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_name_one_id_of_the_seeds_shape() {
        let alice = user_id_for("alice");
        assert_eq!(alice, user_id_for("alice"));
        assert_ne!(alice, user_id_for("alice "));
        assert_ne!(alice, user_id_for("bob"));
        assert_eq!(alice, user_id_for("Alice"), "one user however it is written");
        assert_eq!(alice, user_id_for("\u{FF41}lice"));
        let digits = alice.strip_prefix("user_").expect("user_ prefix");
        assert!(!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()), "{alice}");
        // The first 12 bytes of SHA-256("alice"), 2bd806c97f0e00af1a1fc3328fa763a9..., as a number.
        let expected = u128::from_str_radix("2bd806c97f0e00af1a1fc332", 16).expect("hex");
        assert_eq!(alice, format!("user_{expected}"));
        assert!(digits.parse::<u128>().expect("a number") < 1u128 << 96);
    }
}
