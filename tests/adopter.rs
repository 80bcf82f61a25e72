//! An outside crate adopts this one: `tests/adopter/` depends on session-storage by path and is
//! exactly README.md's "Use it as a library" program (two routes of its own on `Authenticated`,
//! served by `session_storage::run`). This builds it with cargo, starts it against a private
//! Redis, and walks it as a client and an attacker would.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use session_storage::redis::PrivateRedis;

/// The adopter's binary, built once, in this workspace's target directory (so its dependencies
/// are reused), with its own committed lock file left as it is (`--locked`).
fn adopter_binary() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            escargot::CargoBuild::new()
                .manifest_path(root.join("tests/adopter/Cargo.toml"))
                .target_dir(root.join("target"))
                .bin("adopter")
                .arg("--locked")
                .run()
                .expect("build the outside crate tests/adopter")
                .path()
                .to_path_buf()
        })
        .clone()
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
    let port = TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    let child = Command::new(adopter_binary())
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
