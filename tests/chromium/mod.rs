//! A real, headless Chromium driven over WebDriver (fantoccini), for the end-to-end tests of the
//! page at `/` (`tests/browser.rs`) and for the book's screenshots (`examples/screenshots.rs`).
//!
//! `chromedriver` is started on a free port in a process group of its own, and every Chromium it
//! launches is in that group: stopping the group by its id stops them all, even after a panic.
//! Each browser gets its own profile directory, so two browsers keep two cookie jars, like two
//! devices.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// How to get a browser, for the line printed when there is none.
pub const INSTALL_BROWSER: &str = "install one with: sudo apt-get install -y chromium chromium-driver (set E2E_REQUIRE_BROWSER=1 to fail instead of skipping)";

/// `chromedriver`, the browsers it drives, and their profile directories.
pub struct Driver {
    /// chromedriver, until its process group is stopped (then `None`: never signal a group id
    /// twice, it may belong to another test's driver by then).
    child: Option<Child>,
    url: String,
    chromium: PathBuf,
    profiles: tempfile::TempDir,
    browsers: usize,
}

fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

impl Driver {
    /// Starts chromedriver, or says why not: `None` (after one line on stderr) when Chromium or
    /// chromedriver is missing, unless `E2E_REQUIRE_BROWSER=1`, which turns that into a panic.
    pub fn start() -> Option<Driver> {
        let chromium = std::env::var_os("CHROME_BIN")
            .map(PathBuf::from)
            .or_else(|| find_on_path(&["chromium", "chromium-browser", "google-chrome"]));
        let chromedriver = find_on_path(&["chromedriver"]);
        let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
            let required = std::env::var("E2E_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "E2E_REQUIRE_BROWSER=1 but Chromium or chromedriver is missing: {INSTALL_BROWSER}"
            );
            eprintln!("skipped: no Chromium and chromedriver on PATH; {INSTALL_BROWSER}");
            return None;
        };
        // A free port can be taken by another test between asking and chromedriver binding it
        // (chromedriver then exits, and whatever holds the port answers the probe), so a driver
        // counts as started only when it is still running and its own `/status` says ready.
        for _attempt in 0..3 {
            let port = free_port();
            let mut command = Command::new(&chromedriver);
            command.arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null());
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
            let child = command.spawn().expect("start chromedriver");
            let mut driver = Driver {
                child: Some(child),
                url: format!("http://127.0.0.1:{port}"),
                chromium: chromium.clone(),
                profiles: tempfile::tempdir().expect("profiles dir"),
                browsers: 0,
            };
            if driver.wait_until_ready(port, Duration::from_secs(15)) {
                return Some(driver);
            }
            driver.kill_group();
        }
        panic!("chromedriver did not become ready on three ports");
    }

    /// Polls chromedriver's `GET /status` until it answers `"ready": true`; false when the
    /// process exits or the time runs out.
    fn wait_until_ready(&mut self, port: u16, limit: Duration) -> bool {
        use std::io::{Read, Write};
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && matches!(child.try_wait(), Ok(Some(_)))
            {
                return false;
            }
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let request =
                    format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
                // chromedriver may keep the connection open: read what arrives until the
                // answer says ready, the peer closes, or the read times out.
                let mut answer = Vec::new();
                let mut chunk = [0u8; 4096];
                if stream.write_all(request.as_bytes()).is_ok() {
                    while let Ok(read @ 1..) = stream.read(&mut chunk) {
                        answer.extend_from_slice(&chunk[..read]);
                        let text = String::from_utf8_lossy(&answer).replace(' ', "");
                        if text.contains("\"ready\":true") {
                            return true;
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// A new headless browser with a profile (and so a cookie jar) of its own.
    pub async fn browser(&mut self) -> Client {
        self.browsers += 1;
        let profile = self.profiles.path().join(format!("profile-{}", self.browsers));
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--window-size=1000,1300",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!("an object") };
        // A browser start can fail once on a loaded machine (Chromium slow to come up); a second
        // try with a fresh profile is what a person would do.
        let mut last_error = None;
        for attempt in 0..3 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&self.url).await {
                Ok(client) => return client,
                Err(error) => last_error = Some(error),
            }
        }
        panic!("start Chromium through chromedriver: {last_error:?}")
    }

    /// The directory holding every profile: its path appears in the command line of every
    /// Chromium process this driver started.
    pub fn profiles(&self) -> &Path {
        self.profiles.path()
    }

    /// Stops chromedriver and every browser (the whole process group), then checks that no
    /// process of theirs is left.
    pub fn stop(mut self) {
        self.kill_group();
        let marker = self.profiles.path().display().to_string();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = processes_mentioning(&marker);
            if left.is_empty() {
                break;
            }
            assert!(Instant::now() < deadline, "browser processes left behind: {left:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill_group(&mut self) {
        if let Some(mut child) = self.child.take() {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
            let _ = child.wait();
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Process ids (with their command names) whose command line contains `marker`.
pub fn processes_mentioning(marker: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()))
        .filter_map(|entry| {
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let state = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // A zombie has no command line left; it is gone but for its exit status.
            let zombie = state.split(") ").nth(1).is_some_and(|rest| rest.starts_with('Z'));
            (cmdline.contains(marker) && !zombie)
                .then(|| format!("{} {}", entry.file_name().to_string_lossy(), cmdline.trim()))
        })
        .collect()
}

/// `[data-testid="name"]`.
pub fn testid(name: &str) -> String {
    format!("[data-testid=\"{name}\"]")
}

/// The text of the element with this test id, or `None` while it does not exist.
pub async fn text(client: &Client, name: &str) -> Option<String> {
    let element = client.find(Locator::Css(&testid(name))).await.ok()?;
    element.text().await.ok()
}

/// Waits (up to 10 s) until the element with this test id shows text that passes `ready`, and
/// returns that text.
pub async fn wait_for_text(client: &Client, name: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let current = text(client, name).await.unwrap_or_default();
        if ready(&current) {
            return current;
        }
        assert!(Instant::now() < deadline, "waited 10 s for {name}; it shows {current:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (up to 10 s) until the element with this test id is shown (or hidden).
pub async fn wait_shown(client: &Client, name: &str, shown: bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = match client.find(Locator::Css(&testid(name))).await {
            Ok(element) => element.is_displayed().await.unwrap_or(false),
            Err(_) => false,
        };
        if now == shown {
            return;
        }
        assert!(Instant::now() < deadline, "waited 10 s for {name} to be shown: {shown}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks the element with this test id.
pub async fn click(client: &Client, name: &str) {
    let element = client.wait().for_element(Locator::Css(&testid(name))).await.expect(name);
    element.click().await.unwrap_or_else(|error| panic!("click {name}: {error}"));
}

/// Opens the page at `base` and logs in through its form as `username`.
pub async fn log_in(client: &Client, base: &str, username: &str) {
    client.goto(&format!("{base}/")).await.expect("open the page");
    wait_shown(client, "login-form", true).await;
    let name = client.find(Locator::Css(&testid("username"))).await.expect("username input");
    name.clear().await.expect("clear");
    name.send_keys(username).await.expect("type a username");
    let password = client.find(Locator::Css(&testid("password"))).await.expect("password input");
    password.send_keys("secret").await.expect("type a password");
    click(client, "login-button").await;
    wait_for_text(client, "user-name", |text| text == username).await;
}
