//! The book shows only tested code and output, through `{{#include ...}}`. mdBook prints
//! nothing (and builds happily) when an include's anchor is missing, so this test checks every
//! include: the file exists, the anchor or line range exists and is not empty, a snapshot is
//! included past its insta header, every lesson program is included by some chapter, and every
//! page and picture the book links to exists, every link to a section finds its heading, and no
//! page runs past about 600 lines once its includes are expanded.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// One problem found in the book.
type Problem = String;

fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files.extend(markdown_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "md") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The lines between `ANCHOR: name` and `ANCHOR_END: name`, without other anchor lines, as
/// mdBook includes them; `None` when the anchor is not there.
fn anchored<'a>(text: &'a str, anchor: &str) -> Option<Vec<&'a str>> {
    let is_marker = |line: &str, marker: &str| {
        line.trim_start().trim_start_matches("//").trim_start_matches('#').trim().strip_prefix(marker)
            == Some(anchor)
    };
    let mut lines = text.lines();
    lines.find(|line| is_marker(line, "ANCHOR: "))?;
    let mut body = Vec::new();
    for line in lines {
        if is_marker(line, "ANCHOR_END: ") {
            return Some(body.into_iter().filter(|l: &&str| !l.contains("ANCHOR")).collect());
        }
        body.push(line);
    }
    None
}

