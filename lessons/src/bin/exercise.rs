//! `cargo exercise`: the exercise loop.
//!
//! ```text
//! cargo exercise            every exercise, done or not, and the next one to do
//! cargo exercise 02b        check one exercise; say what is missing or what differs
//! cargo exercise hint 02b   a nudge (level 1)
//! cargo exercise hint 02b more     the commands, API and shape, without code (level 2)
//! cargo exercise hint 02b answer   the answer: a few words and the whole listing (level 3)
//! ```
//!
//! A check runs the exercise's test (in `lessons/tests/exercises/`: `main.rs` and the lesson's
//! `lNN.rs`) with `INSTA_UPDATE=no`, so a wrong answer never writes a snapshot, and shows only
//! what matters: the `TODO` still to do, or the difference from the expected answer, or the
//! compiler's errors.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use lessons::{EXERCISES, Exercise};

/// What a check found.
enum Outcome {
    Done,
    NotStarted,
    Wrong(String),
    DoesNotCompile(String),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] | ["list"] => list(),
        ["hint", id] => hint(id, Level::Nudge),
        ["hint", id, "more"] => hint(id, Level::More),
        ["hint", id, "answer"] => hint(id, Level::Answer),
        [id] => check(id),
        _ => {
            eprintln!("usage: cargo exercise [ID | hint ID [more | answer]]   (IDs look like 02b)");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    // lessons/ is one level below the repository root.
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn find(id: &str) -> Option<&'static Exercise> {
    let id = id.trim_start_matches("ex");
    EXERCISES.iter().find(|exercise| exercise.id == id)
}

/// `file:line` of the exercise's `todo!()`, or of its anchor once the `todo!()` is gone.
fn location(exercise: &Exercise) -> String {
    let text = std::fs::read_to_string(root().join(exercise.file)).unwrap_or_default();
    let todo = format!("todo!(\"exercise {}", exercise.id);
    let anchor = format!("ANCHOR: ex{}", exercise.id);
    let line = text
        .lines()
        .position(|line| line.contains(&todo))
        .or_else(|| text.lines().position(|line| line.contains(&anchor)))
        .map_or(1, |index| index + 1);
    format!("{}:{line}", exercise.file)
}

/// Runs the exercise checks named by `filter` (all of them when empty) and returns the output.
/// With a `lesson` (`"04"`), only that lesson's file is compiled (its feature `l04`), so another
/// lesson's file that does not compile yet cannot stop the check.
fn run_tests(filter: &[&str], lesson: Option<&str>) -> (bool, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(root()).args(["test", "-p", "lessons", "--test", "exercises", "--color", "never"]);
    if let Some(lesson) = lesson {
        command.args(["--no-default-features", "--features", &format!("l{lesson}")]);
    }
    command
        .arg("--")
        .args(filter)
        .env("INSTA_UPDATE", "no")
        .env("INSTA_FORCE_PASS", "0")
        .env("RUST_BACKTRACE", "0")
        .env("NO_COLOR", "1");
    if filter.len() == 1 {
        command.arg("--exact");
    }
    match command.output() {
        Ok(output) => {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            (output.status.success(), text)
        }
        Err(error) => (false, format!("could not run cargo: {error}")),
    }
}

/// The part of a test's output that is about `test`.
fn section<'a>(output: &'a str, test: &str) -> &'a str {
    let start = format!("---- {test} stdout ----");
    let own = match output.split_once(&start) {
        Some((_, rest)) => rest.split("\n---- ").next().unwrap_or(rest),
        None => output,
    };
    own.split("\nfailures:").next().unwrap_or(own)
}

/// Whether cargo stopped because something did not compile.
fn does_not_compile(output: &str) -> bool {
    output.contains("error[E")
        || output.contains("error: could not compile")
        || output.contains("error: expected")
}

/// The lesson an exercise belongs to: `"04"` for `04a`.
fn lesson_of(exercise: &Exercise) -> &'static str {
    exercise.id.get(..2).unwrap_or(exercise.id)
}

fn outcome(exercise: &Exercise, passed: bool, output: &str) -> Outcome {
    if does_not_compile(output) {
        return Outcome::DoesNotCompile(compiler_errors(output));
    }
    let own = section(output, exercise.test);
    if passed || output.contains(&format!("test {} ... ok", exercise.test)) {
        Outcome::Done
    } else if own.contains(&format!("not yet implemented: exercise {}", exercise.id)) {
        Outcome::NotStarted
    } else {
        Outcome::Wrong(difference(own))
    }
}

