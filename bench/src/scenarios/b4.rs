//! B4: memory per idle authenticated socket: the server's `Rss` and `Pss` (from `/proc/<pid>/smaps_rollup`)
//! before and after connecting N sockets that each completed authentication (`ready` received), divided
//! by N. Each server is started fresh and given a moment to settle before the first reading.
//!
//! A process may hold at most as many sockets as its open-file limit allows (`ulimit -n`); counts above it
//! are skipped with a note.

use std::time::Duration;

use serde_json::json;

use super::{BenchResult, Clients, Samples, Suite, progress};
use crate::servers::{Memory, Server, ServerKind};
use crate::token::users;

pub(super) async fn run(suite: &Suite) -> anyhow::Result<BenchResult> {
    let counts: Vec<usize> = match suite.clients {
        Some(n) => vec![n],
        None if suite.quick => vec![1_000],
        None => vec![10_000, 50_000],
    };
    let fd_limit = open_file_limit();
    let mut samples = Samples::default();
    let mut notes = Vec::new();
    for &n in &counts {
        if let Some(limit) = fd_limit
            && n + 200 > limit
        {
            notes.push(format!("{n} sockets skipped: the open-file limit is {limit} per process"));
            continue;
        }
        let rss = format!("n{n}_rss_kb_per_socket");
        let pss = format!("n{n}_pss_kb_per_socket");
        samples.metric(&rss, "lower", Some("<= 24 KB; <= 1.2x bare; <= 0.5x node"));
        samples.metric(&pss, "lower", None);
        for round in 0..suite.rounds {
            for kind in suite.order(round, true) {
                progress(format!("B4 round {} on {kind}: {n} idle sockets", round + 1));
                match run_one(suite, kind, n).await {
                    Ok((before, after)) => {
                        let per = |a: u64, b: u64| (a as f64 - b as f64) / n as f64;
                        samples.add_server(&rss, kind, per(after.rss_kb, before.rss_kb));
                        samples.add_server(&pss, kind, per(after.pss_kb, before.pss_kb));
                        progress(format!("B4 {kind}: Rss {} -> {} KiB", before.rss_kb, after.rss_kb));
                    }
                    Err(e) => {
                        progress(format!("B4 {kind} failed: {e:#}"));
                        notes.push(format!("{kind} n{n} failed: {e:#}"));
                    }
                }
            }
        }
    }
    let params = json!({ "counts": counts, "rounds": suite.rounds, "open_file_limit": fd_limit });
    Ok(BenchResult::new("B4", suite, params, &samples, notes))
}

async fn run_one(suite: &Suite, kind: ServerKind, n: usize) -> anyhow::Result<(Memory, Memory)> {
    let server = Server::start(kind, &suite.env, "b4").await?;
    let result = async {
        let users = users(&suite.env.secret, n)?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = server.memory()?;
        let c = Clients::connect(&server, &users).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = server.memory()?;
        c.close().await;
        anyhow::Ok((before, after))
    }
    .await;
    server.stop().await;
    result
}

/// The soft open-file limit of this process (children inherit it).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
