//! `bench profile [seconds]` (`scripts/profile.sh`): where a request's CPU goes, by layer.
//!
//! Serves the service and the one-round-trip reference (`reference.rs`) in this process, drives
//! one of them at a time with wrk, and samples this process meanwhile with `perf record`
//! (call graphs by DWARF unwinding: the release build keeps its symbols and line tables). Each
//! run becomes a flame graph, `bench/flame/<name>.svg` (inferno, the Rust port of Brendan
//! Gregg's flame graph tools), and one row of `bench/profile.md`: the share of the process's
//! samples under each layer of the stack (inclusive, so the layers of one request add up to
//! more than 100%: a Redis reply parsed inside a handler counts for both).

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use inferno::collapse::Collapse;
use session_storage::AppState;
use session_storage::http::app;
use session_storage::redis::{PrivateRedis, connect};
use session_storage::store::{Lifetimes, LoginLimits, SessionStore};

use crate::{CONNECTIONS, LOGIN_LUA, TIMEOUT, bench_session, reference, spawn_server};

/// The layers of the stack, and the frames (by substring of the symbol) that belong to each. A
/// sample counts for one layer: the first, from the leaf up, that one of its frames belongs to
/// (so a `memcpy` inside hyper's parser is hyper's, and an allocation anywhere is the
/// allocator's). Within one frame, the first layer in this list that matches wins.
const LAYERS: &[(&str, &[&str])] = &[
    ("kernel: system calls and the network stack", &["_[k]"]),
    (
        "socket calls (mio, libc send and recv, epoll)",
        &["mio::", "__send", "__libc_send", "recv", "writev", "epoll_wait"],
    ),
    ("allocation (mimalloc)", &["mi_malloc", "mi_free", "_mi_", "mimalloc"]),
    ("JSON (serde_json)", &["serde_json::"]),
    ("cookie parsing (`cookies.rs`)", &["session_storage::cookies::read"]),
    ("the origin check (`origin.rs`)", &["session_storage::origin::"]),
    ("cookie writing (`Set-Cookie`, the cookie crate)", &["session_storage::cookies::", "cookie::"]),
    ("redis-rs: encode, parse, multiplex", &["redis::"]),
    ("the store (`store/`): deadline, counters, the round trip's future", &["session_storage::store::"]),
    ("the renewed-cookie layer", &["session_storage::http::extract::renew_cookie"]),
    ("the handlers and extractors (`http/`)", &["session_storage::http::"]),
    ("tower-http layers (trace, set-header, timeout)", &["tower_http::", "tracing::", "tracing_core::"]),
    ("axum: router, middleware, extractors", &["axum::", "axum_core::", "matchit::"]),
    ("the accept loop and its connection timers (`server.rs`)", &["session_storage::server::"]),
    ("hyper: HTTP/1 parse, encode, dispatch", &["hyper::", "hyper_util::", "httparse::"]),
    ("http types (headers, URIs)", &["http::"]),
    (
        "tokio: I/O driver (epoll) and timers",
        &["tokio::runtime::io", "tokio::runtime::time", "tokio::time::"],
    ),
    ("tokio: scheduler, wake-ups and task hand-offs", &["tokio::"]),
];

/// The longest frame name kept in a flame graph: Rust's generic names run to hundreds of
/// characters, and the graph only has to tell the layers apart.
const FRAME_CHARS: usize = 100;

/// One profiled scenario: its name, the URL wrk drives, and wrk's extra arguments.
struct Target {
    name: &'static str,
    title: &'static str,
    url: String,
    wrk: Vec<String>,
}

