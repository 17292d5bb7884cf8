//! The benchmark runner: `cargo run --release -p bench -- [--quick] [--only B2,B3] [--rounds N]`.
//!
//! Starts each server under test as a child process on `127.0.0.1:0`, pinned to core 0 (this process and
//! its load generator run on core 1), alternates the servers' order between rounds, and prints one JSON line
//! per benchmark followed by a table. Progress goes to stderr.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use bench::scenarios::{self, BenchResult, Suite, print_table, progress};
use bench::servers::{Environment, ServerKind};
use clap::Parser;

/// Runs the chat's benchmarks (SPEC §8) against baselines in the same run.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Args {
    /// Small sizes, one round: checks that the suite runs (a few minutes), not that targets are met.
    #[arg(long)]
    quick: bool,
    /// Comma-separated benchmarks to run (B1..B7), or `validate` for the load generator cross-check.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Runs of each server per benchmark (default: 1 quick, 3 full).
    #[arg(long)]
    rounds: Option<usize>,
    /// Number of sockets for B2/B3/B4 (default: 400/200/1000 quick, 10,000 full).
    #[arg(long)]
    clients: Option<usize>,
    /// Offered rate for B2, messages per second (default: 400 quick, 2,000 full).
    #[arg(long)]
    rate: Option<f64>,
    /// B5's history sizes, comma-separated (default: 20,000 quick, 1,000,000 full; 10,000,000 takes about
    /// 10 minutes and several GB to seed).
    #[arg(long, value_delimiter = ',')]
    b5_messages: Vec<usize>,
    /// Comma-separated servers to run (chat-host, bare-relay, node; default all): one server alone for a
    /// profile, or ours and one baseline.
    #[arg(long, value_delimiter = ',', value_parser = parse_server)]
    servers: Vec<ServerKind>,
    /// B2 without its peak-rate search (the fixed-rate run only).
    #[arg(long)]
    no_peak: bool,
    /// Do not pin servers and the load generator to separate cores.
    #[arg(long)]
    no_pin: bool,
}

fn parse_server(name: &str) -> Result<ServerKind, String> {
    ServerKind::ALL
        .into_iter()
        .find(|k| k.to_string() == name.trim())
        .ok_or_else(|| format!("unknown server {name:?} (chat-host, bare-relay or node)"))
}

fn has_program(name: &str) -> bool {
    Command::new(name).arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

/// Pins this whole process (all threads) to core 1 when `taskset` exists and there are two cores or more;
/// returns the core for the servers.
fn pin_self(no_pin: bool) -> Option<usize> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if no_pin || cores < 2 || !has_program("taskset") {
        return None;
    }
    let ok = Command::new("taskset")
        .args(["-a", "-p", "-c", "1", &std::process::id().to_string()])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ok.then_some(0)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

fn commit(root: &Path) -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Builds `chat-host` with this runner's profile when its binary is missing.
fn ensure_chat_host(root: &Path, bin_dir: &Path) -> anyhow::Result<()> {
    if bin_dir.join("chat-host").exists() {
        return Ok(());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "chat-host"]).current_dir(root);
    match bin_dir.file_name().and_then(|n| n.to_str()) {
        Some("release") => {
            cmd.arg("--release");
        }
        Some("debug") => {}
        Some(other) => {
            cmd.args(["--profile", other]);
        }
        None => bail!("cannot tell the build profile of {}", bin_dir.display()),
    }
    progress(format!("building chat-host: {cmd:?}"));
    let status = cmd.status().context("running cargo")?;
    if !status.success() {
        bail!("building chat-host failed");
    }
    Ok(())
}

/// Installs the Node baseline's dependencies from its lockfile (`npm ci`) when they are missing.
fn ensure_node(env: &Environment) {
    if env.node_ready() || !has_program("node") || !has_program("npm") {
        return;
    }
    progress("installing the Node baseline (npm ci; better-sqlite3 compiles from source, about 2 minutes)");
    let mut cmd = Command::new("npm");
    cmd.args(["ci", "--no-audit", "--no-fund"]).current_dir(env.node_dir());
    // Build the native module here rather than download a prebuilt one; use the system's Node headers.
    cmd.env("npm_config_build_from_source", "true");
    if Path::new("/usr/include/node/node_api.h").exists() {
        cmd.env("npm_config_nodedir", "/usr");
    }
    match cmd.status() {
        Ok(s) if s.success() => {}
        other => progress(format!("npm ci failed ({other:?}); the Node baseline is skipped")),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server_core = pin_self(args.no_pin);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(run(args, server_core))
}

async fn run(args: Args, server_core: Option<usize>) -> anyhow::Result<()> {
    let root = workspace_root();
    let bin_dir = std::env::current_exe()?.parent().map(Path::to_path_buf).context("no binary directory")?;
    let work_dir = std::env::temp_dir().join(format!("chat-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work_dir)?;
    let env = Environment {
        root: root.clone(),
        bin_dir: bin_dir.clone(),
        work_dir: work_dir.clone(),
        secret: bench::token::random_secret(),
        server_core,
    };
    let suite = Suite {
        env,
        quick: args.quick,
        rounds: args.rounds.unwrap_or(if args.quick { 1 } else { 3 }).max(1),
        commit: commit(&root),
        clients: args.clients,
        rate: args.rate,
        b5_messages: args.b5_messages,
        servers: args.servers,
        no_peak: args.no_peak,
    };
    let names: Vec<String> = if args.only.is_empty() {
        scenarios::ALL.iter().map(|s| (*s).to_owned()).collect()
    } else {
        args.only.iter().map(|s| s.trim().to_ascii_uppercase()).collect()
    };
    let needs_servers = names.iter().any(|n| matches!(n.as_str(), "B2" | "B3" | "B4" | "VALIDATE"));
    if needs_servers {
        ensure_chat_host(&root, &bin_dir)?;
        ensure_node(&suite.env);
    }
    progress(format!(
        "commit {}, {} mode, {} round(s), pinning: {}",
        suite.commit,
        if suite.quick { "quick" } else { "full" },
        suite.rounds,
        server_core.map_or("off".to_owned(), |c| format!("servers on core {c}, load generator on core 1"))
    ));
    let mut results: Vec<BenchResult> = Vec::new();
    let mut failed = false;
    for name in &names {
        match suite.run(name).await {
            Some(Ok(r)) => {
                println!("{}", serde_json::to_string(&r)?);
                results.push(r);
            }
            Some(Err(e)) => {
                failed = true;
                progress(format!("{name} failed: {e:#}"));
            }
            None => {
                failed = true;
                progress(format!("unknown benchmark {name}"));
            }
        }
    }
    print_table(&results);
    let _ = std::fs::remove_dir_all(&work_dir);
    if failed {
        bail!("some benchmarks failed");
    }
    Ok(())
}
