//! # The book's screenshots of the page at `/`
//!
//! Starts the service on a free port against a private Redis, drives the page in headless
//! Chromium (the same harness as `tests/browser.rs`), and writes three screenshots into
//! `book/src/images/`: logged out, logged in, and two devices of one user.
//!
//! Run it: `cargo run --example screenshots` (needs `chromium` and `chromium-driver`).

#[path = "../tests/chromium/mod.rs"]
mod chromium;

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use chromium::{Driver, click, log_in, wait_for_text, wait_shown};
use session_storage::AppState;
use session_storage::http::app;
use session_storage::redis::{PrivateRedis, connect};
use session_storage::server::serve;
use session_storage::store::{Lifetimes, SessionStore};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

// ANCHOR: screenshots
async fn run() -> Result<(), Box<dyn Error>> {
    let mut driver = Driver::start().ok_or("no browser: see the line above")?;
    let redis = PrivateRedis::start()?;
    let con = connect(&redis.url(), Duration::from_secs(1)).await?;
    let store = SessionStore::new(con, Lifetimes::default(), Duration::from_secs(1)).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(serve(listener, app(AppState::new(store)), std::future::pending()));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/images");

    let laptop = driver.browser().await;
    laptop.goto(&format!("{base}/")).await?;
    wait_shown(&laptop, "login-form", true).await;
    save(&dir, "page-logged-out.png", &laptop.screenshot().await?)?;

    log_in(&laptop, &base, "alice").await;
    wait_for_text(&laptop, "countdown", |t| t.contains(':')).await;
    save(&dir, "page-logged-in.png", &laptop.screenshot().await?)?;

    let phone = driver.browser().await;
    log_in(&phone, &base, "alice").await;
    click(&laptop, "refresh-button").await;
    wait_for_text(&laptop, "session-list", |t| t.matches("Revoke").count() == 2).await;
    save(&dir, "page-two-devices.png", &laptop.screenshot().await?)?;

    laptop.close().await?;
    phone.close().await?;
    driver.stop();
    Ok(())
}
// ANCHOR_END: screenshots

fn save(dir: &std::path::Path, name: &str, png: &[u8]) -> std::io::Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, png)?;
    println!("wrote {} ({} bytes)", path.display(), png.len());
    Ok(())
}
