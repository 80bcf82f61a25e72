//! Reference solutions for lesson 03: the service's own `touch` and the hash behind
//! `user_id_for` (`src/store/touch.rs` and `src/store/create.rs`, anchors `touch` and `user_id`).
//! The service's `user_id_for` hashes the name's canonical form (`Alice` and `alice` are one
//! user, lesson 05); the exercise hashes the name as given.

pub use session_storage::store::hashed_user_id as user_id_for;
pub use session_storage::store::touch;
