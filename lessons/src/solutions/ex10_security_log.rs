//! Reference solutions for lesson 10: the service's own `append_event` and `latest_events`
//! (`src/store/events.rs`, anchors `append_event` and `latest_events`).

pub use session_storage::store::{append_event, latest_events};
