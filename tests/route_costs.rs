//! What every route of the service costs in Redis, counted, not typed: each route and case is
//! requested over real HTTP against a private Redis and a private cluster, and the table of what
//! the store sent (its round trips, and each round trip's commands as the narrator saw them) and
//! what Redis ran inside scripts (`INFO commandstats`) is the snapshot
//! `tests/snapshots/route_costs__route_costs.snap`.
//!
//! The book states the per-route figures once, by including that table (chapter 05); every
//! other sentence that states a route's cost names its row, and `tests/book_facts.rs` checks the
//! sentence against the table.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use common::{Kind, TestRedis, browser, plain_client};
use serde_json::{Value, json};
use session_storage::http::app;
use session_storage::redis::Backend;
use session_storage::server::serve;
use session_storage::store::{Keys, Lifetimes, LoginLimits, SessionId, SessionStore, user_id_for};
use session_storage::workbook::{Narrator, parse_commandstats};
use session_storage::{AppState, PasswordCheck};

/// The bound on sessions per user in this table: small, so that a login past it shows.
const MAX_SESSIONS: usize = 3;

/// Every password is right but `wrong`: the table shows what a refused password costs.
struct AllButWrong;

impl PasswordCheck for AllButWrong {
    fn verify<'a>(
        &'a self,
        _: &'a str,
        password: &'a str,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(std::future::ready(password != "wrong"))
    }
}

/// One row of the table: a route in one case, on one backend.
#[derive(Clone, Debug)]
struct Row {
    route: &'static str,
    case: &'static str,
    status: u16,
    round_trips: usize,
    /// Each round trip's commands, as the store sent them.
    sent: Vec<Vec<String>>,
    /// What Redis ran inside scripts (single Redis only): name and count.
    inside: BTreeMap<String, u64>,
}

/// The service on a Redis of `kind`, its store narrated (quietly) so that every round trip is seen.
struct Service {
    _redis: TestRedis,
    base: String,
    out: Narrator,
    /// The default service (throttle on) and one with the throttle off and no privileged window.
    store: SessionStore,
    other_base: String,
    admin: Backend,
    /// One plain connection per node, for `INFO commandstats` (single Redis only).
    node: Option<redis::aio::MultiplexedConnection>,
    rows: Vec<Row>,
}

impl Service {
    async fn start(kind: Kind) -> Service {
        let redis = TestRedis::start(kind);
        let timeout = Duration::from_secs(2);
        let out = Narrator::capture();
        out.step("costs");
        let backend = redis.backend(timeout).await;
        let store = SessionStore::new(out.connection(backend), Lifetimes::DEFAULT, timeout)
            .await
            .expect("store")
            .with_keys(Keys::default())
            .with_max_sessions_per_user(MAX_SESSIONS);
        let mut state = AppState::new(store.clone());
        state.passwords = Arc::new(AllButWrong);
        let other = store.clone().with_login_limits(LoginLimits::OFF).with_privileged_window(Duration::ZERO);
        let base = serve_on(app(state)).await;
        let other_base = serve_on(app(AppState::new(other))).await;
        let admin = redis.backend(timeout).await;
        let node = match kind {
            Kind::Single => Some(
                redis::Client::open(redis.urls()[0].as_str())
                    .expect("URL")
                    .get_multiplexed_async_connection()
                    .await
                    .expect("a plain connection"),
            ),
            Kind::Cluster => None,
        };
        Service { _redis: redis, base, out, store, other_base, admin, node, rows: Vec::new() }
    }

