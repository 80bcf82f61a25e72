//! Facts from transcripts: every count of round trips, and every list of the commands a route
//! sends, that the book, README, the lesson programs or the crate's docs state, is checked here
//! against what the code was seen to do.
//!
//! The sources of truth are snapshots, never a sentence:
//! - the table of every route's cost, `tests/snapshots/route_costs__route_costs.snap`, which
//!   `tests/route_costs.rs` counts over real HTTP on one Redis and on a cluster;
//! - the cost lines a lesson prints after a request (`[GET /hello: 1 round trip: HMGET EXPIRE
//!   PEXPIRETIME]`), which the narrator counts from what it forwarded (`Narrator::cost`).
//!
//! A sentence that states a count names its source with a tag right before the number, which
//! neither mdBook nor rustdoc shows: `<!-- cost: POST /login | a new session -->two round
//! trips`, `<!-- cost: POST /login | a new session | cluster -->four`, `<!-- cost: 08_your_app |
//! GET /hello -->one round trip`, or a difference, `<!-- cost: GET /profile | in the session's
//! last idle period minus GET /profile | a live session -->one more round trip`. A sentence that
//! lists what a route sends carries `<!-- sends: ROW -->` (or a `cost:` tag), and every Redis
//! command it names must be one that row sent or ran inside a script. In a table row (of the
//! book, or of a doc comment) a tag writes its `|` as `\|`, as a Markdown table requires of any
//! pipe in a cell: `<!-- cost: GET /sessions \| two sessions -->`. This test fails on:
//! - a count whose tag's source says another number;
//! - a count with no tag (however it is worded: "2 round trips", "two Redis round trips", "a
//!   single round trip");
//! - a tag naming a row or a cost line that no snapshot has;
//! - a sentence about a route (or the login, logout, renewal) that names two or more Redis
//!   commands without a tag, or names a command its tag's row never sent;
//! - in a lesson program, a count typed into text it prints (print `Narrator::cost` instead).
//!
//! An exercise's section states what the learner must write (a requirement, not a fact about the
//! code) and is not checked.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// What one row of the table, or one cost line, says.
#[derive(Clone, Debug, Default)]
struct Cost {
    round_trips: i64,
    /// How many commands were sent (a transaction's `MULTI` and `EXEC` included).
    sent: i64,
    /// On a cluster (route table only).
    cluster: Option<i64>,
    /// Every command sent, and every command run inside a script.
    commands: BTreeSet<String>,
}

/// Every fact, by its key: `POST /login | a new session`, `08_your_app | GET /hello`.
type Facts = BTreeMap<String, Cost>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The words of a Redis command list: upper-case words of the commands this project sends
/// (`TTL` is left out: it is far more often the idea than the command; `GET` before a path is
/// an HTTP method).
const COMMANDS: &[&str] = &[
    "DEL",
    "EVAL",
    "EVALSHA",
    "EXEC",
    "EXISTS",
    "EXPIRE",
    "EXPIREAT",
    "GET",
    "HGET",
    "HGETALL",
    "HMGET",
    "HSET",
    "INFO",
    "MULTI",
    "PEXPIRE",
    "PEXPIREAT",
    "PEXPIRETIME",
    "PTTL",
    "SET",
    "TIME",
    "UNLINK",
    "WAIT",
    "XADD",
    "XRANGE",
    "XREVRANGE",
    "ZADD",
    "ZCARD",
    "ZCOUNT",
    "ZRANGE",
    "ZREM",
    "ZREMRANGEBYSCORE",
    "ZSCORE",
    "LPUSH",
    "LTRIM",
    "LRANGE",
    "HINCRBY",
    "HDEL",
];