/// Runs every target, writes the flame graphs and `bench/profile.md`.
pub async fn run(seconds: u64) -> Result<(), Box<dyn std::error::Error>> {
    if Command::new("perf").arg("--version").output().is_err() {
        return Err("perf is not installed: sudo apt-get install -y linux-perf".into());
    }
    let redis = PrivateRedis::start()?;
    let manager = connect(&redis.url(), Duration::from_millis(500)).await?;
    let store = SessionStore::new(manager.clone(), Lifetimes::default(), TIMEOUT)
        .await?
        .with_login_limits(LoginLimits::OFF);
    let service = spawn_server(app(AppState::new(store))).await?;
    let reference = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let router = reference::router(manager.clone(), counter);
        tokio::spawn(async move { axum::serve(listener, router).await });
        base
    };
    let cookie = format!("Cookie: session_id={}", bench_session(&service).await?);
    let dir = tempfile::tempdir()?;
    let login_lua = dir.path().join("login.lua");
    std::fs::write(&login_lua, LOGIN_LUA)?;
    let login = vec!["-s".to_string(), login_lua.display().to_string()];
    let targets = [
        Target {
            name: "service-profile",
            title: "the service, GET /profile",
            url: format!("{service}/profile"),
            wrk: vec!["-H".into(), cookie.clone()],
        },
        Target {
            name: "reference-profile",
            title: "the reference (axum + one round trip), GET /profile",
            url: format!("{reference}/profile"),
            wrk: vec!["-H".into(), cookie.clone()],
        },
        Target {
            name: "service-login",
            title: "the service, POST /login",
            url: format!("{service}/login"),
            wrk: login.clone(),
        },
        Target {
            name: "reference-login",
            title: "the reference, POST /login",
            url: format!("{reference}/login"),
            wrk: login.clone(),
        },
    ];
    std::fs::create_dir_all("bench/flame")?;
    let mut rows = Vec::new();
    for target in &targets {
        let profiled = profile(target, seconds, dir.path()).await?;
        let lines: Vec<String> = profiled
            .folded
            .lines()
            .filter_map(|line| line.rsplit_once(' '))
            .map(|(stack, count)| format!("{} {count}", shortened(stack)))
            .collect();
        let mut options = inferno::flamegraph::Options::default();
        options.title = format!("{} ({} s under wrk -c{CONNECTIONS})", target.title, seconds);
        options.count_name = "ns of CPU".to_string();
        // Frames narrower than 2 px of the 1200 (0.17% of the samples) are left out.
        options.min_width = 2.0;
        let mut svg = Vec::new();
        inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut svg)?;
        std::fs::write(format!("bench/flame/{}.svg", target.name), svg)?;
        rows.push((target, layer_micros(&profiled)));
        eprintln!("wrote bench/flame/{}.svg", target.name);
    }
    std::fs::write("bench/profile.md", report(&rows, seconds))?;
    eprintln!("wrote bench/profile.md");
    Ok(())
}

