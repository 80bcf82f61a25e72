//! The page at `/`, in a real headless Chromium (WebDriver, through chromedriver), against the
//! real service on port 0 and a private Redis: the form, the HttpOnly cookie invisible to the
//! page, the countdown, expiry, two browsers revoking each other, a stalled Redis, a forged
//! cross-site form, and the note kept in the session through reloads and login. Without Chromium and chromedriver each browser test prints one line and
//! passes; with `E2E_REQUIRE_BROWSER=1` (as in CI) it fails instead.
//!
//! The page's headers are checked over plain HTTP, browser or not.

mod chromium;
mod common;

use std::time::Duration;

use chromium::{Driver, click, log_in, testid, text, wait_for_text, wait_shown};
use common::*;
use fantoccini::Locator;
use session_storage::store::user_id_for;

#[tokio::test]
async fn the_page_is_served_with_strict_headers() {
    let app = TestApp::start().await;
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/page/app.js", "text/javascript; charset=utf-8"),
        ("/page/app.css", "text/css; charset=utf-8"),
    ] {
        let response = plain_client().get(app.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), 200, "{path}");
        let header = |name: &str| {
            response.headers().get(name).map(|v| v.to_str().expect("ascii").to_string()).unwrap_or_default()
        };
        assert_eq!(header("content-type"), content_type, "{path}");
        let csp = header("content-security-policy");
        for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'"]
        {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        assert_eq!(header("cache-control"), "no-store", "{path}");
    }
    let html = plain_client().get(app.url("/")).send().await.expect("GET /").text().await.expect("html");
    // No inline script or style for the policy to forbid: everything is in the two files.
    assert!(!html.contains("<script>") && !html.contains("<style") && !html.contains(" style="), "{html}");
    for hook in [
        "login-form",
        "profile",
        "countdown",
        "document-cookie",
        "session-list",
        "login-button",
        "refresh-button",
        "logout-button",
        "logout-everywhere-button",
        "note-form",
        "note-save",
    ] {
        assert!(html.contains(&format!("data-testid=\"{hook}\"")), "no hook {hook}");
    }
    for input in ["username", "password", "note"] {
        assert!(html.contains(&format!("<label for=\"{input}\"")), "{input} has no label");
        assert!(html.contains(&format!("name=\"{input}\"")), "{input} has no name");
    }
    let spec: serde_json::Value =
        plain_client().get(app.url("/openapi.json")).send().await.expect("spec").json().await.expect("json");
    let page = &spec["paths"]["/"]["get"]["responses"]["200"]["content"];
    assert!(page.get("text/html").is_some(), "the page is documented as HTML: {page}");
}

#[tokio::test]
async fn log_in_through_the_form_and_the_cookie_is_invisible_to_javascript() {
    let Some(mut driver) = Driver::start() else { return };
    let app = TestApp::start().await;
    let browser = driver.browser().await;
    let base = app.url("");
    browser.goto(&format!("{base}/")).await.expect("open");
    wait_shown(&browser, "logged-out", true).await;
    assert_eq!(text(&browser, "message").await.as_deref(), Some(""), "a first visit shows no error");
    log_in(&browser, &base, "alice").await;

    assert_eq!(text(&browser, "user-id").await, Some(user_id_for("alice")));
    assert_eq!(text(&browser, "document-cookie").await.as_deref(), Some("\"\""));
    let seen_by_script = browser.execute("return document.cookie", vec![]).await.expect("script");
    assert_eq!(seen_by_script, serde_json::json!(""), "page JavaScript cannot see the session cookie");
    let cookies = browser.get_all_cookies().await.expect("cookies");
    let session = cookies.iter().find(|c| c.name() == "session_id").expect("the browser holds the cookie");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(app.session_keys().await, vec![format!("session:{}", session.value())]);
    let header = text(&browser, "cookie-header").await.unwrap_or_default();
    assert!(
        header.starts_with("session_id=<id, not shown>; HttpOnly; SameSite=Lax; Path=/; Max-Age="),
        "{header}"
    );
    assert!(!header.contains(session.value()), "the page never shows the id: {header}");
    let attributes = text(&browser, "cookie-attributes").await.unwrap_or_default();
    assert!(attributes.contains("HttpOnly: page scripts cannot read it"), "{attributes}");
    let rows = browser.find_all(Locator::Css(&testid("session-row"))).await.expect("rows");
    assert_eq!(rows.len(), 1);

    click(&browser, "logout-button").await;
    wait_shown(&browser, "logged-out", true).await;
    assert!(app.session_keys().await.is_empty(), "logged out in Redis too");
    browser.close().await.expect("close");
    driver.stop();
}

