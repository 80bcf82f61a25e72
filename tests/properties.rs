//! Property tests over hostile input: arbitrary `Cookie` headers and login bodies. Whatever is
//! sent, the answer is a JSON 4xx (or a 200 for a valid login), never a 5xx, and a malformed
//! session id never causes a Redis command. `PROPTEST_CASES=2000` for a longer run.

mod common;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use session_storage::store::canonical_username;

/// An oracle written independently of the service's parser: some cookie named `session_id` has
/// a canonical lowercase UUID as its value (the service tries each such one).
fn well_formed_session_cookie(header: &str) -> bool {
    let canonical =
        regex::Regex::new(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$").expect("regex");
    let values: Vec<&str> = header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| name.trim() == "session_id")
        .map(|(_, value)| value.trim().trim_matches('"'))
        .collect();
    values.iter().any(|value| canonical.is_match(value))
}

fn cookie_headers() -> impl Strategy<Value = String> {
    let uuid_like = "[0-9a-fA-F-]{30,40}";
    prop_oneof![
        // Anything printable.
        "[ -~]{0,300}",
        // Something that looks like our cookie.
        uuid_like.prop_map(|v| format!("session_id={v}")),
        // Our cookie among others, with odd separators.
        ("[a-z_]{1,10}", "[ -~&&[^;]]{0,40}", uuid_like)
            .prop_map(|(name, value, id)| format!("{name}={value}; session_id={id};; session_id")),
        // A real-looking random UUID, possibly twice.
        (any::<u128>(), any::<bool>()).prop_map(|(bits, twice)| {
            let id = uuid_from(bits);
            if twice { format!("session_id={id}; session_id={id}") } else { format!("session_id={id}") }
        }),
    ]
}

fn uuid_from(bits: u128) -> String {
    let hex = format!("{bits:032x}");
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// Runs `property` for every value `strategy` generates, against one server and its Redis.
fn check<S: Strategy>(
    strategy: S,
    property: impl AsyncFn(&TestApp, &reqwest::Client, S::Value) -> Result<(), TestCaseError>,
) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let app = runtime.block_on(TestApp::start());
    let client = plain_client();
    let mut runner = TestRunner::new(Config { failure_persistence: None, ..Config::default() });
    runner.run(&strategy, |value| runtime.block_on(property(&app, &client, value))).expect("property holds");
}

#[test]
fn any_cookie_header_is_a_clean_401_and_malformed_ids_never_reach_redis() {
    check(cookie_headers(), async |app, client, header| {
        app.reset_stats().await;
        let response =
            client.get(app.url("/profile")).header("cookie", &header).send().await.expect("request");
        let status = response.status().as_u16();
        let body: Value = response.json().await.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(status, 401, "cookie {:?}", header);
        prop_assert_eq!(body, json!({"detail": "Session expired or invalid"}));
        if !well_formed_session_cookie(&header) {
            let calls = app.command_calls().await;
            prop_assert!(calls.is_empty(), "cookie {:?} reached Redis: {:?}", header, calls);
        }
        Ok(())
    });
}

fn login_bodies() -> impl Strategy<Value = (Vec<u8>, Option<String>)> {
    prop_oneof![
        // Arbitrary bytes.
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(|bytes| (bytes, None)),
        // Arbitrary text.
        "\\PC{0,200}".prop_map(|text| (text.into_bytes(), None)),
        // Well-formed JSON with any username at all (control characters, long, empty, emoji).
        (".{0,80}", ".{0,20}").prop_map(|(username, password)| {
            let body = json!({"username": username, "password": password}).to_string().into_bytes();
            (body, Some(username))
        }),
        // Wrong types.
        (any::<i64>(), any::<bool>())
            .prop_map(|(n, b)| (json!({"username": n, "password": b}).to_string().into_bytes(), None)),
    ]
}

#[test]
fn any_login_body_is_a_200_or_a_json_4xx() {
    check(login_bodies(), async |app, client, (body, username)| {
        let response = client
            .post(app.url("/login"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let json: Value = response.json().await.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(
            status == 200 || status == 422,
            "status {} for {:?}",
            status,
            String::from_utf8_lossy(&body)
        );
        if status == 422 {
            prop_assert!(json["detail"].is_string(), "{}", json);
        }
        // When the body was valid JSON with a string username, the oracle decides.
        if let Some(username) = username {
            let chars = username.chars().count();
            // The length and control-character rules are the request's; which characters a
            // name may hold is RFC 8265's (`canonical_username`), which the oracle defers to
            // after refusing, on its own, the invisible characters the profile must never let in.
            let invisible = username.chars().any(|c| matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{2028}' | '\u{2029}'));
            let valid = (1..=64).contains(&chars)
                && !username.chars().any(char::is_control)
                && !invisible
                && canonical_username(&username).is_ok();
            prop_assert_eq!(status == 200, valid, "username {:?}", username);
            if valid {
                prop_assert_eq!(&json["username"], &json!(username));
            }
        }
        Ok(())
    });
}