/// The route table's rows and every lesson's cost lines.
fn facts(snapshots: &Path) -> Facts {
    let mut facts = Facts::new();
    let table = fs::read_to_string(snapshots.join("route_costs__route_costs.snap"))
        .expect("tests/snapshots/route_costs__route_costs.snap (tests/route_costs.rs writes it)");
    for line in table.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<String> =
            line.replace("\\|", "\u{1}").split('|').map(|cell| cell.trim().replace('\u{1}', "|")).collect();
        // ["", route, case, status, round trips, cluster, sent, inside, ""]
        let [_, route, case, _, trips, cluster, sent, inside, ..] = cells.as_slice() else { continue };
        let commands = sent
            .split(['|', ' '])
            .chain(inside.split(' '))
            .filter(|w| COMMANDS.contains(w))
            .map(str::to_string);
        let sent_count = sent.split(['|', ' ']).filter(|w| COMMANDS.contains(w) || w == &"CLUSTER").count();
        let key = format!("{} | {case}", route.trim_matches('`'));
        let cost = Cost {
            round_trips: trips.parse().unwrap_or(-1),
            sent: sent_count as i64,
            cluster: cluster.parse().ok(),
            commands: commands.collect(),
        };
        assert!(facts.insert(key.clone(), cost).is_none(), "two rows of the route table are `{key}`");
    }
    let line =
        regex::Regex::new(r"^\s*\[(?P<label>[^\]]+?): (?P<n>\d+) round trips?(?:: (?P<sent>[^\]]*))?\]$")
            .expect("regex");
    for entry in fs::read_dir(snapshots).expect("snapshots") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let Some((lesson, _)) = name.split_once("__") else { continue };
        if !lesson.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for text in text.lines() {
            if let Some(found) = line.captures(text) {
                let commands: Vec<String> = found
                    .name("sent")
                    .map_or("", |m| m.as_str())
                    .split([' ', '|'])
                    .filter(|w| !w.is_empty())
                    .map(str::to_string)
                    .collect();
                let key = format!("{lesson} | {}", &found["label"]);
                let cost = Cost {
                    round_trips: found["n"].parse().unwrap_or(-1),
                    sent: commands.len() as i64,
                    cluster: None,
                    commands: commands.into_iter().collect(),
                };
                // The same label twice must have counted the same (a lesson may log in twice).
                if let Some(before) = facts.insert(key.clone(), cost.clone()) {
                    assert_eq!(
                        (before.round_trips, &before.commands),
                        (cost.round_trips, &cost.commands),
                        "two cost lines `{key}` disagree"
                    );
                }
            }
        }
    }
    facts
}

/// One unit of prose: a paragraph, a table row, a comment block or a printed string, with
/// where it starts.
struct Prose {
    place: String,
    text: String,
    /// Printed by a lesson program: a count here must come from the narrator.
    printed: bool,
}

/// The prose of a Markdown page: paragraphs and table rows, outside code fences, includes and
/// exercise sections.
fn markdown_prose(name: &str, text: &str) -> Vec<Prose> {
    let mut units = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut fenced = false;
    let mut exercise = false;
    let flush = |current: &mut Vec<&str>, start: usize, units: &mut Vec<Prose>| {
        if !current.is_empty() {
            units.push(Prose {
                place: format!("{name}:{}", start + 1),
                text: current.join(" "),
                printed: false,
            });
            current.clear();
        }
    };
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            flush(&mut current, start, &mut units);
            continue;
        }
        if trimmed.starts_with('#') {
            exercise = trimmed.starts_with("### Exercise");
        }
        if fenced || exercise || trimmed.starts_with("{{#") {
            flush(&mut current, start, &mut units);
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('|') || trimmed.starts_with('#') {
            flush(&mut current, start, &mut units);
            if !trimmed.is_empty() {
                units.push(Prose {
                    place: format!("{name}:{}", number + 1),
                    text: line.to_string(),
                    printed: false,
                });
            }
            continue;
        }
        if current.is_empty() {
            start = number;
        }
        current.push(line.trim());
    }
    flush(&mut current, start, &mut units);
    units
}

/// The prose of a Rust file: its comment blocks (`//`, `///`, `//!`, joined), and, in a lesson
/// program, every string literal it prints.
fn rust_prose(name: &str, text: &str, lesson_program: bool) -> Vec<Prose> {
    let literal = regex::Regex::new(r#""((?:[^"\\]|\\.)*)""#).expect("regex");
    let mut units = Vec::new();
    let mut block: Vec<String> = Vec::new();
    let mut start = 0;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let comment = ["//!", "///", "//"].iter().find_map(|prefix| trimmed.strip_prefix(prefix));
        match comment {
            Some(words) => {
                if block.is_empty() {
                    start = number;
                }
                block.push(words.trim().to_string());
            }
            None => {
                if !block.is_empty() {
                    units.push(Prose {
                        place: format!("{name}:{}", start + 1),
                        text: block.join(" "),
                        printed: false,
                    });
                    block.clear();
                }
                if lesson_program {
                    for found in literal.captures_iter(line) {
                        units.push(Prose {
                            place: format!("{name}:{}", number + 1),
                            text: found[1].to_string(),
                            printed: true,
                        });
                    }
                }
            }
        }
    }
    if !block.is_empty() {
        units.push(Prose { place: format!("{name}:{}", start + 1), text: block.join(" "), printed: false });
    }
    units
}

