//! Reference solution for lesson 03: the service's own `touch` (`src/store.rs`, anchor `touch`).

pub use session_storage::store::touch;
