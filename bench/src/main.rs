//! # The benchmark
//!
//! Measures the service against a private redis-server with a real load generator (`wrk`, from
//! Debian's packages) and prints a table; also writes `bench/results.md` and
//! `book/src/images/bench-rps.svg` for the book's performance page.
//!
//! Run it: `scripts/bench.sh` (builds in release mode and checks for wrk and redis-server), or
//! `cargo run --release -p bench -- [seconds per run, default 5]`.
//!
//! Scenarios, each at 32 connections (`wrk -t2 -c32`), all served by this process:
//! - `ceiling`: a bare axum handler returning fixed JSON, no Redis: the HTTP ceiling here.
//! - `GET /profile`: the service's read-and-renew, one round trip (HMGET, EXPIRE, PEXPIRETIME),
//!   served by `Service` as the binary serves it: a serving thread per core (`SERVE_THREADS`).
//! - `SERVE_THREADS=1`: the same service on this process's multi-threaded runtime (the naive,
//!   `axum::serve` and key-hashing rows run this way too, and compare with it).
//! - `GET /profile (naive)`: lesson 03's naive renewal, HGETALL then EXPIRE: two round trips.
//! - `POST /login`: one pipeline (index script, the session's MULTI/EXEC, MULTI/EXEC with the
//!   check and the event), logins of 100,000 random users; the throttle off, as it would refuse a load
//!   generator (it adds one round trip when on).
//! - `POST /login, one user`: one user's logins, each past the per-user bound: one round trip
//!   more to end the oldest session.
//! - `login-profile-logout mix`: each session logs in, is read once, and logs out.
//! - `PUT /note`: a value of one's own read and written per request (lesson 11): the renewal
//!   reads every value, one script writes the note and increments its counter; beside
//!   tower-sessions doing the same (`session.get`, two `session.insert`, saved at the end).
//! - `reference`: axum and one round trip per request (`reference.rs`), the design's limit, and
//!   `floor`, the reference's login writing the service's data for a login (session, index
//!   entry, security-log event) in one transaction and nothing else; `tower-sessions`
//!   (`tower.rs`).
//!
//! Server CPU is this process's user+system time; Redis CPU is `INFO cpu`; round trips are the
//! calls the store (and the naive handler) made (`SessionStore::round_trips`); commands are `INFO commandstats` calls,
//! including those a script runs inside Redis.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use redis::aio::ConnectionManager;
use session_storage::cookies::{read_session_cookies, session_cookie};
use session_storage::http::app;
use session_storage::redis::{PrivateCluster, PrivateRedis, connect, info_field};
use session_storage::server::serve;
use session_storage::store::{
    Keys, Lifetimes, Limit, LoginLimits, Session, SessionId, SessionStore, Unavailable, throttle, user_id_for,
};
use session_storage::workbook::parse_commandstats;
use session_storage::{ApiError, AppState, Config, Service, app_with};

mod profile;
mod reference;
mod tower;

/// The same allocator as the service's binary (`src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONNECTIONS: u32 = 32;
/// Runs per scenario; the median is reported.
const ROUNDS: usize = 3;

/// What one scenario measured.
struct Row {
    name: &'static str,
    requests: f64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    server_cpu_us: f64,
    redis_cpu_us: f64,
    commands: f64,
    round_trips: f64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().nth(1).as_deref() == Some("profile") {
        let seconds: u64 = std::env::args().nth(2).map(|s| s.parse()).transpose()?.unwrap_or(5);
        return profile::run(seconds).await;
    }
    let seconds: u64 = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(5);
    if Command::new("wrk").arg("--version").output().is_err() {
        return Err("wrk is not installed: sudo apt-get install -y wrk".into());
    }
    let redis = PrivateRedis::start()?;
    let manager = connect(&redis.url(), Duration::from_millis(500)).await?;
    // The service as it runs (`session_storage::Service`, what `run` and the binary do): a
    // serving thread per core (`SERVE_THREADS`' default), each with its own Redis connection.
    let (service, state) = start_service(&redis.url()).await?;
    let store = state.store.clone();
    // The same service on this process's multi-threaded runtime (`SERVE_THREADS=1`, as
    // `serve_with` in an app of its own): the naive, `axum::serve` and key-hashing rows run this
    // way too, so each compares with it.
    let single_store = SessionStore::new(manager.clone(), Lifetimes::default(), TIMEOUT)
        .await?
        .with_login_limits(LoginLimits::OFF);
    let single_state = AppState::new(single_store.clone());
    let state_for_unlimited = single_state.clone();
    let single = spawn_server(app(single_state.clone())).await?;
    // The same service naming sessions in Redis by a SHA-256 of their id (SESSION_KEY_HASHING=on):
    // the cost of hashing the cookie on every request, measured beside the default.
    let hashed = spawn_server(app(AppState::new(single_store.clone().with_key_hashing(true)))).await?;
    let naive = Naive { con: manager.clone(), round_trips: Arc::new(AtomicU64::new(0)) };
    let naive_round_trips = naive.round_trips.clone();
    let naive_routes = Router::new()
        .route("/naive/profile", get(move |state, headers| naive_profile(naive.clone(), state, headers)));
    let naive = spawn_server(app_with(single_state.clone(), naive_routes)).await?;
    let ceiling = spawn_server(
        Router::new().route("/profile", get(fixed_profile)).route("/login", axum::routing::post(fixed_login)),
    )
    .await?;
    // The design's limit: axum and one pipelined round trip per request, nothing else
    // (`reference.rs`), served by plain `axum::serve` as an application would.
    let reference_round_trips = Arc::new(AtomicU64::new(0));
    let reference = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let router = reference::router(manager.clone(), reference_round_trips.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        base
    };
    // tower-sessions with its Redis store, as an application would serve it (`tower.rs`).
    let tower_sessions = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let router = tower::router(&redis.url(), session_storage::server::cores()).await?;
        tokio::spawn(async move { axum::serve(listener, router).await });
        base
    };
    // The same service through plain `axum::serve` (no timeouts, no connection cap): what the
    // hardened accept loop costs, measured against it in the same run.
    let unlimited = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app(state_for_unlimited)).await });
        base
    };

    let round_trips = || {
        store.round_trips()
            + naive_round_trips.load(Ordering::Relaxed)
            + reference_round_trips.load(Ordering::Relaxed)
            + single_store.round_trips()
    };

    let session_id = bench_session(&service).await?;
    let cookie = format!("Cookie: session_id={session_id}");
    let hashed_cookie = format!("Cookie: session_id={}", bench_session(&hashed).await?);
    let dir = tempfile::tempdir()?;
    let login_lua = dir.path().join("login.lua");
    std::fs::write(&login_lua, LOGIN_LUA)?;
    let mix_lua = dir.path().join("mix.lua");
    std::fs::write(&mix_lua, MIX_LUA)?;

    let scenarios: Vec<Scenario> = vec![
        ("ceiling: bare axum, fixed JSON", format!("{ceiling}/profile"), vec![]),
        ("GET /profile", format!("{service}/profile"), vec!["-H".into(), cookie.clone()]),
        (
            "GET /profile, naive (2 round trips)",
            format!("{naive}/naive/profile"),
            vec!["-H".into(), cookie.clone()],
        ),
        ("POST /login", format!("{service}/login"), vec!["-s".into(), login_lua.display().to_string()]),
        (
            "login-profile-logout mix",
            format!("{service}/login"),
            vec!["-s".into(), mix_lua.display().to_string()],
        ),
        (
            "GET /profile, axum::serve (no limits)",
            format!("{unlimited}/profile"),
            vec!["-H".into(), cookie.clone()],
        ),
        ("GET /profile, SERVE_THREADS=1", format!("{single}/profile"), vec!["-H".into(), cookie.clone()]),
        (
            "POST /login, SERVE_THREADS=1",
            format!("{single}/login"),
            vec!["-s".into(), login_lua.display().to_string()],
        ),
        (
            "GET /profile, SESSION_KEY_HASHING=on",
            format!("{hashed}/profile"),
            vec!["-H".into(), hashed_cookie],
        ),
        (
            "reference: axum + one round trip, GET /profile",
            format!("{reference}/profile"),
            vec!["-H".into(), cookie.clone()],
        ),
        (
            "reference: axum + one round trip, POST /login",
            format!("{reference}/login"),
            vec!["-s".into(), login_lua.display().to_string()],
        ),
        (
            "ceiling: bare axum, POST /login (JSON in, fixed JSON out)",
            format!("{ceiling}/login"),
            vec!["-s".into(), login_lua.display().to_string()],
        ),
    ];
    let login_one_lua = dir.path().join("login-one.lua");
    std::fs::write(&login_one_lua, LOGIN_ONE_LUA)?;
    let one_user = vec!["-s".into(), login_one_lua.display().to_string()];
    let mut scenarios = scenarios;
    scenarios.push(("POST /login, one user", format!("{service}/login"), one_user.clone()));
    scenarios.push((
        "reference: axum + one round trip, POST /login, one user",
        format!("{reference}/login"),
        one_user,
    ));
    let tower_cookie = format!("Cookie: {}", tower_session(&tower_sessions).await?);
    scenarios.push((
        "tower-sessions 0.14 + redis store, GET /profile",
        format!("{tower_sessions}/profile"),
        vec!["-H".into(), tower_cookie],
    ));
    scenarios.push((
        "tower-sessions 0.14 + redis store, POST /login",
        format!("{tower_sessions}/login"),
        vec!["-s".into(), login_lua.display().to_string()],
    ));
    // The floor under the login (`reference.rs`): the service's data for a login, in one
    // transaction, without any of its guarantees.
    scenarios.push((
        "floor: a login's data in one transaction (session, index, log), POST /login",
        format!("{reference}/login-floor"),
        vec!["-s".into(), login_lua.display().to_string()],
    ));
    // A value of one's own, read and written per request (lesson 11): the service's `PUT
    // /note` (rows[17]) beside tower-sessions doing the same (rows[18]).
    let note_lua = dir.path().join("note.lua");
    std::fs::write(&note_lua, NOTE_LUA)?;
    let note_cookie = format!("Cookie: {}", tower_session(&tower_sessions).await?);
    scenarios.push((
        "PUT /note: read and write a value per request",
        format!("{service}/note"),
        vec!["-H".into(), cookie.clone(), "-s".into(), note_lua.display().to_string()],
    ));
    scenarios.push((
        "tower-sessions 0.14 + redis store, PUT /note: read and write a value per request",
        format!("{tower_sessions}/note"),
        vec!["-H".into(), note_cookie, "-s".into(), note_lua.display().to_string()],
    ));
    let mut admin = manager.clone();
    // BENCH_ONLY=a,b: only the scenarios whose names contain one of these, a table on stdout and
    // nothing written (a quick look while working; the report needs every scenario).
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        let wanted: Vec<&str> = only.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let chosen: Vec<Scenario> =
            scenarios.into_iter().filter(|(name, _, _)| wanted.iter().any(|w| name.contains(w))).collect();
        let rows =
            measure(&chosen, seconds, async || Counters::read(&mut admin, round_trips()).await).await?;
        print!("{}", rows_table(&rows.iter().collect::<Vec<_>>()));
        return Ok(());
    }
    let rows = measure(&scenarios, seconds, async || Counters::read(&mut admin, round_trips()).await).await?;

    let scraped = metrics_check(&state, &service, &cookie, &login_lua, seconds).await?;
    let memory = memory_figures(&mut admin, &session_id).await?;
    let latency = latency_rows(&redis, seconds).await?;
    let scale = scale_rows(&mut admin, &service, seconds, dir.path()).await?;
    let indexed = indexed_memory(&store, &mut admin).await?;
    let cluster = cluster_rows(seconds, &login_lua).await?;
    let mut report = report(&rows, &memory, &indexed.distinct, seconds);
    report.push_str(&scraped.report());
    report.push_str(&extra_report(&rows, &latency, &scale));
    report.push_str(&indexed.report(&scale));
    report.push_str(&cluster_report(&rows, &cluster));
    std::fs::write("bench/capacity.md", capacity_report(&rows, &cluster, &indexed))?;
    println!("{report}");
    std::fs::create_dir_all("bench")?;
    std::fs::write("bench/results.md", &report)?;
    std::fs::create_dir_all("book/src/images")?;
    std::fs::write("book/src/images/bench-rps.svg", chart(&rows))?;
    std::fs::write("book/src/images/bench-latency.svg", latency_chart(&latency))?;
    eprintln!(
        "wrote bench/results.md, bench/capacity.md, book/src/images/bench-rps.svg and book/src/images/bench-latency.svg"
    );
    Ok(())
}