/// What a count phrase counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Counted {
    RoundTrips,
    Commands,
}

/// One count phrase: where it starts, its number, whether it says "more", what it counts.
#[derive(Clone, Copy, Debug)]
struct Phrase {
    at: usize,
    n: i64,
    more: bool,
    what: Counted,
}

/// `two round trips`, `**2** Redis round trips`, `one pipelined round trip`, `a single round
/// trip`, `both round trips`, `one more round trip`, `1 extra round trip`, `a round trip more`,
/// `ten commands`. "One command" and "a round trip" alone are left out: they name the idea
/// ("Redis runs one command at a time", "a round trip is one request and its reply"), not a
/// count of what the code sends.
static PHRASE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?i)(?:\*\*|\b)(?P<n>no|zero|one|a single|both|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\d+)(?:\*\*)?(?P<more>\s+(?:more|extra))?(?:\s+[\w-]+)?\s+(?P<what>round[- ]trips?|commands?)\b(?P<after>\s+more\b)?|\ba\s+(?P<single>round[- ]trip)\s+more\b",
    )
    .expect("regex")
});

fn counts(text: &str) -> Vec<Phrase> {
    PHRASE
        .captures_iter(text)
        .filter_map(|found| {
            let at = found.get(0).map_or(0, |m| m.start());
            if found.name("single").is_some() {
                return Some(Phrase { at, n: 1, more: true, what: Counted::RoundTrips });
            }
            let word = found["n"].to_lowercase();
            let what = if found["what"].to_lowercase().starts_with("command") {
                Counted::Commands
            } else {
                Counted::RoundTrips
            };
            // "No command", "one command", "a single command", "both commands": the idea.
            if what == Counted::Commands && ["no", "zero", "one", "a single", "both"].contains(&word.as_str())
            {
                return None;
            }
            let n = match word.as_str() {
                "no" | "zero" => 0,
                "one" | "a single" => 1,
                "two" | "both" => 2,
                "three" => 3,
                "four" => 4,
                "five" => 5,
                "six" => 6,
                "seven" => 7,
                "eight" => 8,
                "nine" => 9,
                "ten" => 10,
                "eleven" => 11,
                "twelve" => 12,
                digits => digits.parse().ok()?,
            };
            let more = found.name("more").is_some() || found.name("after").is_some();
            Some(Phrase { at, n, more, what })
        })
        .collect()
}

/// What a tag's key says: a row, a row on a cluster, or a difference of two.
fn value_of(key: &str, facts: &Facts, what: Counted) -> Result<(i64, BTreeSet<String>), String> {
    if let Some((minuend, subtrahend)) = key.split_once(" minus ") {
        let (a, commands) = value_of(minuend, facts, what)?;
        let (b, _) = value_of(subtrahend, facts, what)?;
        return Ok((a - b, commands));
    }
    let (key, cluster) = match key.strip_suffix(" | cluster") {
        Some(key) => (key, true),
        None => (key, false),
    };
    let cost = facts.get(key.trim()).ok_or_else(|| format!("no snapshot has the fact `{key}`"))?;
    let value = match (what, cluster) {
        (Counted::RoundTrips, false) => cost.round_trips,
        (Counted::RoundTrips, true) => {
            cost.cluster.ok_or_else(|| format!("`{key}` has no cluster figure"))?
        }
        (Counted::Commands, false) => cost.sent,
        (Counted::Commands, true) => return Err(format!("`{key}`: commands are counted on one Redis only")),
    };
    Ok((value, cost.commands.clone()))
}