/// Checks every `{{#include}}` in `book_src`; returns the problems and the files included.
fn check_includes(book_src: &Path) -> (Vec<Problem>, BTreeSet<PathBuf>) {
    let pattern = regex::Regex::new(r"\{\{#(?:include|rustdoc_include)\s+([^}\s]+)\s*\}\}").expect("regex");
    let mut problems = Vec::new();
    let mut included = BTreeSet::new();
    for chapter in markdown_files(book_src) {
        let text = fs::read_to_string(&chapter).expect("chapter");
        let dir = chapter.parent().expect("chapter dir");
        let name = chapter.strip_prefix(book_src).unwrap_or(&chapter).display().to_string();
        for captures in pattern.captures_iter(&text) {
            let spec = &captures[1];
            let (file, selector) = match spec.split_once(':') {
                Some((file, rest)) => (file, Some(rest)),
                None => (spec, None),
            };
            let path = dir.join(file);
            let Ok(content) = fs::read_to_string(&path) else {
                problems.push(format!("{name}: {{{{#include {spec}}}}}: no such file"));
                continue;
            };
            if let Ok(canonical) = path.canonicalize() {
                included.insert(canonical);
            }
            let selected: Vec<&str> = match selector {
                None => content.lines().collect(),
                Some(range) if range.chars().next().is_some_and(|c| c.is_ascii_digit() || c == ':') => {
                    let mut bounds = range.splitn(2, ':');
                    let start: usize = bounds.next().and_then(|s| s.parse().ok()).unwrap_or(1);
                    let end: Option<usize> = bounds.next().and_then(|s| s.parse().ok());
                    let lines: Vec<&str> = content.lines().collect();
                    if file.ends_with(".snap") {
                        // Line 1 opens the header with `---`; the included range starts right after the
                        // line that closes it.
                        let header_ok = lines.first() == Some(&"---")
                            && start >= 3
                            && lines.get(start - 2) == Some(&"---");
                        if !header_ok {
                            problems.push(format!(
                                "{name}: {spec}: must start right after the snapshot's insta header"
                            ));
                        }
                    } else {
                        problems.push(format!(
                            "{name}: {spec}: source code is included by anchor, not by line number"
                        ));
                    }
                    let end = end.unwrap_or(lines.len()).min(lines.len());
                    lines.get(start.saturating_sub(1)..end).map(<[&str]>::to_vec).unwrap_or_default()
                }
                Some(anchor) => match anchored(&content, anchor) {
                    Some(lines) => lines,
                    None => {
                        problems.push(format!("{name}: {spec}: no anchor `{anchor}` in {file}"));
                        continue;
                    }
                },
            };
            if selected.iter().all(|line| line.trim().is_empty()) {
                problems.push(format!("{name}: {spec}: includes nothing"));
            }
        }
    }
    (problems, included)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_include_resolves_to_something() {
    let (problems, included) = check_includes(&root().join("book/src"));
    assert!(problems.is_empty(), "broken includes:\n{}", problems.join("\n"));
    assert!(included.len() >= 20, "the book includes only {} files", included.len());
}

#[test]
fn every_lesson_program_is_in_the_book() {
    let (_, included) = check_includes(&root().join("book/src"));
    let mut missing = Vec::new();
    for entry in fs::read_dir(root().join("examples")).expect("examples") {
        let path = entry.expect("entry").path().canonicalize().expect("canonical");
        if path.extension().is_some_and(|ext| ext == "rs") && !included.contains(&path) {
            missing.push(path.display().to_string());
        }
    }
    assert!(missing.is_empty(), "examples no chapter includes: {missing:?}");
}

#[test]
fn every_page_and_picture_exists() {
    let src = root().join("book/src");
    let link = regex::Regex::new(r"\]\(([^)#\s]+\.(?:md|svg|png))\)").expect("regex");
    let summary = fs::read_to_string(src.join("SUMMARY.md")).expect("SUMMARY.md");
    let mut missing = Vec::new();
    for chapter in markdown_files(&src) {
        let text = fs::read_to_string(&chapter).expect("chapter");
        for captures in link.captures_iter(&text) {
            let target = chapter.parent().expect("dir").join(&captures[1]);
            if !target.exists() {
                missing.push(format!("{} -> {}", chapter.display(), &captures[1]));
            }
        }
    }
    assert!(missing.is_empty(), "broken links: {missing:?}");
    for page in [
        "introduction.md",
        "01-hash-basics.md",
        "02-expire.md",
        "03-sliding-ttl.md",
        "04-cookie-flow.md",
        "05-full-server.md",
        "06-every-device.md",
        "07-scale-out.md",
        "01-hash-basics-2.md",
        "02-expire-2.md",
        "03-sliding-ttl-2.md",
        "04-cookie-flow-2.md",
        "05-full-server-2.md",
        "05-full-server-3.md",
        "06-every-device-2.md",
        "07-scale-out-2.md",
        "08-your-app.md",
        "09-rate-limit.md",
        "10-security-log.md",
        "10-security-log-2.md",
        "11-your-data.md",
        "11-your-data-2.md",
        "11-your-data-3.md",
        "11-your-data-4.md",
        "explore-redis.md",
        "production-notes.md",
        "performance.md",
    ] {
        assert!(summary.contains(&format!("({page})")), "SUMMARY.md does not list {page}");
    }
}

/// The checker itself must be able to fail: a renamed anchor, a missing file, an empty range
/// and a line-number include of source code are all reported.
#[test]
fn the_checker_catches_broken_includes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    fs::create_dir(&src).expect("src");
    fs::write(
        dir.path().join("code.rs"),
        "// ANCHOR: real\nfn f() {}\n// ANCHOR_END: real\n// ANCHOR: empty\n// ANCHOR_END: empty\n",
    )
    .expect("code");
    fs::write(dir.path().join("out.snap"), "---\nsource: x\n---\nStep 1\n").expect("snap");
    fs::write(
        src.join("chapter.md"),
        "{{#include ../code.rs:real}}\n{{#include ../code.rs:renamed}}\n{{#include ../code.rs:empty}}\n\
         {{#include ../missing.rs:real}}\n{{#include ../code.rs:2:2}}\n{{#include ../out.snap:4:}}\n{{#include ../out.snap:2:}}\n",
    )
    .expect("chapter");
    let (problems, included) = check_includes(&src);
    let problems = problems.join("\n");
    assert!(problems.contains("no anchor `renamed`"), "{problems}");
    assert!(problems.contains("code.rs:empty: includes nothing"), "{problems}");
    assert!(problems.contains("missing.rs:real}}: no such file"), "{problems}");
    assert!(problems.contains("code.rs:2:2: source code is included by anchor"), "{problems}");
    assert!(problems.contains("out.snap:2:: must start right after"), "{problems}");
    assert!(!problems.contains("out.snap:4:"), "{problems}");
    assert_eq!(problems.lines().count(), 5, "{problems}");
    assert_eq!(included.len(), 2);
}

