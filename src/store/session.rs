//! The session value: its id, its fields, how long it lives.
//!
//! ## Why a hash and not a JSON string (lesson 01)
//! A small hash is stored as a compact *listpack*: it costs no more memory than the JSON string,
//! each field can be read alone (`HGET`), and Redis, redis-cli and `MONITOR` all show the fields by
//! name, so an operator can read a session without a decoder.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use uuid::Uuid;

/// How long a session lives: `idle` without requests (renewed by each one), and `absolute` at
/// most since login, however busy it is.
///
/// One struct rather than two `Duration` arguments, so the two can never be swapped by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// The idle lifetime (`SESSION_TTL_SECS`): the TTL set at login and again on every request.
    pub idle: Duration,
    /// The absolute lifetime (`SESSION_ABSOLUTE_TTL_SECS`): no renewal goes past `created_at` plus this.
    pub absolute: Duration,
}

impl Lifetimes {
    /// The original mini-project's 30 idle minutes, with an 8-hour absolute cap.
    pub const DEFAULT: Lifetimes =
        Lifetimes { idle: Duration::from_secs(30 * 60), absolute: Duration::from_secs(8 * 60 * 60) };
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes::DEFAULT
    }
}

/// A session id: a random (v4) UUID, written in its canonical lowercase hyphenated form.
///
/// Parsing accepts only that form (36 characters), so a cookie value that merely *decodes* as a
/// UUID (braces, no hyphens, upper case) is rejected like any other garbage, before Redis is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SessionId(Uuid);

impl SessionId {
    /// A fresh random id: 122 random bits, so ids cannot be guessed.
    pub fn new() -> SessionId {
        SessionId(Uuid::new_v4())
    }

    // ANCHOR: from_cookie
    /// An id as a cookie may carry it: [`parse`](Self::parse), and a random, version-4 UUID, the
    /// only kind this service mints. A digest ([`hashed`](Self::hashed), version 8), read from
    /// Redis, a replica or a backup of an instance with key hashing on, is never a cookie, even
    /// on an instance with hashing off, where `session:<digest>` is a key it would find.
    pub fn from_cookie(value: &str) -> Option<SessionId> {
        let id = SessionId::parse(value)?;
        (id.0.get_version_num() == 4 && id.0.get_variant() == uuid::Variant::RFC4122).then_some(id)
    }
    // ANCHOR_END: from_cookie

    /// Accepts only a canonical UUID (`8-4-4-4-12` lowercase hex), of any version: the ids at
    /// rest in an index (digests with key hashing) parse with it. A cookie is read with
    /// [`from_cookie`](Self::from_cookie).
    pub fn parse(value: &str) -> Option<SessionId> {
        if value.len() != 36 {
            return None;
        }
        let uuid = Uuid::try_parse(value).ok()?;
        let canonical = uuid.hyphenated().to_string();
        (canonical == value).then_some(SessionId(uuid))
    }

    // ANCHOR: handle
    /// The session's public name: the first 16 hex characters of the SHA-256 of its id.
    ///
    /// Why not the id itself: the list of a user's sessions is shown to every one of them, and an
    /// id *is* the session (whoever holds it is logged in). A hash is one-way: knowing a handle
    /// tells nothing about the id, and a handle in a request is only ever compared with handles
    /// computed from ids the server already holds. 64 bits are plenty to tell one user's (at most
    /// 50) sessions apart. It is stable for the session's life and needs no storage.
    pub fn handle(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.to_string().as_bytes());
        digest[..8].iter().map(|byte| format!("{byte:02x}")).collect()
    }
    // ANCHOR_END: handle

    // ANCHOR: hashed
    /// The id's name at rest with `SESSION_KEY_HASHING=on`: the SHA-256 of the id, its first
    /// 122 bits written as a version-8 ("custom") UUID, so it parses like any id and is never
    /// mistaken for a random (version-4) one. The store names the Redis key (`session:<hashed>`) and the
    /// index entry by it, so nothing in Redis is a working cookie: `MONITOR`, a replica, a backup
    /// or a read-only Redis user sees only digests, and turning a digest back into the id means
    /// inverting SHA-256. A request's cookie is hashed on the way in, one SHA-256 of 36 bytes.
    pub fn hashed(&self) -> SessionId {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.to_string().as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        bytes[6] = (bytes[6] & 0x0f) | 0x80; // version 8
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // the RFC 9562 variant
        SessionId(Uuid::from_bytes(bytes))
    }
    // ANCHOR_END: hashed

    /// The first 8 characters, for log lines: enough to correlate, useless to hijack.
    pub fn redacted(&self) -> String {
        let full = self.0.hyphenated().to_string();
        format!("{}…", &full[..8])
    }
}