async fn spawn_server(router: Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(serve(listener, router, std::future::pending()));
    Ok(base)
}

async fn bench_session(base: &str) -> Result<String, Box<dyn std::error::Error>> {
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/login"))
        .json(&serde_json::json!({"username": "bench", "password": "pw"}))
        .send()
        .await?
        .json()
        .await?;
    Ok(body["session_id"].as_str().ok_or("login gave no session_id")?.to_string())
}

/// A tower-sessions login: the `session_id=...` pair of its `Set-Cookie`.
async fn tower_session(base: &str) -> Result<String, Box<dyn std::error::Error>> {
    let response = reqwest::Client::new()
        .post(format!("{base}/login"))
        .json(&serde_json::json!({"username": "bench", "password": "pw"}))
        .send()
        .await?;
    let cookie = response.headers().get(SET_COOKIE).ok_or("tower-sessions set no cookie")?.to_str()?;
    Ok(cookie.split(';').next().unwrap_or_default().to_string())
}

/// The ceiling: what axum serves here with no Redis at all.
async fn fixed_profile() -> impl IntoResponse {
    Json(serde_json::json!({"user_id": "user_1", "username": "alice"}))
}

/// The login ceiling: the body parsed as the service parses it, a fixed answer, no Redis.
async fn fixed_login(Json(body): Json<serde_json::Value>) -> impl IntoResponse {
    let username = body.get("username").cloned().unwrap_or_default();
    Json(serde_json::json!({"message": "Login successful", "username": username, "session_id": "-"}))
}

/// The deadline on one request's Redis work, as in the service's default configuration.
const TIMEOUT: Duration = Duration::from_millis(500);

/// The naive renewal's own connection (a clone of the shared one) and round-trip counter.
#[derive(Clone)]
struct Naive {
    con: ConnectionManager,
    round_trips: Arc<AtomicU64>,
}

// ANCHOR: naive
/// Lesson 03's naive renewal as a handler: HGETALL, then EXPIRE: two round trips. Everything
/// else is what `GET /profile` does (the cookie check, the same deadline, the renewed cookie, the
/// same JSON), and it is mounted under the same middleware, so the comparison isolates the Redis
/// part.
async fn naive_profile(
    naive: Naive,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let id = read_session_cookies(&headers, false).first().ok_or(ApiError::InvalidSession)?;
    let key = Keys::default().session(&id);
    let ttl = state.store.lifetimes().idle;
    let Naive { mut con, round_trips } = naive;
    round_trips.fetch_add(2, Ordering::Relaxed);
    let renewal = async {
        let fields: std::collections::HashMap<String, String> =
            redis::cmd("HGETALL").arg(&key).query_async(&mut con).await?;
        let _: bool = redis::cmd("EXPIRE").arg(&key).arg(ttl.as_secs()).query_async(&mut con).await?;
        Ok::<_, redis::RedisError>(fields)
    };
    let fields = match tokio::time::timeout(TIMEOUT, renewal).await {
        Ok(result) => result.map_err(Unavailable::Redis)?,
        Err(source) => Err(Unavailable::TimedOut { after: TIMEOUT, source })?,
    };
    let session = Session::from_fields(&fields).ok_or(ApiError::InvalidSession)?;
    let cookie = session_cookie(&id, ttl, state.cookie_secure);
    let body = Json(serde_json::json!({"user_id": session.user_id, "username": session.username}));
    Ok(([(SET_COOKIE, cookie)], body))
}
// ANCHOR_END: naive

/// Logins of 100,000 different users, picked at random: a few sessions per user, as in real
/// life, rather than one user hitting the per-user bound (`MAX_SESSIONS_PER_USER`) on every login.
/// Sent to the URL's own path (`nil`): `/login`, or the floor's `/login-floor`.
const LOGIN_LUA: &str = r#"
request = function()
  local body = '{"username":"u' .. math.random(1, 100000) .. '","password":"pw"}'
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
end
"#;

/// `PUT` of a note to the URL: a value of one's own written on every request. Set through
/// `wrk.headers`, so that the session's cookie given with `-H` is sent too (headers passed to
/// `wrk.format` would replace them).
const NOTE_LUA: &str = r#"
wrk.method = "PUT"
wrk.body = '{"note":"buy tea and milk"}'
wrk.headers["Content-Type"] = "application/json"
"#;

/// Logins of one user, over and over: every login past `MAX_SESSIONS_PER_USER` ends the
/// oldest session (the eviction path), as a flood of one account's logins does.
const LOGIN_ONE_LUA: &str = r#"
request = function()
  return wrk.format("POST", "/login", { ["Content-Type"] = "application/json" }, '{"username":"flood","password":"pw"}')
end
"#;

/// Each session: login, then one /profile once the login answered, then /logout once the
/// profile answered. Queues are per wrk thread; with nothing queued, a request is a login.
const MIX_LUA: &str = r#"
local fresh, profiled, n = {}, {}, 0
request = function()
  local body = '{"username":"u' .. math.random(1, 100000) .. '","password":"pw"}'
  n = n + 1
  if n % 3 == 0 and #profiled > 0 then
    return wrk.format("POST", "/logout", { Cookie = "session_id=" .. table.remove(profiled, 1) })
  elseif n % 3 == 1 and #fresh > 0 then
    return wrk.format("GET", "/profile", { Cookie = "session_id=" .. table.remove(fresh, 1) })
  end
  return wrk.format("POST", "/login", { ["Content-Type"] = "application/json" }, body)
