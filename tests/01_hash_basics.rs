//! Lesson 01 (hash basics): the transcript of `examples/01_hash_basics.rs`, one snapshot per step, against a
//! private Redis, checked against Redis's own record of what the lesson sent. Read the snapshots
//! in `tests/snapshots/01_hash_basics__step_*.snap`.

mod common;

#[allow(dead_code)]
#[path = "../examples/01_hash_basics.rs"]
mod lesson;

#[tokio::test]
async fn transcript_per_step() {
    common::check_lesson("01_hash_basics", 9, lesson::run).await;
}
