//! The security log (lesson 10): one capped Redis Stream per user, `user:{<user_id>}:events`,
//! holding what happened to that user's sessions: `login`, `logout`, `revoked`,
//! `logout_everywhere`, `reauth`; and beside it, apart, the user's refused logins
//! (`throttled`, `wrong_password`), one entry per client in `user:{<user_id>}:refused`.
//!
//! ## Why a stream
//! A log is appended at one end and read from the newest. A stream does both in one command each
//! (`XADD`, `XREVRANGE ... COUNT n`), gives every entry an id that *is* Redis's clock in
//! milliseconds (so `at` needs no field and no clock of ours), and trims itself as it grows
//! (`MAXLEN ~ 200`: whole internal nodes are dropped, so the length stays near 200, never far
//! above). A list could be capped too (`LPUSH` + `LTRIM`), but its entries are opaque strings
//! with no time and no fields, and a sorted set needs a unique member per event.
//!
//! ## What bounds it
//! - At most about [`MAX_EVENTS`] entries (`MAXLEN ~`).
//! - A TTL as long as a session can live (the absolute lifetime), set again by every write of
//!   the user's own: the log outlives the last session it describes, by at most that.
//! - Refused logins never enter the stream: anyone can make them, for any user, so written
//!   there they would push the user's own events out (300 refusals did, before). They go to the
//!   user's refusals (`scripts/refusal.lua`): one entry per client, its count and last time
//!   rewritten in place, at most [`MAX_REFUSING_CLIENTS`] clients, written only while the user's
//!   log exists and never outliving it. An anonymous client hammering a name creates no key for
//!   a name never used, and keeps none alive.
//! - The index and the log share the user's hash tag, `{<user_id>}`: on a cluster they live on
//!   one shard, so one script or transaction may name both.
//!
//! An event holds the session's handle, never its id (an id is a login; the log is shown to the
//! user's every device).

use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::{Pipeline, Script};
use serde::Serialize;

use super::keys::{Keys, UserKeys};
use super::{Device, SessionStore, Unavailable, millis};

/// The log's length bound: `XADD ... MAXLEN ~ 200`.
pub const MAX_EVENTS: usize = 200;

/// How many of the user's own events `GET /security-events` returns at most, newest first
/// (the refusals come on top: at most [`MAX_REFUSING_CLIENTS`] entries).
pub const EVENTS_SHOWN: usize = 100;

/// The most clients whose refused logins a user's refusals keep (the one seen longest ago is
/// dropped for a new one).
pub const MAX_REFUSING_CLIENTS: usize = 20;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A new session.
    Login,
    /// A session logged itself out.
    Logout,
    /// A session was ended from the list of sessions (`DELETE /sessions/{handle}`).
    Revoked,
    /// Every session of the user was ended.
    LogoutEverywhere,
    /// A session proved its password again and was given a new id (`POST /reauth`).
    Reauth,
    /// Logins of this user from one client were refused by the login throttle (coalesced).
    Throttled,
    /// Logins of this user from one client were refused by the password check (coalesced).
    WrongPassword,
}

impl EventKind {
    /// The name stored in the stream's `type` field.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Login => "login",
            EventKind::Logout => "logout",
            EventKind::Revoked => "revoked",
            EventKind::LogoutEverywhere => "logout_everywhere",
            EventKind::Reauth => "reauth",
            EventKind::Throttled => "throttled",
            EventKind::WrongPassword => "wrong_password",
        }
    }
}

/// An event to append: what happened, on which device, to which session (its handle).
#[derive(Clone, Copy, Debug)]
pub struct NewEvent<'a> {
    /// What happened.
    pub kind: EventKind,
    /// The device it happened on (for `revoked`, the device whose session was ended).
    pub device: &'a Device,
    /// The session's handle ([`SessionId::handle`](super::SessionId::handle)); `None` when no
    /// session is involved (a refused login).
    pub handle: Option<&'a str>,
}

impl NewEvent<'_> {
    /// The stream entry's fields, in order: `type`, `device`, `ip`, `handle`.
    pub fn fields(&self) -> [(&'static str, String); 4] {
        [
            ("type", self.kind.as_str().to_string()),
            ("device", self.device.name().to_string()),
            ("ip", self.device.ip_field()),
            ("handle", self.handle.unwrap_or_default().to_string()),
        ]
    }
}

/// One event read back from the log, or one client's refused logins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecurityEvent {
    /// `login`, `logout`, `revoked`, `logout_everywhere`, `reauth`; or, for refused logins,
    /// `throttled` or `wrong_password` (the last refusal's reason).
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds, Redis's clock: the entry id's milliseconds (for refusals, the last one's).
    pub at: u64,
    /// The device's name.
    pub device: String,
    /// The client address; `None` when unknown.
    pub ip: Option<String>,
    /// The session's handle; `None` for refused logins.
    pub handle: Option<String>,
    /// How many attempts the entry stands for: 1 for the user's own events, the client's
    /// refused attempts for a refusal.
    pub count: u64,
}

