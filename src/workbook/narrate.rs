//! How the lessons talk: numbered steps, narration, and every Redis command printed in redis-cli
//! syntax with its reply, so a learner can replay it by hand.
//!
//! Colour (from `colored`) is used on a terminal and dropped when the output is piped or when
//! `NO_COLOR` is set. A [`Narrator::capture`] keeps plain text per step instead of printing it;
//! the lesson tests snapshot those steps.

use std::io::IsTerminal;

use colored::Colorize;
use redis::aio::ConnectionLike;
use redis::{FromRedisValue, Value};

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

/// Prints a lesson (or records it, for tests).
pub struct Narrator {
    color: bool,
    print: bool,
    preamble: String,
    steps: Vec<Step>,
}

impl Narrator {
    /// Prints to stdout, in colour when stdout is a terminal and `NO_COLOR` is not set.
    pub fn stdout() -> Narrator {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Narrator { color, print: true, preamble: String::new(), steps: Vec::new() }
    }

    /// Records plain text per step and prints nothing.
    pub fn capture() -> Narrator {
        Narrator { color: false, print: false, preamble: String::new(), steps: Vec::new() }
    }

    /// The steps recorded so far.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Everything before the first step (the title and set-up lines).
    pub fn preamble(&self) -> &str {
        &self.preamble
    }

    fn emit(&mut self, plain: &str, styled: String) {
        if self.print {
            print_line(if self.color { &styled } else { plain });
        }
        let sink = match self.steps.last_mut() {
            Some(step) => &mut step.text,
            None => &mut self.preamble,
        };
        sink.push_str(plain);
        sink.push('\n');
    }

    /// The lesson's title line.
    pub fn title(&mut self, title: &str) {
        let line = format!("=== {title} ===");
        self.emit(&line, line.bold().to_string());
    }

    /// Starts step N+1.
    pub fn step(&mut self, title: &str) {
        let number = self.steps.len() + 1;
        if self.print {
            print_line("");
        }
        self.steps.push(Step { number, title: title.to_string(), text: String::new() });
        let line = format!("Step {number}: {title}");
        self.emit(&line, line.bold().cyan().to_string());
    }

    /// A paragraph of explanation. Each line is indented by two spaces.
    pub fn say(&mut self, text: &str) {
        for line in text.lines() {
            let line = format!("  {line}");
            self.emit(&line, line.clone());
        }
    }

    /// A warning or a point to remember.
    pub fn note(&mut self, text: &str) {
        for line in text.lines() {
            let line = format!("  ! {line}");
            self.emit(&line, line.yellow().to_string());
        }
    }

    /// Shows a command as redis-cli would echo it, without running it.
    pub fn show_command(&mut self, args: &[&str]) {
        let line = format!("  redis> {}", cli_line(args));
        self.emit(&line, line.green().to_string());
    }

    /// Shows a reply as redis-cli prints it.
    pub fn show_reply(&mut self, reply: &Value) {
        for line in cli_reply(reply).lines() {
            let line = format!("  {line}");
            self.emit(&line, line.dimmed().to_string());
        }
    }

    /// Runs one command: prints it, sends it, prints the reply, and converts it to `T`.
    /// A Redis error reply is printed as `(error) ...` and then returned as an error.
    pub async fn redis<T: FromRedisValue, C: ConnectionLike>(
        &mut self,
        con: &mut C,
        args: &[&str],
    ) -> redis::RedisResult<T> {
        self.show_command(args);
        let cmd = super::command(args);
        let reply = match con.req_packed_command(&cmd).await {
            Ok(reply) => reply,
            Err(error) => {
                let line = format!("  (error) {error}");
                self.emit(&line, line.red().to_string());
                return Err(error);
            }
        };
        self.show_reply(&reply);
        if let Value::ServerError(error) = &reply {
            return Err(error.clone().into());
        }
        T::from_redis_value(reply).map_err(Into::into)
    }

