//! Reference solutions for lesson 04: the service's own cookie functions (`src/cookies.rs`,
//! anchors `set_cookie`, `clear_cookie` and `read_cookie`).

pub use session_storage::cookies::{clear_session_cookie, read_session_cookies, session_cookie};
