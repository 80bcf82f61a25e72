//! Your own data in the session (lesson 11): named values of any `serde` type, each a field of
//! the session's own hash under the prefix `data:` (`data:cart`), so it can never overwrite
//! `user_id`, `username`, `created_at`, `device` or `ip`, and it ends with the session (logout,
//! revoke, log out everywhere, expiry) with nothing to clean up.
//!
//! ## Why fields of the hash, and not one serialized blob
//! Session libraries usually keep a session as one serialized record and write the whole of it
//! back at the end of a request, so two concurrent requests lose each other's writes. Here each
//! value is a field: a write changes only the fields it names (`HSET`, `HDEL`), and a counter is
//! changed in Redis (`HINCRBY`), so no concurrent request can lose another's write, whether to
//! another name or to the same counter.
//!
//! ## Why a script for writes
//! A plain `HSET` on a session a logout has just deleted would bring the key back, partial and
//! without a TTL (lesson 03's resurrection). So every write is one script on the session's key
//! ([`DATA_WRITE_SOURCE`]): it writes only into a key that exists (or creates a visitor's, with
//! its TTL), checks the bounds before writing anything, and applies every change of the batch,
//! all or nothing, in <!-- cost: PUT /note | a live session: the renewal, then the write minus GET /note | a live session: the values come with the renewal -->one round trip however many values it changes. Values are JSON
//! (`serde_json`): any `serde` type, readable in `redis-cli`, and a counter's field is its
//! decimal text, which is JSON too.
//!
//! ## Reads come with the renewal
//! <!-- sends: GET /note | a live session: the values come with the renewal -->[`renew_all`] is [`renew`](super::renew)'s pipeline with `HGETALL` for <!-- sends: GET /profile | a live session -->`HMGET`: the values
//! arrive with the renewal, in the same <!-- cost: GET /note | a live session: the values come with the renewal -->one round trip.
//!
//! ## Visitors
//! A visitor (no login yet: a cart before checkout) gets a hash of its own, `visitor:<uuid>`,
//! only at its first write, with a `created_at` and the idle TTL, renewed like a session and
//! capped by the same absolute lifetime. At login its values move into the new session, and the
//! visitor's key is deleted (see `login.rs`). Anonymous clients can create visitors, so each
//! creation costs an attempt of the client's login throttle, and the [`DataLimits`] bound what
//! one may hold.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use redis::aio::ConnectionLike;
use redis::{RedisResult, Script};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::touch::absolute_cap;
use super::{Lifetimes, fields, ttl_secs};

/// The prefix of every value's field in the hash: `data:cart`.
pub const DATA_PREFIX: &str = "data:";

/// The longest name of a value, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// What one session's (or visitor's) values may hold (`SESSION_DATA_MAX_VALUES`,
/// `SESSION_DATA_MAX_VALUE_BYTES`, `SESSION_DATA_MAX_BYTES`): the bound on the state an
/// anonymous client can make the service keep, and on what every request carries back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataLimits {
    /// Values at most. Default 32.
    pub values: usize,
    /// Bytes of one value's JSON at most. Default 4096.
    pub value_bytes: usize,
    /// Bytes of all the values' JSON together at most. Default 16384.
    pub total_bytes: usize,
}

impl DataLimits {
    /// 32 values, 4 KiB each, 16 KiB in all.
    pub const DEFAULT: DataLimits = DataLimits { values: 32, value_bytes: 4096, total_bytes: 16_384 };
}

impl Default for DataLimits {
    fn default() -> Self {
        DataLimits::DEFAULT
    }
}

/// A session's values as its renewal read them: name to JSON text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values(BTreeMap<String, String>);

impl Values {
    /// The values among a hash's fields: those under [`DATA_PREFIX`], without it.
    pub fn from_hash(hash: &BTreeMap<String, String>) -> Values {
        Values(
            hash.iter()
                .filter_map(|(field, value)| {
                    Some((field.strip_prefix(DATA_PREFIX)?.to_string(), value.clone()))
                })
                .collect(),
        )
    }

