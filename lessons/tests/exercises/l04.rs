/// A `Set-Cookie` value on one line, rebuilt attribute by attribute from what [`cookie_attributes`]
/// parsed, in one fixed order whatever order your code wrote them in: `name=value`, then only the
/// attributes that are there (`HttpOnly; SameSite=Lax; Secure; Path=/; Domain=...; Max-Age=...;
/// Expires=...`). When it is not a cookie at all, the error as text.
fn set_cookie_line(value: &axum::http::HeaderValue) -> Value {
    let parsed = value
        .to_str()
        .map_err(|e| e.to_string())
        .and_then(|text| cookie::Cookie::parse(text.to_string()).map(|_| ()).map_err(|e| e.to_string()));
    if let Err(error) = parsed {
        return json!(format!("error: {error}: {value:?}"));
    }
    let facts = cookie_attributes(value);
    let text = |key: &str| facts[key].as_str().map(str::to_string).unwrap_or_default();
    let mut line = vec![format!("{}={}", text("name"), text("value"))];
    if facts["HttpOnly"] == json!(true) {
        line.push("HttpOnly".into());
    }
    if !facts["SameSite"].is_null() {
        line.push(format!("SameSite={}", text("SameSite")));
    }
    if facts["Secure"] == json!(true) {
        line.push("Secure".into());
    }
    if !facts["Path"].is_null() {
        line.push(format!("Path={}", text("Path")));
    }
    if !facts["Domain"].is_null() {
        line.push(format!("Domain={}", text("Domain")));
    }
    if !facts["Max-Age"].is_null() {
        line.push(format!("Max-Age={}", facts["Max-Age"]));
    }
    if facts["Expires"] == json!(true) {
        line.push("Expires=...".into());
    }
    json!(line.join("; "))
}

/// `session_cookie` over plain HTTP with 1234 s left and over HTTPS with 77 s left (numbers no
/// answer could have typed in), and with the service's default idle TTL, attribute by attribute.
#[tokio::test]
async fn ex04a_session_cookie() {
    let _settings = settings();
    let id = SessionId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").expect("canonical");
    let cookie = |max_age: Duration, secure: bool| {
        set_cookie_line(&ex04_cookie_flow::session_cookie(&id, max_age, secure))
    };
    let outcome = json!({
        "plain_http_1234_s_left": cookie(Duration::from_secs(1234), false),
        "secure_77_s_left": cookie(Duration::from_secs(77), true),
        "the_default_30_minutes": cookie(IDLE, false),
    });
    insta::assert_yaml_snapshot!("ex04a_session_cookie", outcome);
}

/// `clear_session_cookie` over plain HTTP and over HTTPS, attribute by attribute.
#[tokio::test]
async fn ex04b_clear_session_cookie() {
    let _settings = settings();
    let outcome = json!({
        "plain_http": set_cookie_line(&ex04_cookie_flow::clear_session_cookie(false)),
        "secure": set_cookie_line(&ex04_cookie_flow::clear_session_cookie(true)),
    });
    insta::assert_yaml_snapshot!("ex04b_clear_session_cookie", outcome);
}