impl Default for SessionId {
    fn default() -> Self {
        SessionId::new()
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The session hash's field names: every command that writes or reads a field names it
/// through these (the Lua scripts, which cannot, spell them out in their comments).
pub mod fields {
    /// `user_<digits>`, the user's stable id.
    pub const USER_ID: &str = "user_id";
    /// The name as typed at login.
    pub const USERNAME: &str = "username";
    /// Unix seconds at login, Redis's clock.
    pub const CREATED_AT: &str = "created_at";
    /// The device's name ("Firefox on Linux", lesson 06).
    pub const DEVICE: &str = "device";
    /// The address it logged in from, or empty.
    pub const IP: &str = "ip";
    /// Unix seconds of the last password check, when it was not the login's (`POST /reauth`,
    /// which keeps `created_at`): the privileged window counts from it.
    pub const AUTHENTICATED_AT: &str = "authenticated_at";
}

// ANCHOR: session
/// What a session holds: the original mini-project's three fields. `#[non_exhaustive]`: the
/// store may add a field without breaking your code, so make one with [`Session::new`] and read
/// its fields by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Session {
    /// `user_<n>`, stable for a username (see [`user_id_for`](super::user_id_for)).
    pub user_id: String,
    /// The name given at login.
    pub username: String,
    /// Unix seconds at login; the absolute lifetime counts from here.
    pub created_at: u64,
}
// ANCHOR_END: session

impl Session {
    /// A session of `user_id`, logged in as `username` at `created_at` (unix seconds).
    pub fn new(user_id: impl Into<String>, username: impl Into<String>, created_at: u64) -> Session {
        Session { user_id: user_id.into(), username: username.into(), created_at }
    }

    // ANCHOR: to_fields
    /// The hash fields, in the order they are written.
    pub fn to_fields(&self) -> [(&'static str, String); 3] {
        [
            (fields::USER_ID, self.user_id.clone()),
            (fields::USERNAME, self.username.clone()),
            (fields::CREATED_AT, self.created_at.to_string()),
        ]
    }
    // ANCHOR_END: to_fields

    // ANCHOR: from_fields
    /// Rebuilds a session from `HGETALL`'s map. An empty map (missing key) or a partial one (a
    /// field missing or `created_at` not a number) is `None`: a partial hash is never a session.
    pub fn from_fields(map: &HashMap<String, String>) -> Option<Session> {
        Some(Session {
            user_id: map.get(fields::USER_ID)?.clone(),
            username: map.get(fields::USERNAME)?.clone(),
            created_at: map.get(fields::CREATED_AT)?.parse().ok()?,
        })
    }
    // ANCHOR_END: from_fields
}

/// The most session ids one request makes the service try: enough that a few planted cookies
/// (cookie tossing) cannot push the live one out, few enough that a flood of them costs a
/// bounded number of Redis calls.
pub const MAX_SESSION_COOKIES: usize = 8;

// ANCHOR: session_ids
/// The well-formed session ids a request carries, in the order it sent them: at most
/// [`MAX_SESSION_COOKIES`]. Kept inline (no allocation per request).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionIds {
    ids: [Option<SessionId>; MAX_SESSION_COOKIES],
}

impl SessionIds {
    /// Adds `id` if there is room; false when full.
    pub fn push(&mut self, id: SessionId) -> bool {
        match self.ids.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => {
                *slot = Some(id);
                true
            }
            None => false,
        }
    }

