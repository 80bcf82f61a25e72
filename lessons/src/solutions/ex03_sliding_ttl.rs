//! Reference solutions for lesson 03: the service's own `touch` and `user_id_for`
//! (`src/store.rs`, anchors `touch` and `user_id`).

pub use session_storage::store::{touch, user_id_for};