/// Minutes and seconds (`m:ss`) as the countdown shows them, in seconds.
fn seconds(shown: &str) -> u64 {
    let (m, s) = shown.split_once(':').unwrap_or_else(|| panic!("not m:ss: {shown:?}"));
    m.parse::<u64>().expect("minutes") * 60 + s.parse::<u64>().expect("seconds")
}

#[tokio::test]
async fn the_countdown_resets_after_a_request_and_expiry_shows_the_401() {
    let Some(mut driver) = Driver::start() else { return };
    let settings = Settings { idle_ttl: Duration::from_secs(5), ..Settings::default() };
    let app = TestApp::start_with(settings).await;
    let browser = driver.browser().await;
    log_in(&browser, &app.url(""), "alice").await;
    let first = seconds(&wait_for_text(&browser, "countdown", |t| t.contains(':')).await);
    assert!((3..=5).contains(&first), "starts near the 5 s TTL: {first}");
    // It counts down live...
    wait_for_text(&browser, "countdown", |t| t.contains(':') && seconds(t) <= 2).await;
    // ... and a request sets it back to the full TTL.
    click(&browser, "refresh-button").await;
    let reset = seconds(&wait_for_text(&browser, "countdown", |t| t.contains(':') && seconds(t) >= 4).await);
    assert!(reset <= 5, "{reset}");
    // Left alone, the session idles out in Redis; the page finds out on its next request.
    let message = wait_for_text(&browser, "message", |t| t.contains("401")).await;
    assert_eq!(message, "Error: Session expired or invalid (401)");
    wait_shown(&browser, "login-form", true).await;
    assert!(app.session_keys().await.is_empty());
    browser.close().await.expect("close");
    driver.stop();
}

#[tokio::test]
async fn two_browsers_revoke_each_other_and_log_out_everywhere() {
    let Some(mut driver) = Driver::start() else { return };
    let app = TestApp::start().await;
    let base = app.url("");
    let (laptop, phone) = (driver.browser().await, driver.browser().await);
    log_in(&laptop, &base, "alice").await;
    log_in(&phone, &base, "alice").await;
    click(&laptop, "refresh-button").await;
    wait_for_rows(&laptop, 2).await;
    // The laptop revokes the phone's session: the row that is not marked current.
    let other = laptop
        .find(Locator::Css(
            "[data-testid=\"session-row\"]:not([data-current]) [data-testid=\"revoke-button\"]",
        ))
        .await
        .expect("the other device's revoke button");
    other.click().await.expect("revoke");
    wait_for_text(&laptop, "message", |t| t.starts_with("Session ") && t.ends_with(" revoked.")).await;
    wait_for_rows(&laptop, 1).await;
    // The phone is told on its next request.
    click(&phone, "refresh-button").await;
    assert_eq!(
        wait_for_text(&phone, "message", |t| t.contains("401")).await,
        "Error: Session expired or invalid (401)"
    );
    wait_shown(&phone, "login-form", true).await;

    // The phone logs in again; the laptop logs out everywhere; both are out.
    log_in(&phone, &base, "alice").await;
    click(&laptop, "logout-everywhere-button").await;
    wait_for_text(&laptop, "message", |t| t == "Logged out everywhere: 2 session(s) ended.").await;
    click(&phone, "refresh-button").await;
    wait_for_text(&phone, "message", |t| t.contains("401")).await;
    assert!(app.session_keys().await.is_empty());
    laptop.close().await.expect("close");
    phone.close().await.expect("close");
    driver.stop();
}

