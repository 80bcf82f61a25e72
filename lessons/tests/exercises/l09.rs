/// A limit key's TAT as stored (text, so that a TAT that is not whole milliseconds, `8571.43`,
/// shows as it is) and when it expires (`PEXPIRETIME`: -2 when there is no key).
async fn tat_of(con: &mut ConnectionManager, key: &str) -> (Option<String>, i64) {
    let tat: Option<String> = cmd(con, &["GET", key]).await;
    let expires_at: i64 = cmd(con, &["PEXPIRETIME", key]).await;
    (tat, expires_at)
}

/// A stored TAT in unix ms, or what it is instead, as text for the answer key.
fn tat_ms(tat: &str) -> Result<i64, Value> {
    tat.parse().map_err(|_| json!(format!("{tat} (not whole milliseconds)")))
}

/// Plants a TAT `ahead_ms` after Redis's clock (before it, if negative), with a TTL that ends
/// there, as a throttle would have written it; answers the TAT.
async fn plant_tat(con: &mut ConnectionManager, key: &str, ahead_ms: i64) -> i64 {
    let tat = redis_now_ms(con).await as i64 + ahead_ms;
    let ttl = ahead_ms.max(60_000).to_string();
    let _: () = cmd(con, &["SET", key, &tat.to_string(), "PX", &ttl]).await;
    tat
}

/// One `throttle` call, between two readings of Redis's clock (unix ms): the answer (`None` when
/// allowed, or the wait in ms), or its error as text.
async fn attempt(
    con: &mut ConnectionManager,
    limits: &[session_storage::store::Limit],
    period: Duration,
) -> (Result<Option<u64>, String>, (i64, i64)) {
    let before = redis_now_ms(con).await as i64;
    let wait = ex09_rate_limit::throttle(con, limits, period).await;
    let after = redis_now_ms(con).await as i64;
    (
        wait.map(|wait| wait.map(|wait| wait.as_millis() as u64)).map_err(|e| format!("error: {e}")),
        (before, after),
    )
}

/// What an attempt answered: allowed, refused, or the error.
fn verdict(wait: &Result<Option<u64>, String>) -> Value {
    match wait {
        Ok(None) => json!("allowed"),
        Ok(Some(_)) => json!("refused"),
        Err(error) => json!(error),
    }
}

/// Whether a wait is exactly `due - now - period` for a `now` read by the script between the
/// check's two readings, `before` and `after` (signed: a `due` that would allow gives a range
/// below 0, which no wait is in).
fn wait_is(
    wait: &Result<Option<u64>, String>,
    due: i64,
    period_ms: i64,
    (before, after): (i64, i64),
) -> Value {
    match wait {
        Ok(Some(wait)) => {
            let expected = due - period_ms - after..=due - period_ms - before;
            json!(i64::try_from(*wait).is_ok_and(|wait| expected.contains(&wait)))
        }
        Ok(None) => json!("allowed"),
        Err(error) => json!(error),
    }
}

/// [`wait_is`] for a limit of `step` ms whose TAT was `tat` before the attempt (none: now).
fn wait_is_after(
    wait: &Result<Option<u64>, String>,
    tat: &Option<String>,
    step: i64,
    period_ms: i64,
    clock: (i64, i64),
) -> Value {
    match tat.as_deref().map(tat_ms) {
        Some(Err(shown)) => shown,
        Some(Ok(tat)) => wait_is(wait, tat.max(clock.0) + step, period_ms, clock),
        None => wait_is(wait, clock.0 + step, period_ms, clock),
    }
}

/// Whether a key now holds the TAT `now + step` for a `now` between `before` and `after`, with a
/// TTL that ends at it.
fn fresh_tat(stored: (Option<String>, i64), step: i64, (before, after): (i64, i64)) -> Value {
    match stored {
        (Some(tat), expires_at) => match tat_ms(&tat) {
            Ok(tat) => json!({
                "tat_is_now_plus_ms": if (before + step..=after + step).contains(&tat) { json!(step) } else { json!("another TAT") },
                "ttl_ends_at_the_tat": expires_at.abs_diff(tat) <= 5,
            }),
            Err(shown) => json!({ "tat_is_now_plus_ms": shown }),
        },
        (None, _) => json!("no key"),
    }
}

