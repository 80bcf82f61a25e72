//! Exercises for lesson 03, the sliding TTL (`book/src/03-sliding-ttl.md`).
//!
//! 03a is a Lua script, 03b plain Rust. Check them with `cargo exercise 03a` and `03b`; `cargo
//! exercise hint 03a` helps.

use std::time::Duration;

use redis::aio::ConnectionLike;
use session_storage::store::Touched;

// ANCHOR: ex03a
/// Exercise 03a: read the session at `key` and renew its TTL, in one round trip.
///
/// Return the session and the TTL you set; return `None` for a missing key, and for a partial
/// hash, which you delete (`DEL`): it is never a session. Never bring a deleted session back: no
/// `HSET` here, ever. Never let the TTL run past
/// `created_at + absolute_ttl` by Redis's clock: set `min(idle_ttl, created_at + absolute_ttl -
/// now)`, and when nothing is left, delete the key and return `None`.
pub async fn touch<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    idle_ttl: Duration,
    absolute_ttl: Duration,
) -> redis::RedisResult<Option<Touched>> {
    // TODO: send one Lua script that reads the time and the three fields, and renews the key
    // only if all three are there and the absolute lifetime is not used up.
    todo!("exercise 03a: touch")
}
// ANCHOR_END: ex03a

// ANCHOR: ex03b
/// Exercise 03b: the stable `user_<digits>` for a username, with nothing stored.
///
/// Hash the name's UTF-8 bytes with SHA-256 (`sha2::Sha256::digest`), read the first 12 bytes
/// (96 bits) as one big-endian number, and write it in decimal after `user_`. The same name must
/// give the same id on every call, on every server, for ever.
pub fn user_id_for(username: &str) -> String {
    // TODO: digest the name, put its first 12 bytes at the end of a [u8; 16], and print
    // u128::from_be_bytes of it.
    todo!("exercise 03b: user_id_for")
}
// ANCHOR_END: ex03b
