//! Lesson 04 (cookie flow): the transcript of `examples/04_cookie_flow.rs`, one snapshot per step, against a
//! private Redis, checked against Redis's own record of what the lesson sent. Read the snapshots
//! in `tests/snapshots/04_cookie_flow__step_*.snap`.

mod common;

#[allow(dead_code)]
#[path = "../examples/04_cookie_flow.rs"]
mod lesson;

#[tokio::test]
async fn transcript_per_step() {
    common::check_lesson("04_cookie_flow", 7, lesson::run).await;
}