/// The compiler's errors, without cargo's progress lines.
fn compiler_errors(output: &str) -> String {
    output
        .lines()
        .skip_while(|line| !line.starts_with("error") && !line.starts_with("warning"))
        .filter(|line| !line.trim_start().starts_with("Compiling") && !line.contains("could not compile"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// insta's comparison of the expected answer (-) with yours (+), its sides named plainly,
/// without its advice about
/// accepting snapshots (the answer key is not yours to change) and without panic noise.
fn difference(output: &str) -> String {
    let noise = [
        "cargo insta",
        "INSTA_",
        "Stopped on the first failure",
        "snapshot assertion for",
        "note: run with",
        "stack backtrace",
        "thread '",
    ];
    let lines: Vec<&str> = output
        .lines()
        .filter(|line| !noise.iter().any(|n| line.contains(n)))
        .filter(|l| !l.trim().is_empty())
        .collect();
    if lines.is_empty() {
        return "(no difference was shown: the check stopped with a panic; run it directly with \
                `cargo test -p lessons --test exercises` to see it)"
            .into();
    }
    // insta labels the sides "old snapshot" and "new results"; here the old snapshot is the
    // answer key and the new results are the learner's, so say that, on the lines themselves.
    let lines: Vec<String> = lines.iter().map(|line| name_the_sides(line)).collect();
    format!("Expected (-, the answer key) against yours (+, what your code did):\n{}", lines.join("\n"))
}

/// insta's diff header with its sides named for a learner.
fn name_the_sides(line: &str) -> String {
    line.replace("-old snapshot", "-expected (the answer key)")
        .replace("+new results", "+yours (what your code did)")
}

fn check(id: &str) -> ExitCode {
    let Some(exercise) = find(id) else {
        eprintln!("no exercise {id:?}; `cargo exercise` lists them all");
        return ExitCode::FAILURE;
    };
    let (passed, output) = run_tests(&[exercise.test], Some(lesson_of(exercise)));
    match outcome(exercise, passed, &output) {
        Outcome::Done => {
            println!("✓ exercise {}: {} — done.", exercise.id, exercise.title);
            if let Some(next) = next_after(exercise) {
                println!("  Next: cargo exercise {} ({})", next.id, next.title);
            }
            ExitCode::SUCCESS
        }
        Outcome::NotStarted => {
            println!("✗ exercise {}: {} — not started yet.", exercise.id, exercise.title);
            println!("  Replace the todo!() at {} where its TODO says.", location(exercise));
            println!("  Stuck? cargo exercise hint {}", exercise.id);
            ExitCode::FAILURE
        }
        Outcome::Wrong(difference) => {
            println!("{difference}");
            println!();
            println!("✗ exercise {}: {} — not right yet.", exercise.id, exercise.title);
            println!("  Above: what the check expected (-) and what your code did (+).");
            println!("  Your code: {}. Stuck? cargo exercise hint {}", location(exercise), exercise.id);
            ExitCode::FAILURE
        }
        Outcome::DoesNotCompile(errors) => {
            println!("{errors}");
            println!();
            println!("✗ {} does not compile yet: fix the errors above first.", exercise.file);
            println!(
                "  Only lesson {}'s exercises wait for it; the others check as usual.",
                lesson_of(exercise)
            );
            ExitCode::FAILURE
        }
    }
}

fn next_after(exercise: &Exercise) -> Option<&'static Exercise> {
    let index = EXERCISES.iter().position(|e| e.id == exercise.id)?;
    EXERCISES.get(index + 1)
}

fn list() -> ExitCode {
    // Every lesson at once, the quick way; if something does not compile, one lesson at a
    // time, so that the others are still checked and the broken file is named.
    let (_, all) = run_tests(&[], None);
    let everything_compiles = !does_not_compile(&all);
    let mut per_lesson: std::collections::BTreeMap<&str, String> = std::collections::BTreeMap::new();
    let mut broken: Vec<&str> = Vec::new();
    let mut next = None;
    let mut done = 0;
    for exercise in EXERCISES {
        let output: &str = if everything_compiles {
            &all
        } else {
            per_lesson
                .entry(lesson_of(exercise))
                .or_insert_with(|| run_tests(&[], Some(lesson_of(exercise))).1)
        };
        let passed = output.contains(&format!("test {} ... ok", exercise.test));
        let (mark, state) = match outcome(exercise, passed, output) {
            Outcome::Done => {
                done += 1;
                ("✓", "done")
            }
            Outcome::NotStarted => ("·", "not started"),
            Outcome::Wrong(_) => ("✗", "not right yet"),
            Outcome::DoesNotCompile(_) => {
                if !broken.contains(&exercise.file) {
                    broken.push(exercise.file);
                }
                ("✗", "does not compile")
            }
        };
        if state != "done" && next.is_none() {
            next = Some(exercise);
        }
        println!("{mark} {}  {:<48} {state}", exercise.id, exercise.title);
    }
    println!();
    for file in &broken {
        println!(
            "✗ {file} does not compile yet; `cargo exercise ID` for one of its exercises shows the errors."
        );
    }
    println!("{done} of {} done.", EXERCISES.len());
    match next {
        Some(exercise) => {
            println!("Next: cargo exercise {}   ({})", exercise.id, location(exercise));
            ExitCode::FAILURE
        }
        None => {
            println!("All done. The book's chapters show the service's own code for each one.");
            ExitCode::SUCCESS
        }
    }
}

/// The three hint levels, each a file in `lessons/hints/<id>/`.
#[derive(Clone, Copy)]
enum Level {
    /// `nudge.md`: where to look.
    Nudge,
    /// `more.md`: which commands, API and types, and the shape of the answer, without code.
    More,
    /// `answer.md`: the answer itself, a few words and the whole listing (which CI compiles and checks).
    Answer,
}

fn hint(id: &str, level: Level) -> ExitCode {
    let Some(exercise) = find(id) else {
        eprintln!("no exercise {id:?}; `cargo exercise` lists them all");
        return ExitCode::FAILURE;
    };
    let (file, label, next) = match level {
        Level::Nudge => ("nudge", "hint 1 of 3", Some("more")),
        Level::More => ("more", "hint 2 of 3", Some("answer")),
        Level::Answer => ("answer", "hint 3 of 3, the answer", None),
    };
    let path = root().join("lessons/hints").join(exercise.id).join(format!("{file}.md"));
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            println!("Hint for {} ({}), {label}:\n", exercise.id, exercise.title);
            println!("{}", text.trim_end());
            if let Some(next) = next {
                println!("\nStill stuck? cargo exercise hint {} {next}", exercise.id);
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{}: {error}", path.display());
            ExitCode::FAILURE
        }
    }
}
