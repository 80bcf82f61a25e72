//! Reference solutions for lesson 03: the service's own `touch` and `user_id_for`
//! (`src/store/touch.rs` and `src/store/create.rs`, anchors `touch` and `user_id`).

pub use session_storage::store::{touch, user_id_for};
