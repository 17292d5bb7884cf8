//! Cross-check of the load generator against the official JavaScript `socket.io-client`: the B2 scenario
//! (same clients, rate, pairs and markers) against the bare relay, once driven by our generator and once
//! by `bench/node/client.js`, alternating. If the two disagree wildly, the generator is what is measured.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::{BenchResult, Clients, Samples, Suite, progress};
use crate::load::{OpenLoop, Planned, marker_text, run_open_loop};
use crate::servers::{Server, ServerKind};
use crate::token::users;

pub(super) async fn run(suite: &Suite) -> anyhow::Result<BenchResult> {
    let clients = suite.clients.unwrap_or(if suite.quick { 400 } else { 2_000 });
    let rate: f64 = if suite.quick { 400.0 } else { 1_000.0 };
    let warmup = clients as u32;
    let messages = warmup + (rate * if suite.quick { 4.0 } else { 10.0 }) as u32;
    let mut samples = Samples::default();
    samples.metric("delivery_p50_ms", "lower", None);
    samples.metric("delivery_p99_ms", "lower", None);
    samples.metric("ack_p99_ms", "lower", None);
    samples.metric("lost", "lower", None);
    let mut notes = Vec::new();
    for round in 0..suite.rounds {
        let order = if round % 2 == 0 { ["rust", "socket.io-client"] } else { ["socket.io-client", "rust"] };
        for who in order {
            progress(format!("validate round {} with the {who} client: {clients} clients, {rate} msg/s", round + 1));
            let server = Server::start(ServerKind::BareRelay, &suite.env, "validate").await?;
            let outcome = if who == "rust" {
                rust_run(suite, &server, clients, rate, messages, warmup).await
            } else {
                js_run(suite, &server, clients, rate, messages, warmup).await
            };
            server.stop().await;
            match outcome {
                Ok(v) => {
                    let who = if who == "rust" { "ours" } else { who };
                    for key in ["delivery_p50_ms", "delivery_p99_ms", "ack_p99_ms", "lost"] {
                        samples.add(key, who, v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN));
                    }
                    progress(format!("validate {who}: {v}"));
                }
                Err(e) => notes.push(format!("{who} failed: {e:#}")),
            }
        }
    }
    let params = json!({ "server": "bare-relay", "clients": clients, "rate_msg_s": rate, "messages": messages, "warmup_msgs": warmup });
    Ok(BenchResult::new("validate", suite, params, &samples, notes))
}

async fn rust_run(
    suite: &Suite,
    server: &Server,
    clients: usize,
    rate: f64,
    messages: u32,
    warmup: u32,
) -> anyhow::Result<Value> {
    let users = users(&suite.env.secret, clients)?;
    let c = Clients::connect(server, &users).await?;
    let plan = |msg: u32, sched_us: u64| {
        let from = msg as usize % clients;
        let to = (from + clients / 2) % clients;
        let body = json!(["message.send", {
            "targetUserId": users[to].id,
            "text": marker_text(msg, sched_us, from as u32),
            "clientMessageId": uuid::Uuid::new_v4(),
        }]);
        Planned { socket: from, body: body.to_string(), expected: 1 }
    };
    let open = OpenLoop { rate, messages, warmup, drain: Duration::from_secs(5) };
    let r = run_open_loop(open, 0, &c.recorder, &c.sockets, plan).await?;
    c.close().await;
    Ok(json!({
        "delivery_p50_ms": r.delivery.p50_ms, "delivery_p99_ms": r.delivery.p99_ms,
        "ack_p99_ms": r.ack.p99_ms, "lost": r.lost,
    }))
}

async fn js_run(
    suite: &Suite,
    server: &Server,
    clients: usize,
    rate: f64,
    messages: u32,
    warmup: u32,
) -> anyhow::Result<Value> {
    if !suite.env.node_ready() {
        bail!("the Node dependencies are not installed (bench/node: npm ci)");
    }
    // The JavaScript client runs where our generator runs: core 1 (this process's affinity is inherited).
    let out = tokio::process::Command::new("node")
        .arg(suite.env.node_dir().join("client.js"))
        .env("BENCH_URL", format!("http://{}", server.addr))
        .env("BENCH_JWT_SECRET", &suite.env.secret)
        .env("BENCH_CLIENTS", clients.to_string())
        .env("BENCH_RATE", rate.to_string())
        .env("BENCH_MESSAGES", messages.to_string())
        .env("BENCH_WARMUP", warmup.to_string())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .context("running node client.js")?;
    if !out.status.success() {
        bail!("client.js failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).context("no JSON line from client.js")?;
    Ok(serde_json::from_str(line)?)
}
