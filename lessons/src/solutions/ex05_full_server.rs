//! Reference solutions for lesson 05: the service's own `session_info` handler and
//! `validate_username` (`src/http.rs`, anchors `session_info` and `validate_username`).

pub use session_storage::http::{session_info, validate_username};
