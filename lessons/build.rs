//! With feature `hints`: writes each lesson's starter with every exercise's answer hint in its
//! place, so `cargo test -p lessons --features hints --test exercises` compiles the hints against
//! today's API and runs their checks. Without the feature it writes nothing.
//!
//! Each starter (`src/exNN_*.rs`) marks an exercise with `// ANCHOR: ex03a` ...
//! `// ANCHOR_END: ex03a`; the lines between are replaced by the ```` ```rust ```` listing(s) of
//! `hints/03a/answer.md`. Everything else in the starter (its imports, its types) stays.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=hints");
    println!("cargo:rerun-if-changed=src");
    if std::env::var_os("CARGO_FEATURE_HINTS").is_none() {
        return;
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("hints");
    std::fs::create_dir_all(&out).expect("OUT_DIR/hints");
    let mut starters: Vec<PathBuf> = std::fs::read_dir("src")
        .expect("src")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with("ex") && name.ends_with(".rs")
        })
        .collect();
    starters.sort();
    for starter in starters {
        let text = std::fs::read_to_string(&starter).expect("starter");
        let name = starter.file_name().expect("file name");
        std::fs::write(out.join(name), with_answers(&text)).expect("write the hinted starter");
    }
}

/// The starter with each exercise's anchored lines replaced by its answer hint's code, without
/// its `//!` lines (the file is `include!`d into a module).
fn with_answers(starter: &str) -> String {
    let mut result = String::new();
    let mut skipping = false;
    for line in starter.lines() {
        let marker = line.trim();
        if let Some(id) = marker.strip_prefix("// ANCHOR: ex") {
            let _ = writeln!(result, "{line}\n{}", answer_code(id));
            skipping = true;
        } else if marker.starts_with("// ANCHOR_END: ex") {
            skipping = false;
            let _ = writeln!(result, "{line}");
        } else if !skipping && !marker.starts_with("//!") {
            let _ = writeln!(result, "{line}");
        }
    }
    result
}

/// The ```` ```rust ```` listings of `hints/<id>/answer.md`, joined; a `compile_error!` naming the
/// file when it has none.
fn answer_code(id: &str) -> String {
    let path = Path::new("hints").join(id).join("answer.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut code = String::new();
    let mut inside = false;
    for line in text.lines() {
        if inside && line.trim_start().starts_with("```") {
            inside = false;
        } else if inside {
            let _ = writeln!(code, "{line}");
        } else if line.trim_start().starts_with("```rust") {
            inside = true;
        }
    }
    if code.trim().is_empty() {
        format!("compile_error!(\"{} has no ```rust listing of the answer\");", path.display())
    } else {
        code
    }
}
