//! Reference solutions for lesson 01: the service's own `Session::to_fields` and
//! `Session::from_fields` (`src/store.rs`, anchor `session`).

use std::collections::HashMap;

use session_storage::store::Session;

/// Exercise 01a, solved by the service's code.
pub fn session_fields(session: &Session) -> [(&'static str, String); 3] {
    session.to_fields()
}

/// Exercise 01b, solved by the service's code.
pub fn session_from_fields(fields: &HashMap<String, String>) -> Option<Session> {
    Session::from_fields(fields)
}