/// One client's entry in a user's refusals, as `scripts/refusal.lua` writes it.
#[derive(serde::Deserialize)]
struct Refusal {
    count: u64,
    at: u64,
    #[serde(rename = "type")]
    kind: String,
    device: String,
    ip: String,
}

impl SecurityEvent {
    /// An entry as `XREVRANGE` answers it: its id (`<ms>-<seq>`) and its fields.
    fn from_entry(id: &str, fields: &[(String, String)]) -> Option<SecurityEvent> {
        let field = |name: &str| fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
        let non_empty = |value: Option<String>| value.filter(|value| !value.is_empty());
        let ms = entry_ms(id)?;
        Some(SecurityEvent {
            kind: field("type")?,
            at: ms / 1000,
            device: field("device").unwrap_or_default(),
            ip: non_empty(field("ip")),
            handle: non_empty(field("handle")),
            count: 1,
        })
    }

    /// A client's entry in the user's refusals, with its last time in milliseconds; `None` for
    /// one that does not read.
    fn from_refusal(json: &str) -> Option<(u64, SecurityEvent)> {
        let refusal: Refusal = serde_json::from_str(json).ok()?;
        Some((
            refusal.at,
            SecurityEvent {
                kind: refusal.kind,
                at: refusal.at / 1000,
                device: refusal.device,
                ip: Some(refusal.ip).filter(|ip| !ip.is_empty()),
                handle: None,
                count: refusal.count,
            },
        ))
    }
}

/// A stream entry as `XREVRANGE` answers it: its id and its fields.
type StreamEntry = (String, Vec<(String, String)>);

/// The milliseconds of a stream entry's id (`<ms>-<seq>`).
fn entry_ms(id: &str) -> Option<u64> {
    id.split_once('-')?.0.parse().ok()
}

// ANCHOR: event_commands
/// Adds an event to `pipe`: `XADD <key> MAXLEN ~ <cap> * type .. device .. ip .. handle ..`, then
/// `PEXPIRE <key> <ttl>`. Put them inside a transaction (see [`append_event`]), or a key could be
/// left without its TTL between the two.
pub fn event_commands(pipe: &mut Pipeline, key: &str, event: &NewEvent<'_>, cap: usize, ttl: Duration) {
    pipe.cmd("XADD").arg(key).arg("MAXLEN").arg("~").arg(cap).arg("*").arg(&event.fields()).ignore();
    pipe.cmd("PEXPIRE").arg(key).arg(millis(ttl).max(1)).ignore();
}
// ANCHOR_END: event_commands

// ANCHOR: append_event
/// Appends `event` to the log at `key`, capped at about `cap` entries, and sets the log's TTL to
/// `ttl`: one transaction (`MULTI` / `XADD` / `PEXPIRE` / `EXEC`), sent as one pipeline, so the
/// log never exists without its TTL.
pub async fn append_event<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    event: &NewEvent<'_>,
    cap: usize,
    ttl: Duration,
) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    event_commands(&mut pipe, key, event, cap, ttl);
    pipe.exec_async(con).await
}
// ANCHOR_END: append_event

// ANCHOR: latest_events
/// The newest `count` events of the log at `key`, newest first: one `XREVRANGE <key> + - COUNT
/// <count>`. A missing log is an empty list.
pub async fn latest_events<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    count: usize,
) -> redis::RedisResult<Vec<SecurityEvent>> {
    let entries: Vec<(String, Vec<(String, String)>)> =
        redis::cmd("XREVRANGE").arg(key).arg("+").arg("-").arg("COUNT").arg(count).query_async(con).await?;
    Ok(entries.iter().filter_map(|(id, fields)| SecurityEvent::from_entry(id, fields)).collect())
}
// ANCHOR_END: latest_events

// ANCHOR: refusal
/// `scripts/refusal.lua`: a refused login, in the user's refusals (see the module).
pub(super) static REFUSAL_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/refusal.lua")));

/// Records a refused login of `user_id` (`kind`: throttled or a wrong password) from `client`
/// (its throttle key) on `device`: one script on the user's slot, which writes only while the
/// user's log exists. The client's count of refused attempts, 0 when nothing was written.
pub(super) async fn record_refusal<C: ConnectionLike>(
    con: &mut C,
    keys: &Keys,
    user_id: &str,
    client: &str,
    kind: EventKind,
    device: &Device,
) -> redis::RedisResult<u64> {
    REFUSAL_SCRIPT
        .key(keys.user_events(user_id))
        .key(keys.user_refusals(user_id))
        .arg(client)
        .arg(kind.as_str())
        .arg(device.name())
        .arg(device.ip_field())
        .arg(MAX_REFUSING_CLIENTS)
        .invoke_async(con)
        .await
}
// ANCHOR_END: refusal

