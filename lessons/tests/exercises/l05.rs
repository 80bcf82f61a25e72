/// Whether the session `id` is still in Redis.
async fn session_exists(con: &mut ConnectionManager, keys: &session_storage::store::Keys, id: &str) -> bool {
    let key = keys.session(&SessionId::parse(id).expect("a session id"));
    cmd(con, &["EXISTS", &key]).await
}

/// A JSON body as JSON, or as its text when it is not JSON (so a wrong answer shows, not panics).
async fn json_or_text(response: reqwest::Response) -> Value {
    let text = response.text().await.unwrap_or_else(|e| format!("(no body: {e})"));
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// `validate_username` on both sides of each bound (0, 1, 64 and 65 characters; characters
/// against bytes, with two- and four-byte characters), on every kind of control character
/// (C0, DEL, C1) and on characters that are not control characters, and on a name that breaks
/// both rules (the length rule is reported).
#[tokio::test]
async fn ex05a_validate_username() {
    let _settings = settings();
    let names: Vec<(&str, String)> = vec![
        ("alice", "alice".into()),
        ("letters and a space: Zoë Ångström", "Zo\u{eb} \u{c5}ngstr\u{f6}m".into()),
        ("empty", String::new()),
        ("1 character", "a".into()),
        ("64 characters", "a".repeat(64)),
        ("65 characters", "a".repeat(65)),
        ("33 é: 33 characters, 66 bytes", "\u{e9}".repeat(33)),
        ("64 é: 64 characters, 128 bytes", "\u{e9}".repeat(64)),
        ("65 é: 65 characters, 130 bytes", "\u{e9}".repeat(65)),
        ("17 crabs: 17 characters, 68 bytes", "\u{1f980}".repeat(17)),
        ("a tab", "tab\there".into()),
        ("a newline", "new\nline".into()),
        ("NUL", "nul\0".into()),
        ("escape (U+001B)", "esc\u{1b}[31m".into()),
        ("DEL (U+007F)", "del\u{7f}".into()),
        ("C1: U+0080", "c1 first\u{80}".into()),
        ("C1: next line (U+0085)", "next\u{85}line".into()),
        ("C1: U+009F", "c1 last\u{9f}".into()),
        ("a zero-width space: not a control character", "zero\u{200b}width".into()),
        ("65 tabs: both rules broken", "\t".repeat(65)),
    ];
    let results: Vec<Value> = names
        .iter()
        .map(|(case, name)| {
            let answer = match ex05_full_server::validate_username(name) {
                Ok(()) => "Ok".to_string(),
                Err(why) => format!("Err: {why}"),
            };
            json!({ *case: answer })
        })
        .collect();
    insta::assert_yaml_snapshot!("ex05a_validate_username", results);
}

/// `GET /session` on a store whose lifetimes are not the defaults (1234 s idle, 7777 s at most),
/// for a fresh session and for one whose `created_at` the check moved back so that 987 s of its
/// lifetime are left by Redis's clock (its TTL just set is that, not the idle TTL), and without
/// a cookie. `created_at` is compared with what Redis holds.
#[tokio::test]
async fn ex05b_session_route() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let lifetimes = Lifetimes { idle: Duration::from_secs(1234), absolute: Duration::from_secs(7777) };
    let store = SessionStore::new(con.clone(), lifetimes, Duration::from_secs(2)).await.expect("store");
    let keys = store.keys().clone();
    let router = Router::new()
        .route("/login", post(session_storage::http::login))
        .route("/session", get(ex05_full_server::session_info))
        .layer(axum::middleware::from_fn(session_storage::http::renew_cookie))
        .with_state(AppState::new(store));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(serve(listener, router, std::future::pending()));
    let client = common::plain_client();
    let mut logged_in = Vec::new();
    for name in ["alice", "bob"] {
        let login: Value =
            common::post_login_at(&client, &format!("{base}/login"), name).await.json().await.expect("JSON");
        let id = SessionId::parse(login["session_id"].as_str().expect("session_id")).expect("id");
        logged_in.push(id);
    }
    // bob logged in long ago, by Redis's clock: 987 s of his 7777 are left.
    let old_key = keys.session(&logged_in[1]);
    let created_long_ago = redis_now(&mut con).await - 7777 + 987;
    let _: () = cmd(&mut con, &["HSET", &old_key, "created_at", &created_long_ago.to_string()]).await;

    let mut with_cookie = BTreeMap::new();
    for (case, id) in [("a fresh session", logged_in[0]), ("987 s of its lifetime left", logged_in[1])] {
        let response = client
            .get(format!("{base}/session"))
            .header("cookie", format!("session_id={id}"))
            .send()
            .await
            .expect("GET /session");
        let status = response.status().as_u16();
        let max_age = common::set_cookie(&response).map(|c| common::max_age(&c));
        let mut body = json_or_text(response).await;
        let held: u64 = cmd(&mut con, &["HGET", &keys.session(&id), "created_at"]).await;
        if body["created_at"].as_u64() == Some(held) {
            body["created_at"] = json!("[the session's own, as Redis holds it]");
        }
        with_cookie.insert(case, json!({ "status": status, "cookie_max_age": max_age, "body": body }));
    }
    let anonymous = client.get(format!("{base}/session")).send().await.expect("GET /session");
    let anonymous_status = anonymous.status().as_u16();
    let anonymous_body = json_or_text(anonymous).await;
    let outcome = json!({
        "with_cookie": with_cookie,
        "without_cookie": { "status": anonymous_status, "body": anonymous_body },
    });
    // Redis's second may tick between the check's TIME and the renewal's.
    insta::assert_yaml_snapshot!("ex05b_session_route", outcome, {
        ".with_cookie[\"987 s of its lifetime left\"].body.expires_in" => ttl_range_redaction(985, 987),
        ".with_cookie[\"987 s of its lifetime left\"].cookie_max_age" => ttl_range_redaction(985, 987),
    });
}

