/// What one `index_session` call did: what it named (or its error), whether its `now_ms` is
/// Redis's clock (between two `TIME`s read around the call), whether the new entry's score is
/// exactly that `now_ms` plus the lifetime, and whether the index expires exactly at its
/// largest score (`PEXPIRETIME`), from the first write on.
async fn index_facts(
    con: &mut ConnectionManager,
    index: &str,
    id: &SessionId,
    result: redis::RedisResult<session_storage::store::Indexed>,
    (before, after): (u64, u64),
    absolute_ms: u64,
) -> Value {
    let indexed = match result {
        Ok(indexed) => indexed,
        Err(error) => return json!({ "added": id.to_string(), "named": format!("error: {error}") }),
    };
    let score: Option<f64> = cmd(con, &["ZSCORE", index, &id.to_string()]).await;
    let last: Vec<(String, f64)> = cmd(con, &["ZRANGE", index, "-1", "-1", "WITHSCORES"]).await;
    let expires_at: i64 = cmd(con, &["PEXPIRETIME", index]).await;
    json!({
        "added": id.to_string(),
        "named": indexed.evicted.iter().map(SessionId::to_string).collect::<Vec<_>>(),
        "now_ms_by_redis_clock": (before..=after).contains(&indexed.now_ms),
        "score_is_now_ms_plus_absolute": score == Some((indexed.now_ms + absolute_ms) as f64),
        "index_expires_at_its_largest_score": last.first().is_some_and(|(_, largest)| largest.floor() as i64 == expires_at),
    })
}

/// `index_session` with a bound of 3 and a lifetime of 7,777,777 ms (a number no answer could
/// have typed in), run with the application's clock an hour ahead of Redis's: five logins into
/// an index that holds an entry expired a second ago and one with a minute left, the caller
/// ending and removing whatever the bound names; an entry that outlives the new one with a
/// fractional score; and 20 logins of one user at once.
#[tokio::test]
async fn ex06a_index_session() {
    if !with_the_app_clock_ahead("ex06a_index_session") {
        return;
    }
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let absolute_ms: u64 = 7_777_777;
    let absolute = Duration::from_millis(absolute_ms);
    let index = "ex06:user:{user_1}:sessions";
    let start = redis_now_ms(&mut con).await;
    // An entry whose absolute expiry passed a second ago (the first write must drop it), and one
    // with a minute left (it must stay: it is the oldest live session).
    let (expired, alive) = ((start - 1000).to_string(), (start + 60_000).to_string());
    let _: u64 = cmd(
        &mut con,
        &["ZADD", index, &expired, &fixed_id(99).to_string(), &alive, &fixed_id(98).to_string()],
    )
    .await;
    let mut logins = Vec::new();
    let mut atomic = true;
    let mut after_first = Vec::new();
    let mut after_fourth = Vec::new();
    for n in 1..=4 {
        let before = redis_now_ms(&mut con).await;
        let mut recorder = Recorder::new(con.clone());
        let result =
            ex06_every_device::index_session(&mut recorder, index, &fixed_id(n), absolute, 3, None).await;
        let after = redis_now_ms(&mut con).await;
        atomic &= one_atomic_step(&recorder.trips);
        let named: Vec<String> = result
            .as_ref()
            .map(|indexed| indexed.evicted.iter().map(SessionId::to_string).collect())
            .unwrap_or_default();
        logins.push(index_facts(&mut con, index, &fixed_id(n), result, (before, after), absolute_ms).await);
        let members: Vec<String> = cmd(&mut con, &["ZRANGE", index, "0", "-1"]).await;
        match n {
            1 => after_first = members,
            4 => after_fourth = members,
            _ => {}
        }
        // The caller ends each named session, and only then takes it out of the index.
        for id in named {
            let _: u64 = cmd(&mut con, &["ZREM", index, &id]).await;
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    // A login that replaces the browser's previous session (fixation): the replaced one leaves
    // the index.
    let before = redis_now_ms(&mut con).await;
    let result =
        ex06_every_device::index_session(&mut con, index, &fixed_id(5), absolute, 3, Some(&fixed_id(4)))
            .await;
    let after = redis_now_ms(&mut con).await;
    let replacing = index_facts(&mut con, index, &fixed_id(5), result, (before, after), absolute_ms).await;
    let members: Vec<String> = cmd(&mut con, &["ZRANGE", index, "0", "-1"]).await;

    // An entry that outlives the new one, with a fractional score (a score is a double, and any
    // writer may store one): the index must expire with it, the largest score, not with the entry
    // just added, and `PEXPIREAT` must get whole milliseconds.
    let other = "ex06:user:{user_2}:sessions";
    let longer = start + 2 * absolute_ms;
    let _: u64 = cmd(&mut con, &["ZADD", other, &format!("{longer}.5"), &fixed_id(7).to_string()]).await;
    let beside = ex06_every_device::index_session(&mut con, other, &fixed_id(8), absolute, 3, None).await;
    let other_expires_at: i64 = cmd(&mut con, &["PEXPIRETIME", other]).await;

    // 20 logins of one user at once, each on its own clone of the connection, with a bound of
    // 3: the caller ends and removes everything the bound named, and 3 entries must be left.
    let crowd = "ex06:user:{user_3}:sessions";
    let ids: Vec<SessionId> = (101..=120).map(fixed_id).collect();
    let attempts = ids.iter().map(|id| {
        let mut con = con.clone();
        async move { ex06_every_device::index_session(&mut con, crowd, id, absolute, 3, None).await }
    });
    let results = futures_util::future::join_all(attempts).await;
    let mut named = std::collections::BTreeSet::new();
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(indexed) => named.extend(indexed.evicted.iter().map(SessionId::to_string)),
            Err(error) => errors.push(error.to_string()),
        }
    }
    for id in &named {
        let _: u64 = cmd(&mut con, &["ZREM", crowd, id]).await;
    }
    let left: u64 = cmd(&mut con, &["ZCARD", crowd]).await;

    let outcome = json!({
        "logins_with_max_3": logins,
        "each_in_one_atomic_step": atomic,
        "members_after_the_first_login": after_first,
        "named_entries_stay_until_the_caller_removes_them": after_fourth,
        "replacing_the_4th_with_the_5th": replacing,
        "members": members,
        "beside_an_entry_that_lives_longer": {
            "added": beside.as_ref().map(|_| "ok").map_err(ToString::to_string),
            "index_expires_with_the_longer_entry": other_expires_at == longer as i64,
        },
        "twenty_logins_at_once_with_max_3": {
            "errors": errors,
            "named": named.len(),
            "left_when_the_caller_has_ended_the_named": left,
        },
    });
    insta::assert_yaml_snapshot!("ex06a_index_session", outcome);
}

/// The handles of three ids, one with a byte below 16 early in its hash, and the shape of each.
#[tokio::test]
async fn ex06b_handle() {
    let _settings = settings();
    let ids =
        [fixed_id(1), fixed_id(2), SessionId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").expect("id")];
    let handles: BTreeMap<String, String> =
        ids.iter().map(|id| (id.to_string(), ex06_every_device::handle(id))).collect();
    let lowercase_hex_of_16 = handles.iter().all(|(_, handle)| {
        handle.len() == 16 && handle.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    });
    let stable = ids.iter().all(|id| ex06_every_device::handle(id) == ex06_every_device::handle(id));
    insta::assert_yaml_snapshot!(
        "ex06b_handle",
        json!({"handles": handles, "lowercase_hex_of_16": lowercase_hex_of_16, "stable": stable})
    );
}
