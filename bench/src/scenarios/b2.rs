//! B2: send -> receive latency over Socket.IO with many connected clients at a fixed offered rate.
//!
//! Every user holds one socket. Message `i` goes from user `i mod N` to user `(i + N/2) mod N`, so the
//! warm-up (at least one message per user) creates every conversation and the measured part runs on
//! existing ones. Latency runs from the scheduled send time to the target's socket receiving
//! `message.created`. Full mode also looks for the peak rate: steps of 1.5x until a step loses messages,
//! falls behind (delivered < 90 % of offered), or its ack p99 passes 200 ms; it starts at 100 msg/s on a
//! fresh server, so a backlog from the fixed-rate run cannot spoil it.

use std::time::Duration;

use serde_json::json;

use super::{BenchResult, Clients, Samples, Suite, progress};
use crate::load::{OpenLoop, Planned, RunReport, marker_text, run_open_loop};
use crate::servers::{Server, ServerKind};
use crate::token::{BenchUser, users};

/// The send rate per user our server allows without rate limiting (5/s), with a margin.
const PER_USER_RATE: f64 = 4.0;

fn plan(users: &[BenchUser]) -> impl FnMut(u32, u64) -> Planned + '_ {
    plan_among(users, users.len())
}

/// Like [`plan`], among the first `n` users only.
fn plan_among(users: &[BenchUser], n: usize) -> impl FnMut(u32, u64) -> Planned + '_ {
    let n = n.clamp(1, users.len());
    move |msg, sched_us| {
        let from = msg as usize % n;
        let to = (from + n / 2) % n;
        let text = marker_text(msg, sched_us, from as u32);
        let body = json!(["message.send", {
            "targetUserId": users[to].id,
            "text": text,
            "clientMessageId": uuid::Uuid::new_v4(),
        }]);
        Planned { socket: from, body: body.to_string(), expected: 1 }
    }
}

fn passes(r: &RunReport) -> bool {
    r.lost == 0
        && r.unacked == 0
        && r.ack_errors == 0
        && r.ack.p99_ms < 200.0
        && r.deliveries_per_s >= 0.9 * r.offered_rate
}

pub(super) async fn run(suite: &Suite) -> anyhow::Result<BenchResult> {
    let clients = suite.clients.unwrap_or(if suite.quick { 400 } else { 10_000 });
    let rate: f64 = suite.rate.unwrap_or(if suite.quick { 400.0 } else { 2_000.0 });
    let seconds: f64 = if suite.quick { 4.0 } else { 20.0 };
    let warmup = (clients as u32).max((rate * 1.0) as u32);
    let messages = warmup + (rate * seconds) as u32;
    let open = OpenLoop { rate, messages, warmup, drain: Duration::from_secs(if suite.quick { 5 } else { 15 }) };
    let peak_search = !suite.quick && !suite.no_peak;

    let mut samples = Samples::default();
    samples.metric("delivery_p50_ms", "lower", Some("<= 3 ms"));
    samples.metric("delivery_p99_ms", "lower", Some("<= 20 ms; <= 0.3x node"));
    samples.metric("ack_p99_ms", "lower", None);
    samples.metric("lost", "lower", Some("0"));
    samples.metric("ack_errors", "lower", None);
    samples.metric("unacked", "lower", None);
    samples.metric("server_disconnects", "lower", None);
    samples.metric("server_cpu_s", "lower", None);
    samples.metric("server_cpu_us_per_msg", "lower", None);
    if peak_search {
        samples.metric("peak_rate_msg_s", "higher", Some(">= 3x node"));
    }
    let mut notes = Vec::new();

    for round in 0..suite.rounds {
        for kind in suite.order(round, true) {
            progress(format!("B2 round {} on {kind}: {clients} clients, {rate} msg/s for {seconds} s", round + 1));
            match run_one(suite, kind, clients, open).await {
                Ok((r, cpu)) => {
                    samples.add_server("delivery_p50_ms", kind, r.delivery.p50_ms);
                    samples.add_server("delivery_p99_ms", kind, r.delivery.p99_ms);
                    samples.add_server("ack_p99_ms", kind, r.ack.p99_ms);
                    samples.add_server("lost", kind, r.lost as f64);
                    samples.add_server("ack_errors", kind, r.ack_errors as f64);
                    samples.add_server("unacked", kind, r.unacked as f64);
                    samples.add_server("server_disconnects", kind, r.server_disconnects as f64);
                    samples.add_server("server_cpu_s", kind, cpu);
                    samples.add_server("server_cpu_us_per_msg", kind, cpu * 1e6 / f64::from(open.messages.max(1)));
                    if let Some(e) = r.first_error {
                        notes.push(format!("{kind}: first error ack: {e}"));
                    }
                    progress(format!(
                        "B2 {kind}: p50 {:.2} ms p99 {:.2} ms, lost {}, errors {}, unacked {}, disconnected by the server {}",
                        r.delivery.p50_ms, r.delivery.p99_ms, r.lost, r.ack_errors, r.unacked, r.server_disconnects
                    ));
                }
                Err(e) => {
                    progress(format!("B2 {kind} failed: {e:#}"));
                    notes.push(format!("{kind} failed: {e:#}"));
                }
            }
            if peak_search {
                match peak_rate(suite, kind, clients).await {
                    Ok(p) => samples.add_server("peak_rate_msg_s", kind, p.unwrap_or(0.0)),
                    Err(e) => notes.push(format!("{kind} peak search failed: {e:#}")),
                }
            }
        }
    }
    let params = json!({
        "clients": clients, "rate_msg_s": rate, "measured_s": seconds, "warmup_msgs": warmup,
        "rounds": suite.rounds, "pinned": suite.env.server_core.is_some(),
    });
    Ok(BenchResult::new("B2", suite, params, &samples, notes))
}

