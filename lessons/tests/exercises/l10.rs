/// What one round trip sent, for the answer key: each command as `redis-cli` would take it, its
/// name (the key) and then its arguments, quoted where they hold a space; and whether the round
/// trip was one transaction.
fn sent(trip: &RoundTrip) -> Value {
    let commands: Vec<Value> = trip
        .args
        .iter()
        .map(|args| {
            let Some((name, args)) = args.split_first() else { return json!("an empty command") };
            let typed: Vec<String> = args
                .iter()
                .map(|arg| if arg.is_empty() || arg.contains(' ') { format!("'{arg}'") } else { arg.clone() })
                .collect();
            json!({ name.to_uppercase(): typed.join(" ") })
        })
        .collect();
    json!({ "transaction": trip.transaction, "commands": commands })
}

/// 437 events appended under a cap of 150 and a TTL of 4,321,987 ms (numbers no answer could
/// have typed in): exactly what the first append sent, the log's TTL and length right after it,
/// then after all of them its length (an uncapped log would hold 437), its TTL, its newest
/// entry, and what Redis ran.
#[tokio::test]
async fn ex10a_append_event() {
    use session_storage::store::{Device, EventKind, NewEvent};
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let key = "ex10:user:{user_1}:events";
    let (cap, ttl_ms, appends) = (150, 4_321_987, 437u32);
    let ttl = Duration::from_millis(ttl_ms);
    let devices =
        [Device::new("Firefox on Linux", "203.0.113.9".parse().ok()), Device::new("Safari on iPhone", None)];
    let handles: Vec<String> = (0..appends).map(|n| format!("{n:016x}")).collect();
    let event = |n: u32| NewEvent {
        kind: if n % 10 == 9 { EventKind::Logout } else { EventKind::Login },
        device: &devices[n as usize % 2],
        handle: Some(&handles[n as usize]),
    };
    let _: () = cmd(&mut con, &["CONFIG", "RESETSTAT"]).await;
    let mut recorder = Recorder::new(con.clone());
    let first = ex10_security_log::append_event(&mut recorder, key, &event(0), cap, ttl).await;
    let first_pttl: i64 = cmd(&mut con, &["PTTL", key]).await;
    let first_length: u64 = cmd(&mut con, &["XLEN", key]).await;
    let mut errors = BTreeMap::new();
    for n in 1..appends {
        if let Err(error) = ex10_security_log::append_event(&mut con, key, &event(n), cap, ttl).await {
            errors.entry(error.to_string()).or_insert(n);
        }
    }
    let calls = command_counts(&mut con).await;
    let length: u64 = cmd(&mut con, &["XLEN", key]).await;
    let pttl: i64 = cmd(&mut con, &["PTTL", key]).await;
    let newest: Vec<(String, Vec<(String, String)>)> =
        cmd(&mut con, &["XREVRANGE", key, "+", "-", "COUNT", "1"]).await;
    let newest_fields: Vec<(String, String)> =
        newest.into_iter().next().map(|(_, fields)| fields).unwrap_or_default();
    let commands: BTreeMap<&str, u64> = ["multi", "xadd", "pexpire", "exec"]
        .into_iter()
        .map(|name| (name, calls.get(name).copied().unwrap_or(0)))
        .collect();
    let length = if (150..250).contains(&length) {
        "within one node of the cap (150..250)".to_string()
    } else {
        length.to_string()
    };
    let outcome = json!({
        "first_append": {
            "answer": first.map_err(|e| e.to_string()),
            "sent": recorder.trips.iter().map(sent).collect::<Vec<_>>(),
            "length": first_length,
            "pttl_ms": first_pttl,
        },
        "after_437_appends": {
            "errors_and_the_first_append_with_each": errors,
            "length": length,
            "pttl_ms": pttl,
            "newest_entry": newest_fields,
            "commands": commands,
        },
    });
    insta::assert_yaml_snapshot!("ex10a_append_event", outcome, {
        ".first_append.pttl_ms" => ttl_range_redaction(ttl_ms - 10_000, ttl_ms),
        ".after_437_appends.pttl_ms" => ttl_range_redaction(ttl_ms - 10_000, ttl_ms),
    });
}

/// Five entries written by hand with ids of their own (so `at` is known to the second: one
/// entry 1 ms before a second ends), one with its fields in another order; read back newest
/// first: 3 of them, all of them with a larger count, and none from a missing stream.
#[tokio::test]
async fn ex10b_latest_events() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let key = "ex10:user:{user_2}:events";
    let written: [(&str, [(&str, &str); 4]); 5] = [
        (
            "1700000000999-0",
            [
                ("type", "login"),
                ("device", "Firefox on Linux"),
                ("ip", "203.0.113.9"),
                ("handle", "00000000000000a1"),
            ],
        ),
        (
            "1700000001000-0",
            [
                ("type", "login"),
                ("device", "Safari on iPhone"),
                ("ip", "198.51.100.23"),
                ("handle", "00000000000000a2"),
            ],
        ),
        (
            "1700000001000-1",
            [
                ("type", "revoked"),
                ("device", "Firefox on Linux"),
                ("ip", "203.0.113.9"),
                ("handle", "00000000000000a1"),
            ],
        ),
        (
            "1700000059999-0",
            [("handle", ""), ("ip", "192.0.2.7"), ("device", "unknown device"), ("type", "throttled")],
        ),
        (
            "1700000060000-0",
            [("type", "logout"), ("device", "Safari on iPhone"), ("ip", ""), ("handle", "00000000000000a2")],
        ),
    ];
    for (id, fields) in written {
        let mut args = vec!["XADD", key, id];
        args.extend(fields.iter().flat_map(|(name, value)| [*name, *value]));
        let _: String = cmd(&mut con, &args).await;
    }
    let shown = |events: &[session_storage::store::SecurityEvent]| -> Vec<Value> {
        events
            .iter()
            .map(|event| {
                json!({
                    "type": event.kind,
                    "at": event.at,
                    "device": event.device,
                    "ip": event.ip,
                    "handle": event.handle,
                })
            })
            .collect()
    };
    let types = |events: &[session_storage::store::SecurityEvent]| -> Vec<String> {
        events.iter().map(|event| event.kind.clone()).collect()
    };
    let newest = ex10_security_log::latest_events(&mut con, key, 3).await;
    let all = ex10_security_log::latest_events(&mut con, key, 100).await;
    let missing = ex10_security_log::latest_events(&mut con, "ex10:nobody", 100).await;
    let outcome = json!({
        "newest_3": newest.as_deref().map(shown).map_err(ToString::to_string),
        "count_above_the_length": all.as_deref().map(types).map_err(ToString::to_string),
        "missing_stream": missing.as_deref().map(shown).map_err(ToString::to_string),
    });
    insta::assert_yaml_snapshot!("ex10b_latest_events", outcome);
}
