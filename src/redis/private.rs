//! A `redis-server` of our own (feature `private-redis`): started on a free port for a learner
//! who has no Redis running, for every test, and as the nodes of a [`PrivateCluster`]
//! (`private_cluster.rs`). A library user who brings their own Redis builds without it
//! (`--no-default-features`), and so without `tempfile` and without any process management.
//!
//! The chaos controls (pause, kill, restart) exist only with the `test-util` feature, which the
//! package's own tests switch on.
//!
//! [`PrivateCluster`]: crate::redis::PrivateCluster

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::SetupError;

/// A `redis-server` of our own: a free port on 127.0.0.1, no persistence
/// (`--save "" --appendonly no`), its files in a temporary directory, killed by PID on drop.
///
/// Tests use one each, so they never touch a Redis they did not start and can run in parallel.
/// "Ours" is checked, not assumed: a start counts only when the server on the port reports our
/// child's PID as its `process_id`, so a Redis that some other test started on a port we just
/// picked is never adopted.
#[derive(Debug)]
pub struct PrivateRedis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    extra_args: Vec<String>,
}

impl PrivateRedis {
    /// Starts a server with the defaults above.
    pub fn start() -> Result<PrivateRedis, SetupError> {
        PrivateRedis::start_with(&[])
    }

    /// Starts a server with extra configuration, e.g. `["--appendonly", "yes"]`; later arguments
    /// override the defaults.
    #[cfg(feature = "test-util")]
    pub fn start_with_args(extra_args: &[&str]) -> Result<PrivateRedis, SetupError> {
        PrivateRedis::start_with(extra_args)
    }

    /// Starts a server on `port` (a test of the default `127.0.0.1:6379` needs one there).
    #[cfg(feature = "test-util")]
    pub fn start_on_port(port: u16) -> Result<PrivateRedis, SetupError> {
        let mut server = PrivateRedis::unstarted(&[])?;
        server.port = port;
        server.spawn().map_err(SetupError::StartFailed)?;
        Ok(server)
    }

    fn unstarted(extra_args: &[&str]) -> Result<PrivateRedis, SetupError> {
        if !on_path("redis-server") {
            return Err(SetupError::NotInstalled);
        }
        let dir = tempfile::Builder::new()
            .prefix("session-storage-redis-")
            .tempdir()
            .map_err(|e| SetupError::StartFailed(format!("temp dir: {e}")))?;
        Ok(PrivateRedis {
            child: None,
            port: 0,
            dir,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        })
    }

    fn start_with(extra_args: &[&str]) -> Result<PrivateRedis, SetupError> {
        PrivateRedis::start_cluster_node(extra_args, free_port)
    }

    /// Starts a server on a port that `pick` chooses (a cluster node needs its port + 10000
    /// free as well), with extra arguments.
    pub(crate) fn start_cluster_node(
        extra_args: &[&str],
        pick: fn() -> std::io::Result<u16>,
    ) -> Result<PrivateRedis, SetupError> {
        let mut server = PrivateRedis::unstarted(extra_args)?;
        // The port is free when we pick it but another process could take it before redis-server
        // binds it, so try a few ports.
        let mut last_error = String::new();
        for _ in 0..5 {
            server.port = pick().map_err(|e| SetupError::StartFailed(format!("free port: {e}")))?;
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(error) => last_error = error,
            }
        }
        Err(SetupError::StartFailed(last_error))
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .arg("--logfile")
            .arg(self.log_path())
            .args(&self.extra_args)
            // A test may run with its own clock moved by libfaketime (the exercise checks of
            // lessons 03, 06 and 09); its Redis keeps the machine's clock.
            .env_remove("LD_PRELOAD")
            .env_remove("FAKETIME")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = command.spawn().map_err(|e| format!("spawn redis-server: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                // It may have exited because another server holds the port: say so.
                if let Some(other) = server_pid(addr, Duration::from_millis(200)) {
                    return Err(format!("port {} is held by another redis-server (pid {other})", self.port));
                }
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                return Err(format!("redis-server exited with {status}: {}", log.trim()));
            }
            // Whatever answers must be our child, not another Redis that holds the port.
            match server_pid(addr, Duration::from_millis(200)) {
                Some(pid) if pid == child.id() => {
                    self.child = Some(child);
                    return Ok(());
                }
                Some(other) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("port {} is held by another redis-server (pid {other})", self.port));
                }
                None => {}
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("redis-server did not answer within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    /// The TCP port it listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Chaos controls, for the tests only (`test-util` feature).
#[cfg(feature = "test-util")]
impl PrivateRedis {
    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Freezes the server with SIGSTOP: connections stay open but nothing answers, which is what
    /// an overloaded or swapping Redis looks like to a client.
    pub fn pause(&self) -> std::io::Result<()> {
        self.signal("-STOP")
    }

    /// Thaws a paused server with SIGCONT.
    pub fn resume(&self) -> std::io::Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, signal: &str) -> std::io::Result<()> {
        let pid = self.pid().ok_or_else(|| std::io::Error::other("redis-server is not running"))?;
        let status = Command::new("kill").args([signal, &pid.to_string()]).status()?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!("kill {signal} {pid}: {status}")))
        }
    }

    /// Kills the server (SIGKILL, as a crash would) and waits for it to exit.
    pub fn kill(&mut self) {
        self.stop();
    }

    /// Stops cleanly with `SHUTDOWN` semantics (SIGTERM), so an AOF is flushed, and waits.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory (after [`kill`](Self::kill) or
    /// [`terminate`](Self::terminate)), with the same arguments. The new process is checked to be
    /// the one answering, so a server someone else started on the freed port is never adopted.
    pub fn restart(&mut self) -> Result<(), SetupError> {
        self.stop();
        let mut last_error = String::new();
        for _ in 0..50 {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(error) => last_error = error,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(SetupError::StartFailed(last_error))
    }

    /// The directory holding its log and, when persistence is on, its data files.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        // A paused server ignores SIGTERM but not SIGKILL.
        self.stop();
    }
}

/// The `process_id` that the Redis at `addr` reports in `INFO server`, if one answers.
fn server_pid(addr: SocketAddr, timeout: Duration) -> Option<u32> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    stream.write_all(b"INFO server\r\n").ok()?;
    // A bulk reply: `$<length>\r\n<text>\r\n`. Read until the whole text is in.
    let mut reply = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = stream.read(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        reply.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&reply);
        let (header, body) = text.split_once("\r\n")?;
        let length: usize = header.strip_prefix('$')?.parse().ok()?;
        if body.len() >= length {
            return body.lines().find_map(|line| line.strip_prefix("process_id:")?.trim().parse().ok());
        }
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}
