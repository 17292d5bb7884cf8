//! B1: direct messages persisted through the store (SQLite, `strict`) beside a raw program writing the same
//! rows. The measurement itself is the persistence layer's example `chat-infrastructure/examples/b1_send.rs`
//! (run with this runner's build profile); this module runs it `rounds` times and reads its figures.

use std::process::Stdio;

use anyhow::{Context, bail};
use serde_json::json;

use super::{BenchResult, Samples, Suite, progress};
use crate::scenarios::report::OURS;

/// The figures one run of the example prints for one backend.
#[derive(Debug, Default, PartialEq)]
struct B1Line {
    store_rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    half_p99_ms: f64,
    raw_rate: f64,
    /// The same rows through SQLite's C API (absent from older outputs).
    raw_c_api_rate: Option<f64>,
}

/// The number right after `key` in `s`.
fn number_after(s: &str, key: &str) -> Option<f64> {
    let rest = &s[s.find(key)? + key.len()..];
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn parse(output: &str, label: &str) -> Option<B1Line> {
    let prefix = format!("[{label}] ");
    let line = |key: &str| output.lines().find(|l| l.starts_with(&prefix) && l.contains(key));
    let store = line("] store: ")?;
    let raw = line("raw program: ")?;
    let half = &store[store.find("at half peak")?..];
    Some(B1Line {
        store_rate: number_after(store, "store: ")?,
        p50_ms: number_after(store, "ack p50 ")?,
        p99_ms: number_after(store, ", p99 ")?,
        half_p99_ms: number_after(half, ", p99 ")?,
        raw_rate: number_after(raw, "raw program: ")?,
        raw_c_api_rate: line("raw C API program: ").and_then(|l| number_after(l, "raw C API program: ")),
    })
}

pub(super) async fn run(suite: &Suite) -> anyhow::Result<BenchResult> {
    let example = suite.env.root.join("chat-infrastructure/examples/b1_send.rs");
    if !example.exists() {
        return Ok(BenchResult::skipped("B1", suite, "chat-infrastructure/examples/b1_send.rs does not exist yet"));
    }
    let messages = if suite.quick { 2_000 } else { 100_000 };
    let mut samples = Samples::default();
    samples.metric("sqlite_msg_per_s", "higher", Some(">= 20000/s; >= 0.5x raw"));
    samples.metric("sqlite_ack_p99_ms", "lower", None);
    samples.metric("sqlite_half_peak_ack_p99_ms", "lower", Some("<= 10 ms"));
    let mut notes = Vec::new();
    for round in 0..suite.rounds {
        progress(format!("B1 round {}: {messages} messages through the store and the raw program", round + 1));
        match run_example(suite, messages).await {
            Ok(out) => match parse(&out, "sqlite strict") {
                Some(l) => {
                    samples.add("sqlite_msg_per_s", OURS, l.store_rate);
                    samples.add("sqlite_msg_per_s", "raw", l.raw_rate);
                    if let Some(rate) = l.raw_c_api_rate {
                        samples.add("sqlite_msg_per_s", "raw-c-api", rate);
                    }
                    samples.add("sqlite_ack_p99_ms", OURS, l.p99_ms);
                    samples.add("sqlite_half_peak_ack_p99_ms", OURS, l.half_p99_ms);
                    progress(format!("B1: {l:?}"));
                }
                None => notes.push(format!("could not read the example's output: {}", out.trim())),
            },
            Err(e) => notes.push(format!("example failed: {e:#}")),
        }
    }
    let params = json!({ "messages": messages, "rounds": suite.rounds, "durability": "strict", "runner": "chat-infrastructure example b1_send" });
    Ok(BenchResult::new("B1", suite, params, &samples, notes))
}

/// Runs `b1_send`: the binary of this runner's profile when it is built (`cargo build --all-targets` builds
/// it, with the features of the rest of the workspace), else through `cargo run` (which builds it, with the
/// features of `chat-infrastructure` alone).
async fn run_example(suite: &Suite, messages: usize) -> anyhow::Result<String> {
    let built = suite.env.bin_dir.join("examples").join("b1_send");
    let mut cmd = if built.exists() {
        tokio::process::Command::new(&built)
    } else {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut cmd = tokio::process::Command::new(cargo);
        cmd.args(["run", "-q", "-p", "chat-infrastructure", "--example", "b1_send"]);
        if suite.env.bin_dir.file_name().and_then(|n| n.to_str()) == Some("release") {
            cmd.arg("--release");
        }
        cmd.arg("--");
        cmd
    };
    cmd.current_dir(&suite.env.root).args(["--messages", &messages.to_string()]);
    let out = cmd.stdin(Stdio::null()).kill_on_drop(true).output().await.context("running cargo")?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("no output"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_lines_are_read() {
        let out = "B1: 20000 direct messages\n[sqlite strict] journal_mode=wal\n\
                   [sqlite strict] store: 21000 msg/s, ack p50 3.10 ms, p99 9.50 ms | at half peak (10500 msg/s offered): p50 1.20 ms, p99 4.40 ms\n\
                   [sqlite strict] raw program: 40000 msg/s | ratio store/raw = 0.52\n\
                   [sqlite strict] raw C API program: 42000 msg/s | ratio store/raw C API = 0.50\n";
        let l = parse(out, "sqlite strict").unwrap();
        assert_eq!(
            l,
            B1Line {
                store_rate: 21000.0,
                p50_ms: 3.1,
                p99_ms: 9.5,
                half_p99_ms: 4.4,
                raw_rate: 40000.0,
                raw_c_api_rate: Some(42000.0)
            }
        );
    }
}
