//! How commands and replies look in redis-cli, for the narrator: a command line quoted as you
//! would type it, a reply printed as redis-cli prints it, a script shown by its file, and the
//! narrator's counted cost line.

use redis::{Arg, Cmd, Value};

use crate::store::script_path;

/// `  [label: N round trips: CMD CMD | CMD]` (`round trip`, singular, when N is 1).
pub(super) fn cost_line(label: &str, trips: &[Vec<String>]) -> String {
    let count = match trips.len() {
        1 => "1 round trip".to_string(),
        n => format!("{n} round trips"),
    };
    if trips.is_empty() {
        return format!("  [{label}: {count}]");
    }
    let sent: Vec<String> = trips.iter().map(|commands| commands.join(" ")).collect();
    format!("  [{label}: {count}: {}]", sent.join(" | "))
}

/// A command's name, upper case: `EVALSHA`.
pub(super) fn command_name(cmd: &Cmd) -> String {
    match cmd.args_iter().next() {
        Some(Arg::Simple(name)) => String::from_utf8_lossy(name).to_uppercase(),
        _ => String::new(),
    }
}

/// A command's words, for printing. A script's source (it has line breaks) is shown by its
/// file when it is one of the store's (the login sends its index script whole, with `EVAL`), else
/// by its size: the lesson prints the source itself where it matters.
pub(super) fn words(cmd: &Cmd) -> Vec<String> {
    cmd.args_iter()
        .map(|arg| match arg {
            Arg::Simple(bytes) if bytes.contains(&b'\n') => script_word(bytes),
            Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => "0".into(),
        })
        .collect()
}

/// How a script's source is shown: `<src/store/scripts/index_add.lua>` for one of the store's,
/// `<script, N lines>` for any other.
fn script_word(bytes: &[u8]) -> String {
    let known = std::str::from_utf8(bytes).ok().and_then(script_path);
    match known {
        Some(path) => format!("<{path}>"),
        None => format!("<script, {} lines>", bytes.iter().filter(|b| **b == b'\n').count()),
    }
}

/// A command line as you would type it into redis-cli: arguments with spaces, quotes or
/// nothing in them are quoted.
pub fn cli_line<S: AsRef<str>>(args: &[S]) -> String {
    args.iter().map(|arg| cli_quote(arg.as_ref())).collect::<Vec<_>>().join(" ")
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
    fn the_store_s_scripts_are_shown_by_their_file() {
        let index_add = include_str!("../store/scripts/index_add.lua");
        assert_eq!(script_word(index_add.as_bytes()), "<src/store/scripts/index_add.lua>");
        assert_eq!(script_word(b"local a = 1\nreturn a\n"), "<script, 2 lines>");
        let eval = redis::cmd("EVAL").arg(index_add).arg(1).arg("user:{u}:sessions").clone();
        assert_eq!(words(&eval), ["EVAL", "<src/store/scripts/index_add.lua>", "1", "user:{u}:sessions"]);
    }
}
