/// Lifetimes no answer could have typed in: 1234 s idle, 7777 s at most.
const L08_LIFETIMES: Lifetimes =
    Lifetimes { idle: Duration::from_secs(1234), absolute: Duration::from_secs(7777) };

/// One answer on one line (from [`text_answer`]): the status, the body, and the renewed
/// cookie's `Max-Age` if one came. A `Max-Age` in `ttl` is shown as that range (Redis's second
/// may tick during the check).
async fn l08_line(response: reqwest::Response, ttl: Option<(u64, u64)>) -> (String, Option<u64>) {
    let answer = text_answer(response).await;
    let max_age = answer["cookie_max_age"].as_u64();
    let cookie = match (max_age, ttl) {
        (None, _) => String::new(),
        (Some(age), Some((low, high))) if (low..=high).contains(&age) => {
            format!(" | renewed cookie: Max-Age {low} to {high}")
        }
        (Some(age), _) => format!(" | renewed cookie: Max-Age {age}"),
    };
    (format!("{} {}{cookie}", answer["status"], answer["body"].as_str().unwrap_or_default()), max_age)
}

/// Logs `name` in at `base` and answers the session id.
async fn l08_login(client: &reqwest::Client, base: &str, name: &str) -> SessionId {
    let login: Value =
        common::post_login_at(client, &format!("{base}/login"), name).await.json().await.expect("JSON");
    SessionId::parse(login["session_id"].as_str().expect("session_id")).expect("id")
}

/// `GET /me` beside the real service, on a store with lifetimes other than the defaults: without
/// a cookie, with a dead session, with a fresh one, and with one whose `created_at` the check
/// moved back so that 987 s of its lifetime are left by Redis's clock (the time left is then
/// not the idle TTL).
#[tokio::test]
async fn ex08a_a_route_of_your_own() {
    let _settings = settings();
    let (_redis, mut con) = lesson_redis().await;
    let store = SessionStore::new(con.clone(), L08_LIFETIMES, Duration::from_secs(2)).await.expect("store");
    let keys = store.keys().clone();
    let base = serve_with_routes(store, Router::new().route("/me", get(ex08_your_app::me))).await;
    let client = common::plain_client();
    let me = |cookie: Option<String>| {
        let request = client.get(format!("{base}/me"));
        match cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        }
        .send()
    };
    let anonymous = l08_line(me(None).await.expect("GET /me"), None).await.0;
    let dead =
        l08_line(me(Some(format!("session_id={}", SessionId::new()))).await.expect("GET /me"), None).await.0;

    let fresh = l08_login(&client, &base, "alice").await;
    let old = l08_login(&client, &base, "bob").await;
    // bob logged in long ago, by Redis's clock: 987 s of his 7777 are left.
    let created_long_ago = redis_now(&mut con).await - 7777 + 987;
    let _: () =
        cmd(&mut con, &["HSET", &keys.session(&old), "created_at", &created_long_ago.to_string()]).await;
    let mut live = BTreeMap::new();
    for (case, id, ttl) in
        [("a. a fresh session", fresh, None), ("b. 987 s of its lifetime left", old, Some((985, 987)))]
    {
        let response = me(Some(format!("session_id={id}"))).await.expect("GET /me");
        let (mut line, max_age) = l08_line(response, ttl).await;
        // The handle is the session's (random) own: named, not shown. So is the time left of the
        // older session when it is the renewed cookie's Max-Age, which the service sets.
        line = line.replace(&id.handle(), "<its handle>");
        if let (Some(max_age), Some(_)) = (max_age, ttl) {
            line = line.replace(&format!(", {max_age} s left"), ", <the TTL just set> s left");
        }
        live.insert(case, line);
    }
    let outcome =
        json!({ "1. without a cookie": anonymous, "2. a dead session": dead, "3. logged in": live });
    insta::assert_yaml_snapshot!("ex08a_me", outcome);
}

/// `GET /greeting` beside the real service: without a cookie, with a malformed one, with a dead
/// session, logged in, logged in behind a dead cookie sent first, and logged in while Redis is
/// frozen (`SIGSTOP`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ex08b_a_route_for_everyone() {
    let _settings = settings();
    let redis = PrivateRedis::start().expect("redis");
    let con = session_storage::redis::connect(&redis.url(), Duration::from_millis(300)).await.expect("connect");
    let store = SessionStore::new(con, L08_LIFETIMES, Duration::from_millis(300)).await.expect("store");
    let base = serve_with_routes(store, Router::new().route("/greeting", get(ex08_your_app::greeting))).await;
    let client = common::plain_client();
    let greet = |cookie: Option<String>| {
        let request = client.get(format!("{base}/greeting"));
        match cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        }
        .send()
    };
    let line = |response| async move { l08_line(response, None).await.0 };
    let anonymous = line(greet(None).await.expect("greeting")).await;
    let malformed = line(greet(Some("session_id=not-a-session-id".into())).await.expect("greeting")).await;
    let dead_id = SessionId::new();
    let dead = line(greet(Some(format!("session_id={dead_id}"))).await.expect("greeting")).await;
    let alice = l08_login(&client, &base, "alice").await;
    let live = line(greet(Some(format!("session_id={alice}"))).await.expect("greeting")).await;
    let behind =
        line(greet(Some(format!("session_id={dead_id}; session_id={alice}"))).await.expect("greeting")).await;
    redis.pause().expect("SIGSTOP");
    let down = line(greet(Some(format!("session_id={alice}"))).await.expect("greeting")).await;
    redis.resume().expect("SIGCONT");
    let outcome = json!({
        "1. without a cookie": anonymous,
        "2. a malformed cookie": malformed,
        "3. a dead session": dead,
        "4. logged in": live,
        "5. logged in, behind a dead cookie": behind,
        "6. logged in, while Redis does not answer": down,
    });
    insta::assert_yaml_snapshot!("ex08b_greeting", outcome);
}
