/// `ttl_state` on a missing key, a key without a TTL, a string expiring in 1234 s and a session
/// hash with 77 s left (numbers no answer could have typed in): each answer, or its error as text.
#[tokio::test]
async fn ex02a_ttl_state() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let _: () = cmd(&mut con, &["SET", "ex02:forever", "v"]).await;
    let _: () = cmd(&mut con, &["SET", "ex02:expiring", "v", "EX", "1234"]).await;
    let _: () = cmd(&mut con, &["HSET", "ex02:session", "user_id", "user_1", "username", "alice"]).await;
    let _: () = cmd(&mut con, &["EXPIRE", "ex02:session", "77"]).await;
    let mut outcome = serde_json::Map::new();
    for (case, key) in [
        ("missing", "ex02:missing"),
        ("forever", "ex02:forever"),
        ("expiring_in_1234_s", "ex02:expiring"),
        ("session_with_77_s_left", "ex02:session"),
    ] {
        let answer = ex02_expire::ttl_state(&mut con, key).await.map_err(|e| e.to_string());
        outcome.insert(case.to_string(), json!(answer));
    }
    insta::assert_yaml_snapshot!("ex02a_ttl_state", outcome, {
        ".expiring_in_1234_s.Ok.ExpiresIn.secs" => ttl_range_redaction(1224, 1234),
        ".session_with_77_s_left.Ok.ExpiresIn.secs" => ttl_range_redaction(67, 77),
    });
}

/// `create_session` with an idle TTL of 1234 s (not the chapter's 1800), twice, through a
/// connection that records every round trip: a login that replaces an old session (planted
/// first), and one that replaces none. For each: whether every write went in one atomic step,
/// the round trips, the new hash, its TTL right after this first write, and whether the old
/// session is gone.
#[tokio::test]
async fn ex02b_create_session_atomically() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let idle = Duration::from_secs(1234);
    let _: () = cmd(&mut con, &["HSET", "ex02:old", "user_id", "user_1", "username", "alice"]).await;
    let _: () = cmd(&mut con, &["EXPIRE", "ex02:old", "600"]).await;
    let mut outcome = serde_json::Map::new();
    for (case, key, replacing) in
        [("replacing_an_old_session", "ex02:new", Some("ex02:old")), ("replacing_none", "ex02:second", None)]
    {
        let session = alice(1_700_000_000);
        let mut recorder = Recorder::new(con.clone());
        let answer = ex02_expire::create_session(&mut recorder, key, &session, idle, replacing)
            .await
            .map_err(|e| e.to_string());
        let ttl: i64 = cmd(&mut con, &["TTL", key]).await;
        let mut facts = json!({
            "answer": answer,
            "one_atomic_step": one_atomic_step(&recorder.trips),
            "round_trips": recorder.trips.len(),
            "new_session": hash(&mut con, key).await,
            "new_session_ttl": ttl,
        });
        if let Some(old) = replacing {
            let exists: bool = cmd(&mut con, &["EXISTS", old]).await;
            facts["old_session_exists"] = json!(exists);
        }
        outcome.insert(case.to_string(), facts);
    }
    insta::assert_yaml_snapshot!("ex02b_create_session", outcome, {
        ".*.new_session_ttl" => ttl_range_redaction(1224, 1234),
    });
}

/// `ttls` of four keys (missing, no TTL, 1234 s and 77 s left), then of none, each through a
/// connection that records every round trip: the answers, each beside its key (or the error, as
/// text), and the commands of each round trip.
#[tokio::test]
async fn ex02c_ttls_in_one_round_trip() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let _: () = cmd(&mut con, &["SET", "ex02:forever", "v"]).await;
    let _: () = cmd(&mut con, &["SET", "ex02:expiring", "v", "EX", "1234"]).await;
    let _: () = cmd(&mut con, &["HSET", "ex02:session", "user_id", "user_1"]).await;
    let _: () = cmd(&mut con, &["EXPIRE", "ex02:session", "77"]).await;
    let keys: Vec<String> =
        ["ex02:missing", "ex02:forever", "ex02:expiring", "ex02:session"].map(String::from).to_vec();
    let mut outcome = serde_json::Map::new();
    for (case, keys) in [("four_keys", &keys[..]), ("no_keys", &[][..])] {
        let mut recorder = Recorder::new(con.clone());
        let ttls = ex02_expire::ttls(&mut recorder, keys).await.map_err(|e| e.to_string());
        // Each answer beside the key it is for, so that a missing or extra one shows.
        let ttls = ttls.map(|ttls| {
            (0..keys.len().max(ttls.len()))
                .map(|i| match (keys.get(i), ttls.get(i)) {
                    (Some(key), Some(ttl)) => json!({ key.trim_start_matches("ex02:"): ttl }),
                    (Some(key), None) => json!({ key.trim_start_matches("ex02:"): "no answer" }),
                    (None, ttl) => json!({ "an answer for no key": ttl }),
                })
                .collect::<Vec<_>>()
        });
        let trips: Vec<Vec<String>> = recorder.trips.iter().map(|t| t.commands.clone()).collect();
        outcome.insert(case.to_string(), json!({ "ttls": ttls, "round_trips": trips }));
    }
    insta::assert_yaml_snapshot!("ex02c_ttls", outcome, {
        ".four_keys.ttls.Ok[2].expiring" => ttl_range_redaction(1224, 1234),
        ".four_keys.ttls.Ok[3].session" => ttl_range_redaction(67, 77),
    });
}