async fn wait_for_rows(client: &fantoccini::Client, rows: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found = client.find_all(Locator::Css(&testid("session-row"))).await.map(|r| r.len()).unwrap_or(0);
        if found == rows {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "waited for {rows} session rows, see {found}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_stalled_redis_shows_the_503_and_the_page_recovers() {
    let Some(mut driver) = Driver::start() else { return };
    let settings = Settings { timeout: Duration::from_millis(300), ..Settings::default() };
    let app = TestApp::start_with(settings).await;
    let browser = driver.browser().await;
    log_in(&browser, &app.url(""), "alice").await;
    app.redis().pause().expect("SIGSTOP");
    click(&browser, "refresh-button").await;
    let message = wait_for_text(&browser, "message", |t| t.contains("503")).await;
    app.redis().resume().expect("SIGCONT");
    assert_eq!(message, "Error: Session store unavailable (503)");
    click(&browser, "refresh-button").await;
    wait_for_text(&browser, "message", str::is_empty).await;
    assert_eq!(text(&browser, "user-name").await.as_deref(), Some("alice"));
    browser.close().await.expect("close");
    driver.stop();
}

/// A page on another origin (here another port of the same host: the same *site*, so
/// `SameSite=Lax` lets the cookie go with it) posts a form to `/logout`. The Origin check
/// refuses it, and the user stays logged in.
#[tokio::test]
async fn a_page_from_another_origin_cannot_log_the_user_out() {
    let Some(mut driver) = Driver::start() else { return };
    let app = TestApp::start().await;
    let base = app.url("");
    let browser = driver.browser().await;
    log_in(&browser, &base, "alice").await;

    let form = format!(
        "<!doctype html><title>Win a prize</title>\
         <form method=post action=\"{base}/logout\"><button data-testid=go>Claim</button></form>"
    );
    let evil =
        axum::Router::new().route("/", axum::routing::get(move || async move { axum::response::Html(form) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let evil_url = format!("http://{}/", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move { axum::serve(listener, evil).await });
    browser.goto(&evil_url).await.expect("open the other site");
    click(&browser, "go").await;
    let refused = wait_until_body(&browser, "Cross-site request refused").await;
    assert!(refused.contains("{\"detail\":\"Cross-site request refused\"}"), "{refused}");
    server.abort();

    assert_eq!(app.session_keys().await.len(), 1, "the session survived");
    browser.goto(&format!("{base}/")).await.expect("back to the page");
    wait_for_text(&browser, "user-name", |t| t == "alice").await;
    browser.close().await.expect("close");
    driver.stop();
}

async fn wait_until_body(client: &fantoccini::Client, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let source = client.source().await.unwrap_or_default();
        if source.contains(needle) {
            return source;
        }
        assert!(std::time::Instant::now() < deadline, "waited for {needle:?}; page: {source}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the page reads about its session: the fields, the lifetimes, and the cookie of this very
/// answer with its id left out.
#[tokio::test]
async fn session_details_describe_the_cookie_without_its_id() {
    let app = TestApp::start().await;
    let id = login_id(&app, "alice").await;
    let response = get_with_session(&app.url("/session/details"), &id).await;
    assert_eq!(response.status(), 200);
    let cookie = set_cookie(&response).expect("renewed cookie");
    let body: serde_json::Value = response.json().await.expect("json");
    assert!(!body.to_string().contains(&id), "the id never reaches the page: {body}");
    assert_eq!(body["set_cookie"], cookie.replace(&id, "<id, not shown>"));
    assert_eq!(body["user_id"], user_id_for("alice"));
    assert_eq!(body["idle_ttl"], 1800);
    let created = body["created_at"].as_u64().expect("created_at");
    assert_eq!(body["absolute_deadline"].as_u64(), Some(created + 8 * 3600));
    let names: Vec<&str> = body["cookie_attributes"]
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1800"]);
    assert_eq!(plain_client().get(app.url("/session/details")).send().await.expect("GET").status(), 401);
}

/// The leak check the browser tests end with can see a process that is left: one started here,
/// with a marker on its command line, is found while it runs and not once it is gone.
#[test]
fn the_leftover_process_check_finds_a_running_process() {
    let marker = format!("leak-check-{}", std::process::id());
    // `read` is a shell builtin: one process, waiting on its stdin, with the marker as its $0.
    let mut child = std::process::Command::new("sh")
        .args(["-c", "read _", &marker])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("start a process to find");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while chromium::processes_mentioning(&marker).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the running process was not found");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert!(chromium::processes_mentioning(&marker).is_empty());
}

/// Every answer carries `nosniff`; HTML answers cannot be framed; `/docs` has its own policy;
/// HSTS only with `COOKIE_SECURE=true`. Over plain HTTP, browser or not.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::start().await;
    let id = login_id(&app, "alice").await;
    let header = |response: &reqwest::Response, name: &str| {
        response.headers().get(name).map(|v| v.to_str().expect("ascii").to_string()).unwrap_or_default()
    };
    for path in ["/profile", "/health", "/openapi.json", "/no-such-route", "/", "/docs/"] {
        let response = get_with_session(&app.url(path), &id).await;
        assert_eq!(header(&response, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&response, "strict-transport-security"), "", "{path}: no HSTS over plain HTTP");
    }
    for path in ["/", "/docs/"] {
        let response = plain_client().get(app.url(path)).send().await.expect("GET");
        assert!(header(&response, "content-type").starts_with("text/html"), "{path}");
        assert_eq!(header(&response, "x-frame-options"), "DENY", "{path}");
        assert!(header(&response, "content-security-policy").contains("frame-ancestors 'none'"), "{path}");
    }
    let docs = plain_client().get(app.url("/docs/")).send().await.expect("GET /docs/");
    let csp = header(&docs, "content-security-policy");
    for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "base-uri 'none'"] {
        assert!(csp.contains(directive), "/docs: {csp}");
    }
    assert!(!csp.contains("script-src 'self' 'unsafe"), "/docs runs no inline script: {csp}");

    let secure = TestApp::start_with(Settings { cookie_secure: true, ..Settings::default() }).await;
    let response = plain_client().get(secure.url("/health")).send().await.expect("GET");
    assert_eq!(header(&response, "strict-transport-security"), "max-age=31536000");
}

/// Swagger UI still works under `/docs`' policy: in Chromium it renders every route of the
/// document and opens one, and the browser reports no policy violation.
#[tokio::test]
async fn swagger_ui_works_under_its_content_security_policy() {
    let Some(mut driver) = Driver::start() else { return };
    let app = TestApp::start().await;
    let browser = driver.browser().await;
    browser.goto(&app.url("/docs/")).await.expect("open /docs/");
    // Count violations from here on (a reload replays everything under the listener).
    browser
        .execute(
            "window.__violations = [];\
             document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));",
            vec![],
        )
        .await
        .expect("listen");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let summaries = loop {
        let found = browser.find_all(Locator::Css(".opblock-summary-path")).await.unwrap_or_default();
        let mut paths = Vec::new();
        for element in &found {
            paths.push(element.text().await.unwrap_or_default());
        }
        if paths.iter().any(|p| p.contains("/login")) && paths.iter().any(|p| p.contains("/profile")) {
            break paths;
        }
        assert!(std::time::Instant::now() < deadline, "Swagger UI rendered no routes: {paths:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(summaries.len() >= 8, "{summaries:?}");
    let login =
        browser.find(Locator::Css("#operations-sessions-login .opblock-summary")).await.expect("login");
    login.click().await.expect("open the login operation");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while browser.find(Locator::Css("#operations-sessions-login .try-out__btn")).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "the operation did not open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let violations = browser.execute("return window.__violations;", vec![]).await.expect("violations");
    assert_eq!(violations, serde_json::json!([]), "policy violations in Swagger UI");
    browser.close().await.expect("close");
    driver.stop();
}

#[tokio::test]
async fn devices_the_security_log_and_the_password_prompt() {
    let Some(mut driver) = Driver::start() else { return };
    let settings = Settings { privileged_window: Duration::from_secs(2), ..Settings::default() };
    let app = TestApp::start_with(settings).await;
    let base = app.url("");
    let (laptop, phone) = (driver.browser().await, driver.browser().await);
    log_in(&laptop, &base, "alice").await;
    log_in(&phone, &base, "alice").await;
    click(&laptop, "refresh-button").await;
    wait_for_rows(&laptop, 2).await;

    // Each row names its device as the server names this browser's User-Agent, with its address;
    // one is marked "this device".
    let agent = laptop.execute("return navigator.userAgent", vec![]).await.expect("user agent");
    let expected = session_storage::user_agent::device_name(agent.as_str().expect("text"));
    let devices = laptop.find_all(Locator::Css(&testid("session-device"))).await.expect("device cells");
    let mut shown = Vec::new();
    for cell in devices {
        shown.push(cell.text().await.expect("text"));
    }
    shown.sort();
    assert_eq!(shown, [expected.clone(), format!("{expected} (this device)")], "{agent}");
    assert_ne!(expected, "unknown device");
    let marks = laptop.find_all(Locator::Css(&testid("this-device"))).await.expect("marks");
    assert_eq!(marks.len(), 1);
    let page =
        laptop.find(Locator::Css(&testid("session-list"))).await.expect("table").text().await.expect("text");
    assert!(page.contains("127.0.0.1"), "{page}");

    // The security log shows both logins, newest first.
    let events = laptop.find_all(Locator::Css(&testid("security-event"))).await.expect("events");
    assert_eq!(events.len(), 2);
    for event in &events {
        assert_eq!(event.attr("data-type").await.expect("attr").as_deref(), Some("login"));
        let line = event.text().await.expect("text");
        assert!(line.contains("logged in") && line.contains(&expected), "{line}");
    }

    // Past the privileged window, "log out everywhere" asks for the password, then goes on.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    click(&laptop, "logout-everywhere-button").await;
    wait_shown(&laptop, "reauth-form", true).await;
    wait_for_text(&laptop, "message", |t| t == "Confirm your password to continue.").await;
    assert_eq!(app.session_keys().await.len(), 2, "nothing ended before the password");
    let password = laptop.find(Locator::Css(&testid("reauth-password"))).await.expect("password input");
    password.send_keys("secret").await.expect("type the password");
    click(&laptop, "reauth-button").await;
    wait_for_text(&laptop, "message", |t| t == "Logged out everywhere: 2 session(s) ended.").await;
    wait_shown(&laptop, "login-form", true).await;
    click(&phone, "refresh-button").await;
    wait_for_text(&phone, "message", |t| t.contains("401")).await;

    // Logged in again, the log tells the story.
    log_in(&laptop, &base, "alice").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let kinds = loop {
        let mut kinds = Vec::new();
        for event in laptop.find_all(Locator::Css(&testid("security-event"))).await.expect("events") {
            kinds.push(event.attr("data-type").await.expect("attr").unwrap_or_default());
        }
        if kinds.len() >= 5 || std::time::Instant::now() > deadline {
            break kinds;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(kinds, ["login", "logout_everywhere", "reauth", "login", "login"]);
    assert_eq!(app.session_keys().await.len(), 1);
    laptop.close().await.expect("close");
    phone.close().await.expect("close");
    driver.stop();
}

/// The note at the bottom of the page (lesson 11): saved by a visitor (a `visitor:` key and a
/// `visitor_id` cookie, both made only at the first save), still there after a reload, moved into
/// the session at login (the visitor's key gone), still there after another reload, and gone
/// with the logout.
#[tokio::test]
async fn the_note_survives_reloads_and_login_and_ends_with_logout() {
    let Some(mut driver) = Driver::start() else { return };
    let app = TestApp::start().await;
    let browser = driver.browser().await;
    let base = app.url("");
    let note_value = |browser: &fantoccini::Client| {
        let browser = browser.clone();
        async move {
            let value = browser.execute("return document.getElementById('note').value", vec![]).await;
            value.expect("script").as_str().unwrap_or_default().to_string()
        }
    };
    browser.goto(&format!("{base}/")).await.expect("open");
    wait_for_text(&browser, "note-saves", |text| text == "Never saved.").await;
    assert!(app.all_keys().await.is_empty(), "a visitor who only looks costs no key");
    assert!(browser.get_all_cookies().await.expect("cookies").is_empty(), "and no cookie");

    let note = browser.find(Locator::Css(&testid("note"))).await.expect("the note");
    note.send_keys("buy tea").await.expect("type");
    click(&browser, "note-save").await;
    wait_for_text(&browser, "note-saves", |text| text == "Saved 1 time(s).").await;
    let cookies = browser.get_all_cookies().await.expect("cookies");
    let visitor = cookies.iter().find(|c| c.name() == "visitor_id").expect("a visitor cookie");
    assert_eq!(visitor.http_only(), Some(true));
    let visitor_key = format!("visitor:{}", visitor.value());
    assert_eq!(app.all_keys().await, vec![visitor_key.clone()]);
    let ttl: i64 = app.cmd(&["TTL", &visitor_key]).await;
    assert!(ttl > 0, "the visitor's key has a TTL: {ttl}");

    browser.refresh().await.expect("reload");
    wait_for_text(&browser, "note-saves", |text| text == "Saved 1 time(s).").await;
    assert_eq!(note_value(&browser).await, "buy tea", "the note survives a reload");

    log_in(&browser, &base, "alice").await;
    wait_for_text(&browser, "note-saves", |text| text == "Saved 1 time(s).").await;
    assert_eq!(note_value(&browser).await, "buy tea", "the note moved into the session");
    let exists: u64 = app.cmd(&["EXISTS", &visitor_key]).await;
    assert_eq!(exists, 0, "the visitor is gone at login");
    let session = app.session_keys().await;
    assert_eq!(session.len(), 1);
    let stored: Option<String> = app.cmd(&["HGET", &session[0], "data:note"]).await;
    assert_eq!(stored.as_deref(), Some("\"buy tea\""));
    let names: Vec<String> =
        browser.get_all_cookies().await.expect("cookies").iter().map(|c| c.name().to_string()).collect();
    assert_eq!(names, ["session_id"], "the visitor cookie was cleared");

    let note = browser.find(Locator::Css(&testid("note"))).await.expect("the note");
    note.clear().await.expect("clear");
    note.send_keys("buy milk").await.expect("type");
    click(&browser, "note-save").await;
    wait_for_text(&browser, "note-saves", |text| text == "Saved 2 time(s).").await;
    browser.refresh().await.expect("reload");
    wait_for_text(&browser, "user-name", |text| text == "alice").await;
    wait_for_text(&browser, "note-saves", |text| text == "Saved 2 time(s).").await;
    assert_eq!(note_value(&browser).await, "buy milk");

    click(&browser, "logout-button").await;
    wait_shown(&browser, "logged-out", true).await;
    wait_for_text(&browser, "note-saves", |text| text == "Never saved.").await;
    assert_eq!(note_value(&browser).await, "", "the note ended with the session");
    assert!(app.session_keys().await.is_empty());
    browser.close().await.expect("close");
    driver.stop();
}
