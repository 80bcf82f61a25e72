/// `session_fields` for two sessions (alice, and one with a non-ASCII name and another time): the
/// pairs in the order returned, what one `HSET` of them added, what `HGETALL` reads back, and
/// whether the service's `Session::from_fields` reads that back as the same session.
#[tokio::test]
async fn ex01a_session_fields() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let sessions = [
        ("alice", alice(1_700_000_000)),
        (
            "zoe",
            Session::new("user_42", "Zoë Ångström", 1_234_567_890),
        ),
    ];
    let mut outcome = serde_json::Map::new();
    for (name, session) in sessions {
        let key = format!("ex01:{name}");
        let fields = ex01_hash_basics::session_fields(&session);
        let mut hset = vec!["HSET".to_string(), key.clone()];
        for (field, value) in &fields {
            hset.push(field.to_string());
            hset.push(value.clone());
        }
        let hset: Vec<&str> = hset.iter().map(String::as_str).collect();
        let added: u64 = cmd(&mut con, &hset).await;
        let pairs: Vec<(String, String)> = fields.iter().map(|(f, v)| (f.to_string(), v.clone())).collect();
        let stored = hash(&mut con, &key).await;
        let read_back = Session::from_fields(&stored.clone().into_iter().collect());
        outcome.insert(
            name.to_string(),
            json!({
                "fields": pairs,
                "hset_added": added,
                "hgetall": stored,
                "reads_back_as_the_same_session": read_back.as_ref() == Some(&session),
            }),
        );
    }
    insta::assert_yaml_snapshot!("ex01a_session_fields", outcome);
}

/// `session_from_fields` on ten maps: two whole sessions (one with an extra field), another
/// whole session, an empty map, each field missing, and a `created_at` that is text, negative.
#[tokio::test]
async fn ex01b_session_from_fields() {
    let _settings = settings();
    let map = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    let full = map(&[("user_id", "user_1"), ("username", "alice"), ("created_at", "1700000000")]);
    let with = |field: &str, value: &str| {
        let mut map = full.clone();
        map.insert(field.into(), value.into());
        map
    };
    let without = |field: &str| {
        let mut map = full.clone();
        map.remove(field);
        map
    };
    let cases = [
        ("all three fields", full.clone()),
        ("an extra field", with("last_seen", "1700000100")),
        (
            "another session",
            map(&[("created_at", "1234567890"), ("username", "Zoë Ångström"), ("user_id", "user_42")]),
        ),
        ("empty (missing key)", HashMap::new()),
        ("no user_id", without("user_id")),
        ("no username", without("username")),
        ("no created_at", without("created_at")),
        ("only created_at", map(&[("created_at", "1700000000")])),
        ("created_at not a number", with("created_at", "yesterday")),
        ("created_at negative", with("created_at", "-5")),
    ];
    let results: Vec<Value> = cases
        .iter()
        .map(|(name, map)| json!({ "case": name, "session": ex01_hash_basics::session_from_fields(map) }))
        .collect();
    insta::assert_yaml_snapshot!("ex01b_session_from_fields", results);
}

/// `username_of` on a whole session, a hash without the field and a missing key, each through
/// a connection that records what it sent: the answer (or the error, as text) and the commands.
#[tokio::test]
async fn ex01c_username_of() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let _: () = cmd(&mut con, &["HSET", "ex01:session", "user_id", "user_1", "username", "alice"]).await;
    let _: () = cmd(&mut con, &["HSET", "ex01:nameless", "user_id", "user_2"]).await;
    let mut outcome = Vec::new();
    for (case, key) in [
        ("a session", "ex01:session"),
        ("a hash without the field", "ex01:nameless"),
        ("no such key", "ex01:missing"),
    ] {
        let mut recorder = Recorder::new(con.clone());
        let answer = ex01_hash_basics::username_of(&mut recorder, key).await.map_err(|e| e.to_string());
        let commands: Vec<Vec<String>> = recorder.trips.iter().map(|t| t.commands.clone()).collect();
        outcome.push(json!({ "case": case, "answer": answer, "round_trips": commands }));
    }
    insta::assert_yaml_snapshot!("ex01c_username_of", outcome);
}