/// `error_status` for every variant of `ApiError`, both kinds of `Unavailable`, and every kind
/// of bad body, each a real rejection of axum's `Json` extractor.
#[tokio::test]
async fn ex05c_error_status() {
    use axum::body::Body;
    use session_storage::ApiError;
    use session_storage::store::{DataError, Unavailable};
    let _settings = settings();
    let json = Some("application/json");
    let broken =
        futures_util::stream::iter([Err::<axum::body::Bytes, _>(std::io::Error::other("connection reset"))]);
    let elapsed =
        tokio::time::timeout(Duration::ZERO, std::future::pending::<()>()).await.expect_err("elapsed");
    let errors: Vec<(&str, ApiError)> = vec![
        ("no session", ApiError::InvalidSession),
        ("bad username", ApiError::InvalidUsername("username must be 1 to 64 characters".into())),
        ("cross-site request", ApiError::CrossSite),
        ("wrong password", ApiError::WrongPassword),
        ("re-authentication required", ApiError::ReauthRequired),
        ("no such route", ApiError::NotFound),
        ("no such session handle", ApiError::NoSuchSession),
        ("no such method", ApiError::MethodNotAllowed),
        ("request too long", ApiError::RequestTimeout),
        ("throttled", ApiError::Throttled { retry_after: Duration::from_secs(17) }),
        ("Redis failed", ApiError::Unavailable(Unavailable::Redis(std::io::Error::other("refused").into()))),
        (
            "Redis timed out",
            ApiError::Unavailable(Unavailable::TimedOut {
                after: Duration::from_millis(500),
                source: elapsed,
            }),
        ),
        ("Redis full (degraded)", ApiError::Degraded("used_memory 100% of maxmemory".into())),
        ("body: not JSON", ApiError::BadBody(json_rejection(Some("text/plain"), Body::from("{}")).await)),
        (
            "body: a form",
            ApiError::BadBody(
                json_rejection(Some("application/x-www-form-urlencoded"), Body::from("username=a")).await,
            ),
        ),
        ("body: no content type", ApiError::BadBody(json_rejection(None, Body::from("{}")).await)),
        ("body: broken JSON", ApiError::BadBody(json_rejection(json, Body::from("{\"username\":")).await)),
        ("body: empty", ApiError::BadBody(json_rejection(json, Body::empty()).await)),
        ("body: not a login", ApiError::BadBody(json_rejection(json, Body::from("[1, 2]")).await)),
        (
            "body: a field missing",
            ApiError::BadBody(json_rejection(json, Body::from("{\"username\":\"alice\"}")).await),
        ),
        (
            "body: a number for a name",
            ApiError::BadBody(json_rejection(json, Body::from("{\"username\":7,\"password\":\"pw\"}")).await),
        ),
        (
            "body: over the limit",
            ApiError::BadBody(json_rejection(json, Body::from(vec![b' '; 3 << 20])).await),
        ),
        ("body: unreadable", ApiError::BadBody(json_rejection(json, Body::from_stream(broken)).await)),
        ("your value: over its limit", ApiError::Data(DataError::TooLarge("one value, 4097 bytes".into()))),
        ("your value: a bad name", ApiError::Data(DataError::BadName("cart items".into()))),
        ("your value: not a number", ApiError::Data(DataError::NotANumber("note".into()))),
        (
            "your value: another type",
            ApiError::Data(DataError::NotThatType("cart".into(), "expected a sequence".into())),
        ),
    ];
    let results: Vec<Value> = errors
        .iter()
        .map(|(case, error)| json!({ *case: ex05_full_server::error_status(error).as_u16() }))
        .collect();
    insta::assert_yaml_snapshot!("ex05c_error_status", results);
}

