//! Lesson 02 (expire): the transcript of `examples/02_expire.rs`, one snapshot per step, against a
//! private Redis, checked against Redis's own record of what the lesson sent. Read the snapshots
//! in `tests/snapshots/02_expire__step_*.snap`.

mod common;

#[allow(dead_code)]
#[path = "../examples/02_expire.rs"]
mod lesson;

#[tokio::test]
async fn transcript_per_step() {
    common::check_lesson("02_expire", 9, lesson::run).await;
}