    /// The closing block: commands to try by hand in redis-cli.
    pub fn try_it_yourself(&mut self, lines: &[&str]) {
        if self.print {
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

/// Prints one line to stdout. A closed stdout (`cargo run --example 02_expire | head`) is not an
/// error: the lesson carries on silently, so it still deletes the keys it wrote.
fn print_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// A command line as you would type it into redis-cli: arguments with spaces, quotes or
/// nothing in them are quoted.
pub fn cli_line(args: &[&str]) -> String {
    args.iter().map(|arg| cli_quote(arg)).collect::<Vec<_>>().join(" ")
}

fn cli_quote(arg: &str) -> String {
    let plain =
        !arg.is_empty() && arg.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\'' && c != '\\');
    if plain { arg.to_string() } else { escaped(arg.as_bytes()) }
}

/// `"..."` with redis-cli's escapes.
fn escaped(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// A reply as redis-cli prints it: `(integer) 3`, `"alice"`, `(nil)`, `1) ...`.
pub fn cli_reply(reply: &Value) -> String {
    match reply {
        Value::Nil => "(nil)".into(),
        Value::Int(n) => format!("(integer) {n}"),
        Value::BulkString(bytes) => escaped(bytes),
        Value::SimpleString(text) => text.clone(),
        Value::Okay => "OK".into(),
        Value::Double(d) => format!("(double) {d}"),
        Value::Boolean(b) => format!("(boolean) {b}"),
        Value::ServerError(error) => format!(
            "(error) {}",
            error
                .details()
                .map_or_else(|| error.code().to_string(), |details| format!("{} {details}", error.code()),)
        ),
        Value::Array(items) | Value::Set(items) => numbered(items.iter()),
        Value::Map(pairs) => numbered(pairs.iter().flat_map(|(k, v)| [k, v])),
        other => format!("{other:?}"),
    }
}

fn numbered<'a>(items: impl Iterator<Item = &'a Value>) -> String {
    let items: Vec<&Value> = items.collect();
    if items.is_empty() {
        return "(empty array)".into();
    }
    let width = items.len().to_string().len();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let label = format!("{:>width$}) ", i + 1);
        let indent = " ".repeat(label.len());
        for (j, line) in cli_reply(item).lines().enumerate() {
            out.push(if j == 0 { format!("{label}{line}") } else { format!("{indent}{line}") });
        }
    }
    out.join("\n")
}

/// Finds a Redis for a lesson (`REDIS_URL`, else 127.0.0.1:6379, else a private redis-server)
/// and says which. On failure prints why (with install instructions when redis-server is
/// missing) and returns `None`.
pub async fn connect_for_lesson(out: &mut Narrator) -> Option<crate::RedisHandle> {
    let url = std::env::var("REDIS_URL").ok().filter(|url| !url.is_empty());
    match crate::redis_conn::connect_or_start(url.as_deref(), std::time::Duration::from_secs(2)).await {
        Ok(handle) => {
            out.note(&handle.describe());
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
    lesson: impl AsyncFnOnce(&mut Narrator, &mut redis::aio::ConnectionManager) -> redis::RedisResult<()>,
) -> std::process::ExitCode {
    let mut out = Narrator::stdout();
    let Some(redis) = connect_for_lesson(&mut out).await else {
        return std::process::ExitCode::FAILURE;
    };
    let mut con = redis.manager.clone();
    match lesson(&mut out, &mut con).await {
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

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn replies_look_like_redis_cli() {
        assert_eq!(cli_reply(&Value::Int(3)), "(integer) 3");
        assert_eq!(cli_reply(&Value::Nil), "(nil)");
        assert_eq!(cli_reply(&Value::Okay), "OK");
        assert_eq!(cli_reply(&bulk("say \"hi\"\n")), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(cli_reply(&Value::Array(vec![])), "(empty array)");
        assert_eq!(
            cli_reply(&Value::Array(vec![bulk("user_id"), bulk("user_1")])),
            "1) \"user_id\"\n2) \"user_1\""
        );
        let nested = Value::Array(vec![Value::Int(1), Value::Array(vec![bulk("a"), bulk("b")])]);
        assert_eq!(cli_reply(&nested), "1) (integer) 1\n2) 1) \"a\"\n   2) \"b\"");
    }

    #[test]
    fn commands_are_quoted_like_redis_cli() {
        assert_eq!(cli_line(&["HSET", "k", "name", "Ada Lovelace"]), "HSET k name \"Ada Lovelace\"");
        assert_eq!(cli_line(&["SET", "k", ""]), "SET k \"\"");
        assert_eq!(cli_line(&["SET", "k", "{\"a\":1}"]), "SET k \"{\\\"a\\\":1}\"");
    }

    #[test]
    fn steps_are_recorded_with_names() {
        let mut narrator = Narrator::capture();
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
