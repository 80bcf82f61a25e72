//! Plausible wrong answers for lesson 10 (feature `wrong`): each one solves its exercise except
//! for one mistake a learner would really make, or one the chapter warns about. Its check in
//! `tests/exercises/l10.rs` must refuse it. `LESSONS_WRONG=n` picks the `n`th of each exercise.

use std::time::Duration;

use redis::aio::ConnectionLike;
use session_storage::store::{NewEvent, SecurityEvent};

use crate::{no_wrong_answer, wrong_variant};

/// Exercise 10a: append `event` to the stream at `key`, capped at about `cap` entries, with the
/// TTL `ttl`, in one atomic round trip.
pub async fn append_event<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    event: &NewEvent<'_>,
    cap: usize,
    ttl: Duration,
) -> redis::RedisResult<()> {
    let ttl_ms = ttl.as_millis() as u64;
    let mut pipe = redis::pipe();
    pipe.atomic();
    match wrong_variant() {
        // WRONG (10a/1): the stream is capped but never given its TTL ("MAXLEN bounds it already"), so a user's log outlives every session it describes: the check records no `PEXPIRE` sent and a PTTL of -1. Shows: pexpire, pttl_ms.
        1 => {
            pipe.cmd("XADD").arg(key).arg("MAXLEN").arg("~").arg(cap).arg("*").arg(&event.fields()).ignore();
        }
        // WRONG (10a/2): `PEXPIRE` before `XADD` in the transaction, the exact bug the chapter names: the first `PEXPIRE` finds no key and does nothing, and `XADD` then creates the log without a TTL: the check records a PTTL of -1 right after the first append (later appends find the key and renew it, so after 437 the TTL looks right). Shows: pttl_ms.
        2 => {
            pipe.cmd("PEXPIRE").arg(key).arg(ttl_ms).ignore();
            pipe.cmd("XADD").arg(key).arg("MAXLEN").arg("~").arg(cap).arg("*").arg(&event.fields()).ignore();
        }
        // WRONG (10a/3): no `MAXLEN` ("the TTL ends it anyway"): while the user is active the TTL never comes, and the log grows with every event: the check records a length of 437. Shows: length, XADD.
        3 => {
            pipe.cmd("XADD").arg(key).arg("*").arg(&event.fields()).ignore();
            pipe.cmd("PEXPIRE").arg(key).arg(ttl_ms).ignore();
        }
        // WRONG (10a/4): the exact cap, `MAXLEN 150` without `~`, which the chapter warns about: every append past the cap cuts into the oldest node and rewrites it: the check records the `XADD` sent without the `~`. Shows: XADD.
        4 => {
            pipe.cmd("XADD").arg(key).arg("MAXLEN").arg(cap).arg("*").arg(&event.fields()).ignore();
            pipe.cmd("PEXPIRE").arg(key).arg(ttl_ms).ignore();
        }
        // WRONG (10a/5): a plain pipeline without `atomic()`: one round trip, but no `MULTI`/`EXEC`, so a failure between the two commands leaves the log without its TTL: the check records `transaction: false` and no `multi` or `exec` run. Shows: transaction, multi, exec.
        5 => {
            let mut plain = redis::pipe();
            plain.cmd("XADD").arg(key).arg("MAXLEN").arg("~").arg(cap).arg("*").arg(&event.fields()).ignore();
            plain.cmd("PEXPIRE").arg(key).arg(ttl_ms).ignore();
            return plain.exec_async(con).await;
        }
        // WRONG (10a/6): the TTL in seconds given to `PEXPIRE`, which counts milliseconds (`ttl.as_secs()`): the log expires after 4.3 s instead of 72 minutes: the check records `PEXPIRE ... 4321` and a PTTL far below the lifetime. Shows: PEXPIRE, pttl_ms.
        6 => {
            pipe.cmd("XADD").arg(key).arg("MAXLEN").arg("~").arg(cap).arg("*").arg(&event.fields()).ignore();
            pipe.cmd("PEXPIRE").arg(key).arg(ttl.as_secs()).ignore();
        }
        n => no_wrong_answer("10a", n),
    }
    pipe.exec_async(con).await
}

