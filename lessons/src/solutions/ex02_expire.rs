//! Reference solutions for lesson 02: the service's own `create_session` and `user_id_for`
//! (`src/store.rs`, anchors `create_session` and `user_id`).

pub use session_storage::store::{create_session, user_id_for};
