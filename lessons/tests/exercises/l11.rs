/// A live session of the checks: four fields of its own and a TTL of 1234 s (a number no answer
/// could have typed in).
async fn live_session(con: &mut ConnectionManager, key: &str) {
    let fields = ["user_id", "user_7", "username", "alice", "created_at", "1700000000", "device", "Firefox on Linux"];
    let mut args = vec!["HSET", key];
    args.extend(fields);
    let _: () = cmd(con, &args).await;
    let _: () = cmd(con, &["EXPIRE", key, "1234"]).await;
}

/// A connection that runs a `DEL` of `key` (on a connection of its own) right after the first
/// round trip it forwards that Redis answered, not counting `SCRIPT LOAD` or an `EVALSHA` of a
/// script Redis did not have yet: another request's logout, landing between an answer's round
/// trips if it has two, or right after its one.
struct DeleteAfterFirstAnswer {
    inner: ConnectionManager,
    side: ConnectionManager,
    key: String,
    done: bool,
}

impl DeleteAfterFirstAnswer {
    async fn after(&mut self, answered: bool) {
        if answered && !self.done {
            self.done = true;
            let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(&self.key).query_async(&mut self.side).await;
        }
    }
}

impl redis::aio::ConnectionLike for DeleteAfterFirstAnswer {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, redis::Value> {
        Box::pin(async move {
            let reply = self.inner.req_packed_command(cmd).await;
            let script_load = command_args(cmd).first().is_some_and(|name| name.eq_ignore_ascii_case("SCRIPT"));
            self.after(reply.is_ok() && !script_load).await;
            reply
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        Box::pin(async move {
            let replies = self.inner.req_packed_commands(pipeline, offset, count).await;
            self.after(replies.is_ok()).await;
            replies
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

/// What an answer was, as a value of the answer key: the answer itself, or the error's text.
fn answer<T: serde::Serialize>(result: redis::RedisResult<T>) -> Value {
    match result {
        Ok(answer) => json!(answer),
        Err(error) => json!(format!("error: {error}")),
    }
}

/// Whether `key` exists, and its TTL (-2: no key, -1: a key that never expires).
async fn key_state(con: &mut ConnectionManager, key: &str) -> (u64, i64) {
    (cmd(con, &["EXISTS", key]).await, cmd(con, &["TTL", key]).await)
}

/// `set_value` on a live session with a TTL of 1234 s: the first write (one atomic step? the
/// TTL right after it), a new text for the same value, a value named `username`, and the hash
/// after. Then a session logged out just before, a key that never existed, a logout (`DEL`)
/// injected right after the answer's first round trip, and 20 rounds of 50 writers racing one
/// `DEL` sent after the first 25: afterwards no key may be left, with a TTL or without, since
/// every write after the `DEL` must find the session gone.
#[tokio::test]
async fn ex11a_set_value() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;

    let live = "ex11:session:live";
    live_session(&mut con, live).await;
    let mut recorder = Recorder::new(con.clone());
    let first = ex11_your_data::set_value(&mut recorder, live, "cart", r#"["tea"]"#).await;
    let (_, first_ttl) = key_state(&mut con, live).await;
    let overwrite = ex11_your_data::set_value(&mut con, live, "cart", r#"["tea","milk"]"#).await;
    let username = ex11_your_data::set_value(&mut con, live, "username", r#""mallory""#).await;
    let (_, ttl_after_all) = key_state(&mut con, live).await;

    let deleted = "ex11:session:deleted";
    live_session(&mut con, deleted).await;
    let _: () = cmd(&mut con, &["DEL", deleted]).await;
    let after_logout = ex11_your_data::set_value(&mut con, deleted, "cart", r#"["tea"]"#).await;
    let (deleted_exists, deleted_ttl) = key_state(&mut con, deleted).await;

    let never = "ex11:session:never";
    let never_answer = ex11_your_data::set_value(&mut con, never, "cart", r#"["tea"]"#).await;
    let (never_exists, _) = key_state(&mut con, never).await;

    let injected = "ex11:session:logout-between";
    live_session(&mut con, injected).await;
    let mut between = DeleteAfterFirstAnswer {
        inner: con.clone(),
        side: con.clone(),
        key: injected.to_string(),
        done: false,
    };
    let between_answer = ex11_your_data::set_value(&mut between, injected, "cart", r#"["tea"]"#).await;
    let (between_exists, between_ttl) = key_state(&mut con, injected).await;

    // 50 writers at once, with a `DEL` sent after the first 25: the writers after it must find
    // the session gone.
    let rounds = 20;
    let (mut leaving_a_key, mut without_ttl) = (0, 0);
    let mut errors = BTreeMap::new();
    for round in 0..rounds {
        let key = format!("ex11:session:race-{round}");
        live_session(&mut con, &key).await;
        let mut cons: Vec<ConnectionManager> = (0..50).map(|_| con.clone()).collect();
        let names: Vec<String> = (0..50).map(|n| format!("writer{n}")).collect();
        let mut before: Vec<_> = cons
            .iter_mut()
            .zip(&names)
            .map(|(c, name)| ex11_your_data::set_value(c, &key, name, "1"))
            .collect();
        let after = before.split_off(25);
        let mut side = con.clone();
        let delete = async {
            let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(&key).query_async(&mut side).await;
        };
        let (before, (), after) = futures_util::future::join3(
            futures_util::future::join_all(before),
            delete,
            futures_util::future::join_all(after),
        )
        .await;
        for error in before.into_iter().chain(after).filter_map(Result::err) {
            *errors.entry(error.to_string()).or_insert(0) += 1;
        }
        let (exists, ttl) = key_state(&mut con, &key).await;
        if exists == 1 {
            leaving_a_key += 1;
            if ttl == -1 {
                without_ttl += 1;
            }
        }
        let _: () = cmd(&mut con, &["DEL", &key]).await;
    }

    let outcome = json!({
        "live_session": {
            "first_write": {
                "answer": answer(first),
                "in_one_atomic_step": one_atomic_step(&recorder.trips),
                "ttl_after": first_ttl,
            },
            "overwrite": answer(overwrite),
            "a_value_named_username": answer(username),
            "hash_after": hash(&mut con, live).await,
            "ttl_after": ttl_after_all,
        },
        "deleted_session": {
            "answer": answer(after_logout),
            "exists_after": deleted_exists,
            "ttl_after": deleted_ttl,
        },
        "never_existed": { "answer": answer(never_answer), "exists_after": never_exists },
        "a_logout_right_after_the_first_round_trip": {
            "answer": answer(between_answer),
            "exists_after": between_exists,
            "ttl_after": between_ttl,
        },
        "fifty_writers_and_a_logout": {
            "rounds": rounds,
            "rounds_leaving_a_key": leaving_a_key,
            "rounds_leaving_a_key_without_ttl": without_ttl,
            "errors": errors,
        },
    });
    insta::assert_yaml_snapshot!("ex11a_set_value", outcome, {
        ".live_session.first_write.ttl_after" => ttl_range_redaction(1224, 1234),
        ".live_session.ttl_after" => ttl_range_redaction(1224, 1234),
    });
}

/// `add_to_cart` on a live session with a TTL of 1234 s: the first addition (3 tea: one atomic
/// step? the TTL right after it), then 100 at once, 37 of 3 tea and 63 of 2 milk, interleaved
/// (every answer must be another running total: tea 6 to 114, milk 2 to 126); the hash after
/// (the session's own fields untouched), the keys besides the session, and an addition to a
/// session that was logged out.
#[tokio::test]
async fn ex11b_add_to_cart() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let key = "ex11:session:cart";
    live_session(&mut con, key).await;
    let mut recorder = Recorder::new(con.clone());
    let first = ex11_your_data::add_to_cart(&mut recorder, key, "tea", 3).await;
    let (_, first_ttl) = key_state(&mut con, key).await;

    // Tea for the 37 n whose 37 n mod 100 is below 37 (37 is prime to 100), milk for the 63 others.
    let items: Vec<(&str, i64)> =
        (0..100).map(|n| if (n * 37) % 100 < 37 { ("tea", 3) } else { ("milk", 2) }).collect();
    let mut cons: Vec<ConnectionManager> = (0..items.len()).map(|_| con.clone()).collect();
    let additions = cons.iter_mut().zip(&items).map(|(c, (sku, quantity))| async move {
        (*sku, ex11_your_data::add_to_cart(c, key, sku, *quantity).await)
    });
    let answers = futures_util::future::join_all(additions).await;
    let mut errors = BTreeMap::new();
    let mut seen: BTreeMap<&str, Vec<Option<i64>>> = BTreeMap::new();
    for (sku, answer) in answers {
        match answer {
            Ok(quantity) => seen.entry(sku).or_default().push(quantity),
            Err(error) => *errors.entry(error.to_string()).or_insert(0) += 1,
        }
    }
    let summary: BTreeMap<&str, Value> = seen
        .iter()
        .map(|(sku, answers)| {
            let distinct: std::collections::BTreeSet<&Option<i64>> = answers.iter().collect();
            let highest = answers.iter().flatten().max();
            (*sku, json!({ "additions": answers.len(), "distinct_answers": distinct.len(), "highest_answer": highest }))
        })
        .collect();
    let (_, ttl_after) = key_state(&mut con, key).await;

    let deleted = "ex11:session:deleted";
    live_session(&mut con, deleted).await;
    let _: () = cmd(&mut con, &["DEL", deleted]).await;
    let after_logout = ex11_your_data::add_to_cart(&mut con, deleted, "tea", 3).await;
    let (deleted_exists, _) = key_state(&mut con, deleted).await;

    let keys: Vec<String> = cmd(&mut con, &["KEYS", "*"]).await;
    let mut other_keys: Vec<String> = keys.into_iter().filter(|k| k != key && k != deleted).collect();
    other_keys.sort();
    let mut other_keys_without_ttl = 0;
    for other in &other_keys {
        let ttl: i64 = cmd(&mut con, &["TTL", other]).await;
        if ttl == -1 {
            other_keys_without_ttl += 1;
        }
    }

    let outcome = json!({
        "first_addition": {
            "answer": answer(first),
            "in_one_atomic_step": one_atomic_step(&recorder.trips),
            "ttl_after": first_ttl,
        },
        "a_hundred_at_once": { "by_sku": summary, "errors": errors },
        "hash_after": hash(&mut con, key).await,
        "ttl_after": ttl_after,
        "other_keys": other_keys,
        "other_keys_without_ttl": other_keys_without_ttl,
        "deleted_session": {
            "answer": answer(after_logout),
            "exists_after": deleted_exists,
        },
    });
    insta::assert_yaml_snapshot!("ex11b_add_to_cart", outcome, {
        ".first_addition.ttl_after" => ttl_range_redaction(1224, 1234),
        ".ttl_after" => ttl_range_redaction(1224, 1234),
    });
}