/// An entry as the exercise asks: `type`, `device`, `ip` and `handle` by name, `at` the id's
/// milliseconds in whole seconds, an empty `ip` or `handle` as `None`.
fn event(id: &str, fields: &[(String, String)]) -> Option<SecurityEvent> {
    let field = |name: &str| fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let ms: u64 = id.split_once('-')?.0.parse().ok()?;
    Some(SecurityEvent {
        kind: field("type")?,
        at: ms / 1000,
        device: field("device").unwrap_or_default(),
        ip: field("ip").filter(|ip| !ip.is_empty()),
        handle: field("handle").filter(|handle| !handle.is_empty()),
        count: 1,
    })
}

type Entries = Vec<(String, Vec<(String, String)>)>;

/// `XREVRANGE key + - COUNT count`, as the exercise asks.
async fn newest_first<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    count: usize,
) -> redis::RedisResult<Entries> {
    redis::cmd("XREVRANGE").arg(key).arg("+").arg("-").arg("COUNT").arg(count).query_async(con).await
}

/// Exercise 10b: the newest `count` events of the stream at `key`, newest first.
pub async fn latest_events<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    count: usize,
) -> redis::RedisResult<Vec<SecurityEvent>> {
    match wrong_variant() {
        // WRONG (10b/1): `XRANGE` with `COUNT` reads the *oldest* entries first, so the "newest first" list shows the first events appended: the check records the two logins and the revocation, oldest first, instead of the logout, the throttled login and the revocation. Shows: at, type.
        1 => {
            let entries: Entries = redis::cmd("XRANGE")
                .arg(key)
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(count)
                .query_async(con)
                .await?;
            Ok(entries.iter().filter_map(|(id, fields)| event(id, fields)).collect())
        }
        // WRONG (10b/2): `at` is the id's milliseconds as they are, not divided by 1000 (the docstring says whole seconds): the check records `at: 1700000060000`. Shows: at.
        2 => {
            let entries = newest_first(con, key, count).await?;
            Ok(entries
                .iter()
                .filter_map(|(id, fields)| {
                    let mut event = event(id, fields)?;
                    event.at = id.split_once('-')?.0.parse().ok()?;
                    Some(event)
                })
                .collect())
        }
        // WRONG (10b/3): an empty `ip` or `handle` is kept as `Some("")` instead of `None`, so the page shows an empty address: the check records `ip: ""` for the logout and `handle: ""` for the throttled login. Shows: ip, handle.
        3 => {
            let entries = newest_first(con, key, count).await?;
            Ok(entries
                .iter()
                .filter_map(|(id, fields)| {
                    let mut event = event(id, fields)?;
                    let field =
                        |name: &str| fields.iter().find(|(key, _)| key == name).map(|(_, v)| v.clone());
                    event.ip = field("ip");
                    event.handle = field("handle");
                    Some(event)
                })
                .collect())
        }
        // WRONG (10b/4): the fields are taken by position (`type` first, then `device`, `ip`, `handle`, the order `NewEvent::fields` writes) instead of by name: the check's entry written with its fields in another order (`handle`, `ip`, `device`, `type`) comes back with the type `""`, the handle `throttled` and the device `192.0.2.7`. Shows: type, handle, device.
        4 => {
            let entries = newest_first(con, key, count).await?;
            Ok(entries
                .iter()
                .filter_map(|(id, fields)| {
                    let value = |i: usize| fields.get(i).map(|(_, value)| value.clone());
                    let ms: u64 = id.split_once('-')?.0.parse().ok()?;
                    Some(SecurityEvent {
                        kind: value(0)?,
                        at: ms / 1000,
                        device: value(1).unwrap_or_default(),
                        ip: value(2).filter(|ip| !ip.is_empty()),
                        handle: value(3).filter(|handle| !handle.is_empty()),
                        count: 1,
                    })
                })
                .collect())
        }
        // WRONG (10b/5): `XREVRANGE key - + COUNT n`, the bounds in `XRANGE`'s order: read backwards, from `-` down to `+` is an empty range: the check records no events at all. Shows: Ok.
        5 => {
            let entries: Entries = redis::cmd("XREVRANGE")
                .arg(key)
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(count)
                .query_async(con)
                .await?;
            Ok(entries.iter().filter_map(|(id, fields)| event(id, fields)).collect())
        }
        n => no_wrong_answer("10b", n),
    }
}
