//! How the lessons talk: numbered steps, narration, and every Redis command printed in redis-cli
//! syntax with its reply, so a learner can replay it by hand.
//!
//! The lessons write ordinary redis-rs code (`con.hget(..)`, `con.expire(..)`,
//! `redis::pipe().atomic()`, `Script`) against a [`Narrated`] connection, which forwards every
//! command to the real connection and prints it with its reply. So what a lesson shows is what
//! an application would write, and nothing it sends goes unseen.
//!
//! Colour (from `colored`) is used on a terminal and dropped when the output is piped or when
//! `NO_COLOR` is set. A [`Narrator::capture`] keeps plain text per step instead of printing it;
//! the lesson tests snapshot those steps.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, MutexGuard};

use colored::Colorize;
use redis::aio::ConnectionLike;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

use super::redis_cli::{cli_line, cli_reply, command_name, cost_line, words};
use crate::redis::Backend;
use crate::store::{StoreConnection, Tap};

/// One numbered step of a lesson and everything it printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// 1, 2, 3, ...
    pub number: usize,
    /// The step's title.
    pub title: String,
    /// What it printed, without colour.
    pub text: String,
}

impl Step {
    /// `step_03_the_naive_renewal`: a snapshot name made from the number and title.
    pub fn snapshot_name(&self) -> String {
        let slug: String = self
            .title
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let slug = slug.split('_').filter(|part| !part.is_empty()).collect::<Vec<_>>().join("_");
        format!("step_{:02}_{slug}", self.number)
    }
}

#[derive(Debug)]
struct Transcript {
    color: bool,
    print: bool,
    preamble: String,
    steps: Vec<Step>,
    /// The round trips sent since [`Narrator::count_from_here`]: each one's command names
    /// (`None` when not counting, so that a long-running narrated server keeps nothing).
    round_trips: Option<Vec<Vec<String>>>,
}

/// Prints a lesson (or records it, for tests).
///
/// A handle: clones share one transcript, so the lesson and its [`Narrated`] connections (and a
/// server task in lesson 04) all write into the same one, in the order things happen.
#[derive(Clone, Debug)]
pub struct Narrator {
    transcript: Arc<Mutex<Transcript>>,
}

impl Narrator {
    /// Prints to stdout, in colour when stdout is a terminal and `NO_COLOR` is not set.
    pub fn stdout() -> Narrator {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Narrator::new(color, true)
    }

    /// Records plain text per step and prints nothing.
    pub fn capture() -> Narrator {
        Narrator::new(false, false)
    }

    fn new(color: bool, print: bool) -> Narrator {
        let transcript =
            Transcript { color, print, preamble: String::new(), steps: Vec::new(), round_trips: None };
        Narrator { transcript: Arc::new(Mutex::new(transcript)) }
    }

    fn lock(&self) -> MutexGuard<'_, Transcript> {
        // A panic while printing leaves the text as it was; keep using it.
        self.transcript.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `con`, narrated: every command sent through it is printed with its reply.
    pub fn connection<C>(&self, con: C) -> Narrated<C> {
        Narrated { inner: con, out: self.clone() }
    }

    /// The steps recorded so far.
    pub fn steps(&self) -> Vec<Step> {
        self.lock().steps.clone()
    }

    /// Everything before the first step (the title and set-up lines).
    pub fn preamble(&self) -> String {
        self.lock().preamble.clone()
    }

    fn emit(&self, plain: &str, styled: String) {
        let mut transcript = self.lock();
        if transcript.print {
            print_line(if transcript.color { &styled } else { plain });
        }
        let sink = match transcript.steps.last_mut() {
            Some(step) => &mut step.text,
            None => &mut transcript.preamble,
        };
        sink.push_str(plain);
        sink.push('\n');
    }

    /// The lesson's title line.
    pub fn title(&self, title: &str) {
        let line = format!("=== {title} ===");
        self.emit(&line, line.bold().to_string());
    }

    /// Starts step N+1.
    pub fn step(&self, title: &str) {
        let number = {
            let mut transcript = self.lock();
            if transcript.print {
                print_line("");
            }
            let number = transcript.steps.len() + 1;
            transcript.steps.push(Step { number, title: title.to_string(), text: String::new() });
            number
        };
        let line = format!("Step {number}: {title}");
        self.emit(&line, line.bold().cyan().to_string());
    }

    /// A paragraph of explanation. Each line is indented by two spaces.
    pub fn say(&self, text: &str) {
        for line in text.lines() {
            let line = format!("  {line}");
            self.emit(&line, line.clone());
        }
    }

    /// A warning or a point to remember.
    pub fn note(&self, text: &str) {
        for line in text.lines() {
            let line = format!("  ! {line}");
            self.emit(&line, line.yellow().to_string());
        }
    }

    /// Shows a command as redis-cli would echo it.
    pub fn show_command<S: AsRef<str>>(&self, args: &[S]) {
        let line = format!("  redis> {}", cli_line(args));
        self.emit(&line, line.green().to_string());
    }