    /// Sends `request` and records what it cost as the row `route`, `case`.
    async fn measure(
        &mut self,
        route: &'static str,
        case: &'static str,
        request: impl Future<Output = reqwest::Response>,
    ) -> reqwest::Response {
        if let Some(node) = &mut self.node {
            let () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(node).await.expect("RESETSTAT");
        }
        self.out.count_from_here();
        let before = self.store.round_trips();
        let response = request.await;
        let round_trips = (self.store.round_trips() - before) as usize;
        let sent = self.out.take_round_trips();
        assert_eq!(
            sent.len(),
            round_trips,
            "{route} {case}: the narrator saw every round trip the store counted"
        );
        let mut inside = BTreeMap::new();
        if let Some(node) = &mut self.node {
            let info: String = redis::cmd("INFO").arg("commandstats").query_async(node).await.expect("INFO");
            inside = parse_commandstats(&info);
            inside.retain(|name, _| !name.starts_with("config") && name != "info");
            for command in sent.iter().flatten() {
                if let Some(count) = inside.get_mut(&command.to_lowercase()) {
                    *count -= 1;
                }
            }
            inside.retain(|_, count| *count > 0);
        }
        let status = response.status().as_u16();
        self.rows.push(Row { route, case, status, round_trips, sent, inside });
        response
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser logged in as `user` (not measured).
    async fn logged_in(&self, user: &str) -> (reqwest::Client, String) {
        let client = browser();
        let body: Value = client
            .post(self.url("/login"))
            .json(&json!({"username": user, "password": "pw"}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("JSON");
        (client, body["session_id"].as_str().expect("session_id").to_string())
    }

    /// Moves the session's `created_at` so that `left` seconds of its absolute lifetime remain,
    /// by Redis's clock.
    async fn age(&self, id: &str, left: i64) {
        let mut admin = self.admin.clone();
        let (now, _): (i64, i64) = redis::cmd("TIME").query_async(&mut admin).await.expect("TIME");
        let created = now - Lifetimes::DEFAULT.absolute.as_secs() as i64 + left;
        let key = Keys::default().session(&SessionId::parse(id).expect("id"));
        let _: u64 = redis::cmd("HSET")
            .arg(&key)
            .arg("created_at")
            .arg(created)
            .query_async(&mut admin)
            .await
            .expect("HSET");
    }

    /// Adds to `user`'s index an entry whose session does not exist, written a minute ago by
    /// Redis's clock (older than any login in flight, so the routes treat it as stale), and
    /// returns its id.
    async fn stale_entry(&self, user: &str) -> SessionId {
        let mut admin = self.admin.clone();
        let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(&mut admin).await.expect("TIME");
        let now_ms = secs * 1000 + micros / 1000;
        let score = now_ms + Lifetimes::DEFAULT.absolute.as_millis() as u64 - 60_000;
        let id = SessionId::new();
        let index = Keys::default().user_sessions(&user_id_for(user));
        let _: u64 = redis::cmd("ZADD")
            .arg(&index)
            .arg(score)
            .arg(id.to_string())
            .query_async(&mut admin)
            .await
            .expect("ZADD");
        id
    }

    /// Every route, in every case the table shows.
    async fn every_route(&mut self) {
        let login = |client: &reqwest::Client, base: &str, user: &str, password: &str| {
            client.post(format!("{base}/login")).json(&json!({"username": user, "password": password})).send()
        };
        let fresh = browser();
        let base = self.base.clone();
        let other = self.other_base.clone();
        let sent = |response: Result<reqwest::Response, reqwest::Error>| response.expect("request");

        // Logging in.
        let response = self
            .measure("POST /login", "a new session", async {
                sent(login(&fresh, &base, "alice", "pw").await)
            })
            .await;
        assert_eq!(response.status(), 200);
        self.measure("POST /login", "from a browser that holds a session", async {
            sent(login(&fresh, &base, "alice", "pw").await)
        })
        .await;
        let (_, _) = self.logged_in("alice").await;
        let (_, _) = self.logged_in("alice").await;
        self.measure("POST /login", "past MAX_SESSIONS_PER_USER: the oldest sessions end", async {
            sent(login(&browser(), &base, "alice", "pw").await)
        })
        .await;
        self.measure("POST /login", "a wrong password (401)", async {
            sent(login(&browser(), &base, "carol", "wrong").await)
        })
        .await;
        for _ in 0..LoginLimits::DEFAULT.per_user_and_client {
            let _ = login(&browser(), &base, "mallory", "wrong").await;
        }
        self.measure("POST /login", "refused by the throttle (429)", async {
            sent(login(&browser(), &base, "mallory", "pw").await)
        })
        .await;
        self.measure(
            "POST /login",
            "with the throttle off (LOGIN_ATTEMPTS_PER_MINUTE=0 and LOGIN_ATTEMPTS_PER_MINUTE_PER_CLIENT=0)",
            async { sent(login(&browser(), &other, "dave", "pw").await) },
        )
        .await;
        self.measure("POST /login", "a username that is not valid (422)", async {
            sent(login(&browser(), &base, "", "pw").await)
        })
        .await;

        // Reading and renewing.
        let (bob, bob_id) = self.logged_in("bob").await;
        let url = self.url("/profile");
        self.measure("GET /profile", "a live session", async { sent(bob.get(&url).send().await) }).await;
        self.age(&bob_id, 600).await;
        self.measure("GET /profile", "in the session's last idle period", async {
            sent(bob.get(&url).send().await)
        })
        .await;
        self.age(&bob_id, 0).await;
        self.measure("GET /profile", "past the absolute lifetime (401)", async {
            sent(bob.get(&url).send().await)
        })
        .await;
        let dead = format!("session_id={}", SessionId::new());
        self.measure("GET /profile", "a cookie whose session ended (401)", async {
            sent(plain_client().get(&url).header("cookie", &dead).send().await)
        })
        .await;
        self.measure("GET /profile", "no cookie (401)", async {
            sent(plain_client().get(&url).send().await)
        })
        .await;

        // Every device.
        let (phone, _) = self.logged_in("erin").await;
        let (laptop, laptop_id) = self.logged_in("erin").await;
        let url = self.url("/sessions");
        self.measure("GET /sessions", "two sessions", async { sent(phone.get(&url).send().await) }).await;
        self.stale_entry("erin").await;
        self.measure("GET /sessions", "an index entry whose session is gone", async {
            sent(phone.get(&url).send().await)
        })
        .await;
        let gone = self.url(&format!("/sessions/{}", self.stale_entry("erin").await.handle()));
        self.measure("DELETE /sessions/{handle}", "a listed session that is already gone (404)", async {
            sent(phone.delete(&gone).send().await)
        })
        .await;
        let handle = SessionId::parse(&laptop_id).expect("id").handle();
        let revoke = self.url(&format!("/sessions/{handle}"));
        self.measure("DELETE /sessions/{handle}", "another of the user's sessions", async {
            sent(phone.delete(&revoke).send().await)
        })
        .await;
        self.measure("DELETE /sessions/{handle}", "a handle not among the user's sessions (404)", async {
            sent(phone.delete(&revoke).send().await)
        })
        .await;
        let malformed = self.url("/sessions/not-a-handle");
        self.measure("DELETE /sessions/{handle}", "a malformed handle (404)", async {
            sent(phone.delete(&malformed).send().await)
        })
        .await;
        let url = self.url("/security-events");
        self.measure("GET /security-events", "the user's log", async { sent(phone.get(&url).send().await) })
            .await;
        let url = self.url("/reauth");
        self.measure("POST /reauth", "the right password", async {
            sent(phone.post(&url).json(&json!({"password": "pw"})).send().await)
        })
        .await;
        let url = self.url("/logout-everywhere");
        self.measure("POST /logout-everywhere", "a privileged session", async {
            sent(phone.post(&url).send().await)
        })
        .await;
        drop(laptop);
        // Two sessions of one user on the service whose privileged window is zero: neither may
        // end the other.
        let late = browser();
        sent(login(&late, &other, "frank", "pw").await);
        let body: Value = sent(login(&browser(), &other, "frank", "pw").await).json().await.expect("JSON");
        let handle = SessionId::parse(body["session_id"].as_str().expect("id")).expect("id").handle();
        let (other_revoke, other_everywhere) =
            (format!("{other}/sessions/{handle}"), format!("{other}/logout-everywhere"));
        self.measure("DELETE /sessions/{handle}", "a session past its privileged window (403)", async {
            sent(late.delete(&other_revoke).send().await)
        })
        .await;
        self.measure("POST /logout-everywhere", "a session past its privileged window (403)", async {
            sent(late.post(&other_everywhere).send().await)
        })
        .await;

        // Logging out.
        let (grace, _) = self.logged_in("grace").await;
        let url = self.url("/logout");
        self.measure("POST /logout", "a live session", async { sent(grace.post(&url).send().await) }).await;
        self.measure("POST /logout", "a cookie whose session ended", async {
            sent(plain_client().post(&url).header("cookie", &dead).send().await)
        })
        .await;
        self.measure("POST /logout", "no cookie", async { sent(plain_client().post(&url).send().await) })
            .await;

        // Values of one's own (lesson 11): the page's note.
        let url = self.url("/note");
        let note =
            |client: &reqwest::Client, text: &str| client.put(&url).json(&json!({ "note": text })).send();
        self.measure("GET /note", "no cookie: nothing to read", async {
            sent(plain_client().get(&url).send().await)
        })
        .await;
        let visitor = browser();
        self.measure("PUT /note", "a visitor's first save: the throttle, then the write", async {
            sent(note(&visitor, "tea").await)
        })
        .await;
        self.measure("PUT /note", "a visitor's next save", async {
            sent(note(&visitor, "tea and milk").await)
        })
        .await;
        self.measure("GET /note", "a visitor", async { sent(visitor.get(&url).send().await) }).await;
        self.measure("POST /login", "carrying a visitor's values", async {
            sent(login(&visitor, &base, "heidi", "pw").await)
        })
        .await;
        self.measure("GET /note", "a live session: the values come with the renewal", async {
            sent(visitor.get(&url).send().await)
        })
        .await;
        self.measure("PUT /note", "a live session: the renewal, then the write", async {
            sent(note(&visitor, "milk").await)
        })
        .await;
        let too_long = "n".repeat(5000);
        self.measure("PUT /note", "over SESSION_DATA_MAX_VALUE_BYTES (413)", async {
            sent(note(&visitor, &too_long).await)
        })
        .await;

        let url = self.url("/health");
        self.measure("GET /health", "Redis's memory", async { sent(plain_client().get(&url).send().await) })
            .await;
    }
}

async fn serve_on(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(serve(listener, router, std::future::pending()));
    base
}

/// `EVALSHA | DEL EVAL MULTI HSET EXPIRE EXEC`: one `|` between round trips.
fn sent_text(sent: &[Vec<String>]) -> String {
    if sent.is_empty() {
        return "nothing".into();
    }
    sent.iter().map(|trip| trip.join(" ")).collect::<Vec<_>>().join(" \\| ")
}

fn inside_text(inside: &BTreeMap<String, u64>) -> String {
    if inside.is_empty() {
        return String::new();
    }
    inside
        .iter()
        .map(|(name, count)| match count {
            1 => name.to_uppercase(),
            n => format!("{} ×{n}", name.to_uppercase()),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_s_cost_on_one_redis_and_on_a_cluster() {
    let mut single = Service::start(Kind::Single).await;
    single.every_route().await;
    let mut cluster = Service::start(Kind::Cluster).await;
    cluster.every_route().await;
    assert_eq!(single.rows.len(), cluster.rows.len());
    let mut table = String::from(
        "| route | case | status | round trips | on a cluster | what the store sends, one `\\|` between round trips | what Redis runs inside scripts |\n\
         |---|---|---:|---:|---:|---|---|\n",
    );
    for (one, many) in single.rows.iter().zip(&cluster.rows) {
        assert_eq!(
            (one.route, one.case, one.status),
            (many.route, many.case, many.status),
            "the same scenario"
        );
        table.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            one.route,
            one.case,
            one.status,
            one.round_trips,
            many.round_trips,
            sent_text(&one.sent),
            inside_text(&one.inside),
        ));
    }
    insta::assert_snapshot!("route_costs", table);
}