async fn run_one(suite: &Suite, kind: ServerKind, clients: usize, open: OpenLoop) -> anyhow::Result<(RunReport, f64)> {
    let server = Server::start(kind, &suite.env, "b2").await?;
    let result = async {
        let users = users(&suite.env.secret, clients)?;
        let t = std::time::Instant::now();
        let c = Clients::connect(&server, &users).await?;
        progress(format!("B2 {kind}: {clients} sockets connected in {:.1} s", t.elapsed().as_secs_f64()));
        let cpu0 = server.cpu_seconds().unwrap_or(0.0);
        let report = run_open_loop(open, 0, &c.recorder, &c.sockets, plan(&users)).await?;
        let cpu = server.cpu_seconds().unwrap_or(0.0) - cpu0;
        c.close().await;
        anyhow::Ok((report, cpu))
    }
    .await;
    server.stop().await;
    result
}

/// The highest offered rate (steps of 1.5x from 100 msg/s, 3 s each, on a fresh server with all `clients`
/// connected and the first 2,000 of them sending) that the server still keeps up with ([`passes`]); `None`
/// when even the first step fails.
async fn peak_rate(suite: &Suite, kind: ServerKind, clients: usize) -> anyhow::Result<Option<f64>> {
    let server = Server::start(kind, &suite.env, "b2-peak").await?;
    let result = async {
        let users = users(&suite.env.secret, clients)?;
        let c = Clients::connect(&server, &users).await?;
        // Senders are the first `active` users, and one message per user first creates their conversations,
        // so the steps measure sending in existing conversations, not creating them.
        let active = clients.min(2_000);
        let warm =
            OpenLoop { rate: 400.0, messages: active as u32, warmup: active as u32, drain: Duration::from_secs(20) };
        run_open_loop(warm, 0, &c.recorder, &c.sockets, plan_among(&users, active)).await?;
        let mut peak = None;
        let mut base = active as u32;
        let mut step_rate = 100.0;
        let cap = PER_USER_RATE * active as f64;
        while step_rate <= cap {
            let messages = (step_rate * 3.0) as u32;
            let step = OpenLoop { rate: step_rate, messages, warmup: messages / 6, drain: Duration::from_secs(5) };
            let r = run_open_loop(step, base, &c.recorder, &c.sockets, plan_among(&users, active)).await?;
            base += messages;
            progress(format!(
                "B2 {kind} peak step {step_rate:.0} msg/s: delivered {:.0}/s, ack p99 {:.1} ms, lost {}, unacked {}",
                r.deliveries_per_s, r.ack.p99_ms, r.lost, r.unacked
            ));
            if !passes(&r) {
                break;
            }
            peak = Some(step_rate);
            step_rate *= 1.5;
        }
        c.close().await;
        anyhow::Ok(peak)
    }
    .await;
    server.stop().await;
    result
}