    /// The value `name` as a `T`: `None` when there is none.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, DataError> {
        self.0
            .get(name)
            .map(|json| {
                serde_json::from_str(json)
                    .map_err(|error| DataError::NotThatType(name.to_string(), error.to_string()))
            })
            .transpose()
    }

    /// The names of the values, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// True when there is no value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `changes` as they were applied, with what the increments answered: the values a request
    /// sees after its own writes.
    pub fn apply(&mut self, changes: &Changes, applied: &Applied) {
        let mut counters = applied.counters.iter();
        for change in &changes.0 {
            match change {
                Change::Set(name, json) => {
                    self.0.insert(name.clone(), json.clone());
                }
                Change::Remove(name) => {
                    self.0.remove(name);
                }
                Change::Increment(name, _) => {
                    if let Some(value) = counters.next() {
                        self.0.insert(name.clone(), value.to_string());
                    }
                }
            }
        }
    }

    /// The fields to write for these values (`data:<name>`, JSON), for a session that takes them
    /// over at login.
    pub(super) fn to_fields(&self) -> Vec<(String, String)> {
        self.0.iter().map(|(name, json)| (format!("{DATA_PREFIX}{name}"), json.clone())).collect()
    }
}

/// One change of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Change {
    Set(String, String),
    Remove(String),
    Increment(String, i64),
}

/// Changes to a session's values, applied together in <!-- cost: PUT /note | a live session: the renewal, then the write minus GET /note | a live session: the values come with the renewal -->one round trip, all or nothing:
/// `Changes::new().insert("cart", &cart)?.remove("flash").increment("visits", 1)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes(Vec<Change>);

impl Changes {
    /// No change yet.
    pub fn new() -> Changes {
        Changes::default()
    }

    /// Sets `name` to `value`, as JSON.
    pub fn insert<T: Serialize + ?Sized>(mut self, name: &str, value: &T) -> Result<Changes, DataError> {
        check_name(name)?;
        let json = serde_json::to_string(value)
            .map_err(|error| DataError::NotThatType(name.to_string(), error.to_string()))?;
        self.0.push(Change::Set(name.to_string(), json));
        Ok(self)
    }

    /// Removes `name` (nothing happens when there is none).
    pub fn remove(mut self, name: &str) -> Result<Changes, DataError> {
        check_name(name)?;
        self.0.push(Change::Remove(name.to_string()));
        Ok(self)
    }

    /// Adds `by` to the counter `name` in Redis (`HINCRBY`: no concurrent increment is lost); a
    /// missing counter starts at 0. The new value is in [`Applied::counters`].
    pub fn increment(mut self, name: &str, by: i64) -> Result<Changes, DataError> {
        check_name(name)?;
        self.0.push(Change::Increment(name.to_string(), by));
        Ok(self)
    }

    /// True when there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The script's arguments for the changes: `op field value` each.
    fn args(&self) -> Vec<String> {
        self.0
            .iter()
            .flat_map(|change| match change {
                Change::Set(name, json) => ["set".to_string(), format!("{DATA_PREFIX}{name}"), json.clone()],
                Change::Remove(name) => ["del".to_string(), format!("{DATA_PREFIX}{name}"), String::new()],
                Change::Increment(name, by) => {
                    ["incr".to_string(), format!("{DATA_PREFIX}{name}"), by.to_string()]
                }
            })
            .collect()
    }
}

/// What applying [`Changes`] answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Each increment's new value, in the order of the changes.
    pub counters: Vec<i64>,
}

