//! Results: samples per server, medians, ratios, the JSON line and the table.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::Suite;
use crate::servers::ServerKind;
use crate::stats::{median, min_max};

/// Median, extremes and run count of one metric on one server.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Summary {
    /// Median over the runs.
    pub median: f64,
    /// Smallest run.
    pub min: f64,
    /// Largest run.
    pub max: f64,
    /// Runs.
    pub runs: usize,
}

impl Summary {
    fn of(v: &[f64]) -> Self {
        let (min, max) = min_max(v);
        Self { median: median(v), min, max, runs: v.len() }
    }
}

/// One metric of a benchmark: ours against each baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    /// e.g. `p99_ms`.
    pub name: String,
    /// `lower` or `higher` is better.
    pub better: &'static str,
    /// The chat server (or our store).
    pub ours: Option<Summary>,
    /// Each baseline.
    pub baselines: BTreeMap<String, Summary>,
    /// ours median / baseline median.
    pub ratios: BTreeMap<String, f64>,
    /// SPEC §8's target, as text.
    pub target: Option<String>,
}

/// Samples collected over the runs: metric -> server -> one value per run.
#[derive(Debug, Default)]
pub struct Samples {
    order: Vec<(String, &'static str, Option<String>)>,
    values: BTreeMap<String, BTreeMap<String, Vec<f64>>>,
}

/// The name `ours` goes under in samples.
pub const OURS: &str = "ours";

impl Samples {
    /// Declares a metric (in report order) with its direction and target.
    pub fn metric(&mut self, name: &str, better: &'static str, target: Option<&str>) {
        if !self.order.iter().any(|(n, _, _)| n == name) {
            self.order.push((name.to_owned(), better, target.map(str::to_owned)));
        }
    }

    /// Adds one run's value; `who` is [`OURS`] or a baseline's name.
    pub fn add(&mut self, name: &str, who: &str, value: f64) {
        self.values.entry(name.to_owned()).or_default().entry(who.to_owned()).or_default().push(value);
    }

    /// Adds a value for a server (the chat server counts as ours).
    pub fn add_server(&mut self, name: &str, kind: ServerKind, value: f64) {
        let who = if kind == ServerKind::Chat { OURS.to_owned() } else { kind.to_string() };
        self.add(name, &who, value);
    }

    /// Medians and ratios.
    pub fn metrics(&self) -> Vec<Metric> {
        self.order
            .iter()
            .map(|(name, better, target)| {
                let empty = BTreeMap::new();
                let by = self.values.get(name).unwrap_or(&empty);
                let ours = by.get(OURS).map(|v| Summary::of(v));
                let baselines: BTreeMap<String, Summary> =
                    by.iter().filter(|(k, _)| *k != OURS).map(|(k, v)| (k.clone(), Summary::of(v))).collect();
                let ratios = match ours {
                    Some(o) => baselines
                        .iter()
                        .filter(|(_, b)| b.median != 0.0 && b.median.is_finite())
                        .map(|(k, b)| (k.clone(), round3(o.median / b.median)))
                        .collect(),
                    None => BTreeMap::new(),
                };
                Metric { name: name.clone(), better, ours, baselines, ratios, target: target.clone() }
            })
            .collect()
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The result of one benchmark: what is printed as one JSON line.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// `B2`, …
    pub benchmark: String,
    /// Short commit hash.
    pub commit: String,
    /// `quick` or `full`.
    pub mode: &'static str,
    /// The benchmark's parameters.
    pub params: Value,
    /// Ours against the baselines.
    pub metrics: Vec<Metric>,
    /// Why it did not run, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Remarks (errors of a baseline, caps that applied).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl BenchResult {
    /// A result with metrics.
    pub fn new(name: &str, suite: &Suite, params: Value, samples: &Samples, notes: Vec<String>) -> Self {
        Self {
            benchmark: name.to_owned(),
            commit: suite.commit.clone(),
            mode: if suite.quick { "quick" } else { "full" },
            params,
            metrics: samples.metrics(),
            skipped: None,
            notes,
        }
    }

    /// A benchmark that did not run.
    pub fn skipped(name: &str, suite: &Suite, why: &str) -> Self {
        Self {
            benchmark: name.to_owned(),
            commit: suite.commit.clone(),
            mode: if suite.quick { "quick" } else { "full" },
            params: Value::Null,
            metrics: Vec::new(),
            skipped: Some(why.to_owned()),
            notes: Vec::new(),
        }
    }
}

fn fmt(x: f64) -> String {
    if !x.is_finite() {
        "-".to_owned()
    } else if x.abs() >= 1000.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// A readable table of all results.
pub fn print_table(results: &[BenchResult]) {
    println!();
    println!(
        "{:<4} {:<28} {:>12} {:>24} {:>24} {:>10}  target",
        "", "metric", "ours", "bare-relay/raw/js/1-node", "node/redis-raw", "ratios"
    );
    for r in results {
        if let Some(why) = &r.skipped {
            println!("{:<4} skipped: {why}", r.benchmark);
            continue;
        }
        for m in &r.metrics {
            let base = |k: &[&str]| {
                k.iter()
                    .find_map(|k| m.baselines.get(*k))
                    .map(|s| format!("{} [{}..{}]", fmt(s.median), fmt(s.min), fmt(s.max)))
                    .unwrap_or_else(|| "-".to_owned())
            };
            let ratios: Vec<String> = m.ratios.values().map(|r| fmt(*r)).collect();
            println!(
                "{:<4} {:<28} {:>12} {:>24} {:>24} {:>10}  {}",
                r.benchmark,
                m.name,
                m.ours.map(|s| fmt(s.median)).unwrap_or_else(|| "-".to_owned()),
                base(&["bare-relay", "raw", "socket.io-client", "one-node"]),
                base(&["node", "redis-raw"]),
                ratios.join("/"),
                m.target.as_deref().unwrap_or("")
            );
        }
        for n in &r.notes {
            println!("{:<4}   note: {n}", r.benchmark);
        }
    }
}