/// `scripts/unlist.lua`: the index step of every route that ends sessions. It removes the
/// ended sessions from the user's index and appends the event to the user's log, in one script
/// on the user's shard.
///
/// Why a script and not a transaction: at `maxmemory` Redis refuses every command of a
/// transaction, even `ZREM`, which frees memory, while a logout must still work. In the script
/// the `XADD` runs under `redis.pcall`: when Redis refuses it for memory, the event is not
/// written (and the script says so), but the `ZREM` is done.
pub(super) static UNLIST_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/unlist.lua")));

/// How a user's log is bounded: its length cap (`MAXLEN ~`) and the TTL every write sets.
#[derive(Clone, Copy, Debug)]
pub(super) struct LogBounds {
    pub(super) cap: usize,
    pub(super) ttl: Duration,
}

/// Runs [`UNLIST_SCRIPT`]: `ids` out of the user's index, `event` into the user's log. False
/// when Redis refused the event for memory.
pub(super) async fn unlist_and_log<C: ConnectionLike>(
    con: &mut C,
    user: &UserKeys,
    ids: &[super::SessionId],
    event: &NewEvent<'_>,
    bounds: LogBounds,
) -> redis::RedisResult<bool> {
    let mut invocation = UNLIST_SCRIPT.key(&user.index);
    invocation
        .key(&user.log)
        .arg(millis(bounds.ttl).max(1))
        .arg(bounds.cap)
        .arg(&event.fields().map(|(_, value)| value));
    for id in ids {
        invocation.arg(id.to_string());
    }
    let logged: u8 = invocation.invoke_async(con).await?;
    Ok(logged == 1)
}

impl SessionStore {
    // ANCHOR: security_events
    /// The user's newest events, at most [`EVENTS_SHOWN`], with each refusing client's entry
    /// (at most [`MAX_REFUSING_CLIENTS`]), newest first, read in one pipeline:
    /// just <!-- cost: GET /security-events | the user's log minus GET /profile | a live session -->one
    /// round trip (after the caller's own read of its session).
    pub async fn security_events(&self, user_id: &str) -> Result<Vec<SecurityEvent>, Unavailable> {
        // The same when done twice: it may be sent again after a lost connection.
        let mut con = self.connection().idempotent();
        let (log, refused) = (self.inner.keys.user_events(user_id), self.inner.keys.user_refusals(user_id));
        let mut read = redis::pipe();
        read.cmd("XREVRANGE").arg(&log).arg("+").arg("-").arg("COUNT").arg(EVENTS_SHOWN);
        read.cmd("HVALS").arg(&refused);
        let (entries, refusals): (Vec<StreamEntry>, Vec<String>) =
            self.within_deadline(read.query_async(&mut con)).await?;
        // Newest first, to the millisecond; the refusals take no place of the user's own events.
        let mut events: Vec<(u64, SecurityEvent)> = entries
            .iter()
            .filter_map(|(id, fields)| Some((entry_ms(id)?, SecurityEvent::from_entry(id, fields)?)))
            .chain(refusals.iter().filter_map(|json| SecurityEvent::from_refusal(json)))
            .collect();
        events.sort_by(|(a, _), (b, _)| b.cmp(a));
        Ok(events.into_iter().map(|(_, event)| event).collect())
    }
    // ANCHOR_END: security_events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_back_with_the_time_of_their_id() {
        let fields = |handle: &str| {
            vec![
                ("type".to_string(), "login".to_string()),
                ("device".to_string(), "Firefox on Linux".to_string()),
                ("ip".to_string(), "203.0.113.9".to_string()),
                ("handle".to_string(), handle.to_string()),
            ]
        };
        let event =
            SecurityEvent::from_entry("1765000000123-0", &fields("0123456789abcdef")).expect("an event");
        assert_eq!(event.at, 1_765_000_000);
        assert_eq!(event.kind, "login");
        assert_eq!(event.handle.as_deref(), Some("0123456789abcdef"));
        let refused = SecurityEvent::from_entry("1765000000123-1", &fields("")).expect("an event");
        assert_eq!(refused.handle, None);
        assert_eq!(SecurityEvent::from_entry("not-an-id", &fields("")), None);
        assert_eq!(SecurityEvent::from_entry("1-0", &[]), None, "no type, no event");
    }

    #[test]
    fn every_kind_has_the_name_the_api_shows() {
        for kind in [
            EventKind::Login,
            EventKind::Logout,
            EventKind::Revoked,
            EventKind::LogoutEverywhere,
            EventKind::Reauth,
            EventKind::Throttled,
            EventKind::WrongPassword,
        ] {
            assert_eq!(serde_json::to_value(kind).expect("json"), serde_json::json!(kind.as_str()));
        }
    }
}