    /// Shows a reply as redis-cli prints it.
    pub fn show_reply(&self, reply: &Value) {
        for line in cli_reply(reply).lines() {
            let line = format!("  {line}");
            self.emit(&line, line.dimmed().to_string());
        }
    }

    fn show_error(&self, error: &redis::RedisError) {
        let line = format!("  (error) {error}");
        self.emit(&line, line.red().to_string());
    }

    /// Starts counting round trips afresh: the next [`cost`](Self::cost) reports what was sent
    /// from here on.
    pub fn count_from_here(&self) {
        self.lock().round_trips = Some(Vec::new());
    }

    /// Prints what was sent through narrated connections since [`count_from_here`](Self::count_from_here)
    /// (or the last `cost`), counted, not typed: `[label: N round trips: CMD CMD | CMD]`, each
    /// round trip's command names, one `|` between round trips (lesson 08 prints one for its
    /// `GET /hello`). The book states a route's cost by including such a line, and `tests/book_facts.rs` checks every sentence that states one against it.
    /// Answers the number of round trips, and counts afresh.
    pub fn cost(&self, label: &str) -> usize {
        let trips = self.take_round_trips();
        let line = cost_line(label, &trips);
        self.emit(&line, line.magenta().to_string());
        trips.len()
    }

    /// The round trips sent since [`count_from_here`](Self::count_from_here) (or the last
    /// `cost`), each one's command names, without printing them; counts afresh.
    pub fn take_round_trips(&self) -> Vec<Vec<String>> {
        self.lock().round_trips.replace(Vec::new()).unwrap_or_default()
    }

    fn record_round_trip(&self, commands: Vec<String>) {
        if let Some(trips) = &mut self.lock().round_trips {
            trips.push(commands);
        }
    }

    /// The closing block: commands to try by hand in redis-cli.
    pub fn try_it_yourself(&self, lines: &[&str]) {
        if self.lock().print {
            print_line("");
        }
        let heading = "Try it yourself in redis-cli:".to_string();
        self.emit(&heading, heading.bold().to_string());
        for line in lines {
            let line = format!("  {line}");
            self.emit(&line, line.green().to_string());
        }
    }
}

// ANCHOR: narrated
/// A connection that narrates: it forwards every command to `C` and prints it, and the reply,
/// in redis-cli syntax. It implements redis-rs's [`ConnectionLike`], so lesson code uses it
/// exactly like the real connection: `con.hget(..)`, `pipe.query_async(&mut con)`,
/// `script.invoke_async(&mut con)`.
#[derive(Clone, Debug)]
pub struct Narrated<C> {
    inner: C,
    out: Narrator,
}

impl<C> Narrated<C> {
    /// The connection it wraps and the narrator it prints to (a store made from a narrated
    /// connection narrates every command it sends this way).
    pub fn into_parts(self) -> (C, Narrator) {
        (self.inner, self.out)
    }
}

impl<C: ConnectionLike + Send> ConnectionLike for Narrated<C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            // The command as it leaves, the reply as it comes back: commands sent at once show
            // before either answers, as they happen.
            self.out.sending(cmd);
            let reply = self.inner.req_packed_command(cmd).await;
            self.out.answered(&reply);
            reply
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            self.out.sending_pipeline(pipeline);
            let replies = self.inner.req_packed_commands(pipeline, offset, count).await;
            self.out.answered_pipeline(pipeline, &replies);
            replies
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

// ANCHOR_END: narrated

/// The narrator sees every round trip a store makes (a store made from a [`Narrated`]
/// connection hands it its narrator as its [`Tap`]), and prints each as the lessons' own
/// connection does: the command in redis-cli syntax, then the reply.
impl Tap for Narrator {
    fn command(&self, cmd: &Cmd, reply: &RedisResult<Value>) {
        self.sending(cmd);
        self.answered(reply);
    }

    fn pipeline(&self, pipeline: &Pipeline, replies: &RedisResult<Vec<Value>>) {
        self.sending_pipeline(pipeline);
        self.answered_pipeline(pipeline, replies);
    }
}

impl Narrator {
    /// One command on its way: counted, and shown.
    fn sending(&self, cmd: &Cmd) {
        self.record_round_trip(vec![command_name(cmd)]);
        self.show_command(&words(cmd));
    }

    fn answered(&self, reply: &RedisResult<Value>) {
        match reply {
            Ok(value) => self.show_reply(value),
            Err(error) => self.show_error(error),
        }
    }

    /// One pipeline on its way: counted, and a transaction shown as redis-cli shows one typed by
    /// hand (a plain pipeline's commands are shown with their replies, one after another).
    fn sending_pipeline(&self, pipeline: &Pipeline) {
        let transaction = pipeline.is_transaction();
        let mut names: Vec<String> = pipeline.cmd_iter().map(command_name).collect();
        if transaction {
            names.insert(0, "MULTI".into());
            names.push("EXEC".into());
        }
        self.record_round_trip(names);
        if transaction {
            self.show_command(&["MULTI"]);
            self.show_reply(&Value::Okay);
            for command in pipeline.cmd_iter().map(words) {
                self.show_command(&command);
                self.show_reply(&Value::SimpleString("QUEUED".into()));
            }
            self.show_command(&["EXEC"]);
        }
    }