/// Every `{{#include path[:anchor]}}` target in `text`, with the line it is on.
fn include_targets(text: &str) -> Vec<(usize, String)> {
    let include = regex::Regex::new(r"\{\{#include ([^}\s]+)\}\}").expect("regex");
    text.lines()
        .enumerate()
        .flat_map(|(line, content)| {
            include.captures_iter(content).map(move |c| (line, c[1].to_string())).collect::<Vec<_>>()
        })
        .collect()
}

/// What an exercise section includes that is its answer: everything but the starter
/// (`lessons/src/exNN_*.rs`), its answer key's snapshot and its hints.
fn is_answer(target: &str) -> bool {
    !(target.contains("lessons/src/ex")
        || target.contains("lessons/tests/snapshots/")
        || target.contains("lessons/hints/"))
}

/// For chapters given in reading order, every answer listing shown before its exercise:
/// "(exercise, chapter, line)" of the early include.
fn answers_before_their_exercise(chapters: &[(String, String)]) -> Vec<String> {
    let heading = regex::Regex::new(r"^### Exercise (\d\d[a-z])").expect("regex");
    // Every include in reading order: (chapter index, line, target).
    let mut seen: Vec<(usize, usize, String)> = Vec::new();
    let mut problems = Vec::new();
    for (index, (name, text)) in chapters.iter().enumerate() {
        let lines: Vec<&str> = text.lines().collect();
        let targets = include_targets(text);
        for (start, line) in lines.iter().enumerate() {
            let Some(id) = heading.captures(line).map(|c| c[1].to_string()) else { continue };
            let end = lines[start + 1..]
                .iter()
                .position(|l| l.starts_with("## ") || l.starts_with("### "))
                .map_or(lines.len(), |offset| start + 1 + offset);
            for (_, target) in targets.iter().filter(|(l, t)| (start..end).contains(l) && is_answer(t)) {
                let early = seen
                    .iter()
                    .chain(
                        targets
                            .iter()
                            .filter(|(l, _)| *l < start)
                            .map(|(l, t)| (index, *l, t.clone()))
                            .collect::<Vec<_>>()
                            .iter(),
                    )
                    .find(|(_, _, t)| t == target)
                    .map(|(chapter, line, _)| (chapter.to_owned(), line.to_owned()));
                if let Some((chapter, line)) = early {
                    problems.push(format!(
                        "{id}: {target} is shown in {} line {} before the exercise in {name}",
                        chapters[chapter].0,
                        line + 1
                    ));
                }
            }
        }
        seen.extend(targets.into_iter().map(|(line, target)| (index, line, target)));
    }
    problems
}

/// The chapters in the order SUMMARY.md lists them.
fn chapters_in_order(book_src: &Path) -> Vec<(String, String)> {
    let summary = fs::read_to_string(book_src.join("SUMMARY.md")).expect("SUMMARY.md");
    let link = regex::Regex::new(r"\]\(([^)]+\.md)\)").expect("regex");
    link.captures_iter(&summary)
        .map(|c| {
            let name = c[1].to_string();
            let text = fs::read_to_string(book_src.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, text)
        })
        .collect()
}

#[test]
fn no_chapter_shows_an_exercise_answer_before_the_exercise() {
    let problems = answers_before_their_exercise(&chapters_in_order(&root().join("book/src")));
    assert!(problems.is_empty(), "answers shown before their exercise:\n{}", problems.join("\n"));
}

#[test]
fn the_answer_order_check_catches_an_early_answer() {
    let step = "## Step 1\n{{#include ../../src/store/touch.rs:touch}}\n".to_string();
    let exercise = "### Exercise 03a: renew\n{{#include ../../lessons/src/ex03_sliding_ttl.rs:ex03a}}\n\
                    {{#include ../../lessons/hints/03a/nudge.md}}\n{{#include ../../src/store/touch.rs:touch}}\n";
    let early = [("a.md".to_string(), step.clone()), ("b.md".to_string(), exercise.to_string())];
    assert_eq!(answers_before_their_exercise(&early).len(), 1, "an answer in an earlier chapter");
    let same = [("a.md".to_string(), format!("{step}{exercise}"))];
    assert_eq!(answers_before_their_exercise(&same).len(), 1, "an answer earlier in the same chapter");
    let after = [("a.md".to_string(), format!("{exercise}{step}"))];
    assert!(answers_before_their_exercise(&after).is_empty(), "an answer after its exercise is fine");
}

