//! Starting the real binary (`examples/05_full_server`, built by `cargo test` with the other
//! examples): a bad configuration value, an unreachable `REDIS_URL` and a missing redis-server
//! each stop it with a message that says what to do.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/startup-<hash> -> target/<profile>/examples/05_full_server
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let binary = profile_dir.join("examples").join("05_full_server");
    assert!(binary.exists(), "{} was not built (cargo test builds the examples)", binary.display());
    binary
}

/// Runs the server with `env` (and nothing else of ours), expecting it to exit by itself within
/// 15 s; kills it by PID otherwise.
fn run(env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(server_binary());
    command
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("start the server");
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("output");
    panic!("the server did not exit: {}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn a_bad_value_stops_the_server_naming_the_variable() {
    for (var, value) in [("PORT", "99999"), ("SESSION_TTL_SECS", "0"), ("COOKIE_SECURE", "maybe")] {
        let output = run(&[(var, value)]);
        assert!(!output.status.success(), "{var}={value} should stop the server");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&format!("error: invalid {var}: ")), "{var}: {stderr}");
    }
}

#[test]
fn an_unreachable_redis_url_stops_the_server() {
    let closed_port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("redis://127.0.0.1:{closed_port}");
    let output = run(&[("REDIS_URL", &url), ("PORT", "0")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("error: cannot reach Redis at {url} (REDIS_URL)")), "{stderr}");
}

#[test]
fn without_redis_server_on_path_it_says_how_to_install_it() {
    if std::net::TcpStream::connect_timeout(
        &"127.0.0.1:6379".parse().expect("addr"),
        Duration::from_millis(200),
    )
    .is_ok()
    {
        eprintln!("skipped: something listens on 127.0.0.1:6379, which the server would use");
        return;
    }
    let empty = tempfile::tempdir().expect("empty dir");
    let path = empty.path().to_str().expect("utf-8 path");
    let output = run(&[("PATH", path), ("PORT", "0")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("redis-server was not found on PATH"), "{stderr}");
    assert!(
        stderr.contains("sudo apt-get install -y redis-server") && stderr.contains("brew install redis"),
        "{stderr}"
    );
}
