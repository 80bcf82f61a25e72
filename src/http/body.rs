//! The JSON bodies of the service's routes, with their OpenAPI schemas (utoipa's `ToSchema`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ANCHOR: username_pattern
/// What a username's shape must be, as far as a JSON Schema pattern can say it: words of
/// characters that are not controls (`U+0000`-`U+001F`, `U+007F`-`U+009F`), invisible
/// formatting characters (zero-width, bidi controls, the byte-order mark, the soft hyphen) or
/// line and paragraph separators, joined by single spaces. Every name outside it is refused
/// (422); a name inside it may still break RFC 8265's rules, which no pattern can express.
pub(crate) const USERNAME_PATTERN: &str = "^[^ \\u0000-\\u001F\\u007F-\\u009F\\u00AD\\u061C\\u180E\\u200B-\\u200F\\u2028-\\u202E\\u2060-\\u2064\\u2066-\\u2069\\uFEFF]+( [^ \\u0000-\\u001F\\u007F-\\u009F\\u00AD\\u061C\\u180E\\u200B-\\u200F\\u2028-\\u202E\\u2060-\\u2064\\u2066-\\u2069\\uFEFF]+)*$";
// ANCHOR_END: username_pattern

/// `POST /login` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// 1 to `MAX_USERNAME_CHARS` characters: words of RFC 8265's `UsernameCaseMapped` separated
    /// by single spaces. The pattern says what a pattern can: no control, invisible-formatting
    /// or line-separator character, no space at either end or two in a row; the rest of the
    /// rules (letters, digits and printable ASCII only, the Bidi rule) are in words; the pattern,
    /// the words and the length limit are set from the constants by `document_limits`.
    #[schema(example = "alice", min_length = 1)]
    pub username: String,
    /// Any text: the service's password check decides (by default any password is accepted, as
    /// in the original mini-project: this workbook is about sessions). The whole body is at
    /// most `BODY_LIMIT` (set in the published document by `document_limits`).
    #[schema(example = "secret")]
    pub password: String,
}

/// `POST /login` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Always `Login successful`.
    #[schema(example = "Login successful")]
    pub message: String,
    /// The name that logged in.
    #[schema(example = "alice")]
    pub username: String,
    /// The new session id (also in the `session_id` cookie). Kept for compatibility with the
    /// original mini-project; it costs something: a page script that calls `/login` can read
    /// it, which the HttpOnly cookie alone would prevent. Drop it where compatibility allows.
    #[schema(example = "0f8fad5b-d9cb-469f-a165-70867728950e")]
    pub session_id: String,
}

/// `GET /profile` answer: exactly the two fields of the original.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileResponse {
    /// Stable per username: `user_<n>`.
    #[schema(example = "user_1")]
    pub user_id: String,
    /// The name that logged in.
    #[schema(example = "alice")]
    pub username: String,
}

/// `GET /session` answer: what the store knows about the caller's session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// Stable per username: `user_<n>`.
    #[schema(example = "user_1")]
    pub user_id: String,
    /// The name that logged in.
    #[schema(example = "alice")]
    pub username: String,
    /// Unix seconds at login.
    #[schema(example = 1_795_850_860)]
    pub created_at: u64,
    /// Seconds until the session expires if unused: the idle TTL just set, or less when the
    /// absolute lifetime is closer.
    #[schema(example = 1800)]
    pub expires_in: u64,
}

/// One attribute of the session cookie, and what it does.
#[derive(Debug, Serialize, ToSchema)]
pub struct CookieAttribute {
    /// As written in `Set-Cookie`, e.g. `HttpOnly` or `Max-Age=1800`.
    #[schema(example = "HttpOnly")]
    pub name: String,
    /// What it makes the browser do.
    #[schema(example = "page scripts cannot read it: document.cookie leaves it out")]
    pub meaning: String,
}

/// `GET /session/details` answer: what the page at `/` shows about the caller's session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDetails {
    /// The fields of `GET /session`.
    #[serde(flatten)]
    pub session: SessionInfo,
    /// The idle lifetime in seconds: what every request sets the TTL back to.
    #[schema(example = 1800)]
    pub idle_ttl: u64,
    /// Unix seconds at which the absolute lifetime ends, however active the session is.
    #[schema(example = 1_795_879_660)]
    pub absolute_deadline: u64,
    /// The `Set-Cookie` header of this very answer, with the session id left out.
    #[schema(example = "session_id=<id, not shown>; HttpOnly; SameSite=Lax; Path=/; Max-Age=1800")]
    pub set_cookie: String,
    /// Each attribute of that cookie, and what it does.
    pub cookie_attributes: Vec<CookieAttribute>,
}

