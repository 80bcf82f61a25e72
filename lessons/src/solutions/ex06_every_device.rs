//! Reference solutions for lesson 06: the service's own `index_session` (`src/store/index.rs`, anchor
//! `index_add`) and `SessionId::handle` (`src/store/session.rs`, anchor `handle`).

use session_storage::store::SessionId;

pub use session_storage::store::index_session;

/// Exercise 06b, solved by the service's code.
pub fn handle(id: &SessionId) -> String {
    id.handle()
}