/// `text` (a page at `dir`) as a reader sees it: every `{{#include}}` replaced by what it
/// includes (a whole file, an anchor or a line range; an included Markdown file expanded too).
fn expanded(text: &str, dir: &Path) -> Vec<String> {
    let pattern = regex::Regex::new(r"\{\{#(?:include|rustdoc_include)\s+([^}\s]+)\s*\}\}").expect("regex");
    let mut lines = Vec::new();
    for line in text.lines() {
        let Some(captures) = pattern.captures(line) else {
            lines.push(line.to_string());
            continue;
        };
        let spec = &captures[1];
        let (file, selector) = spec.split_once(':').map_or((spec, None), |(f, s)| (f, Some(s)));
        let path = dir.join(file);
        let included = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let parts: Vec<String> = match selector {
            None if file.ends_with(".md") => expanded(&included, path.parent().expect("dir")),
            None => included.lines().map(str::to_string).collect(),
            Some(range) if range.starts_with(|c: char| c.is_ascii_digit()) => {
                let (from, to) = range.split_once(':').unwrap_or((range, range));
                let from: usize = from.parse().expect("line number");
                let all: Vec<&str> = included.lines().collect();
                let to = to.parse().unwrap_or(all.len()).min(all.len());
                all[from.saturating_sub(1)..to].iter().map(|l| l.to_string()).collect()
            }
            Some(anchor) => {
                anchored(&included, anchor).unwrap_or_default().into_iter().map(str::to_string).collect()
            }
        };
        lines.extend(parts);
    }
    lines
}

/// "About 600 lines" (the learning issue): a page longer than this, includes expanded, is split
/// into parts that each end with their exercises.
const LONGEST_PAGE: usize = 600;

/// Pages of `book_src` longer than `limit` lines with their includes expanded: "name: lines".
fn pages_longer_than(book_src: &Path, limit: usize) -> Vec<String> {
    chapters_in_order(book_src)
        .into_iter()
        .map(|(name, text)| (expanded(&text, book_src).len(), name))
        .filter(|(lines, _)| *lines > limit)
        .map(|(lines, name)| format!("{name}: {lines} lines"))
        .collect()
}

#[test]
fn no_chapter_runs_past_about_600_lines() {
    let long = pages_longer_than(&root().join("book/src"), LONGEST_PAGE);
    assert!(long.is_empty(), "pages over {LONGEST_PAGE} lines with includes expanded:\n{}", long.join("\n"));
}

#[test]
fn the_length_check_counts_included_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src");
    fs::create_dir_all(&src).expect("src");
    fs::write(
        dir.path().join("long.rs"),
        "// ANCHOR: body\n".to_string() + &"x\n".repeat(50) + "// ANCHOR_END: body\n",
    )
    .expect("source");
    fs::write(src.join("SUMMARY.md"), "- [Short](short.md)\n- [Long](long.md)\n").expect("summary");
    fs::write(src.join("short.md"), "# Short\n{{#include ../long.rs:body}}\n").expect("short");
    fs::write(src.join("long.md"), "# Long\n{{#include ../long.rs:body}}\n{{#include ../long.rs:2:20}}\n")
        .expect("long");
    // short.md is 51 lines once expanded, long.md 70: only long.md is over 60.
    assert_eq!(pages_longer_than(&src, 60), vec!["long.md: 70 lines".to_string()]);
}

