/// `touch` against sessions of every age, with an idle TTL of 1234 s and a lifetime of 7777 s
/// (numbers no answer could have typed in), by Redis's clock, run with the application's clock an
/// hour ahead of it: a live session, a missing key and a partial hash; then sessions whose
/// lifetime has 5 s, 0 s, the idle TTL plus a minute and the idle TTL less 100 s left, and a
/// minute-old one. Each answer, the TTL in Redis after it, what the hash holds, whether the first
/// call was one atomic step, and whether any key was created.
#[tokio::test]
async fn ex03a_touch() {
    if !with_the_app_clock_ahead("ex03a_touch") {
        return;
    }
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let idle = Duration::from_secs(1234);
    let absolute = Duration::from_secs(7777);
    let now = redis_now(&mut con).await;
    create_session(&mut con, "ex03:live", &alice(now), idle, None).await.expect("create");
    let _: () = cmd(&mut con, &["PEXPIRE", "ex03:live", "5000"]).await;
    let mut recorder = Recorder::new(con.clone());
    let renewed = ex03_sliding_ttl::touch(&mut recorder, "ex03:live", idle, absolute).await;
    let one_step = one_atomic_step(&recorder.trips);
    let live_ttl: i64 = cmd(&mut con, &["TTL", "ex03:live"]).await;
    let live_fields = hash(&mut con, "ex03:live").await;

    let missing = ex03_sliding_ttl::touch(&mut con, "ex03:gone", idle, absolute).await;
    let missing_exists: bool = cmd(&mut con, &["EXISTS", "ex03:gone"]).await;

    let _: () = cmd(&mut con, &["HSET", "ex03:partial", "last_seen", "1700000000"]).await;
    let _: () = cmd(&mut con, &["EXPIRE", "ex03:partial", "600"]).await;
    let partial = ex03_sliding_ttl::touch(&mut con, "ex03:partial", idle, absolute).await;
    let partial_fields = hash(&mut con, "ex03:partial").await;

    // The absolute cap, by Redis's clock, on both sides of the idle TTL: what each answered,
    // and the TTL in Redis after it (-2: the key is gone).
    let mut aged = BTreeMap::new();
    let (idle_s, absolute_s) = (idle.as_secs(), absolute.as_secs());
    for (name, left) in [
        ("5 s of its lifetime left", 5),
        ("none left", 0),
        ("the idle TTL and a minute left", idle_s + 60),
        ("100 s less than the idle TTL left", idle_s - 100),
        ("a minute old", absolute_s - 60),
    ] {
        let key = format!("ex03:{}", name.replace(' ', "-"));
        create_session(&mut con, &key, &alice(now + left - absolute_s), idle, None).await.expect("create");
        let answer = ex03_sliding_ttl::touch(&mut con, &key, idle, absolute).await;
        let ttl: i64 = cmd(&mut con, &["TTL", &key]).await;
        let answered = match answer {
            Ok(touched) => json!(touched.map(|t| t.ttl_secs)),
            Err(error) => json!(format!("error: {error}")),
        };
        aged.insert(name, json!({ "ttl_set": answered, "ttl_in_redis": ttl }));
    }

    let keys: Vec<String> = cmd(&mut con, &["KEYS", "*"]).await;
    let outcome = json!({
        "live": renewed.map(|t| t.map(|t| json!({"session": t.session, "ttl_secs": t.ttl_secs}))).map_err(|e| e.to_string()),
        "live_in_one_atomic_step": one_step,
        "live_ttl_in_redis": live_ttl,
        "live_fields_unchanged": live_fields,
        "missing": missing.map(|t| t.map(|t| t.ttl_secs)).map_err(|e| e.to_string()),
        "missing_exists_afterwards": missing_exists,
        "partial": partial.map(|t| t.map(|t| t.ttl_secs)).map_err(|e| e.to_string()),
        "partial_fields_added": partial_fields.keys().filter(|k| *k != "last_seen").collect::<Vec<_>>(),
        "by_age": aged,
        "keys_left": keys.iter().map(|key| key.trim_start_matches("ex03:")).collect::<std::collections::BTreeSet<_>>(),
    });
    // Redis's second may tick between the check's TIME and the script's: a second less left.
    insta::assert_yaml_snapshot!("ex03a_touch", outcome, {
        ".live.Ok.session.created_at" => redis_time_redaction(now),
        ".live_fields_unchanged.created_at" => redis_time_redaction(now),
        ".live_ttl_in_redis" => ttl_range_redaction(1224, 1234),
        ".by_age[\"5 s of its lifetime left\"].ttl_set" => ttl_range_redaction(3, 5),
        ".by_age[\"5 s of its lifetime left\"].ttl_in_redis" => ttl_range_redaction(3, 5),
        ".by_age[\"100 s less than the idle TTL left\"].ttl_set" => ttl_range_redaction(1132, 1134),
        ".by_age[\"100 s less than the idle TTL left\"].ttl_in_redis" => ttl_range_redaction(1122, 1134),
        ".by_age[\"the idle TTL and a minute left\"].ttl_in_redis" => ttl_range_redaction(1224, 1234),
        ".by_age[\"a minute old\"].ttl_in_redis" => ttl_range_redaction(1224, 1234),
    });
}

#[tokio::test]
async fn ex03b_user_ids_are_stable() {
    let _settings = settings();
    let names = [
        "alice",
        "Alice",
        "carol",
        "Zoë Ångström",
        "a name of sixty-four characters is the longest one allowed....",
    ];
    let ids: Vec<_> = names
        .iter()
        .map(|name| json!({"username": name, "user_id": ex03_sliding_ttl::user_id_for(name)}))
        .collect();
    let again: Vec<_> = names.iter().map(|name| ex03_sliding_ttl::user_id_for(name)).collect();
    let first: Vec<_> = ids.iter().map(|entry| entry["user_id"].clone()).collect();
    let outcome = json!({
        "ids": ids,
        "same_name_same_id": first.iter().zip(&again).all(|(one, two)| one == two),
        "every_id_fits_96_bits": again.iter().all(|id| id
            .strip_prefix("user_")
            .and_then(|digits| digits.parse::<u128>().ok())
            .is_some_and(|n| n < 1 << 96)),
    });
    insta::assert_yaml_snapshot!("ex03b_user_id_for", outcome);
}