/// Every problem in `units`.
fn problems(units: &[Prose], facts: &Facts) -> Vec<String> {
    let tag = regex::Regex::new(r"<!--\s*(?P<kind>cost|sends):\s*(?P<key>.*?)\s*-->").expect("regex");
    let command = regex::Regex::new(r"\b[A-Z]{3,}\b").expect("regex");
    let about_a_route =
        regex::Regex::new(r"(?i)(/login|/profile|/logout|/sessions|/reauth|/security-events|/hello|/health|\blog(?:in|out)\b|\brenewal\b)")
            .expect("regex");
    let mut found = Vec::new();
    for unit in units {
        let tags: Vec<(usize, usize, String, String)> = tag
            .captures_iter(&unit.text)
            .map(|c| {
                let whole = c.get(0).expect("match");
                // A tag in a table cell escapes its pipes (`\|`).
                (whole.start(), whole.end(), c["kind"].to_string(), c["key"].replace("\\|", "|"))
            })
            .collect();
        for Phrase { at, n, more, what } in counts(&unit.text) {
            // A heading names a step ("Step 6: ..."): the lesson's own words, checked where its
            // program prints them.
            if unit.text.trim_start().starts_with('#') {
                continue;
            }
            let counted = match what {
                Counted::RoundTrips => "round trip(s)",
                Counted::Commands => "command(s)",
            };
            if unit.printed {
                found.push(format!(
                    "{}: a lesson program prints a typed count ({n} {counted}): print Narrator::cost instead",
                    unit.place
                ));
                continue;
            }
            // The tag right before the phrase (only spaces and emphasis between).
            let before = unit.text[..at].trim_end_matches([' ', '*', '_', '(']);
            let Some((_, _, _, key)) =
                tags.iter().find(|(_, end, kind, _)| *end == before.len() && kind == "cost")
            else {
                let phrase: String = unit.text[at..].chars().take(40).collect();
                found.push(format!(
                    "{}: a count with no `<!-- cost: ... -->` tag: \"{phrase}...\"",
                    unit.place
                ));
                continue;
            };
            // "One more" is a difference: its tag must be one (`A minus B`). A difference may
            // also be stated without "more" (the index read: one of a route's round trips).
            if more && !key.contains(" minus ") {
                found.push(format!(
                    "{}: `{key}`: a count that says \"more\" needs a tag `A minus B`",
                    unit.place
                ));
                continue;
            }
            match value_of(key, facts, what) {
                Ok((value, _)) if value == n => {}
                Ok((value, _)) => found.push(format!(
                    "{}: says {n}{} {counted} where `{key}` says {value}",
                    unit.place,
                    if more { " more" } else { "" }
                )),
                Err(why) => found.push(format!("{}: {why}", unit.place)),
            }
        }
        // Lists of commands: sentence by sentence.
        let mut offset = 0;
        for sentence in unit.text.split_inclusive(". ") {
            let range = offset..offset + sentence.len();
            offset += sentence.len();
            let named: BTreeSet<&str> = command
                .find_iter(sentence)
                .filter(|m| !sentence[m.end()..].starts_with(" /"))
                .map(|m| m.as_str())
                .filter(|word| COMMANDS.contains(word))
                .collect();
            let tagged: Vec<&String> =
                tags.iter().filter(|(start, ..)| range.contains(start)).map(|(.., key)| key).collect();
            if tagged.is_empty() {
                if named.len() >= 2 && about_a_route.is_match(sentence) && !unit.printed {
                    found.push(format!(
                        "{}: names {named:?} for a route with no `<!-- sends: ... -->` tag: \"{}\"",
                        unit.place,
                        sentence.trim().chars().take(80).collect::<String>()
                    ));
                }
                continue;
            }
            let allowed: BTreeSet<String> = tagged
                .iter()
                .filter_map(|key| value_of(key, facts, Counted::RoundTrips).ok())
                .flat_map(|(_, commands)| commands)
                .collect();
            for word in named {
                if !allowed.contains(word) {
                    found.push(format!(
                        "{}: names {word}, which {} never sent nor ran: \"{}\"",
                        unit.place,
                        tagged.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
                        sentence.trim().chars().take(80).collect::<String>()
                    ));
                }
            }
            for key in tagged {
                if let Err(why) = value_of(key, facts, Counted::RoundTrips) {
                    found.push(format!("{}: {why}", unit.place));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(files(&path, extension));
        } else if path.extension().is_some_and(|ext| ext == extension) {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// The book, README, the lesson programs and the crate's own docs.
fn every_unit() -> Vec<Prose> {
    let root = root();
    let name = |path: &Path| path.strip_prefix(&root).unwrap_or(path).display().to_string();
    let mut units = Vec::new();
    for page in files(&root.join("book/src"), "md").into_iter().chain([root.join("README.md")]) {
        units.extend(markdown_prose(&name(&page), &fs::read_to_string(&page).expect("page")));
    }
    for program in files(&root.join("examples"), "rs") {
        units.extend(rust_prose(&name(&program), &fs::read_to_string(&program).expect("program"), true));
    }
    for source in files(&root.join("src"), "rs") {
        units.extend(rust_prose(&name(&source), &fs::read_to_string(&source).expect("source"), false));
    }
    units
}

#[test]
fn every_stated_count_agrees_with_the_snapshots() {
    let facts = facts(&root().join("tests/snapshots"));
    assert!(
        facts.contains_key("GET /profile | a live session"),
        "the route table is missing or changed shape"
    );
    let found = problems(&every_unit(), &facts);
    assert!(found.is_empty(), "{} sentences disagree with the snapshots:\n{}", found.len(), found.join("\n"));
}

#[test]
fn the_fact_check_catches_a_wrong_count_an_untagged_one_and_a_wrong_command() {
    let mut facts = Facts::new();
    let profile = Cost {
        round_trips: 1,
        sent: 3,
        cluster: Some(1),
        commands: ["HMGET", "EXPIRE", "PEXPIRETIME"].map(String::from).into(),
    };
    facts.insert("GET /profile | a live session".into(), profile.clone());
    facts.insert("GET /profile | last idle period".into(), Cost { round_trips: 2, ..profile });
    facts.insert("08_your_app | GET /hello".into(), Cost { round_trips: 1, ..Cost::default() });
    let page = "\
Reading costs <!-- cost: GET /profile | a live session -->one round trip.\n\n\
Reading costs <!-- cost: GET /profile | a live session -->two round trips.\n\n\
Reading costs one round trip, they say.\n\n\
In its last idle period, <!-- cost: GET /profile | last idle period minus GET /profile | a live session -->one more round trip.\n\n\
`/hello` costs <!-- cost: 08_your_app | GET /hello -->**one** round trip.\n\n\
<!-- sends: GET /profile | a live session -->`GET /profile` sends `HMGET`, `EXPIRE` and `PEXPIRETIME`.\n\n\
<!-- sends: GET /profile | a live session -->`GET /hello` costs one `EVALSHA`, a `HMGET` inside.\n\n\
Logout sends `MULTI`, `DEL` and `EXEC`.\n\n\
| `GET /profile` | <!-- cost: GET /profile \\| a live session -->1 round trip: `HMGET`, `EXPIRE` |\n\n\
<!-- cost: POST /nowhere | never -->one round trip.\n\n\
Reading costs <!-- cost: GET /profile | a live session -->**two** round trips.\n\n\
It is one pipelined round trip, and both round trips of the login.\n\n\
It sends <!-- cost: GET /profile | a live session -->four commands, and a round trip more.\n\n\
Then <!-- cost: GET /profile | last idle period -->one more round trip.\n\n\
### Exercise 02c: many TTLs\n\nIn one round trip, with `TTL` and `PTTL` for the logout.\n\n\
### Not an exercise\n\nLogin costs three round trips.\n";
    let units = markdown_prose("page.md", page);
    let program = rust_prose("lesson.rs", "    out.say(\"/hello costs 2 round trips\");\n", true);
    let found = problems(&units.into_iter().chain(program).collect::<Vec<_>>(), &facts);
    let expected = [
        "lesson.rs:1: a lesson program prints a typed count",
        "page.md:13: names EVALSHA",
        "page.md:15: names {\"DEL\", \"EXEC\", \"MULTI\"} for a route with no",
        "page.md:19: no snapshot has the fact `POST /nowhere | never`",
        "page.md:21: says 2 round trip(s) where `GET /profile | a live session` says 1",
        "page.md:23: a count with no `<!-- cost: ... -->` tag: \"both round trips",
        "page.md:23: a count with no `<!-- cost: ... -->` tag: \"one pipelined round trip",
        "page.md:25: a count with no `<!-- cost: ... -->` tag: \"a round trip more",
        "page.md:25: says 4 command(s) where `GET /profile | a live session` says 3",
        "page.md:27: `GET /profile | last idle period`: a count that says \"more\" needs a tag",
        "page.md:35: a count with no `<!-- cost: ... -->` tag: \"three round trips",
        "page.md:3: says 2 round trip(s) where `GET /profile | a live session` says 1",
        "page.md:5: a count with no `<!-- cost: ... -->` tag",
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for (problem, start) in found.iter().zip(expected) {
        assert!(problem.starts_with(start), "{problem:?} should start with {start:?}");
    }
}