    /// The ids, in order.
    pub fn iter(&self) -> impl Iterator<Item = SessionId> + '_ {
        self.ids.iter().flatten().copied()
    }

    /// The first id, if any.
    pub fn first(&self) -> Option<SessionId> {
        self.ids[0]
    }

    /// True when the request named no well-formed session id.
    pub fn is_empty(&self) -> bool {
        self.ids[0].is_none()
    }
}
// ANCHOR_END: session_ids

/// Seconds since the Unix epoch, by this machine's clock. The store never uses it (Redis's clock
/// decides, see [`touch`](super::touch)); the lessons and tests use it to make and check timestamps.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_id_is_stable_canonical_and_not_the_id() {
        let id = SessionId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").expect("canonical");
        let hashed = id.hashed();
        assert_eq!(hashed, id.hashed());
        assert_ne!(hashed, id);
        assert_eq!(SessionId::parse(&hashed.to_string()), Some(hashed), "parses back like any id");
        // SHA-256("0f8fad5b-d9cb-469f-a165-70867728950e"), first 16 bytes, version 8.
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(id.to_string().as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        bytes[6] = (bytes[6] & 0x0f) | 0x80;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hashed.to_string().replace('-', ""), hex);
        assert_eq!(hashed.to_string().as_bytes()[14], b'8', "version 8: {hashed}");
        assert_ne!(SessionId::new().hashed(), hashed);
    }

    #[test]
    fn only_random_ids_are_cookies() {
        let id = SessionId::new();
        assert_eq!(SessionId::from_cookie(&id.to_string()), Some(id));
        let digest = id.hashed().to_string();
        assert_eq!(SessionId::parse(&digest), Some(id.hashed()), "a digest is an id at rest");
        assert_eq!(SessionId::from_cookie(&digest), None, "but never a cookie");
        for other in [
            "00000000-0000-0000-0000-000000000000", // nil
            "6ba7b810-9dad-11d1-80b4-00c04fd430c8", // version 1
            "0f8fad5b-d9cb-369f-a165-70867728950e", // version 3
            "0f8fad5b-d9cb-569f-a165-70867728950e", // version 5
            "0f8fad5b-d9cb-469f-c165-70867728950e", // version 4, Microsoft's variant
        ] {
            assert_eq!(SessionId::from_cookie(other), None, "{other}");
            assert!(SessionId::parse(other).is_some(), "{other} parses as an id at rest");
        }
    }

    #[test]
    fn only_canonical_uuids_parse() {
        let id = SessionId::new();
        assert_eq!(SessionId::parse(&id.to_string()), Some(id));
        let canonical = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert!(SessionId::parse(canonical).is_some());
        for bad in [
            "",
            "not-a-uuid",
            "0F8FAD5B-D9CB-469F-A165-70867728950E",
            "0f8fad5bd9cb469fa16570867728950e",
            "{0f8fad5b-d9cb-469f-a165-70867728950e}",
            "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950e ",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
        ] {
            assert_eq!(SessionId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn fields_round_trip_and_partial_hashes_are_rejected() {
        let session =
            Session { user_id: "user_1".into(), username: "alice".into(), created_at: 1_700_000_000 };
        let map: HashMap<String, String> =
            session.to_fields().iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        assert_eq!(Session::from_fields(&map), Some(session));
        for missing in ["user_id", "username", "created_at"] {
            let mut partial = map.clone();
            partial.remove(missing);
            assert_eq!(Session::from_fields(&partial), None, "without {missing}");
        }
        let mut bad_time = map.clone();
        bad_time.insert("created_at".into(), "yesterday".into());
        assert_eq!(Session::from_fields(&bad_time), None);
        assert_eq!(Session::from_fields(&HashMap::new()), None);
    }
}