end
response = function(status, headers, body)
  local cookie = headers["set-cookie"] or headers["Set-Cookie"] or ""
  local id = cookie:match("session_id=([%x%-]+);")
  if id == nil or #id ~= 36 then return end
  if body:find("Login successful", 1, true) then table.insert(fresh, id)
  elseif body:find("user_id", 1, true) then table.insert(profiled, id) end
end
"#;

/// What one wrk run measured.
struct Wrk {
    requests: f64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Runs wrk against `url` and reads its figures. A run with errors (non-2xx answers or socket
/// errors) measures nothing, so it is an error here.
fn wrk(url: &str, extra: &[String], seconds: u64) -> Result<Wrk, Box<dyn std::error::Error>> {
    let output = Command::new("wrk")
        .args(["-t2", &format!("-c{CONNECTIONS}"), &format!("-d{seconds}s"), "--latency"])
        .args(extra)
        .arg(url)
        .output()?;
    if !output.status.success() {
        return Err(format!("wrk failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let out = String::from_utf8(output.stdout)?;
    let find = |prefix: &str| out.lines().find_map(|l| l.trim().strip_prefix(prefix).map(str::trim));
    let non_2xx: u64 = find("Non-2xx or 3xx responses:").map(str::parse).transpose()?.unwrap_or(0);
    let socket_errors: u64 = find("Socket errors:")
        .map(|s| s.split(',').filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    if non_2xx + socket_errors > 0 {
        return Err(format!(
            "{url}: wrk saw {} errors (non-2xx or socket errors):\n{out}",
            non_2xx + socket_errors
        )
        .into());
    }
    let latency = |pct: &str| -> Result<f64, Box<dyn std::error::Error>> {
        let value = find(pct).ok_or("no latency distribution")?;
        let (number, unit) = value.split_at(value.find(|c: char| c.is_ascii_alphabetic()).ok_or("no unit")?);
        let number: f64 = number.parse()?;
        Ok(match unit {
            "us" => number / 1000.0,
            "ms" => number,
            "s" => number * 1000.0,
            "m" => number * 60_000.0,
            other => return Err(format!("unit {other}").into()),
        })
    };
    Ok(Wrk {
        requests: out
            .lines()
            .find_map(|l| l.trim().split_once(" requests in ").map(|(n, _)| n.trim().to_string()))
            .ok_or("no request count")?
            .parse()?,
        rps: find("Requests/sec:").ok_or("no Requests/sec")?.parse()?,
        p50_ms: latency("50%")?,
        p99_ms: latency("99%")?,
    })
}

/// The run with the median of `key` (each scenario runs ROUNDS times; one run is noisy).
fn median_by<T>(mut runs: Vec<T>, key: impl Fn(&T) -> f64) -> T {
    runs.sort_by(|a, b| key(a).total_cmp(&key(b)));
    runs.swap_remove(runs.len() / 2)
}

/// Counters read before and after a scenario.
struct Counters {
    server_cpu_s: f64,
    redis_cpu_s: f64,
    commands: BTreeMap<String, u64>,
    round_trips: u64,
}

impl Counters {
    async fn read(
        admin: &mut ConnectionManager,
        round_trips: u64,
    ) -> Result<Counters, Box<dyn std::error::Error>> {
        let cpu: String = redis::cmd("INFO").arg("cpu").query_async(admin).await?;
        let field = |name: &str| info_field(&cpu, name).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let redis_cpu_s = field("used_cpu_user") + field("used_cpu_sys");
        let stats: String = redis::cmd("INFO").arg("commandstats").query_async(admin).await?;
        let commands = parse_commandstats(&stats);
        Ok(Counters { server_cpu_s: process_cpu_seconds()?, redis_cpu_s, commands, round_trips })
    }

    /// The same, summed over every node of a cluster.
    async fn read_all(
        nodes: &mut [ConnectionManager],
        round_trips: u64,
    ) -> Result<Counters, Box<dyn std::error::Error>> {
        let mut total = Counters {
            server_cpu_s: process_cpu_seconds()?,
            redis_cpu_s: 0.0,
            commands: BTreeMap::new(),
            round_trips,
        };
        for node in nodes {
            let one = Counters::read(node, round_trips).await?;
            total.redis_cpu_s += one.redis_cpu_s;
            for (name, calls) in one.commands {
                *total.commands.entry(name).or_insert(0) += calls;
            }
        }
        Ok(total)
    }
}

/// `GET /profile` and `POST /login` against the same service on a private 3-master Redis
/// Cluster, each run `ROUNDS` times (interleaved), the median kept: what a cluster costs per
/// request, against the standalone rows of the same run.
async fn cluster_rows(
    seconds: u64,
    login_lua: &std::path::Path,
) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let cluster = tokio::task::spawn_blocking(|| PrivateCluster::start(3)).await??;
    let (service, state) = start_service(&cluster.urls().join(",")).await?;
    let store = state.store;
    let mut nodes = Vec::new();
    for url in cluster.urls() {
        nodes.push(connect(&url, Duration::from_millis(500)).await?);
    }
    let session_id = bench_session(&service).await?;
    let cookie = format!("Cookie: session_id={session_id}");
    let scenarios: Vec<Scenario> = vec![
        ("GET /profile, 3-master cluster", format!("{service}/profile"), vec!["-H".into(), cookie]),
        (
            "POST /login, 3-master cluster",
            format!("{service}/login"),
            vec!["-s".into(), login_lua.display().to_string()],
        ),
    ];
    measure(&scenarios, seconds, async || Counters::read_all(&mut nodes, store.round_trips()).await).await
}

/// A scenario: its name, the URL wrk loads, and wrk's extra arguments.
type Scenario = (&'static str, String, Vec<String>);

// ANCHOR: interleaved
/// Warms every scenario up, then runs each `ROUNDS` times, interleaved with the others (the
/// machine is shared by wrk, the server and Redis, so one run is noisy), with `counters` read
/// around every run; the run with the median requests per second is kept.
async fn measure(
    scenarios: &[Scenario],
    seconds: u64,
    mut counters: impl AsyncFnMut() -> Result<Counters, Box<dyn std::error::Error>>,
) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    for (name, url, extra) in scenarios {
        wrk(url, extra, 1)?;
        eprintln!("warmed up: {name}");
    }
    let mut runs: Vec<Vec<Row>> = scenarios.iter().map(|_| Vec::new()).collect();
    for round in 1..=ROUNDS {
        for ((name, url, extra), runs) in scenarios.iter().zip(runs.iter_mut()) {
            let before = counters().await?;
            let run = wrk(url, extra, seconds)?;
            let after = counters().await?;
            let row = row(name, &run, &before, &after);
            eprintln!(
                "round {round}/{ROUNDS} {name}: {:.0} req/s, p99 {:.2} ms, {:.4} round trips/req",
                row.rps, row.p99_ms, row.round_trips
            );
            runs.push(row);
        }
    }
    Ok(runs.into_iter().map(|runs| median_by(runs, |row| row.rps)).collect())
}
// ANCHOR_END: interleaved

/// The capacity model of lesson 07, from this run's measurements: memory and shards for 1 million
/// and 100 million sessions at a stated request rate.
fn capacity_report(rows: &[Row], cluster: &[Row], indexed: &IndexedMemory) -> String {
    // Stated workload: one login for every 20 requests; the rest are authenticated reads.
    const LOGIN_SHARE: f64 = 0.05;
    // Memory headroom over the data itself (fragmentation, growth, a replica's full sync).
    const MEMORY_HEADROOM: f64 = 1.5;
    // A shard's memory budget, and the share of its one command thread it may use.
    const SHARD_MEMORY_GB: f64 = 25.0;
    const SHARD_CPU_SHARE: f64 = 0.5;
    let (profile, login) = (&cluster[0], &cluster[1]);
    let cpu_us = (1.0 - LOGIN_SHARE) * profile.redis_cpu_us + LOGIN_SHARE * login.redis_cpu_us;
    let standalone_cpu_us = (1.0 - LOGIN_SHARE) * rows[1].redis_cpu_us + LOGIN_SHARE * rows[3].redis_cpu_us;
    let mut out = format!(
        "Measured in the run of `bench/results.md`: **{:.0} bytes** of Redis memory per session, index entry \
         included; Redis CPU per request on the cluster, summed over its nodes: **{:.1} µs** for `GET /profile`, \
         **{:.1} µs** for `POST /login` (one Redis: {:.1} and {:.1} µs). Stated workload: one login for every \
         {:.0} requests, so {:.1} µs of Redis CPU per request on a cluster ({:.1} µs on one Redis). Assumed: \
         {MEMORY_HEADROOM}x memory headroom over the data (fragmentation, growth, a replica's full sync), and a \
         shard budget of {SHARD_MEMORY_GB} GB of memory and {:.0}% of its single command thread.\n\n\
         | sessions | requests/s | data | memory with headroom | Redis CPU (cores) | shards for memory | shards for CPU | shards | nodes with one replica each |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        indexed.bytes_per_session,
        profile.redis_cpu_us,
        login.redis_cpu_us,
        rows[1].redis_cpu_us,
        rows[3].redis_cpu_us,
        1.0 / LOGIN_SHARE,
        cpu_us,
        standalone_cpu_us,
        SHARD_CPU_SHARE * 100.0,
    );
    let mut verdicts = Vec::new();
    for (sessions, rate) in [(1_000_000f64, 20_000f64), (100_000_000f64, 1_000_000f64)] {
        let data_gb = sessions * indexed.bytes_per_session / 1e9;
        let memory_gb = data_gb * MEMORY_HEADROOM;
        let cores = rate * cpu_us / 1e6;
        let for_memory = (memory_gb / SHARD_MEMORY_GB).ceil().max(1.0);
        let for_cpu = (cores / SHARD_CPU_SHARE).ceil().max(1.0);
        // One shard needs no cluster; a cluster needs three masters to fail over by majority.
        let shards = match for_memory.max(for_cpu) {
            one if one <= 1.0 => 1.0,
            more => more.max(3.0),
        };
        let _ = writeln!(
            out,
            "| {:.0} million | {:.0} | {data_gb:.1} GB | {memory_gb:.1} GB | {cores:.2} | {for_memory:.0} | {for_cpu:.0} | {shards:.0} | {:.0} |",
            sessions / 1e6,
            rate,
            shards * 2.0,
        );
        verdicts.push(if shards <= 1.0 {
            format!(
                "{:.0} million sessions at {rate:.0} requests/s fit one Redis (with one replica for failover): \
                 {memory_gb:.1} GB and {cores:.2} of a core.",
                sessions / 1e6
            )
        } else {
            format!(
                "{:.0} million sessions at {rate:.0} requests/s need {shards:.0} shards: {for_memory:.0} for memory, \
                 {for_cpu:.0} for the request rate, {} decides.",
                sessions / 1e6,
                if for_cpu >= for_memory { "so CPU" } else { "so memory" }
            )
        });
    }
    let _ = writeln!(
        out,
        "\n{} A cluster needs at least three masters to fail over by majority. Measure your own request mix \
         before you trust a row: the figures are per request, and another mix of logins and reads moves them.",
        verdicts.join(" ")
    );
    let _ = writeln!(
        out,
        "\nOne login of a distinct user, all-in (2,000 users, each from its own client address, `used_memory` \
         before and after): **{:.0} bytes** with the login throttle off and **{:.0} bytes** with it on (plus the \
         client's two throttle keys, which expire within 60 s). By key (`MEMORY USAGE`): the session {} bytes, \
         the user's index of one entry {}, the user's security log of one event {} (a stream: Redis 7.0 \
         allocates a new stream's first node at `stream-node-max-bytes`, 4096 by default). With \
         `stream-node-max-bytes 256` on the Redis server the same login is **{:.0} bytes** all-in. \
         There is no user registry: nothing per user outlives the user's sessions.",
        indexed.distinct.off,
        indexed.distinct.on,
        indexed.distinct.session,
        indexed.distinct.index,
        indexed.distinct.log,
        indexed.distinct.small_nodes,
    );
    out
}

/// A table of `rows`: rate, latency, CPU, commands and round trips per request.
fn rows_table(rows: &[&Row]) -> String {
    let mut out = String::from(
        "| scenario | req/s | p50 ms | p99 ms | server CPU µs/req | Redis CPU µs/req | Redis commands/req | round trips/req |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.2} | {:.2} | {:.1} | {:.1} | {:.2} | {:.2} |",
            row.name,
            row.rps,
            row.p50_ms,
            row.p99_ms,
            row.server_cpu_us,
            row.redis_cpu_us,
            row.commands,
            row.round_trips
        );
    }
    out
}

/// The standalone-against-cluster table.
fn cluster_report(rows: &[Row], cluster: &[Row]) -> String {
    let mut out = String::from(
        "\n## Standalone and cluster\n\nThe same service against one Redis and against a private 3-master Redis Cluster \
         (all nodes on this machine), in the same run. Redis CPU is summed over the cluster's nodes.\n\n",
    );
    out.push_str(&rows_table(&[&rows[1], &cluster[0], &rows[3], &cluster[1]]));
    out
}

/// This process's user + system CPU time, from /proc/self/stat (fields 14 and 15, in ticks).
fn process_cpu_seconds() -> Result<f64, Box<dyn std::error::Error>> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let after_name = stat.rsplit_once(')').ok_or("bad /proc/self/stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    let per_second: f64 =
        String::from_utf8(Command::new("getconf").arg("CLK_TCK").output()?.stdout)?.trim().parse()?;
    Ok(ticks / per_second)
}

fn row(name: &'static str, run: &Wrk, before: &Counters, after: &Counters) -> Row {
    let requests = run.requests;
    let total_commands: u64 = after
        .commands
        .iter()
        .filter(|(name, _)| !name.starts_with("info"))
        .map(|(name, calls)| calls - before.commands.get(name).copied().unwrap_or(0))
        .sum();
    Row {
        name,
        requests,
        rps: run.rps,
        p50_ms: run.p50_ms,
        p99_ms: run.p99_ms,
        server_cpu_us: (after.server_cpu_s - before.server_cpu_s) * 1e6 / requests,
        redis_cpu_us: (after.redis_cpu_s - before.redis_cpu_s) * 1e6 / requests,
        commands: total_commands as f64 / requests,
        round_trips: (after.round_trips - before.round_trips) as f64 / requests,
    }
}

/// Memory per session and per registered user, from MEMORY USAGE.
struct Memory {
    session_bytes: u64,
    encoding: String,
    /// The same session as one JSON string under a key of the same length (lesson 01's other way).
    json_bytes: u64,
    /// One client's two throttle keys after one login (they expire within a minute).
    throttle_bytes: u64,
}

async fn memory_figures(
    admin: &mut ConnectionManager,
    session_id: &str,
) -> Result<Memory, Box<dyn std::error::Error>> {
    let key = format!("session:{session_id}");
    let session_bytes: u64 = redis::cmd("MEMORY").arg("USAGE").arg(&key).query_async(admin).await?;
    let encoding: String = redis::cmd("OBJECT").arg("ENCODING").arg(&key).query_async(admin).await?;
    // The same fields as a JSON string, under a key of the same length, as lesson 01 compares.
    let fields: HashMap<String, String> = redis::cmd("HGETALL").arg(&key).query_async(admin).await?;
    let session = Session::from_fields(&fields).ok_or("the bench session is not a whole session")?;
    let json_key = format!("sessjson:{session_id}");
    let () =
        redis::cmd("SET").arg(&json_key).arg(serde_json::to_string(&session)?).query_async(admin).await?;
    let json_bytes: u64 = redis::cmd("MEMORY").arg("USAGE").arg(&json_key).query_async(admin).await?;
    let () = redis::cmd("DEL").arg(&json_key).query_async(admin).await?;
    let keys = Keys::prefixed("benchmem:");
    let client = "198.51.100.7";
    let limits = [
        Limit { key: keys.login_client(client), limit: 100 },
        Limit { key: keys.login_user(client, &user_id_for("user-00001")), limit: 10 },
    ];
    throttle(admin, &limits, LoginLimits::PERIOD).await?;
    let mut throttle_bytes = 0;
    for limit in &limits {
        let bytes: u64 = redis::cmd("MEMORY").arg("USAGE").arg(&limit.key).query_async(admin).await?;
        throttle_bytes += bytes;
        let _: () = redis::cmd("DEL").arg(&limit.key).query_async(admin).await?;
    }
    Ok(Memory { session_bytes, encoding, json_bytes, throttle_bytes })
}

fn report(rows: &[Row], memory: &Memory, distinct: &DistinctLogins, seconds: u64) -> String {
    let ceiling = &rows[0];
    let mut out = String::new();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let _ = writeln!(
        out,
        "Measured by `scripts/bench.sh` (median of {ROUNDS} interleaved runs of {seconds} s per scenario, `wrk -t2 -c{CONNECTIONS}`, {cores} cores shared by wrk, the server and Redis).\n\n{}\n",
        machine()
    );
    let _ = writeln!(
        out,
        "| scenario | requests | req/s | vs ceiling | p50 ms | p99 ms | server CPU µs/req | vs ceiling | Redis CPU µs/req | Redis commands/req | round trips/req |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.0}% | {:.2} | {:.2} | {:.1} | {:.2}x | {:.1} | {:.2} | {:.2} |",
            row.name,
            row.requests,
            row.rps,
            100.0 * row.rps / ceiling.rps,
            row.p50_ms,
            row.p99_ms,
            row.server_cpu_us,
            row.server_cpu_us / ceiling.server_cpu_us,
            row.redis_cpu_us,
            row.commands,
            row.round_trips,
        );
    }
    let profile = &rows[1];
    let naive = &rows[2];
    // The naive, `axum::serve` and key-hashing rows run on one multi-threaded runtime, as the
    // service does with `SERVE_THREADS=1`: each is compared with that row.
    let single = &rows[6];
    let _ = writeln!(
        out,
        "\nOne round trip against two (both `SERVE_THREADS=1`): `GET /profile` serves {:.2}x the naive renewal's requests \
         per second, at {:.2}x its p99 latency and {:.2}x its Redis CPU per request.\n",
        single.rps / naive.rps,
        single.p99_ms / naive.p99_ms,
        single.redis_cpu_us / naive.redis_cpu_us,
    );
    let _ = writeln!(
        out,
        "Memory: one session is {} bytes (MEMORY USAGE of `session:<uuid>`, `{}` encoding); the same session as a JSON string \
         under a key of the same length is {} bytes. There is no user registry (a user's id is derived from the name): \
         nothing per user outlives the user's sessions. With throttling on, one client's two throttle keys after a login are \
         {} bytes, gone within 60 s.",
        memory.session_bytes, memory.encoding, memory.json_bytes, memory.throttle_bytes,
    );
    let mix = &rows[4];
    let login = &rows[3];
    let unlimited = &rows[5];
    let _ = writeln!(
        out,
        "Connection limits (header, idle, body and request timeouts, the connection cap): `GET /profile` through \
         `serve_with` serves {:.0} req/s against {:.0} through plain `axum::serve` on the same runtime, in the same run \
         ({:+.1}%), p99 {:.2} ms against {:.2} ms.\n",
        single.rps,
        unlimited.rps,
        100.0 * (single.rps / unlimited.rps - 1.0),
        single.p99_ms,
        unlimited.p99_ms,
    );
    let hashing = &rows[8];
    let _ = writeln!(
        out,
        "Key hashing (`SESSION_KEY_HASHING=on`: the cookie's id hashed with SHA-256 on every request, so nothing in Redis is a \
         cookie; `SERVE_THREADS=1`): `GET /profile` serves {:.0} req/s against {:.0} without it in the same run ({:+.1}%), \
         server CPU {:.1} against {:.1} µs per request ({:+.1} µs), p99 {:.2} against {:.2} ms.\n",
        hashing.rps,
        single.rps,
        100.0 * (hashing.rps / single.rps - 1.0),
        hashing.server_cpu_us,
        single.server_cpu_us,
        hashing.server_cpu_us - single.server_cpu_us,
        hashing.p99_ms,
        single.p99_ms,
    );
    let (reference_profile, reference_login, login_ceiling) = (&rows[9], &rows[10], &rows[11]);
    let (tower_profile, tower_login) = (&rows[14], &rows[15]);
    let _ = writeln!(
        out,
        "Against the design's limit: the reference is axum and one redis-rs `ConnectionManager` doing one pipelined round \
         trip per request (`HGETALL`+`EXPIRE` for /profile, `MULTI HSET EXPIRE EXEC` for login) and nothing else \
         (`bench/src/reference.rs`); the ceilings answer fixed JSON with no Redis. Same run, same wrk settings.\n"
    );
    let _ = writeln!(
        out,
        "| | /profile req/s | p99 ms | server CPU µs/req | Redis CPU µs/req | login req/s | p99 ms | server CPU µs/login | Redis CPU µs/login |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, get, post) in [
        ("bare axum, no Redis (the HTTP ceiling)", ceiling, login_ceiling),
        ("axum + one Redis round trip (the design's limit)", reference_profile, reference_login),
        (
            "tower-sessions 0.14 + redis store (round trips not counted: a GET, then a SET)",
            tower_profile,
            tower_login,
        ),
        ("this service", profile, login),
    ] {
        let _ = writeln!(
            out,
            "| {name} | {:.0} | {:.2} | {:.1} | {:.1} | {:.0} | {:.2} | {:.1} | {:.1} |",
            get.rps,
            get.p99_ms,
            get.server_cpu_us,
            get.redis_cpu_us,
            post.rps,
            post.p99_ms,
            post.server_cpu_us,
            post.redis_cpu_us
        );
    }
    let (note, tower_note) = (&rows[17], &rows[18]);
    let _ = writeln!(
        out,
        "\nA value of one's own, read and written on every request (lesson 11, `PUT /note`: the note and a counter of \
         its saves): the service {:.0} req/s, p99 {:.2} ms, server CPU {:.1} µs, Redis CPU {:.1} µs, {:.2} round trips and \
         {:.2} Redis commands per request (the renewal with every value, then one script that writes the note and \
         increments the counter with `HINCRBY`); tower-sessions {:.0} req/s, p99 {:.2} ms, server CPU {:.1} µs, Redis \
         CPU {:.1} µs, {:.2} Redis commands per request, each its own round trip (a `GET` of the whole record, then a \
         `SET` of the whole record: two concurrent requests lose one another's change, which the service's fields and \
         `HINCRBY` cannot). Ratio of requests per second: {:.2}.\n",
        note.rps,
        note.p99_ms,
        note.server_cpu_us,
        note.redis_cpu_us,
        note.round_trips,
        note.commands,
        tower_note.rps,
        tower_note.p99_ms,
        tower_note.server_cpu_us,
        tower_note.redis_cpu_us,
        tower_note.commands,
        note.rps / tower_note.rps,
    );
    let (one_user, reference_one_user) = (&rows[12], &rows[13]);
    let _ = writeln!(
        out,
        "\nLogins of one user (every login past `MAX_SESSIONS_PER_USER` ends the oldest session, a round trip more): \
         the service {:.0} req/s, p99 {:.2} ms, server CPU {:.1} µs, Redis CPU {:.1} µs, {:.2} round trips and {:.2} \
         Redis commands per login; the reference (the same request, one `MULTI HSET EXPIRE EXEC`) {:.0} req/s, p99 {:.2} ms, \
         Redis CPU {:.1} µs. Ratio {:.2}.",
        one_user.rps,
        one_user.p99_ms,
        one_user.server_cpu_us,
        one_user.redis_cpu_us,
        one_user.round_trips,
        one_user.commands,
        reference_one_user.rps,
        reference_one_user.p99_ms,
        reference_one_user.redis_cpu_us,
        one_user.rps / reference_one_user.rps,
    );
    let floor = &rows[16];
    let floor_vs_reference = floor.rps / reference_login.rps;
    let verdict = |ok: bool| if ok { "meets it" } else { "**misses it**" };
    let _ = writeln!(
        out,
        "\nThe floor under the login (`POST /login-floor` in `reference.rs`): the same distinct-user logins, answered \
         like the reference's, writing the data the service writes for a login (the session with its device and \
         address, its entry in the user's index, a `login` event in the user's capped security log, each with its TTL) in \
         one `MULTI` ... `EXEC`, with no Lua, no pruning, no per-user bound and no check: {:.0} req/s, p99 {:.2} ms, \
         server CPU {:.1} µs, Redis CPU {:.1} µs and {:.2} Redis commands per login, {:.0} bytes per login all-in. \
         Against issue 25's login targets the floor itself: {floor_vs_reference:.2} of the reference (target 0.60, \
         {}); {:.0} against tower-sessions' {:.0} req/s ({}); {:.0} bytes against 300 ({}). A target the floor misses \
         cannot be met by any login that stores this data; what lies between the floor and the service is the \
         service's own work (the bound, the pruning, the check, the device parsing, the HTTP layers).",
        floor.rps,
        floor.p99_ms,
        floor.server_cpu_us,
        floor.redis_cpu_us,
        floor.commands,
        distinct.floor,
        verdict(floor_vs_reference >= 0.60),
        floor.rps,
        tower_login.rps,
        verdict(floor.rps >= tower_login.rps),
        distinct.floor,
        verdict(distinct.floor <= 300.0),
    );
    let profile_vs_reference = profile.rps / reference_profile.rps;
    let login_vs_reference = login.rps / reference_login.rps;
    let one_user_vs_reference = one_user.rps / reference_one_user.rps;
    let _ = writeln!(
        out,
        "\nRatios: /profile at {profile_vs_reference:.2} of the reference and {:.2} of the ceiling; login at \
         {login_vs_reference:.2} of the reference and {:.2} of its ceiling; Redis CPU per /profile {:.2}x the reference's, \
         per login {:.2}x.\n",
        profile.rps / ceiling.rps,
        login.rps / login_ceiling.rps,
        profile.redis_cpu_us / reference_profile.redis_cpu_us,
        login.redis_cpu_us / reference_login.redis_cpu_us,
    );
    let share = 100.0 * profile.rps / ceiling.rps;
    let cpu_ratio = profile.server_cpu_us / ceiling.server_cpu_us;
    // In the mix every session makes one login, one profile and one logout, so the logout's
    // round trips are what is left of three requests' worth after login's and profile's.
    let logout_round_trips = 3.0 * mix.round_trips - login.round_trips - profile.round_trips;
    // Round trips are counted when sent and requests when answered, so up to one in-flight
    // request per connection is left over at the end of a run: compare at the precision shown.
    let at_most = |value: f64, limit: f64| (value * 100.0).round() <= limit * 100.0;
    let targets = [
        ("`GET /profile` at least 45% of the ceiling's req/s", format!("{share:.0}%"), share >= 45.0),
        ("`GET /profile` p99 under 3 ms", format!("{:.2} ms", profile.p99_ms), profile.p99_ms < 3.0),
        (
            "`GET /profile` at least 0.90 of the one-round-trip reference's req/s",
            format!("{profile_vs_reference:.2}"),
            profile_vs_reference >= 0.90,
        ),
        (
            "`GET /profile` p99 no worse than the reference's",
            format!("{:.2} against {:.2} ms", profile.p99_ms, reference_profile.p99_ms),
            profile.p99_ms <= reference_profile.p99_ms,
        ),
        (
            "`POST /login` of distinct users at least 0.60 of the reference's req/s",
            format!("{login_vs_reference:.2}"),
            login_vs_reference >= 0.60,
        ),
        (
            "`POST /login` of one user at least 0.60 of the reference's req/s",
            format!("{one_user_vs_reference:.2}"),
            one_user_vs_reference >= 0.60,
        ),
        (
            "`POST /login` of distinct users at least tower-sessions' req/s",
            format!("{:.0} against {:.0}", login.rps, tower_login.rps),
            login.rps >= tower_login.rps,
        ),
        (
            "server CPU per authenticated request at most 2.5x the ceiling's",
            format!("{cpu_ratio:.2}x"),
            cpu_ratio <= 2.5,
        ),
        (
            "one round trip per authenticated request",
            format!("{:.2}", profile.round_trips),
            at_most(profile.round_trips, 1.0),
        ),
        (
            "two round trips per logout (from the mix): the session, then its index entry",
            format!("{logout_round_trips:.2}"),
            at_most(logout_round_trips, 2.0),
        ),
        (
            "one round trip per login with the throttle off (index, session and check in one pipeline)",
            format!("{:.2}", login.round_trips),
            at_most(login.round_trips, 1.05),
        ),
        (
            "two round trips per login of one user past the bound: the login, then ending the oldest session",
            format!("{:.2}", one_user.round_trips),
            at_most(one_user.round_trips, 2.0),
        ),
        (
            "at most 152 bytes of Redis memory per session",
            memory.session_bytes.to_string(),
            memory.session_bytes <= 152,
        ),
        (
            "at most 300 bytes of Redis memory per login of a distinct user, all-in (`used_memory`, throttle off)",
            format!(
                "{:.0} (session {}, index {}, security log {})",
                distinct.off, distinct.session, distinct.index, distinct.log
            ),
            distinct.off <= 300.0,
        ),
    ];
    let _ = writeln!(out, "\nTargets, in this run:\n\n| target | measured | |\n|---|---|---|");
    for (target, measured, ok) in targets {
        let _ = writeln!(out, "| {target} | {measured} | {} |", if ok { "met" } else { "**not met**" });
    }
    let _ =
        writeln!(out, "\n![Requests per second, relative to the bare axum ceiling](images/bench-rps.svg)");
    out
}

fn redis_version() -> String {
    Command::new("redis-server")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().find_map(|w| w.strip_prefix("v=").map(str::to_string)))
        .unwrap_or_else(|| "unknown".into())
}

/// Text for an SVG label.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;")
}

/// A horizontal bar chart of requests per second, as SVG.
fn chart(rows: &[Row]) -> String {
    let max = rows.iter().map(|r| r.rps).fold(1.0, f64::max);
    let (left, width, bar, gap) = (280.0, 380.0, 26.0, 14.0);
    let height = 40.0 + rows.len() as f64 * (bar + gap);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 720 {height}\" width=\"720\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"13\">\n\
         <text x=\"10\" y=\"20\" font-weight=\"bold\">Requests per second (wrk -t2 -c{CONNECTIONS})</text>\n"
    );
    for (i, row) in rows.iter().enumerate() {
        let y = 34.0 + i as f64 * (bar + gap);
        let w = width * row.rps / max;
        let color = if i == 0 {
            "#9aa5b1"
        } else if row.name.contains("naive") {
            "#e07a5f"
        } else {
            "#3d7ea6"
        };
        let _ = writeln!(
            svg,
            "<text x=\"{x}\" y=\"{ty}\" text-anchor=\"end\">{name}</text>\n<rect x=\"{left}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar}\" fill=\"{color}\"/>\n<text x=\"{lx:.1}\" y=\"{ty}\">{rps:.0}</text>",
            x = left - 8.0,
            ty = y + bar * 0.68,
            name = escape(row.name),
            lx = left + w + 6.0,
            rps = row.rps,
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The machine and the versions behind the figures.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")?.split_once(':').map(|(_, m)| m.trim().to_string())
            })
        })
        .unwrap_or_else(|| "unknown".into());
    let run = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .map(|o| {
                let text = if o.stdout.is_empty() { o.stderr } else { o.stdout };
                String::from_utf8_lossy(&text).lines().next().unwrap_or_default().trim().to_string()
            })
            .unwrap_or_else(|| "unknown".into())
    };
    format!(
        "Machine: {cpu}, {} cores, Linux {}; {}; Redis {}; {}.",
        session_storage::server::cores(),
        run("uname", &["-r"]),
        run("rustc", &["--version"]),
        redis_version(),
        run("wrk", &["--version"]).split(" [").next().unwrap_or_default(),
    )
}

