//! Exercises for lesson 10, the security log (`book/src/10-security-log.md`).
//!
//! Check them with `cargo exercise 10a` and `cargo exercise 10b`; `cargo exercise hint 10a` helps.

use std::time::Duration;

use redis::aio::ConnectionLike;
use session_storage::store::{NewEvent, SecurityEvent};

// ANCHOR: ex10a
/// Exercise 10a: append `event` to the stream at `key`, capped at about `cap` entries, and give
/// the stream the TTL `ttl`, in one `MULTI`/`EXEC` transaction (a `redis::pipe()` made atomic),
/// so the log never exists without its TTL.
///
/// The entry's fields are `event.fields()`, in order (`type`, `device`, `ip`, `handle`); its id is
/// Redis's clock (`*`). The cap is the cheap one, which trims whole nodes only.
pub async fn append_event<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    event: &NewEvent<'_>,
    cap: usize,
    ttl: Duration,
) -> redis::RedisResult<()> {
    // TODO: one transaction (a `redis::pipe()` made atomic) with XADD and PEXPIRE.
    todo!("exercise 10a: append_event")
}
// ANCHOR_END: ex10a

// ANCHOR: ex10b
/// Exercise 10b: the newest `count` events of the stream at `key`, newest first, in one command.
/// A missing stream is an empty list. Each entry becomes a [`SecurityEvent`]: `kind` from the
/// `type` field, `at` the entry id's milliseconds in whole seconds, `ip` and `handle` `None` when
/// empty, and `count` 1 (an entry of the log is one event).
pub async fn latest_events<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    count: usize,
) -> redis::RedisResult<Vec<SecurityEvent>> {
    // TODO: read the newest first with COUNT, then turn each (id, fields) into a SecurityEvent.
    todo!("exercise 10b: latest_events")
}
// ANCHOR_END: ex10b