/// How far a TAT moved, in ms, and whether the key's TTL ends at the moved TAT.
fn moved_tat(before: &str, stored: (Option<String>, i64)) -> Value {
    match (tat_ms(before), stored.0.as_deref().map(tat_ms)) {
        (Ok(before), Some(Ok(tat))) => json!({
            "tat_moved_by_ms": tat.saturating_sub(before),
            "ttl_ends_at_the_tat": stored.1.abs_diff(tat) <= 5,
        }),
        (Err(shown), _) | (_, Some(Err(shown))) => json!({ "tat_moved_by_ms": shown }),
        (Ok(_), None) => json!({ "tat_moved_by_ms": "no key" }),
    }
}

/// The GCRA limiter, run with the application's clock an hour ahead of Redis's. The service's
/// keys under "4 per client, 3 per user" (alice four times, then bob and carol), each refusal's
/// wait compared with each limit's; 7 per minute (a step of 60000 / 7 = 8571.43 ms, rounded down
/// to 8571), eight attempts, the TAT's every step in ms; both sides of the bound, and a TAT in
/// the past; two limits that refuse at once, in both orders, and one that would allow beside one
/// that refuses; limits of 0; and 20 attempts at once against a limit of 3. Every margin of time
/// is seconds wide, or does not depend on how long the check takes.
#[tokio::test]
async fn ex09a_throttle() {
    use session_storage::store::Limit;
    if !with_the_app_clock_ahead("ex09a_throttle") {
        return;
    }
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let period = Duration::from_secs(60);
    let period_ms: i64 = 60_000;
    let limit = |key: &str, limit: u32| Limit { key: key.to_string(), limit };
    let mut refusals_wrote = Vec::new();

    // The service's keys, as its login names them.
    let keys = session_storage::store::Keys::prefixed("ex09:");
    let client = "198.51.100.7";
    let limits =
        |user: &str| [limit(&keys.login_client(client), 4), limit(&keys.login_user(client, user), 3)];
    let mut answers = Vec::new();
    for user in ["alice", "alice", "alice", "alice", "bob", "carol"] {
        let [per_client, per_user] = limits(user);
        let before = (tat_of(&mut con, &per_client.key).await, tat_of(&mut con, &per_user.key).await);
        let (wait, clock) = attempt(&mut con, &limits(user), period).await;
        let after = (tat_of(&mut con, &per_client.key).await, tat_of(&mut con, &per_user.key).await);
        let answer = if matches!(wait, Ok(Some(_))) {
            refusals_wrote.push(before != after);
            json!({
                "user": user,
                "answer": "refused",
                "wait_ms_is_the_per_client_wait": wait_is_after(&wait, &before.0.0, 15_000, period_ms, clock),
                "wait_ms_is_the_per_user_wait": wait_is_after(&wait, &before.1.0, 20_000, period_ms, clock),
            })
        } else {
            json!({ "user": user, "answer": verdict(&wait) })
        };
        answers.push(answer);
    }

    // 7 per minute: the step is 8571 ms, and the 8th attempt is refused.
    let seven = "ex09:{seven}";
    let step: i64 = 8571;
    let mut seven_per_minute = Vec::new();
    for n in 1..=8 {
        let (tat_before, expiry_before) = tat_of(&mut con, seven).await;
        let (wait, clock) = attempt(&mut con, &[limit(seven, 7)], period).await;
        let stored = tat_of(&mut con, seven).await;
        let facts = match (&wait, &tat_before) {
            (Ok(None), None) => fresh_tat(stored, step, clock),
            (Ok(None), Some(before)) => moved_tat(before, stored),
            (Ok(Some(_)), _) => {
                let wait_is = wait_is_after(&wait, &tat_before, step, period_ms, clock);
                refusals_wrote.push(stored != (tat_before, expiry_before));
                json!({ "wait_ms_is_the_moved_tat_less_now_less_the_period": wait_is })
            }
            (Err(error), _) => json!(error),
        };
        seven_per_minute.push(json!({ "attempt": n, "answer": verdict(&wait), "then": facts }));
    }

    // Both sides of the bound: a TAT that moves to 500 ms inside one period of now (the time
    // the check takes only moves it further inside), one that moves to 5 s beyond it (the check
    // may take up to 5 s between planting it and the attempt), and one in the past (it counts
    // as now).
    let mut bound = BTreeMap::new();
    let inside = "ex09:{inside}";
    let planted = plant_tat(&mut con, inside, period_ms - step - 500).await;
    let (wait, _) = attempt(&mut con, &[limit(inside, 7)], period).await;
    let mut facts = moved_tat(&planted.to_string(), tat_of(&mut con, inside).await);
    facts["answer"] = verdict(&wait);
    bound.insert("moved TAT 500 ms inside the period", facts);
    let beyond = "ex09:{beyond}";
    let planted = plant_tat(&mut con, beyond, period_ms - step + 5000).await;
    let before = tat_of(&mut con, beyond).await;
    let (wait, clock) = attempt(&mut con, &[limit(beyond, 7)], period).await;
    refusals_wrote.push(tat_of(&mut con, beyond).await != before);
    bound.insert("moved TAT 5 s beyond the period", json!({
        "answer": verdict(&wait),
        "wait_ms_is_the_moved_tat_less_now_less_the_period": wait_is(&wait, planted + step, period_ms, clock),
    }));
    let past = "ex09:{past}";
    plant_tat(&mut con, past, -30_000).await;
    let (wait, clock) = attempt(&mut con, &[limit(past, 7)], period).await;
    bound.insert(
        "TAT 30 s in the past",
        json!({
            "answer": verdict(&wait),
            "then": fresh_tat(tat_of(&mut con, past).await, step, clock),
        }),
    );

    // Two limits that refuse at once: 7 per minute would wait about 3 s, 5 per minute (a step
    // of 12000 ms) about 8 s. The answer is the worse wait, in either order, and nothing moves.
    let (a, b) = ("ex09:{two}:a", "ex09:{two}:b");
    let tat_a = plant_tat(&mut con, a, period_ms - step + 3000).await;
    let tat_b = plant_tat(&mut con, b, period_ms - 12_000 + 8000).await;
    let mut both_refuse = BTreeMap::new();
    for (name, order) in [
        ("7 per minute first", [limit(a, 7), limit(b, 5)]),
        ("5 per minute first", [limit(b, 5), limit(a, 7)]),
    ] {
        let before = (tat_of(&mut con, a).await, tat_of(&mut con, b).await);
        let (wait, clock) = attempt(&mut con, &order, period).await;
        refusals_wrote.push((tat_of(&mut con, a).await, tat_of(&mut con, b).await) != before);
        both_refuse.insert(
            name,
            json!({
                "wait_ms_is_the_5_per_minute_wait": wait_is(&wait, tat_b + 12_000, period_ms, clock),
                "wait_ms_is_the_7_per_minute_wait": wait_is(&wait, tat_a + step, period_ms, clock),
            }),
        );
    }
    // A fresh key that would allow, beside one that refuses: it must not be written either.
    let fresh = "ex09:{two}:fresh";
    let (wait, _) = attempt(&mut con, &[limit(fresh, 7), limit(b, 5)], period).await;
    let fresh_written: u64 = cmd(&mut con, &["EXISTS", fresh]).await;
    let beside_a_refusal =
        json!({ "refused": matches!(wait, Ok(Some(_))), "allowing_key_written": fresh_written == 1 });

    // Limits of 0 are off: never counted, never written.
    let off = "ex09:{off}:off";
    let (wait_when_off, _) = attempt(&mut con, &[limit(off, 0)], period).await;
    let on = "ex09:{off}:on";
    let (wait_mixed, clock) = attempt(&mut con, &[limit(off, 0), limit(on, 7)], period).await;
    let off_key: u64 = cmd(&mut con, &["EXISTS", off]).await;
    let limits_of_0 = json!({
        "alone": wait_when_off,
        "before_a_limit_of_7": wait_mixed,
        "the_7_then": fresh_tat(tat_of(&mut con, on).await, step, clock),
        "key_of_the_0_written": off_key == 1,
    });

    // 20 attempts at once, each on its own clone of the connection, against 3 per minute.
    let crowd = "ex09:{crowd}";
    let attempts = (0..20).map(|_| {
        let mut con = con.clone();
        let limits = [limit(crowd, 3)];
        async move { ex09_rate_limit::throttle(&mut con, &limits, period).await }
    });
    let results = futures_util::future::join_all(attempts).await;
    let allowed = results.iter().filter(|result| matches!(result, Ok(None))).count();
    let errors: Vec<String> =
        results.iter().filter_map(|r| r.as_ref().err().map(ToString::to_string)).collect();

    let outcome = json!({
        "service_keys_4_per_client_3_per_user": answers,
        "seven_per_minute": seven_per_minute,
        "both_sides_of_the_bound": bound,
        "two_limits_refuse_at_once": both_refuse,
        "a_limit_that_allows_beside_one_that_refuses": beside_a_refusal,
        "every_refusal_wrote_nothing": !refusals_wrote.is_empty() && refusals_wrote.iter().all(|wrote| !wrote),
        "limits_of_0": limits_of_0,
        "twenty_at_once_against_3": { "allowed": allowed, "errors": errors },
    });
    insta::assert_yaml_snapshot!("ex09a_throttle", outcome);
}