    fn answered_pipeline(&self, pipeline: &Pipeline, replies: &RedisResult<Vec<Value>>) {
        match replies {
            Ok(values) if pipeline.is_transaction() => {
                for value in values {
                    self.show_reply(value);
                }
            }
            Ok(values) => {
                for (command, value) in pipeline.cmd_iter().map(words).zip(values) {
                    self.show_command(&command);
                    self.show_reply(value);
                }
            }
            Err(error) => self.show_error(error),
        }
    }
}

/// A store made from a narrated connection narrates every round trip it makes: the narrator is
/// its [`Tap`].
impl<C: Into<Backend>> From<Narrated<C>> for StoreConnection {
    fn from(con: Narrated<C>) -> Self {
        let (inner, narrator) = con.into_parts();
        StoreConnection::tapped(inner, std::sync::Arc::new(narrator))
    }
}

/// Prints one line to stdout. A closed stdout (`cargo run --example 02_expire | head`) is not an
/// error: the lesson carries on silently, so it still deletes the keys it wrote.
fn print_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Finds a Redis for a lesson (`REDIS_URL`, else 127.0.0.1:6379, else a private redis-server)
/// and says which. On failure prints why (with install instructions when redis-server is
/// missing) and returns `None`.
pub async fn connect_for_lesson(out: &Narrator) -> Option<crate::redis::RedisHandle> {
    let url = std::env::var("REDIS_URL").ok().filter(|url| !url.is_empty());
    match crate::redis::connect_or_start(url.as_deref(), std::time::Duration::from_secs(2)).await {
        Ok(handle) if handle.backend.topology().is_cluster() => {
            eprintln!(
                "error: REDIS_URL names a Redis Cluster; lessons 01 to 06 need a single Redis (unset REDIS_URL \
                 and they start one), and lesson 07 starts a cluster of its own"
            );
            None
        }
        Ok(handle) => {
            out.note(&handle.describe());
            if let Some(warning) = handle.version_warning() {
                out.note(&warning);
            }
            Some(handle)
        }
        Err(error) => {
            eprintln!("error: {error}");
            None
        }
    }
}

/// A lesson's whole `main`: find Redis ([`connect_for_lesson`]), run the lesson with a
/// narrator on stdout, and turn the result into an exit code (printing the error, if any).
pub async fn run_lesson(
    lesson: impl AsyncFnOnce(&Narrator, redis::aio::ConnectionManager) -> redis::RedisResult<()>,
) -> std::process::ExitCode {
    let out = Narrator::stdout();
    let Some(redis) = connect_for_lesson(&out).await else {
        return std::process::ExitCode::FAILURE;
    };
    match lesson(&out, redis.manager.clone()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn costs_are_counted_from_what_was_sent() {
        let narrator = Narrator::capture();
        narrator.step("Costs");
        narrator.record_round_trip(vec!["GET".into()]);
        assert_eq!(narrator.cost("nothing"), 0, "nothing is counted before count_from_here");
        narrator.record_round_trip(vec!["EVALSHA".into()]);
        narrator.record_round_trip(vec!["DEL".into(), "MULTI".into(), "HSET".into(), "EXEC".into()]);
        assert_eq!(narrator.cost("POST /login"), 2);
        narrator.record_round_trip(vec!["HMGET".into()]);
        narrator.count_from_here();
        narrator.record_round_trip(vec!["HMGET".into(), "EXPIRE".into()]);
        assert_eq!(narrator.cost("GET /profile"), 1);
        assert_eq!(
            narrator.steps()[0].text,
            "Step 1: Costs\n  [nothing: 0 round trips]\n  [POST /login: 2 round trips: EVALSHA | DEL MULTI HSET EXEC]\n  \
             [GET /profile: 1 round trip: HMGET EXPIRE]\n"
        );
    }

    #[test]
    fn steps_are_recorded_with_names() {
        let narrator = Narrator::capture();
        narrator.title("Lesson");
        narrator.step("Why a hash?");
        narrator.say("Because.");
        narrator.step("The naive renewal (2 round trips)");
        narrator.show_command(&["TTL", "k"]);
        let steps = narrator.steps();
        assert_eq!(narrator.preamble(), "=== Lesson ===\n");
        assert_eq!(steps[0].snapshot_name(), "step_01_why_a_hash");
        assert_eq!(steps[0].text, "Step 1: Why a hash?\n  Because.\n");
        assert_eq!(steps[1].snapshot_name(), "step_02_the_naive_renewal_2_round_trips");
        assert_eq!(steps[1].text, "Step 2: The naive renewal (2 round trips)\n  redis> TTL k\n");
    }
}
