//! The benchmarks of SPEC §8 and what they share: the suite's settings, the A/B alternation of servers,
//! the collection of samples and the report (one JSON line per benchmark, then a table).

mod b1;
mod b2;
mod b3;
mod b4;
mod b7;
mod report;
mod store;
mod validate;

use std::time::Duration;

use anyhow::Context;

use crate::client::{Command, SocketHandle, connect_all, spawn_socket};
use crate::load::{Recorder, SharedRecorder};
use crate::servers::{Environment, Server, ServerKind};
use crate::token::BenchUser;

pub use report::{BenchResult, Metric, Samples, Summary, print_table};

/// The benchmarks, by name.
pub const ALL: &[&str] = &["B1", "B2", "B3", "B4", "B5", "B6", "B7"];

/// Settings for one run of the suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Paths, secret, pinning.
    pub env: Environment,
    /// Small sizes: checks that everything runs (CI), not that targets are met.
    pub quick: bool,
    /// Runs of each server per benchmark, alternating the order.
    pub rounds: usize,
    /// `git rev-parse --short HEAD`.
    pub commit: String,
    /// Override of the number of sockets (B2, B3, B4).
    pub clients: Option<usize>,
    /// Override of B2's offered rate (messages per second).
    pub rate: Option<f64>,
    /// Override of B5's history sizes (messages in the conversation), e.g. 1M and 10M.
    pub b5_messages: Vec<usize>,
    /// The servers to run (all when empty): one server alone for a profile, or ours and one baseline.
    pub servers: Vec<ServerKind>,
    /// Skip B2's search for the peak rate: only the fixed-rate run (its server CPU per message is the
    /// steadiest figure to compare two builds by).
    pub no_peak: bool,
}

impl Suite {
    /// The servers to run in round `round`: ours first in even rounds, last in odd ones, so that slow
    /// drifts of the machine (other builds, thermal state) do not always favour the same server.
    pub fn order(&self, round: usize, with_node: bool) -> Vec<ServerKind> {
        let mut v = vec![ServerKind::Chat, ServerKind::BareRelay];
        if with_node && self.env.node_ready() {
            v.push(ServerKind::Node);
        }
        if !self.servers.is_empty() {
            v.retain(|k| self.servers.contains(k));
        }
        if round % 2 == 1 {
            v.reverse();
        }
        v
    }

    /// Runs one benchmark by name; `None` for an unknown name.
    pub async fn run(&self, name: &str) -> Option<anyhow::Result<BenchResult>> {
        let result = match name {
            "B2" => b2::run(self).await,
            "B3" => b3::run(self).await,
            "B4" => b4::run(self).await,
            "B7" => b7::run(self).await,
            "VALIDATE" => validate::run(self).await,
            "B1" => b1::run(self).await,
            "B5" => store::run_b5(self).await,
            "B6" => store::run_b6(self).await,
            _ => return None,
        };
        Some(result)
    }
}

/// Sockets of one run, all reporting to one recorder.
pub struct Clients {
    /// One per user, in user order.
    pub sockets: Vec<SocketHandle>,
    /// Where they report.
    pub recorder: SharedRecorder,
}

impl Clients {
    /// Connects one socket per user (waiting for `ready`) and starts their tasks.
    pub async fn connect(server: &Server, users: &[BenchUser]) -> anyhow::Result<Self> {
        let tokens: Vec<String> = users.iter().map(|u| u.token.clone()).collect();
        let ws = connect_all(server.addr, &tokens, 64, true)
            .await
            .with_context(|| format!("connecting {} sockets to {}", users.len(), server.kind))?;
        let recorder = Recorder::shared(0, 0)?;
        let sockets = ws.into_iter().enumerate().map(|(i, ws)| spawn_socket(ws, i as u32, recorder.clone())).collect();
        Ok(Self { sockets, recorder })
    }

    /// Closes every socket.
    pub async fn close(self) {
        for s in &self.sockets {
            s.command(Command::Close);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Logs progress on stderr (stdout carries the results).
pub fn progress(msg: impl AsRef<str>) {
    eprintln!("[bench] {}", msg.as_ref());
}