/// `read_session_cookies` on 23 requests: no header, other cookies, one or several session
/// cookies in one header or several, malformed and repeated ones, more than eight, near names,
/// other cookies' UTF-8 and non-UTF-8 bytes, a digest of step 6 (no cookie), and the `__Host-`
/// name with planted plain ones. The
/// ids found, by their place in the check's own list (`id 1` ... `id 9`).
#[tokio::test]
async fn ex04c_read_session_cookies() {
    use axum::http::{HeaderMap, HeaderValue, header::COOKIE};
    let _settings = settings();
    let ids = [
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "16fd2706-8baf-433b-82eb-8c7fada847da",
        "886313e1-3b8a-4372-9b90-0c9aee199e5d",
        "a3bb189e-8bf9-4888-9912-ace4e6543002",
        "b5c1d7e2-0f3a-4c6b-8d9e-1f2a3b4c5d6e",
        "c0ffee00-1234-4abc-9def-0123456789ab",
        "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6",
        "e9f8a7b6-c5d4-4e3f-a2b1-c0d9e8f7a6b5",
    ];
    let [a, b, c, d, ..] = ids;
    // What Redis holds for `a` with key hashing on (step 6): a canonical UUID, but no cookie.
    let digest = session_storage::store::SessionId::parse(a).expect("an id").hashed().to_string();
    let session_cookies = |ids: &[&str]| {
        ids.iter().map(|id| format!("session_id={id}")).collect::<Vec<_>>().join("; ").into_bytes()
    };
    // Eight malformed values, each close to an id: none may take one of the eight places.
    let malformed: Vec<String> = [
        "x",
        "",
        "junk",
        &a.to_uppercase(),
        &format!("\"{a}\""),
        &a.replace('-', ""),
        &format!("{a}x"),
        "null",
    ]
    .iter()
    .map(|value| format!("session_id={value}"))
    .collect();
    let cases: Vec<(&str, bool, Vec<Vec<u8>>)> = vec![
        ("no Cookie header", false, vec![]),
        ("other cookies only", false, vec![b"theme=dark; lang=en".to_vec()]),
        ("among other cookies", false, vec![format!("theme=dark; session_id={a}; lang=en").into_bytes()]),
        (
            "in the second Cookie header",
            false,
            vec![b"theme=dark".to_vec(), format!("session_id={a}").into_bytes()],
        ),
        ("not a session id", false, vec![b"session_id=not-an-id".to_vec()]),
        ("upper-case id", false, vec![format!("session_id={}", a.to_uppercase()).into_bytes()]),
        ("a planted one first", false, vec![format!("session_id={b}; session_id={a}").into_bytes()]),
        ("a digest (version 8) first", false, vec![format!("session_id={digest}; session_id={a}").into_bytes()]),
        (
            "in two headers",
            false,
            vec![format!("session_id={a}").into_bytes(), format!("session_id={b}").into_bytes()],
        ),
        ("the same id twice", false, vec![format!("session_id={a}; session_id={a}").into_bytes()]),
        (
            "nine copies of one id before another",
            false,
            vec![format!("{}; session_id={b}", vec![format!("session_id={a}"); 9].join("; ")).into_bytes()],
        ),
        (
            "garbage between",
            false,
            vec![format!("session_id=x; session_id={a}; session_id=; session_id={b}").into_bytes()],
        ),
        (
            "four of them",
            false,
            vec![format!("session_id={a}; session_id={b}; session_id={c}; session_id={d}").into_bytes()],
        ),
        ("nine of them (at most eight)", false, vec![session_cookies(&ids)]),
        (
            "nine in two headers (at most eight)",
            false,
            vec![session_cookies(&ids[..5]), session_cookies(&ids[5..])],
        ),
        (
            "eight malformed ones before a real one",
            false,
            vec![format!("{}; session_id={a}", malformed.join("; ")).into_bytes()],
        ),
        (
            "near names only",
            false,
            vec![format!("session_idx={a}; xsession_id={a}; Session_id={a}; session_id ={b}").into_bytes()],
        ),
        (
            "after a cookie whose value is UTF-8",
            false,
            vec![format!("theme=caf\u{e9}; session_id={a}").into_bytes()],
        ),
        (
            "after a cookie that is not even UTF-8",
            false,
            vec![[&b"x=\xff\xfe; "[..], format!("session_id={a}").as_bytes()].concat()],
        ),
        (
            "a header that is not text",
            false,
            vec![b"session_id=\xff".to_vec(), format!("session_id={a}").into_bytes()],
        ),
        (
            "secure, __Host- after a plain one",
            true,
            vec![format!("session_id={b}; __Host-session_id={a}").into_bytes()],
        ),
        ("secure, a plain one only", true, vec![format!("session_id={b}").into_bytes()]),
        (
            "secure, __Host- in the second header",
            true,
            vec![format!("session_id={b}").into_bytes(), format!("__Host-session_id={a}").into_bytes()],
        ),
    ];
    let results: Vec<Value> = cases
        .into_iter()
        .map(|(case, secure, values)| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(COOKIE, HeaderValue::from_bytes(&value).expect("a header value"));
            }
            let found: Vec<String> = ex04_cookie_flow::read_session_cookies(&headers, secure)
                .iter()
                .map(|id| {
                    let id = id.to_string();
                    let n = ids.iter().position(|known| *known == id).map_or(0, |i| i + 1);
                    format!("id {n}")
                })
                .collect();
            let found = if found.is_empty() { "none".to_string() } else { found.join("; ") };
            json!({ case: found })
        })
        .collect();
    insta::assert_yaml_snapshot!("ex04c_read_session_cookies", results);
}
