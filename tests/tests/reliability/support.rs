//! What the reliability tests share: seeds, waits on progress, reports and the integrity check.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chat_host::config::{Config, DatabaseConfig, Durability};
use chat_tests::history::CheckReport;

/// A small deterministic generator (xorshift), seeded per run so that a failing run can be replayed with
/// `CHAT_RELIABILITY_SEED`.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `CHAT_RELIABILITY_SEED`, else at random; prints the seed.
    pub fn from_env(label: &str) -> Self {
        let seed = std::env::var("CHAT_RELIABILITY_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0 | 1);
        println!("{label}: CHAT_RELIABILITY_SEED={seed}");
        Self(seed.max(1))
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

/// Waits until at least `count` messages were acknowledged (polling a counter; fails after `timeout`).
pub async fn wait_progress(progress: &Arc<AtomicUsize>, count: usize, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut tick = tokio::time::interval(Duration::from_millis(2));
    while progress.load(Ordering::SeqCst) < count {
        assert!(tokio::time::Instant::now() < deadline, "the load stalled below {count} acknowledged messages");
        tick.tick().await;
    }
}

/// Prints a run's figures (the numbers docs/reliability.md quotes).
pub fn print_report(label: &str, report: &CheckReport, elapsed: Duration) {
    println!("{label}: {elapsed:.1?}\n{report}");
}

/// Runs the store's integrity check on `url` (what `chat-host check` runs) and fails on any problem.
pub async fn assert_integrity(url: &str) {
    let config = Config {
        database: DatabaseConfig { durability: Durability::Strict, ..DatabaseConfig::new(url) },
        ..Config::default()
    };
    let integrity = chat_host::startup::check_integrity(&config).await.expect("running the integrity check");
    println!(
        "integrity: {} sides and {} conversations checked, {} problems",
        integrity.sides_checked,
        integrity.conversations_checked,
        integrity.problems.len()
    );
    assert!(integrity.is_ok(), "integrity problems: {:#?}", integrity.problems);
}
