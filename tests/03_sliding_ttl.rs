//! Lesson 03 (sliding TTL): the transcript of `examples/03_sliding_ttl.rs`, one snapshot per step, against a
//! private Redis, checked against Redis's own record of what the lesson sent. Read the snapshots
//! in `tests/snapshots/03_sliding_ttl__step_*.snap`.

mod common;

#[allow(dead_code)]
#[path = "../examples/03_sliding_ttl.rs"]
mod lesson;

#[tokio::test]
async fn transcript_per_step() {
    common::check_lesson("03_sliding_ttl", 6, lesson::run).await;
}
