//! Plausible wrong answers for lesson 10: each one mistake a learner would make.

use std::time::Duration;

use redis::aio::ConnectionLike;
use session_storage::store::{NewEvent, SecurityEvent};

// WRONG (10a): the stream is capped but never given its TTL ("MAXLEN bounds it already"), so a user's log outlives every session it describes, which the check catches because "ttl_within_the_lifetime" records false.
/// Exercise 10a: append `event` to the stream at `key`, capped at about `cap` entries, with the
/// TTL `ttl`, in one atomic round trip.
pub async fn append_event<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    event: &NewEvent<'_>,
    cap: usize,
    _ttl: Duration,
) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    pipe.cmd("XADD").arg(key).arg("MAXLEN").arg("~").arg(cap).arg("*").arg(&event.fields()).ignore();
    pipe.exec_async(con).await
}

// WRONG (10b): XRANGE with COUNT reads the *oldest* entries first, so the check's "newest first" list shows the first events appended instead of the last, which the check catches because "newest" records the oldest handles.
/// Exercise 10b: the newest `count` events of the stream at `key`, newest first.
pub async fn latest_events<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    count: usize,
) -> redis::RedisResult<Vec<SecurityEvent>> {
    let entries: Vec<(String, Vec<(String, String)>)> =
        redis::cmd("XRANGE").arg(key).arg("-").arg("+").arg("COUNT").arg(count).query_async(con).await?;
    Ok(entries
        .iter()
        .filter_map(|(id, fields)| {
            let field =
                |name: &str| fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
            let ms: u64 = id.split_once('-')?.0.parse().ok()?;
            Some(SecurityEvent {
                kind: field("type")?,
                at: ms / 1000,
                device: field("device").unwrap_or_default(),
                ip: field("ip").filter(|ip| !ip.is_empty()),
                handle: field("handle").filter(|handle| !handle.is_empty()),
            })
        })
        .collect())
}
