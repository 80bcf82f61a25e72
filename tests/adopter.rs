//! Outside crates adopt this one: `tests/adopter/` depends on session-storage by path and is
//! exactly README.md's "Use it as a library" program (two routes of its own on `Authenticated`,
//! served by `session_storage::run`); `tests/adopter_state/` is a shop with a state of its own
//! that keeps the shopper's data in the session (`SessionData`, served by `run_with`). This
//! builds each with cargo, starts it against a private Redis, and walks it as a client and an
//! attacker would.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use session_storage::redis::PrivateRedis;

/// An outside crate's binary (`tests/<dir>/`, binary `name`), built once, in this workspace's
/// target directory (so its dependencies are reused), with its own committed lock file left as
/// it is (`--locked`).
fn outside_binary(dir: &'static str, name: &'static str) -> PathBuf {
    static BINARIES: std::sync::Mutex<Vec<(&str, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut built = BINARIES.lock().expect("not poisoned");
    if let Some((_, path)) = built.iter().find(|(built, _)| *built == dir) {
        return path.clone();
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = escargot::CargoBuild::new()
        .manifest_path(root.join(format!("tests/{dir}/Cargo.toml")))
        .target_dir(root.join("target"))
        .bin(name)
        .arg("--locked")
        .run()
        .unwrap_or_else(|error| panic!("build the outside crate tests/{dir}: {error}"))
        .path()
        .to_path_buf();
    built.push((dir, path.clone()));
    path
}

fn adopter_binary() -> PathBuf {
    outside_binary("adopter", "adopter")
}

/// The running adopter, killed by its PID when dropped.
struct Adopter {
    child: Child,
    base: String,
}

impl Drop for Adopter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_adopter(redis: &PrivateRedis) -> Adopter {
    start_binary(adopter_binary(), redis).await
}

async fn start_binary(binary: PathBuf, redis: &PrivateRedis) -> Adopter {
    let port = TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    let child = Command::new(binary)
        .env("REDIS_URL", redis.url())
        .env("PORT", port.to_string())
        .env("METRICS_ADDR", "127.0.0.1:0")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the adopter");
    let adopter = Adopter { child, base: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(20);
    while plain_client().get(format!("{}/health", adopter.base)).send().await.is_err() {
        assert!(Instant::now() < deadline, "the adopter did not answer within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    adopter
}

#[tokio::test]
async fn an_outside_crate_adopts_the_library_in_ten_lines() {
    let redis = tokio::task::spawn_blocking(PrivateRedis::start).await.expect("join").expect("redis");
    let mut admin = admin_connection(&redis).await;
    // Built off the async runtime: cargo may take a while.
    tokio::task::spawn_blocking(adopter_binary).await.expect("build");
    let app = start_adopter(&redis).await;
    let url = |path: &str| format!("{}{path}", app.base);
    let client = plain_client();

    let anonymous = client.get(url("/hello")).send().await.expect("GET /hello");
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.json::<Value>().await.expect("json"),
        json!({"detail": "Session expired or invalid"})
    );

    let login = post_login_at(&client, &url("/login"), "alice").await;
    assert_eq!(login.status(), 200);
    let body: Value = login.json().await.expect("json");
    let id = body["session_id"].as_str().expect("session_id").to_string();
    let cookie = format!("session_id={id}");
    let key = format!("session:{id}");

    // Aged, so that the renewal shows in Redis.
    let _: bool = query(&mut admin, &["EXPIRE", &key, "900"]).await;
    let hello = client.get(url("/hello")).header("cookie", &cookie).send().await.expect("GET /hello");
    assert_eq!(hello.status(), 200);
    let renewed = set_cookie(&hello).expect("the answer carries the renewed cookie");
    assert_eq!(max_age(&renewed), 1800);
    assert!(renewed.starts_with(&format!("{cookie};")), "{renewed}");
    let text = hello.text().await.expect("text");
    assert!(regex::Regex::new(r"^hello alice \(user_[0-9]+\)$").expect("regex").is_match(&text), "{text}");
    let ttl: i64 = query(&mut admin, &["TTL", &key]).await;
    assert!((1790..=1800).contains(&ttl), "the TTL went back to the idle TTL: {ttl}");

    let forged = client
        .post(url("/act"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("POST /act");
    assert_eq!(forged.status(), 403);
    assert_eq!(forged.json::<Value>().await.expect("json"), json!({"detail": "Cross-site request refused"}));
    let same = client
        .post(url("/act"))
        .header("cookie", &cookie)
        .header("origin", app.base.clone())
        .send()
        .await
        .expect("POST /act");
    assert_eq!(same.status(), 200);
    assert_eq!(same.text().await.expect("text"), "done for alice");

    let logout = client.post(url("/logout")).header("cookie", &cookie).send().await.expect("logout");
    assert_eq!(logout.status(), 200);
    let after = client.get(url("/hello")).header("cookie", &cookie).send().await.expect("GET /hello");
    assert_eq!(after.status(), 401);

    assert_eq!(client.get(url("/docs/")).send().await.expect("docs").status(), 200);
    let api: Value =
        client.get(url("/openapi.json")).send().await.expect("openapi").json().await.expect("json");
    let paths = api["paths"].as_object().expect("paths");
    for route in ["/login", "/profile", "/logout", "/sessions", "/health"] {
        assert!(paths.contains_key(route), "the OpenAPI lists {route}");
    }
    assert!(!paths.contains_key("/hello"), "the adopter's own routes are its own");
}

/// A shop with a state of its own (its price list, through `run_with` and `FromRef`) keeps the
/// shopper's data in the session: concurrent additions all counted, a typed value stored on one
/// request and read back on the next, an unknown item a JSON 404, and after logout the data is
/// gone with the session.
#[tokio::test]
async fn an_app_with_its_own_state_keeps_its_data_in_the_session() {
    let redis = tokio::task::spawn_blocking(PrivateRedis::start).await.expect("join").expect("redis");
    let mut admin = admin_connection(&redis).await;
    let binary = tokio::task::spawn_blocking(|| outside_binary("adopter_state", "adopter-state"))
        .await
        .expect("build");
    let shop = start_binary(binary, &redis).await;
    let url = |path: &str| format!("{}{path}", shop.base);
    let client = plain_client();
    assert_eq!(client.get(url("/cart")).send().await.expect("GET /cart").status(), 401);

    let login = post_login_at(&client, &url("/login"), "alice").await;
    let id = login.json::<Value>().await.expect("json")["session_id"].as_str().expect("id").to_string();
    let cookie = format!("session_id={id}");
    let key = format!("session:{id}");
    let add = |sku: &str| client.post(url(&format!("/cart/{sku}"))).header("cookie", &cookie).send();
    let added = futures_util::future::join_all([add("tea"), add("tea"), add("milk"), add("tea")]).await;
    for response in added {
        assert_eq!(response.expect("add").status(), 200);
    }
    let unknown = add("coffee").await.expect("add");
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.expect("json"), json!({"detail": "Not Found"}));

    let prefer = client
        .put(url("/preferences"))
        .header("cookie", &cookie)
        .json(&json!({"currency": "EUR", "gift_wrap": true}))
        .send()
        .await
        .expect("PUT /preferences");
    assert_eq!(prefer.status(), 200);
    let cart: Value = client
        .get(url("/cart"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("cart")
        .json()
        .await
        .expect("json");
    assert_eq!(
        cart,
        json!({
            "items": {"milk": 1, "tea": 3},
            "total_cents": 3 * 450 + 120,
            "preferences": {"currency": "EUR", "gift_wrap": true},
        })
    );
    let stored: Option<String> = query(&mut admin, &["HGET", &key, "data:preferences"]).await;
    assert_eq!(stored.as_deref(), Some(r#"{"currency":"EUR","gift_wrap":true}"#));
    let ttl: i64 = query(&mut admin, &["TTL", &key]).await;
    assert!(ttl > 0, "still a session with its TTL: {ttl}");

    let logout = client.post(url("/logout")).header("cookie", &cookie).send().await.expect("logout");
    assert_eq!(logout.status(), 200);
    let exists: u64 = query(&mut admin, &["EXISTS", &key]).await;
    assert_eq!(exists, 0, "the shopper's data ended with the session");
    assert_eq!(client.get(url("/cart")).header("cookie", &cookie).send().await.expect("cart").status(), 401);
}
