//! The crate's layout rules, checked: no file in `src/` is over 500 lines, and every
//! `crate::` path in a module points down the order of `src/lib.rs`'s layout table (a module
//! uses only the modules above it), so no two modules import each other.

use std::fs;
use std::path::{Path, PathBuf};

/// The longest a file in `src/` may be.
const LONGEST_FILE: usize = 500;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// The modules of `src/lib.rs`'s layout table, bottom to top: the first column of each row,
/// with or without a link.
fn order(lib: &str) -> Vec<String> {
    let row = regex::Regex::new(r"^//! \| \[?`(\w+)`\]?(?:\([^)]*\))? \|").expect("regex");
    lib.lines().filter_map(|line| row.captures(line).map(|c| c[1].to_string())).collect()
}

/// The top-level module a file of `src/` belongs to (`src/store/login.rs` → `store`), or `None`
/// for `lib.rs` and `main.rs`.
fn module_of(file: &Path, src: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// Every `crate::<module>` a file names, outside comments: "`file`: `module` uses `other`".
fn upward_uses(src: &Path, order: &[String]) -> Vec<String> {
    let path = regex::Regex::new(r"\bcrate::(\w+)").expect("regex");
    let mut found = Vec::new();
    for file in rust_files(src) {
        let Some(module) = module_of(&file, src) else { continue };
        let Some(rank) = order.iter().position(|m| *m == module) else {
            found.push(format!("{}: module `{module}` is not in lib.rs's layout table", file.display()));
            continue;
        };
        let text = fs::read_to_string(&file).expect("source");
        for line in text.lines().filter(|line| !line.trim_start().starts_with("//")) {
            for used in path.captures_iter(line).map(|c| c[1].to_string()) {
                if used == module || used == "init_tracing" {
                    continue;
                }
                match order.iter().position(|m| *m == used) {
                    Some(other) if other < rank => {}
                    Some(_) => {
                        found.push(format!("{}: `{module}` uses `{used}`, which is above it", file.display()))
                    }
                    None => found.push(format!(
                        "{}: `{module}` uses `crate::{used}`, not in the table",
                        file.display()
                    )),
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn long_files(src: &Path, limit: usize) -> Vec<String> {
    rust_files(src)
        .into_iter()
        .filter_map(|file| {
            let lines = fs::read_to_string(&file).expect("source").lines().count();
            (lines > limit).then(|| format!("{}: {lines} lines", file.display()))
        })
        .collect()
}

#[test]
fn no_file_in_src_is_over_500_lines() {
    let long = long_files(&root().join("src"), LONGEST_FILE);
    assert!(long.is_empty(), "files over {LONGEST_FILE} lines:\n{}", long.join("\n"));
}

#[test]
fn every_module_uses_only_the_modules_below_it() {
    let lib = fs::read_to_string(root().join("src/lib.rs")).expect("src/lib.rs");
    let order = order(&lib);
    assert!(order.len() >= 10, "the layout table of src/lib.rs was not found: {order:?}");
    let upward = upward_uses(&root().join("src"), &order);
    assert!(upward.is_empty(), "imports against the order of src/lib.rs:\n{}", upward.join("\n"));
}

#[test]
fn the_layout_checks_can_fail() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    fs::create_dir(src.join("store")).expect("store");
    fs::write(src.join("redis.rs"), "use crate::store::SessionStore;\n").expect("redis");
    fs::write(src.join("store/mod.rs"), "// crate::http in a comment is fine\nuse crate::redis::Backend;\n")
        .expect("store");
    fs::write(src.join("extra.rs"), "use crate::ghost::X;\n".to_string() + &"\n".repeat(20)).expect("extra");
    let order = order("//! | [`redis`](x) | a |\n//! | `store` | b |\n");
    assert_eq!(order, ["redis", "store"]);
    let upward = upward_uses(src, &order);
    assert_eq!(upward.len(), 2, "{upward:?}");
    assert!(upward[0].ends_with("module `extra` is not in lib.rs's layout table"), "{upward:?}");
    assert!(upward[1].ends_with("`redis` uses `store`, which is above it"), "{upward:?}");
    assert_eq!(long_files(src, 10).len(), 1);
}
