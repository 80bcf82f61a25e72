//! Reference solution for lesson 09: the service's own `throttle` (`src/store/throttle.rs`,
//! anchor `throttle`; the script is `src/store/scripts/throttle.lua`).

pub use session_storage::store::throttle;
