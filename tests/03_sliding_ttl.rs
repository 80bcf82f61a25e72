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

/// The service's renewal (`store::renew`, a pipeline) answers as the script (`store::touch`)
/// does, case by case, against a real Redis: a live session, one in its last idle period, one
/// past its absolute lifetime, a partial hash, and a missing key. Neither ever creates a key.
#[tokio::test]
async fn the_pipelined_renewal_answers_as_the_script_does() {
    use session_storage::store::Lifetimes;
    use session_storage::store::{Session, create_session, renew, touch, unix_now};
    use std::time::Duration;

    let (_redis, mut con) = common::lesson_redis().await;
    let lifetimes = Lifetimes { idle: Duration::from_secs(600), absolute: Duration::from_secs(3600) };
    let now = unix_now();
    let cases = [("live", now), ("last idle period", now - 3590), ("past its lifetime", now - 3601)];
    for (case, created_at) in cases {
        let mut answers = Vec::new();
        for (n, by_script) in [false, true].into_iter().enumerate() {
            let key = format!("renew:{case}:{n}");
            let session = Session::new("user_1", "alice", created_at);
            create_session(&mut con, &key, &session, lifetimes.idle, None).await.expect("create");
            let answer = if by_script {
                touch(&mut con, &key, lifetimes.idle, lifetimes.absolute).await
            } else {
                renew(&mut con, &key, lifetimes).await
            }
            .expect("renewal");
            let ttl: i64 = common::query(&mut con, &["TTL", &key]).await;
            answers.push((answer, ttl));
        }
        let ((renewed, renewed_ttl), (touched, touched_ttl)) = (&answers[0], &answers[1]);
        let session =
            |answer: &Option<session_storage::store::Touched>| answer.as_ref().map(|t| t.session.clone());
        assert_eq!(session(renewed), session(touched), "{case}: renew and touch agree");
        let reported =
            |answer: &Option<session_storage::store::Touched>| answer.as_ref().map(|t| t.ttl_secs as i64);
        let close = |a: i64, b: i64| (a - b).abs() <= 1;
        match case {
            "live" => assert!([*renewed_ttl, *touched_ttl].iter().all(|ttl| close(*ttl, 600)), "{answers:?}"),
            "last idle period" => {
                assert!([*renewed_ttl, *touched_ttl].iter().all(|ttl| (7..=10).contains(ttl)), "{answers:?}");
                assert!(reported(renewed).is_some_and(|ttl| (8..=10).contains(&ttl)), "{answers:?}");
                assert!(close(reported(renewed).unwrap_or(0), reported(touched).unwrap_or(0)), "{answers:?}");
            }
            _ => assert_eq!((renewed.is_none(), *renewed_ttl, *touched_ttl), (true, -2, -2), "deleted"),
        }
    }
    // A partial hash is deleted and refused; a missing key stays missing.
    let _: () = common::query(&mut con, &["HSET", "renew:partial", "user_id", "user_1"]).await;
    let _: () = common::query(&mut con, &["EXPIRE", "renew:partial", "600"]).await;
    assert_eq!(renew(&mut con, "renew:partial", lifetimes).await.expect("renew"), None);
    let exists: u64 = common::query(&mut con, &["EXISTS", "renew:partial", "renew:missing"]).await;
    assert_eq!(exists, 0);
    assert_eq!(renew(&mut con, "renew:missing", lifetimes).await.expect("renew"), None);
    let exists: u64 = common::query(&mut con, &["EXISTS", "renew:missing"]).await;
    assert_eq!(exists, 0, "a renewal never creates a key");
}