/// mdBook's id for a heading: its text lower-cased, spaces to `-`, only letters, digits, `-`
/// and `_` kept (so `` `GET /profile` `` gives `get-profile`).
fn heading_id(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|c| match c {
            c if c.is_whitespace() => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect::<String>()
        .to_lowercase()
}

/// Links to a section (`page.md#id` or `#id`) whose page has no heading with that id.
fn broken_section_links(book_src: &Path) -> Vec<String> {
    let link = regex::Regex::new(r"\]\(([^)#\s]*\.md)?#([^)\s]+)\)").expect("regex");
    let ids = |page: &Path| -> BTreeSet<String> {
        let text = fs::read_to_string(page).unwrap_or_default();
        let mut fenced = false;
        let mut ids = BTreeSet::new();
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
            } else if !fenced && line.starts_with('#') {
                ids.insert(heading_id(line.trim_start_matches('#')));
            }
        }
        ids
    };
    let mut broken = Vec::new();
    for page in markdown_files(book_src) {
        let text = fs::read_to_string(&page).expect("page");
        for captures in link.captures_iter(&text) {
            let target =
                captures.get(1).map_or(page.clone(), |m| page.parent().expect("dir").join(m.as_str()));
            if !ids(&target).contains(&captures[2]) {
                let name = page.strip_prefix(book_src).unwrap_or(&page).display().to_string();
                let page_part = captures.get(1).map_or("", |m| m.as_str());
                broken.push(format!("{name} -> {page_part}#{}", &captures[2]));
            }
        }
    }
    broken
}

#[test]
fn every_link_to_a_section_finds_its_heading() {
    let broken = broken_section_links(&root().join("book/src"));
    assert!(broken.is_empty(), "links to a section that is not there:\n{}", broken.join("\n"));
}

#[test]
fn the_section_link_check_catches_a_moved_section() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(
        dir.path().join("a.md"),
        "# A\n## Step 5: the absolute cap\n[here](#step-5-the-absolute-cap)\n",
    )
    .expect("a");
    fs::write(
        dir.path().join("b.md"),
        "# B\n[cap](a.md#step-5-the-absolute-cap) [gone](a.md#step-6-moved)\n",
    )
    .expect("b");
    assert_eq!(broken_section_links(dir.path()), vec!["b.md -> a.md#step-6-moved".to_string()]);
    assert_eq!(
        heading_id(" `Authenticated`: what every session route takes first"),
        "authenticated-what-every-session-route-takes-first"
    );
}

/// The lines of exercise `id`'s answer worth looking for elsewhere: the code of its answer hint
/// (`lessons/hints/<id>/answer.md`, the code the learner is to write), trimmed, at least 16
/// characters long, and not lines the starter shows anyway (its signature, its imports).
fn answer_lines(id: &str) -> BTreeSet<String> {
    let root = root();
    let mut code = Vec::new();
    let hint = fs::read_to_string(root.join(format!("lessons/hints/{id}/answer.md"))).unwrap_or_default();
    let mut inside = false;
    for line in hint.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
        } else if inside {
            code.push(line.to_string());
        }
    }
    let starter = fs::read_dir(root.join("lessons/src"))
        .expect("lessons/src")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("ex{}", &id[..2])))
        })
        .map(|path| committed(&path))
        .collect::<String>();
    let shown: BTreeSet<&str> = starter.lines().map(str::trim).collect();
    code.iter()
        .map(|line| line.trim().to_string())
        .filter(|line| line.len() >= 16 && !line.starts_with("//") && !line.starts_with("--"))
        .filter(|line| !shown.contains(line.as_str()))
        .collect()
}

/// A starter as committed (`git show HEAD:<path>`), not as a learner may have filled it in: a
/// solved starter holds the answer's lines, which must not be taken for the starter's own. The
/// file as it is when git cannot say (no repository).
fn committed(path: &Path) -> String {
    let relative = path.strip_prefix(root()).unwrap_or(path);
    let shown = std::process::Command::new("git")
        .current_dir(root())
        .arg("show")
        .arg(format!("HEAD:{}", relative.display()))
        .output();
    match shown {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout).into_owned(),
        _ => fs::read_to_string(path).unwrap_or_default(),
    }
}

