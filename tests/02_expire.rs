//! Lesson 02 (expire): the transcript of `examples/02_expire.rs`, one snapshot per step, against a
//! private Redis. Read the snapshots in `tests/snapshots/02_expire__step_*.snap`.

mod common;

#[allow(dead_code)]
#[path = "../examples/02_expire.rs"]
mod lesson;

use session_storage::workbook::Narrator;

#[tokio::test]
async fn transcript_per_step() {
    let (_redis, mut con) = common::lesson_redis().await;
    let mut out = Narrator::capture();
    lesson::run(&mut out, &mut con).await.expect("the lesson runs");
    common::assert_steps("02_expire", &out, 8);
    common::assert_no_keys_left(&mut con).await;
}