/// wrk against `target` for `seconds` (plus a second of warm-up), with `perf record` on this
/// process for those `seconds`; answers the folded stacks.
async fn profile(
    target: &Target,
    seconds: u64,
    dir: &std::path::Path,
) -> Result<Profiled, Box<dyn std::error::Error>> {
    let wrk = Command::new("wrk")
        .args(["-t2", &format!("-c{CONNECTIONS}"), &format!("-d{}s", seconds + 2)])
        .args(&target.wrk)
        .arg(&target.url)
        .stdout(Stdio::piped())
        .spawn()?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let data = dir.join(format!("{}.data", target.name));
    let pid = std::process::id().to_string();
    let recorded = tokio::task::spawn_blocking({
        let data = data.clone();
        move || {
            Command::new("perf")
                .args(["record", "-F", "499", "--call-graph", "dwarf,16384", "-p", &pid, "-o"])
                .arg(&data)
                .args(["--", "sleep", &seconds.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
        }
    })
    .await??;
    let out = wrk.wait_with_output()?;
    if !recorded.success() {
        return Err(format!("perf record failed for {}: {recorded}", target.name).into());
    }
    let out = String::from_utf8(out.stdout)?;
    let rps: f64 = out
        .lines()
        .find_map(|line| line.trim().strip_prefix("Requests/sec:"))
        .ok_or_else(|| format!("no Requests/sec in wrk's output:\n{out}"))?
        .trim()
        .parse()?;
    let script = Command::new("perf").arg("script").arg("-i").arg(&data).stderr(Stdio::null()).output()?;
    // Kernel frames end in `_[k]`, so they can be told apart from the process's own.
    let mut options = inferno::collapse::perf::Options::default();
    options.annotate_kernel = true;
    let mut folder = inferno::collapse::perf::Folder::from(options);
    let mut folded = Vec::new();
    folder.collapse(script.stdout.as_slice(), &mut folded)?;
    Ok(Profiled { folded: String::from_utf8(folded)?, requests: rps * seconds as f64 })
}

/// What one profiled run gave: the folded stacks (weighted by CPU nanoseconds) and how many
/// requests wrk saw answered while perf recorded.
struct Profiled {
    folded: String,
    requests: f64,
}

/// `stack` with every frame cut to [`FRAME_CHARS`] characters.
fn shortened(stack: &str) -> String {
    stack
        .split(';')
        .map(|frame| {
            if frame.chars().count() <= FRAME_CHARS {
                frame.to_string()
            } else {
                format!("{}...", frame.chars().take(FRAME_CHARS - 3).collect::<String>())
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// The layer a stack's sample counts for: the first, from the leaf up, that a frame belongs to;
/// `LAYERS.len()` ("other") when none does.
fn layer_of(stack: &str) -> usize {
    for frame in stack.rsplit(';') {
        if let Some(n) = LAYERS.iter().position(|(_, patterns)| patterns.iter().any(|p| frame.contains(p))) {
            return n;
        }
    }
    LAYERS.len()
}

/// Microseconds of CPU per request in each layer (and "other" last): the folded stacks' weights
/// are CPU nanoseconds.
fn layer_micros(profiled: &Profiled) -> Vec<f64> {
    let mut nanos = vec![0u64; LAYERS.len() + 1];
    for line in profiled.folded.lines() {
        let Some((stack, count)) = line.rsplit_once(' ') else { continue };
        let Ok(count) = count.parse::<u64>() else { continue };
        nanos[layer_of(stack)] += count;
    }
    nanos.iter().map(|n| *n as f64 / 1000.0 / profiled.requests.max(1.0)).collect()
}

fn report(rows: &[(&Target, Vec<f64>)], seconds: u64) -> String {
    let mut out = String::from("### Where the CPU goes\n\n");
    let _ = writeln!(
        out,
        "`scripts/profile.sh` ({seconds} s per target, wrk -t2 -c{CONNECTIONS}, `perf record -F 499 --call-graph dwarf` on \
         the bench process, which serves both): microseconds of the server's CPU per request, by layer. Each sample \
         counts once, for the first layer found from the leaf of its stack up (an allocation is the allocator's, a \
         `memcpy` in hyper's parser is hyper's), so a column adds up to the CPU of one request. The flame graphs are \
         in `bench/flame/` (open one in a browser: click to zoom, search with Ctrl-F). Sampling shifts the figures by a \
         few percent; compare the columns of one run.\n"
    );
    let _ = write!(out, "| layer |");
    for (target, _) in rows {
        let _ = write!(out, " [{}](flame/{}.svg) |", target.title, target.name);
    }
    let _ = write!(out, "\n|---|");
    for _ in rows {
        let _ = write!(out, "---:|");
    }
    out.push('\n');
    let names: Vec<&str> =
        LAYERS.iter().map(|(name, _)| *name).chain(["other (std, core, futures, bytes, ...)"]).collect();
    for (n, name) in names.iter().enumerate() {
        let _ = write!(out, "| {name} |");
        for (_, micros) in rows {
            let _ = write!(out, " {:.1} |", micros[n]);
        }
        out.push('\n');
    }
    let _ = write!(out, "| **all** |");
    for (_, micros) in rows {
        let _ = write!(out, " **{:.1}** |", micros.iter().sum::<f64>());
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_counts_for_the_innermost_layer() {
        let layer = |stack: &str| LAYERS.get(layer_of(stack)).map(|(name, _)| *name).unwrap_or("other");
        assert!(
            layer("tokio::runtime::scheduler::run;hyper::proto::h1::role::parse;memcpy").starts_with("hyper")
        );
        assert!(layer("tokio::x;hyper::proto::h1::parse;mi_malloc").starts_with("allocation"));
        assert!(layer("tokio::x;redis::aio::send;tcp_sendmsg_[k]").starts_with("kernel"));
        assert!(layer("tokio::x;mio::net::tcp::stream::write;__send").starts_with("socket"));
        assert_eq!(layer("std::thread::run;core::ops::call"), "other");
        let profiled =
            Profiled { folded: "tokio::x;serde_json::to_vec 3000\nstd::x 1000\n".into(), requests: 2.0 };
        let micros = layer_micros(&profiled);
        assert_eq!(micros.iter().sum::<f64>(), 2.0, "4000 ns over 2 requests");
        assert_eq!(micros[LAYERS.iter().position(|(n, _)| n.starts_with("JSON")).expect("json")], 1.5);
        assert_eq!(shortened(&"x".repeat(150)).chars().count(), FRAME_CHARS);
    }
}