/// Starts the service as `session_storage::run` does (`Service::start`, then `serve`), on the
/// Redis at `url` with the throttle off, on a free port and with no `/metrics` listener.
/// Returns its base URL and its state (the store's round-trip counter).
async fn start_service(url: &str) -> Result<(String, AppState), Box<dyn std::error::Error>> {
    let config = Config {
        redis_url: Some(session_storage::redis::RedisUrl::parse(url)?),
        port: 0,
        login_limits: LoginLimits::OFF,
        metrics_addr: None,
        redis_timeout: TIMEOUT,
        ..Config::default()
    };
    let service = Service::start(config, Router::new()).await?;
    let base = format!("http://{}", service.local_addr());
    let state = service.state().clone();
    tokio::spawn(service.serve(std::future::pending()));
    Ok((base, state))
}

/// One scenario's latency through the delaying proxy.
struct LatencyRow {
    name: &'static str,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// A TCP proxy in front of Redis that delays every byte by `delay` in each direction, like a
/// network between the service and Redis (test-only code: the benchmark's own). Each direction
/// has a reader thread that stamps what it reads and a writer thread that sends it on at
/// stamp + delay, so pipelined traffic is delayed, not serialised. Threads and `std::thread::sleep`
/// rather than Tokio: Tokio's timer counts whole milliseconds.
fn start_delay_proxy(upstream: u16, delay: Duration) -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else { continue };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            for (from, to) in
                [(client.try_clone(), server.try_clone()), (server.try_clone(), client.try_clone())]
            {
                let (Ok(mut from), Ok(mut to)) = (from, to) else { continue };
                let (tx, rx) = std::sync::mpsc::channel::<(std::time::Instant, Vec<u8>)>();
                std::thread::spawn(move || {
                    use std::io::Read;
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(n) = from.read(&mut buffer) {
                        if n == 0 || tx.send((std::time::Instant::now(), buffer[..n].to_vec())).is_err() {
                            break;
                        }
                    }
                });
                std::thread::spawn(move || {
                    use std::io::Write;
                    while let Ok((read_at, bytes)) = rx.recv() {
                        let due = read_at + delay;
                        let now = std::time::Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        if to.write_all(&bytes).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    Ok(port)
}

/// `/profile` (one round trip), lesson 03's naive renewal (two) and login (two) with 0.5 ms of
/// network delay each way between the service and Redis.
async fn latency_rows(
    redis: &PrivateRedis,
    seconds: u64,
) -> Result<Vec<LatencyRow>, Box<dyn std::error::Error>> {
    let port = start_delay_proxy(redis.port(), Duration::from_micros(500))?;
    let manager = connect(&format!("redis://127.0.0.1:{port}"), Duration::from_secs(2)).await?;
    let store = SessionStore::new(manager.clone(), Lifetimes::default(), TIMEOUT)
        .await?
        .with_login_limits(LoginLimits::OFF);
    let state = AppState::new(store);
    let service = spawn_server(app(state.clone())).await?;
    let naive = Naive { con: manager, round_trips: Arc::new(AtomicU64::new(0)) };
    let naive_routes = Router::new()
        .route("/naive/profile", get(move |state, headers| naive_profile(naive.clone(), state, headers)));
    let naive_base = spawn_server(app_with(state, naive_routes)).await?;
    let session_id = bench_session(&service).await?;
    let cookie = format!("Cookie: session_id={session_id}");
    let dir = tempfile::tempdir()?;
    let login_lua = dir.path().join("login.lua");
    std::fs::write(&login_lua, LOGIN_LUA)?;
    let scenarios: [(&'static str, String, Vec<String>); 3] = [
        ("GET /profile (1 round trip)", format!("{service}/profile"), vec!["-H".into(), cookie.clone()]),
        (
            "GET /profile, naive (2 round trips)",
            format!("{naive_base}/naive/profile"),
            vec!["-H".into(), cookie],
        ),
        (
            "POST /login (1 round trip, the throttle off)",
            format!("{service}/login"),
            vec!["-s".into(), login_lua.display().to_string()],
        ),
    ];
    let mut runs: Vec<Vec<LatencyRow>> = scenarios.iter().map(|_| Vec::new()).collect();
    for round in 1..=ROUNDS {
        for ((name, url, extra), runs) in scenarios.iter().zip(runs.iter_mut()) {
            let Wrk { rps, p50_ms, p99_ms, .. } = wrk(url, extra, seconds)?;
            eprintln!(
                "latency round {round}/{ROUNDS} {name}: {rps:.0} req/s, p50 {p50_ms:.2} ms, p99 {p99_ms:.2} ms"
            );
            runs.push(LatencyRow { name, rps, p50_ms, p99_ms });
        }
    }
    Ok(runs.into_iter().map(|runs| median_by(runs, |row| row.p50_ms)).collect())
}

/// `/profile` over 10,000 random live sessions, with 10 thousand and with 1 million sessions in
/// Redis.
struct ScaleRow {
    sessions: u64,
    rps: f64,
    p99_ms: f64,
    bytes_per_session: f64,
}

async fn used_memory(admin: &mut ConnectionManager) -> Result<u64, Box<dyn std::error::Error>> {
    let info: String = redis::cmd("INFO").arg("memory").query_async(admin).await?;
    Ok(info_field(&info, "used_memory").ok_or("no used_memory")?.parse()?)
}

/// Writes `count` sessions shaped like the service's (the same three fields and idle TTL),
/// 1,000 per pipeline, naming the first ones `ids`.
async fn fill_sessions(
    admin: &mut ConnectionManager,
    ids: &[String],
    count: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let (now, _micros): (u64, u64) = redis::cmd("TIME").query_async(admin).await?;
    let idle = Lifetimes::DEFAULT.idle.as_secs() as i64;
    let mut written = 0;
    while written < count {
        let mut pipe = redis::pipe();
        for n in written..(written + 1000).min(count) {
            let id =
                ids.get(n).cloned().unwrap_or_else(|| session_storage::store::SessionId::new().to_string());
            let key = format!("session:{id}");
            let session = Session::new(format!("user_{}", n % 50_000), format!("u{n}"), now);
            pipe.cmd("HSET").arg(&key).arg(&session.to_fields()).ignore();
            pipe.expire(&key, idle).ignore();
        }
        let () = pipe.query_async(admin).await?;
        written = (written + 1000).min(count);
    }
    Ok(())
}

async fn scale_rows(
    admin: &mut ConnectionManager,
    service: &str,
    seconds: u64,
    dir: &std::path::Path,
) -> Result<Vec<ScaleRow>, Box<dyn std::error::Error>> {
    let ids: Vec<String> =
        (0..10_000).map(|_| session_storage::store::SessionId::new().to_string()).collect();
    let lua = dir.join("random.lua");
    let mut script = String::from("local ids = {\n");
    for id in &ids {
        let _ = writeln!(script, "  \"{id}\",");
    }
    script.push_str(
        "}\nrequest = function()\n  local id = ids[math.random(#ids)]\n  \
         return wrk.format(\"GET\", \"/profile\", { Cookie = \"session_id=\" .. id })\nend\n",
    );
    std::fs::write(&lua, script)?;
    let extra = vec!["-s".to_string(), lua.display().to_string()];
    let url = format!("{service}/profile");
    // Start from an empty keyspace: the login scenarios above left up to a few million sessions
    // behind, and a bigger keyspace (and its hash tables growing) would be counted as the cost
    // of these sessions.
    let () = redis::cmd("FLUSHDB").query_async(admin).await?;
    let baseline = used_memory(admin).await?;
    let mut rows = Vec::new();
    for total in [10_000usize, 1_000_000] {
        let have = rows.last().map_or(0, |row: &ScaleRow| row.sessions as usize);
        // The 10,000 the load picks from first, then anonymous ones up to `total`.
        let names: &[String] = if have == 0 { &ids } else { &[] };
        fill_sessions(admin, names, total - have).await?;
        let bytes_per_session = (used_memory(admin).await? - baseline) as f64 / total as f64;
        let mut runs = Vec::new();
        for round in 1..=ROUNDS {
            let run = wrk(&url, &extra, seconds)?;
            eprintln!(
                "scale round {round}/{ROUNDS}, {total} sessions: {:.0} req/s, p99 {:.2} ms",
                run.rps, run.p99_ms
            );
            runs.push(run);
        }
        let Wrk { rps, p99_ms, .. } = median_by(runs, |run| run.rps);
        rows.push(ScaleRow { sessions: total as u64, rps, p99_ms, bytes_per_session });
    }
    let _: () = redis::cmd("FLUSHDB").query_async(admin).await?;
    Ok(rows)
}

/// What a session costs with its entry in the per-user index (lesson 06), all included.
struct IndexedMemory {
    users: u64,
    per_user: u64,
    bytes_per_session: f64,
    index_bytes: u64,
    /// What one login of a distinct user leaves in Redis.
    distinct: DistinctLogins,
}

impl IndexedMemory {
    fn report(&self, scale: &[ScaleRow]) -> String {
        let plain = scale.first().map_or(0.0, |row| row.bytes_per_session);
        format!(
            "\n## Memory with the every-device index\n\n{} sessions of {} users ({} each), created by the service's own \
             login (`SessionStore::start_session`): **{:.0} bytes per session**, all included (`used_memory`: the session, \
             its entry in `user:{{<id>}}:sessions`, and its share of the index keys; there is no user registry), against {:.0} \
             bytes for a session alone in the scale table above. One user's index of {} sessions is {} bytes \
             (`MEMORY USAGE`, listpack encoding).\n",
            self.users * self.per_user,
            self.users,
            self.per_user,
            self.bytes_per_session,
            plain,
            self.per_user,
            self.index_bytes,
        )
    }
}

/// What `/metrics` counted while wrk sent a known number of requests.
struct MetricsCheck {
    logins_sent: f64,
    logins_counted: f64,
    profiles_sent: f64,
    profiles_counted: f64,
}

impl MetricsCheck {
    fn report(&self) -> String {
        // wrk counts the answers it read; the service also counts the few still in flight when
        // wrk stops, at most one per connection.
        let verdict = |sent: f64, counted: f64| {
            if counted >= sent && counted <= sent + CONNECTIONS as f64 { "matches" } else { "DOES NOT MATCH" }
        };
        format!(
            "\n## `/metrics` during the benchmark\n\n\
             Scraped over HTTP from `metrics_app` (the router `METRICS_ADDR` serves) before and after one wrk run \
             of each route. wrk counts the answers it read; the service may count up to one more per connection \
             ({CONNECTIONS}) still in flight when wrk stops.\n\n\
             | counter | wrk sent | `/metrics` counted | |\n|---|---:|---:|---|\n\
             | `session_logins_total{{outcome=\"ok\"}}` | {:.0} | {:.0} | {} |\n\
             | `session_authenticated_requests_total{{outcome=\"ok\"}}` | {:.0} | {:.0} | {} |\n",
            self.logins_sent,
            self.logins_counted,
            verdict(self.logins_sent, self.logins_counted),
            self.profiles_sent,
            self.profiles_counted,
            verdict(self.profiles_sent, self.profiles_counted),
        )
    }
}

/// Runs wrk against `/login` and `/profile` once each and compares what it sent with what the
/// service's `/metrics` counted, scraped over HTTP as Prometheus would.
async fn metrics_check(
    state: &AppState,
    service: &str,
    cookie: &str,
    login_lua: &std::path::Path,
    seconds: u64,
) -> Result<MetricsCheck, Box<dyn std::error::Error>> {
    let metrics = spawn_server(session_storage::http::metrics_app(state.clone())).await?;
    let client = reqwest::Client::new();
    let scrape = async |name: &str| -> Result<f64, Box<dyn std::error::Error>> {
        let text = client.get(format!("{metrics}/metrics")).send().await?.text().await?;
        let line =
            text.lines().find(|l| l.starts_with(name)).ok_or_else(|| format!("{name} not in /metrics"))?;
        Ok(line[name.len()..].trim().parse()?)
    };
    let logins = r#"session_logins_total{outcome="ok"}"#;
    let profiles = r#"session_authenticated_requests_total{outcome="ok"}"#;
    let before = scrape(logins).await?;
    let login_lua = login_lua.display().to_string();
    let sent =
        tokio::task::block_in_place(|| wrk(&format!("{service}/login"), &["-s".into(), login_lua], seconds))?;
    let (logins_sent, logins_counted) = (sent.requests, scrape(logins).await? - before);
    let before = scrape(profiles).await?;
    let sent = tokio::task::block_in_place(|| {
        wrk(&format!("{service}/profile"), &["-H".into(), cookie.to_string()], seconds)
    })?;
    let (profiles_sent, profiles_counted) = (sent.requests, scrape(profiles).await? - before);
    Ok(MetricsCheck { logins_sent, logins_counted, profiles_sent, profiles_counted })
}

/// What one login of a distinct user leaves in Redis.
struct DistinctLogins {
    /// Bytes per login, all-in (`used_memory`), with the throttle off and on.
    off: f64,
    on: f64,
    /// `MEMORY USAGE` of one such user's keys: the session, the index, the security log.
    session: u64,
    index: u64,
    log: u64,
    /// Bytes per login, all-in, throttle off, with `stream-node-max-bytes 256` (Redis's
    /// default is 4096, and 7.0 allocates a new stream's first node at that size).
    small_nodes: f64,
    /// Bytes per login, all-in, of the floor (`reference::floor_login`): the same keys and
    /// fields written with nothing else.
    floor: f64,
}

/// Bytes per login of a distinct user, all-in: the session, the user's index, the user's
/// security log and, with the throttle on, the client's two throttle keys (each login from its
/// own client address); then each key's own size, and the all-in figure once more with smaller
/// stream nodes.
async fn distinct_user_logins(
    store: &SessionStore,
    admin: &mut ConnectionManager,
) -> Result<DistinctLogins, Box<dyn std::error::Error>> {
    let logins = 2_000u32;
    let mut figures = [0.0; 3];
    let mut sizes = [0u64; 3];
    let runs = [(LoginLimits::OFF, "4096"), (LoginLimits::DEFAULT, "4096"), (LoginLimits::OFF, "256")];
    for (slot, (limits, node_bytes)) in runs.into_iter().enumerate() {
        let store = store.clone().with_login_limits(limits);
        let () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("stream-node-max-bytes")
            .arg(node_bytes)
            .query_async(admin)
            .await?;
        let () = redis::cmd("FLUSHDB").query_async(admin).await?;
        let baseline = used_memory(admin).await?;
        let mut last = None;
        for n in 0..logins {
            let client = std::net::IpAddr::from([198, 18, (n >> 8) as u8, n as u8]);
            let device = session_storage::store::Device::new("Firefox on Linux", Some(client));
            let name = format!("distinct-{n}");
            let login = session_storage::store::NewSession::new(&name).on(device).throttled_for(client);
            match store.start_session(login).await?.started() {
                Some(started) => last = Some(started),
                None => return Err("a distinct-user login was throttled".into()),
            }
        }
        figures[slot] = used_memory(admin).await?.saturating_sub(baseline) as f64 / f64::from(logins);
        if slot == 0 {
            let (id, session) = last.ok_or("no login")?;
            let keys = store.keys();
            let named =
                [keys.session(&id), keys.user_sessions(&session.user_id), keys.user_events(&session.user_id)];
            for (size, key) in sizes.iter_mut().zip(named) {
                *size = redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(key)
                    .arg("SAMPLES")
                    .arg(0)
                    .query_async(admin)
                    .await?;
            }
        }
    }
    let () =
        redis::cmd("CONFIG").arg("SET").arg("stream-node-max-bytes").arg("4096").query_async(admin).await?;
    let () = redis::cmd("FLUSHDB").query_async(admin).await?;
    let [session, index, log] = sizes;
    let baseline = used_memory(admin).await?;
    for n in 0..logins {
        let mut pipe = redis::pipe();
        let now_ms = session_storage::store::unix_now().saturating_mul(1000);
        reference::floor_login(&mut pipe, &format!("distinct-{n}"), &SessionId::new(), now_ms);
        pipe.exec_async(&mut *admin).await?;
    }
    let floor = used_memory(admin).await?.saturating_sub(baseline) as f64 / f64::from(logins);
    let () = redis::cmd("FLUSHDB").query_async(admin).await?;
    Ok(DistinctLogins {
        off: figures[0],
        on: figures[1],
        session,
        index,
        log,
        small_nodes: figures[2],
        floor,
    })
}

/// 10,000 sessions through the real login path, into an empty keyspace, and what they cost.
async fn indexed_memory(
    store: &SessionStore,
    admin: &mut ConnectionManager,
) -> Result<IndexedMemory, Box<dyn std::error::Error>> {
    let (users, per_user) = (2_000u64, 5u64);
    let () = redis::cmd("FLUSHDB").query_async(admin).await?;
    let baseline = used_memory(admin).await?;
    // Round-robin over the users, as devices log in over a day.
    for _device in 0..per_user {
        for user in 0..users {
            let name = format!("u{user}");
            store.start_session(session_storage::store::NewSession::new(&name)).await?;
        }
    }
    let bytes = used_memory(admin).await?.saturating_sub(baseline);
    let index_bytes: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(store.keys().user_sessions(&user_id_for("u1")))
        .arg("SAMPLES")
        .arg(0)
        .query_async(admin)
        .await?;
    let () = redis::cmd("FLUSHDB").query_async(admin).await?;
    let distinct = distinct_user_logins(store, admin).await?;
    Ok(IndexedMemory {
        users,
        per_user,
        bytes_per_session: bytes as f64 / (users * per_user) as f64,
        index_bytes,
        distinct,
    })
}

/// The serving threads' verdict, the latency table and the scale table.
fn extra_report(rows: &[Row], latency: &[LatencyRow], scale: &[ScaleRow]) -> String {
    let mut out = String::new();
    let (profile, login, single_profile, single_login) = (&rows[1], &rows[3], &rows[6], &rows[7]);
    let gain = |new: &Row, old: &Row| 100.0 * (new.rps / old.rps - 1.0);
    let (profile_gain, login_gain) = (gain(profile, single_profile), gain(login, single_login));
    let keep = profile_gain >= 8.0 && login_gain >= -5.0 && profile.p99_ms <= single_profile.p99_ms;
    let _ = writeln!(
        out,
        "\n## Serving threads\n\n`SERVE_THREADS`' default, a single-threaded runtime per core ({} here), each with its own \
         accept loop and Redis connection, against `SERVE_THREADS=1` (the same service on one multi-threaded runtime), in the \
         same run: `GET /profile` {:.0} against {:.0} req/s ({profile_gain:+.1}%), p99 {:.2} against {:.2} ms; `POST /login` \
         {:.0} against {:.0} req/s ({login_gain:+.1}%), p99 {:.2} against {:.2} ms. Rule: keep the default while `/profile` \
         gains at least 8% without a worse p99 and logins lose at most 5%. Verdict: **{}**.",
        session_storage::server::cores(),
        profile.rps,
        single_profile.rps,
        profile.p99_ms,
        single_profile.p99_ms,
        login.rps,
        single_login.rps,
        login.p99_ms,
        single_login.p99_ms,
        if keep { "a thread per core stays the default" } else { "reconsider the default" },
    );
    let _ = writeln!(
        out,
        "\n## Round trips under latency\n\n0.5 ms added each way between the service and Redis (a delaying proxy in the \
         benchmark), as across a network:\n\n| scenario | req/s | p50 ms | p99 ms |\n|---|---:|---:|---:|"
    );
    for row in latency {
        let _ = writeln!(out, "| {} | {:.0} | {:.2} | {:.2} |", row.name, row.rps, row.p50_ms, row.p99_ms);
    }
    let _ = writeln!(out, "\n![p50 and p99 latency with 0.5 ms each way to Redis](images/bench-latency.svg)");
    let _ = writeln!(
        out,
        "\n## Cost at scale\n\n`GET /profile` over 10,000 random live sessions, with that many and with 1 million \
         sessions in Redis. Bytes per session count everything Redis holds for them (`used_memory`: the hash, its key, the \
         keyspace and expiry tables), not only `MEMORY USAGE`.\n\n| sessions in Redis | req/s | p99 ms | bytes per session, all included |\n|---:|---:|---:|---:|"
    );
    for row in scale {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.2} | {:.0} |",
            row.sessions, row.rps, row.p99_ms, row.bytes_per_session
        );
    }
    out
}

/// p50 and p99 per latency scenario, as SVG bars.
fn latency_chart(rows: &[LatencyRow]) -> String {
    let max = rows.iter().map(|r| r.p99_ms).fold(0.1, f64::max);
    let (left, width, bar, gap) = (280.0, 360.0, 14.0, 18.0);
    let height = 50.0 + rows.len() as f64 * (2.0 * bar + gap);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 720 {height}\" width=\"720\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"13\">\n\
         <text x=\"10\" y=\"20\" font-weight=\"bold\">Latency with 0.5 ms each way to Redis (ms; light: p50, dark: p99)</text>\n"
    );
    for (i, row) in rows.iter().enumerate() {
        let y = 36.0 + i as f64 * (2.0 * bar + gap);
        for (j, (value, color)) in [(row.p50_ms, "#8fb8d6"), (row.p99_ms, "#3d7ea6")].into_iter().enumerate()
        {
            let top = y + j as f64 * bar;
            let w = width * value / max;
            let _ = writeln!(
                svg,
                "<rect x=\"{left}\" y=\"{top}\" width=\"{w:.1}\" height=\"{bar}\" fill=\"{color}\"/>\n<text x=\"{lx:.1}\" y=\"{ty:.1}\">{value:.2}</text>",
                lx = left + w + 6.0,
                ty = top + bar * 0.8,
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"{x}\" y=\"{ty}\" text-anchor=\"end\">{name}</text>",
            x = left - 8.0,
            ty = y + bar * 1.2,
            name = escape(row.name),
        );
    }
    svg.push_str("</svg>\n");
    svg
}
