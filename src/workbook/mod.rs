//! The workbook's helpers: everything the lessons, the exercise checks, the benchmark and the
//! tests share that the service itself never uses. Behind the `workbook` feature (on by default);
//! `cargo build --no-default-features` builds the service library without this module and
//! without its `colored` dependency.
//!
//! - [`Narrator`] and [`run_lesson`]: how a lesson prints its steps, each Redis command in
//!   redis-cli syntax and the reply (`narrate`).
//! - [`command`]: a Redis command from words, as you would type it into redis-cli.
//! - [`parse_commandstats`]: Redis's own per-command counters, which the benchmark and the tests
//!   read to count what a request really sent; [`info_field`](crate::redis::info_field) reads any other `INFO` field.

use std::collections::BTreeMap;

mod narrate;
mod redis_cli;

pub use narrate::{Narrated, Narrator, Step, connect_for_lesson, run_lesson};
pub use redis_cli::{cli_line, cli_reply};

/// A command from words: `command(&["HGET", key, "username"])` is `HGET key username`.
///
/// Application code uses redis-rs's typed calls (`con.hget(key, "username")`); words are for a
/// transcript or a test that must show the exact command.
pub fn command(words: &[&str]) -> redis::Cmd {
    let mut cmd = redis::Cmd::new();
    for word in words {
        cmd.arg(*word);
    }
    cmd
}

/// `INFO commandstats` as a map of calls per command: `cmdstat_hget:calls=2,usec=...` becomes
/// `{"hget": 2}`. Counts include the commands a script runs inside Redis.
pub fn parse_commandstats(info: &str) -> BTreeMap<String, u64> {
    info.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("cmdstat_")?;
            let (name, stats) = rest.split_once(':')?;
            let calls = stats.split(',').find_map(|kv| kv.strip_prefix("calls="))?.parse().ok()?;
            Some((name.to_string(), calls))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commandstats_are_counted_per_command() {
        let info = "# Commandstats\r\ncmdstat_hget:calls=2,usec=5,usec_per_call=2.50,rejected_calls=0,failed_calls=0\r\n\
                    cmdstat_evalsha:calls=7,usec=70\r\nnot a stat line\r\n";
        let stats = parse_commandstats(info);
        assert_eq!(stats.into_iter().collect::<Vec<_>>(), [("evalsha".into(), 7), ("hget".into(), 2)]);
    }

    #[test]
    fn a_command_from_words_is_packed_word_by_word() {
        let packed = command(&["HSET", "k", "name", "Ada Lovelace"]).get_packed_command();
        assert_eq!(packed, b"*4\r\n$4\r\nHSET\r\n$1\r\nk\r\n$4\r\nname\r\n$12\r\nAda Lovelace\r\n");
    }
}