/// `POST /logout` with a session, with two (a planted one first: every one must end), without
/// one, with a malformed cookie, from another site, and while Redis is frozen (`SIGSTOP`, so the
/// store's deadline runs out); then what Redis still holds: the sessions, their owners' index
/// entries, and the logout event with the device it came from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex05d_logout_keeps_the_cookie_when_redis_is_down() {
    let _settings = settings();
    let redis = PrivateRedis::start().expect("redis");
    let con = session_storage::redis::connect(&redis.url(), Duration::from_millis(300)).await.expect("connect");
    let mut admin = con.clone();
    let store = SessionStore::new(con, Lifetimes::DEFAULT, Duration::from_millis(300)).await.expect("store");
    let keys = store.keys().clone();
    let router = Router::new()
        .route("/login", post(session_storage::http::login))
        .route("/logout", post(ex05_full_server::logout))
        .with_state(AppState::new(store.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(serve(listener, router, std::future::pending()));
    let client = common::plain_client();
    let login = |name: &'static str| {
        let client = client.clone();
        let url = format!("{base}/login");
        async move {
            let body: Value = common::post_login_at(&client, &url, name).await.json().await.expect("JSON");
            body["session_id"].as_str().expect("session_id").to_string()
        }
    };
    // Logins come from no browser in particular; every logout from Firefox on Linux.
    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    let logout = |cookie: Option<String>, cross_site: bool| {
        let mut request = client.post(format!("{base}/logout")).header("user-agent", FIREFOX);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if cross_site {
            request = request.header("sec-fetch-site", "cross-site");
        }
        request.send()
    };
    // One line per answer: the status, the body's `message` or `detail`, and the cookie.
    async fn answer(response: reqwest::Response) -> String {
        let status = response.status().as_u16();
        let cookie = match common::set_cookie(&response) {
            None => "the cookie kept".to_string(),
            Some(cookie) if cookie == "session_id=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0" => {
                "the cookie cleared".to_string()
            }
            Some(other) => format!("Set-Cookie: {other}"),
        };
        let body = json_or_text(response).await;
        let said = ["message", "detail"].iter().find_map(|field| body[field].as_str().map(str::to_string));
        format!("{status} {}, {cookie}", said.unwrap_or_else(|| body.to_string()))
    }
    let alice = login("alice").await;
    let live = answer(logout(Some(format!("session_id={alice}")), false).await.expect("logout")).await;
    let alice_left = session_exists(&mut admin, &keys, &alice).await;

    // Mallory's own live session, planted before carol's real one (cookie tossing).
    let (mallory, carol) = (login("mallory").await, login("carol").await);
    let two = format!("session_id={mallory}; session_id={carol}");
    let planted = answer(logout(Some(two), false).await.expect("logout")).await;
    let (mallory_left, carol_left) =
        (session_exists(&mut admin, &keys, &mallory).await, session_exists(&mut admin, &keys, &carol).await);

    let anonymous = answer(logout(None, false).await.expect("logout")).await;
    let malformed =
        answer(logout(Some("session_id=not-a-session-id".into()), false).await.expect("logout")).await;

    let dave = login("dave").await;
    let cross = answer(logout(Some(format!("session_id={dave}")), true).await.expect("logout")).await;
    let dave_left = session_exists(&mut admin, &keys, &dave).await;

    let mut index_entries = BTreeMap::new();
    for name in ["alice", "mallory", "carol"] {
        let index = store.keys().user_sessions(&session_storage::store::user_id_for(name));
        let entries: u64 = cmd(&mut admin, &["ZCARD", &index]).await;
        index_entries.insert(name, entries);
    }
    let newest_event = match store.security_events(&session_storage::store::user_id_for("alice")).await {
        Ok(events) => events.first().map_or("none".to_string(), |e| {
            format!("{} on {}, from {}", e.kind, e.device, e.ip.as_deref().unwrap_or("no address"))
        }),
        Err(error) => format!("error: {error}"),
    };

    let bob = login("bob").await;
    redis.pause().expect("SIGSTOP");
    let down = answer(logout(Some(format!("session_id={bob}")), false).await.expect("logout")).await;
    redis.resume().expect("SIGCONT");

    let outcome = json!({
        "answers": {
            "1. with a session": live,
            "2. a planted cookie, then the real one": planted,
            "3. without a session": anonymous,
            "4. a malformed cookie": malformed,
            "5. from another site": cross,
            "6. while Redis does not answer": down,
        },
        "still in Redis afterwards": {
            "1. alice's session": alice_left,
            "2. the planted one (mallory's)": mallory_left,
            "2. the real one (carol's)": carol_left,
            "5. dave's": dave_left,
        },
        "index entries left": index_entries,
        "alice's newest security event": newest_event,
    });
    insta::assert_yaml_snapshot!("ex05d_logout", outcome);
}