/// Why a value could not be read or written.
#[derive(Debug)]
#[non_exhaustive]
pub enum DataError {
    /// The session (or the visitor) is gone: logged out, revoked or expired. Nothing was written,
    /// and nothing was created.
    Gone,
    /// A name that is not 1 to 64 letters, digits, `_`, `-` or `.`.
    BadName(String),
    /// Over a [`DataLimits`] bound: which one. Nothing was written.
    TooLarge(String),
    /// An increment of a value that is not a whole number, or whose sum would pass ±(2^53 − 1),
    /// what Lua's numbers hold exactly. Nothing was written.
    NotANumber(String),
    /// A value that is not (or cannot be written as) JSON of the type asked for.
    NotThatType(String, String),
    /// A visitor's first write from a client over its login throttle: try again after this long.
    Throttled(std::time::Duration),
    /// Redis did not answer.
    Unavailable(super::Unavailable),
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataError::Gone => f.write_str("the session is gone"),
            DataError::BadName(name) => write!(
                f,
                "a value's name must be 1 to {MAX_NAME_CHARS} letters, digits, '_', '-' or '.': {name:?} is not"
            ),
            DataError::TooLarge(what) => write!(f, "session data over its limit: {what}"),
            DataError::NotANumber(name) => {
                write!(f, "{name:?} is not a whole number that can be incremented")
            }
            DataError::NotThatType(name, why) => {
                write!(f, "the value {name:?} is not of the type asked for: {why}")
            }
            DataError::Throttled(wait) => {
                write!(f, "too many new visitors from this client; retry in {} s", wait.as_secs().max(1))
            }
            DataError::Unavailable(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for DataError {}

impl From<super::Unavailable> for DataError {
    fn from(error: super::Unavailable) -> Self {
        DataError::Unavailable(error)
    }
}

/// A name a value may have: 1 to [`MAX_NAME_CHARS`] ASCII letters, digits, `_`, `-` or `.`.
fn check_name(name: &str) -> Result<(), DataError> {
    let fine = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    if fine { Ok(()) } else { Err(DataError::BadName(name.to_string())) }
}

// ANCHOR: renew_all
/// Reads a hash with all its fields and renews its TTL: [`renew`](super::renew)'s pipeline with
/// `HGETALL` in place of its three fields, so a session's values come with its renewal. The same
/// guarantees: nothing writes a field, `EXPIRE` on a missing key does nothing, the TTL is capped
/// by the absolute lifetime from `created_at` by Redis's clock (`PEXPIRETIME` less the idle
/// lifetime), and a hash without a `created_at` it can read is deleted and refused.
///
/// Answers the hash's fields and the TTL set, or `None` for no (live) hash.
pub async fn renew_all<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    Lifetimes { idle, absolute }: Lifetimes,
) -> RedisResult<Option<(BTreeMap<String, String>, u64)>> {
    let mut pipe = redis::pipe();
    pipe.cmd("HGETALL").arg(key);
    pipe.cmd("EXPIRE").arg(key).arg(ttl_secs(idle));
    pipe.cmd("PEXPIRETIME").arg(key);
    let (hash, renewed, expires_at_ms): (BTreeMap<String, String>, u8, i64) =
        pipe.query_async(&mut *con).await?;
    if renewed == 0 || expires_at_ms < 0 || hash.is_empty() {
        return Ok(None);
    }
    let Some(created_at) = hash.get(fields::CREATED_AT).and_then(|created| created.parse::<u64>().ok())
    else {
        redis::cmd("DEL").arg(key).exec_async(con).await?;
        return Ok(None);
    };
    let Some(ttl_secs) =
        absolute_cap(con, key, expires_at_ms, created_at, Lifetimes { idle, absolute }).await?
    else {
        return Ok(None);
    };
    Ok(Some((hash, ttl_secs)))
}
// ANCHOR_END: renew_all

/// `scripts/data_write.lua`: a batch of changes to one hash's values, guarded and bounded.
pub(super) static DATA_WRITE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(DATA_WRITE_SOURCE));

/// The Lua source of the write script (`redis-cli --eval src/store/scripts/data_write.lua
/// session:<id> , session 1800 32 4096 16384 set data:cart '["tea"]'`).
pub const DATA_WRITE_SOURCE: &str = include_str!("scripts/data_write.lua");

/// Whether a write may create the hash it writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Creating {
    /// A session's: never (a missing session is [`DataError::Gone`]).
    Never,
    /// A visitor's first write: created with a `created_at` and the idle TTL.
    Visitor,
}