/// Runs of at least `shortest` consecutive lines of `lines` (blank lines aside) that are all
/// lines of `answer`: a listing of the answer, not an idiom it shares with other code.
fn answer_runs<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    answer: &BTreeSet<String>,
    shortest: usize,
) -> Vec<String> {
    let mut runs = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for line in lines.into_iter().map(str::trim).filter(|line| !line.is_empty()).chain([""]) {
        if !line.is_empty() && answer.contains(line) {
            run.push(line);
            continue;
        }
        if run.len() >= shortest {
            runs.push(run.join(" / "));
        }
        run.clear();
    }
    runs
}

/// How many consecutive answer lines make a listing of the answer.
const ANSWER_RUN: usize = 3;

/// Every exercise id, from the lessons' list.
fn exercise_ids() -> Vec<String> {
    let list = fs::read_to_string(root().join("lessons/src/lib.rs")).expect("lessons/src/lib.rs");
    let id = regex::Regex::new(r#"ex\("(\d\d[a-z])""#).expect("regex");
    id.captures_iter(&list).map(|c| c[1].to_string()).collect()
}

/// Listings of an exercise's answer that a reader meets before the exercise: in the output of
/// a lesson program they run first (the chapter's own lesson and every earlier one print all
/// their steps, whatever the chapter includes where), or in anything a chapter shows before the
/// exercise's heading. "id: where: the lines".
fn answers_shown_early(book_src: &Path, snapshots: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let chapters = chapters_in_order(book_src);
    for id in exercise_ids() {
        let answer = answer_lines(&id);
        if answer.is_empty() {
            problems.push(format!("{id}: its answer hint has no listing to look for"));
            continue;
        }
        // A short answer is found whole; a longer one by any three of its lines in a row.
        let shortest = ANSWER_RUN.min(answer.len());
        let lesson: u32 = id[..2].parse().expect("lesson number");
        let mut transcripts: Vec<PathBuf> = fs::read_dir(snapshots)
            .expect("snapshots")
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                name.contains("__step_") && name[..2].parse::<u32>().is_ok_and(|n| n <= lesson)
            })
            .collect();
        transcripts.sort();
        for transcript in transcripts {
            let text = fs::read_to_string(&transcript).expect("transcript");
            let name = transcript.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            for run in answer_runs(text.lines(), &answer, shortest) {
                problems.push(format!("{id}: the output of a program run before it, {name}: {run}"));
            }
        }
        let heading = format!("### Exercise {id}");
        for (name, text) in &chapters {
            let before = match text.find(&heading) {
                Some(at) => &text[..at],
                None => text.as_str(),
            };
            let shown = expanded(before, book_src);
            for run in answer_runs(shown.iter().map(String::as_str), &answer, shortest) {
                problems.push(format!("{id}: {name}, before the exercise: {run}"));
            }
            if text.contains(&heading) {
                break;
            }
        }
    }
    problems
}

#[test]
fn no_program_output_or_page_shows_an_answer_before_its_exercise() {
    let problems = answers_shown_early(&root().join("book/src"), &root().join("tests/snapshots"));
    assert!(problems.is_empty(), "answers shown before their exercise:\n{}", problems.join("\n"));
}

#[test]
fn the_early_answer_check_finds_a_listing_not_an_idiom() {
    let answer: BTreeSet<String> = [
        "local now = tonumber(redis.call('TIME')[1])",
        "local ttl = math.min(tonumber(ARGV[1]), left)",
        "redis.call('EXPIRE', KEYS[1], ttl)",
    ]
    .map(String::from)
    .into();
    let printed = "  Step 4\n    local now = tonumber(redis.call('TIME')[1])\n\n    local ttl = math.min(tonumber(ARGV[1]), left)\n    redis.call('EXPIRE', KEYS[1], ttl)\n  done";
    assert_eq!(answer_runs(printed.lines(), &answer, 3).len(), 1, "a listing of three lines is found");
    let idiom = "    local now = tonumber(redis.call('TIME')[1])\n    local other = 1\n    redis.call('EXPIRE', KEYS[1], ttl)";
    assert!(answer_runs(idiom.lines(), &answer, 3).is_empty(), "lines apart are idioms, not the answer");
    assert_eq!(answer_runs(idiom.lines(), &answer, 1).len(), 2, "a one-line answer is found whole");
}