/// One session in `GET /sessions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionEntry {
    /// Names the session without being usable as it: 16 hex characters of the SHA-256 of its
    /// id. Pass it to `DELETE /sessions/{handle}`.
    #[schema(example = "3f2a9c0d41b7e865", pattern = "^[0-9a-f]{16}$")]
    pub handle: String,
    /// Unix seconds at login.
    #[schema(example = 1_795_850_860)]
    pub created_at: u64,
    /// Unix seconds of its last request, derived from its TTL (in its last idle window before
    /// the absolute lifetime ends, the start of that window).
    #[schema(example = 1_795_851_460)]
    pub last_active: u64,
    /// Seconds until it expires if unused.
    #[schema(example = 1800)]
    pub expires_in: u64,
    /// The device it logged in on, named from its `User-Agent` (at most 200 characters;
    /// `unknown device` without one).
    #[schema(example = "Firefox on Linux", max_length = 200)]
    pub device: String,
    /// The client address it logged in from (behind a proxy in `TRUSTED_PROXIES`, the address
    /// the proxy saw); `null` when not recorded.
    #[schema(example = "203.0.113.9")]
    pub ip: Option<String>,
    /// True for the session that made this request ("this device").
    pub current: bool,
}

/// `GET /sessions` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// The user's live sessions, newest first.
    pub sessions: Vec<SessionEntry>,
}

/// `POST /logout-everywhere` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedOutEverywhere {
    /// Always `Logged out everywhere`.
    #[schema(example = "Logged out everywhere")]
    pub message: String,
    /// How many sessions were ended, this one included.
    #[schema(example = 3)]
    pub revoked: u64,
}

/// `POST /reauth` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReauthRequest {
    /// The user's password, checked by the same check as `/login` (today any password is
    /// accepted, as in the original mini-project).
    #[schema(example = "secret")]
    pub password: String,
}

/// `POST /reauth` answer. The new session id travels in the cookie only.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReauthResponse {
    /// Always `Re-authenticated`.
    #[schema(example = "Re-authenticated")]
    pub message: String,
    /// Seconds during which this session may end other sessions (`PRIVILEGED_WINDOW_SECS`).
    #[schema(example = 300)]
    pub privileged_for: u64,
}

/// One entry of the security log.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityEventEntry {
    /// What happened: `login`, `logout`, `revoked`, `logout_everywhere`, `reauth`; or one
    /// client's refused logins of this user, `throttled` or `wrong_password` (the last reason).
    #[serde(rename = "type")]
    #[schema(example = "login")]
    pub kind: String,
    /// Unix seconds, Redis's clock.
    #[schema(example = 1_795_850_860)]
    pub at: u64,
    /// The device: for `revoked`, the one whose session was ended; otherwise the one that acted.
    #[schema(example = "Safari on iPhone")]
    pub device: String,
    /// The client address; `null` when unknown.
    #[schema(example = "198.51.100.23")]
    pub ip: Option<String>,
    /// The session's handle (as in `GET /sessions`), never its id; `null` for refused logins.
    #[schema(example = "3f2a9c0d41b7e865")]
    pub handle: Option<String>,
    /// How many attempts the entry stands for: 1 for the user's own events; for refused logins,
    /// that client's refused attempts, coalesced into one entry (`at` is the last one's).
    #[schema(example = 1)]
    pub count: u64,
}

/// `GET /security-events` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityEvents {
    /// At most 100 events, newest first.
    pub events: Vec<SecurityEventEntry>,
}

/// `POST /logout` answer, and `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    /// What happened.
    #[schema(example = "Logged out successfully")]
    pub message: String,
}

/// `PUT /note` body: the note to keep in the caller's session data (lesson 11).
#[derive(Debug, Deserialize, ToSchema)]
pub struct NoteRequest {
    /// Any text; its JSON must fit `SESSION_DATA_MAX_VALUE_BYTES` (4096 bytes by default).
    #[schema(example = "buy tea")]
    pub note: String,
}

/// `GET /note` and `PUT /note` answer: the note kept in the caller's session data, and how many
/// times it was saved (a counter incremented in Redis).
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteResponse {
    /// The note, or `null` when none was saved.
    #[schema(example = "buy tea")]
    pub note: Option<String>,
    /// How many times a note was saved in this session (or before login, as a visitor).
    #[schema(example = 3)]
    pub saves: i64,
}