// ANCHOR: write_data
/// Applies `changes` to the values of the hash at `key`, in one script: all of
/// them or none. A missing hash is [`DataError::Gone`] and nothing is created, unless `creating`
/// a visitor's; over a bound of `limits`, nothing is written.
pub(super) async fn write_data<C: ConnectionLike>(
    con: &mut C,
    key: &str,
    changes: &Changes,
    (creating, limits, idle): (Creating, DataLimits, std::time::Duration),
) -> RedisResult<Result<Applied, DataError>> {
    let mode = match creating {
        Creating::Never => "session",
        Creating::Visitor => "create",
    };
    let mut invocation = DATA_WRITE_SCRIPT.key(key);
    invocation
        .arg(mode)
        .arg(ttl_secs(idle))
        .arg(limits.values)
        .arg(limits.value_bytes)
        .arg(limits.total_bytes);
    invocation.arg(changes.args());
    let reply: Vec<redis::Value> = invocation.invoke_async(con).await?;
    let word = |value: &redis::Value| redis::from_redis_value::<String>(value.clone()).unwrap_or_default();
    let answer = match reply.first().map(word).as_deref() {
        Some("ok") => {
            let counters = reply[1..]
                .iter()
                .filter_map(|value| redis::from_redis_value::<i64>(value.clone()).ok())
                .collect();
            Ok(Applied { counters })
        }
        Some("gone") => Err(DataError::Gone),
        Some("not_a_number") => {
            Err(DataError::NotANumber(strip(&reply.get(1).map(word).unwrap_or_default())))
        }
        Some("value_bytes") => Err(DataError::TooLarge(format!(
            "the value {:?} is over {} bytes",
            strip(&reply.get(1).map(word).unwrap_or_default()),
            limits.value_bytes
        ))),
        Some("values") => Err(DataError::TooLarge(format!("more than {} values", limits.values))),
        Some("total_bytes") => {
            Err(DataError::TooLarge(format!("more than {} bytes of values in all", limits.total_bytes)))
        }
        other => Err(DataError::NotThatType(String::new(), format!("the write script answered {other:?}"))),
    };
    Ok(answer)
}
// ANCHOR_END: write_data

/// A field's value name: `data:cart` gives `cart`.
fn strip(field: &str) -> String {
    field.strip_prefix(DATA_PREFIX).unwrap_or(field).to_string()
}

/// Takes a hash's values away, atomically: `HGETALL` and `DEL` in one transaction on its key,
/// so a write that comes after finds the hash gone (and reports it) instead of being lost.
/// Answers every field the hash had (none when it was gone).
pub(super) async fn take<C: ConnectionLike>(con: &mut C, key: &str) -> RedisResult<BTreeMap<String, String>> {
    let (hash, _deleted): (BTreeMap<String, String>, u8) =
        redis::pipe().atomic().cmd("HGETALL").arg(key).cmd("DEL").arg(key).query_async(con).await?;
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_and_plain() {
        for good in ["cart", "a", "note_1", "step-2", "v1.2", &"x".repeat(64)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "with space", "data:cart", "é", "a/b", &"x".repeat(65)] {
            assert!(matches!(check_name(bad), Err(DataError::BadName(_))), "{bad:?}");
        }
    }

    #[test]
    fn values_are_the_prefixed_fields() {
        let hash: BTreeMap<String, String> = [
            ("user_id", "user_1"),
            ("data:cart", "[\"tea\"]"),
            ("data:visits", "3"),
            ("created_at", "1700000000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let values = Values::from_hash(&hash);
        assert_eq!(values.names().collect::<Vec<_>>(), ["cart", "visits"]);
        assert_eq!(values.get::<Vec<String>>("cart").expect("json"), Some(vec!["tea".to_string()]));
        assert_eq!(values.get::<i64>("visits").expect("json"), Some(3));
        assert_eq!(values.get::<i64>("none").expect("json"), None);
        assert!(matches!(values.get::<i64>("cart"), Err(DataError::NotThatType(..))));
    }

    #[test]
    fn a_batch_is_sent_as_triples() {
        let changes = Changes::new()
            .insert("cart", &vec!["tea"])
            .and_then(|c| c.remove("flash"))
            .and_then(|c| c.increment("visits", 2))
            .expect("changes");
        assert_eq!(
            changes.args(),
            ["set", "data:cart", "[\"tea\"]", "del", "data:flash", "", "incr", "data:visits", "2"]
        );
        let mut values = Values::default();
        values.apply(&changes, &Applied { counters: vec![7] });
        assert_eq!(values.get::<i64>("visits").expect("json"), Some(7));
        assert!(Changes::new().insert("bad name", &1).is_err());
    }
}
