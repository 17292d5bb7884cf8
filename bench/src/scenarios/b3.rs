//! B3: group fan-out. `clients` sockets are split into groups of 10, 100 or 1,000 online members; messages
//! go to the groups round-robin, each from the next member in turn, at a rate that offers the target number
//! of deliveries per second. Reported: deliveries/s achieved, each delivery's and the last member's latency.
//!
//! On the chat server the groups are created through `POST /api/chat/groups` (the first member owns it) and
//! messages are stored; on the baselines each member's socket joins the group's room (`group.join`) and the
//! server only broadcasts.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{BenchResult, Clients, Samples, Suite, progress};
use crate::load::{OpenLoop, Planned, RunReport, marker_text, run_open_loop};
use crate::servers::{Server, ServerKind};
use crate::token::{BenchUser, users};

const PER_USER_RATE: f64 = 4.0;

pub(super) async fn run(suite: &Suite) -> anyhow::Result<BenchResult> {
    let sizes: &[usize] = if suite.quick { &[10, 100] } else { &[10, 100, 1000] };
    let clients = suite.clients.unwrap_or(if suite.quick { 200 } else { 10_000 });
    let offered_deliveries: f64 = if suite.quick { 10_000.0 } else { 150_000.0 };
    let seconds: f64 = if suite.quick { 3.0 } else { 10.0 };

    let mut samples = Samples::default();
    let mut notes = Vec::new();
    let mut params = Vec::new();
    for &size in sizes {
        let size = size.min(clients);
        let groups = (clients / size).max(1);
        let members = groups * size;
        let cap = PER_USER_RATE * members as f64;
        let rate = (offered_deliveries / (size - 1) as f64).min(cap);
        if rate < offered_deliveries / (size - 1) as f64 {
            notes.push(format!("groups of {size}: rate capped at {rate:.0} msg/s by the per-user send limit"));
        }
        let warmup = (rate * 1.0) as u32;
        let messages = warmup + (rate * seconds) as u32;
        let open = OpenLoop { rate, messages, warmup, drain: Duration::from_secs(10) };
        let m = |what: &str| format!("g{size}_{what}");
        samples.metric(&m("deliveries_per_s"), "higher", Some(">= 150000/s"));
        samples.metric(&m("delivery_p99_ms"), "lower", None);
        samples.metric(&m("last_member_p99_ms"), "lower", (size >= 1000).then_some("<= 50 ms"));
        samples.metric(&m("lost"), "lower", Some("0"));
        samples.metric(&m("ack_errors"), "lower", None);
        samples.metric(&m("unacked"), "lower", None);
        samples.metric(&m("server_disconnects"), "lower", None);
        params.push(json!({ "group_size": size, "groups": groups, "rate_msg_s": rate, "offered_deliveries_s": rate * (size - 1) as f64 }));
        for round in 0..suite.rounds {
            for kind in suite.order(round, true) {
                progress(format!("B3 round {} on {kind}: {groups} groups of {size}, {rate:.0} msg/s", round + 1));
                match run_one(suite, kind, size, groups, open).await {
                    Ok(r) => {
                        samples.add_server(&m("deliveries_per_s"), kind, r.deliveries_per_s);
                        samples.add_server(&m("delivery_p99_ms"), kind, r.delivery.p99_ms);
                        samples.add_server(&m("last_member_p99_ms"), kind, r.last_member.p99_ms);
                        samples.add_server(&m("lost"), kind, r.lost as f64);
                        samples.add_server(&m("ack_errors"), kind, r.ack_errors as f64);
                        samples.add_server(&m("unacked"), kind, r.unacked as f64);
                        samples.add_server(&m("server_disconnects"), kind, r.server_disconnects as f64);
                        if let Some(e) = r.first_error {
                            notes.push(format!("{kind} g{size}: first error ack: {e}"));
                        }
                        progress(format!(
                            "B3 {kind} g{size}: {:.0} deliveries/s, p99 {:.1} ms, last member p99 {:.1} ms, lost {}, errors {}, unacked {}, disconnected by the server {}",
                            r.deliveries_per_s,
                            r.delivery.p99_ms,
                            r.last_member.p99_ms,
                            r.lost,
                            r.ack_errors,
                            r.unacked,
                            r.server_disconnects
                        ));
                    }
                    Err(e) => {
                        progress(format!("B3 {kind} g{size} failed: {e:#}"));
                        notes.push(format!("{kind} g{size} failed: {e:#}"));
                    }
                }
            }
        }
    }
    let params = json!({ "clients": clients, "measured_s": seconds, "rounds": suite.rounds, "sizes": params });
    Ok(BenchResult::new("B3", suite, params, &samples, notes))
}

/// Creates the groups on the chat server (REST, as each group's first member); returns their ids.
async fn create_groups(server: &Server, users: &[BenchUser], size: usize, groups: usize) -> anyhow::Result<Vec<Uuid>> {
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/chat/groups", server.addr);
    let mut ids = Vec::with_capacity(groups);
    for g in 0..groups {
        let members = &users[g * size..(g + 1) * size];
        let body = json!({
            "name": format!("bench group {g}"),
            "memberIds": members[1..].iter().map(|u| u.id).collect::<Vec<_>>(),
        });
        let resp = http.post(&url).bearer_auth(&members[0].token).json(&body).send().await?;
        let status = resp.status();
        let value: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("creating a group of {size}: {status} {value}");
        }
        let id = value.get("id").and_then(Value::as_str).context("group without id")?;
        ids.push(id.parse()?);
    }
    Ok(ids)
}

async fn run_one(
    suite: &Suite,
    kind: ServerKind,
    size: usize,
    groups: usize,
    open: OpenLoop,
) -> anyhow::Result<RunReport> {
    let server = Server::start(kind, &suite.env, "b3").await?;
    let result = async {
        let users = users(&suite.env.secret, size * groups)?;
        let c = Clients::connect(&server, &users).await?;
        let ids = if kind == ServerKind::Chat {
            create_groups(&server, &users, size, groups).await?
        } else {
            let ids: Vec<Uuid> = (0..groups).map(|_| Uuid::new_v4()).collect();
            for (i, s) in c.sockets.iter().enumerate() {
                let body = json!(["group.join", { "groupId": ids[i / size] }]).to_string();
                s.request(body, Duration::from_secs(10)).await?;
            }
            ids
        };
        // Let the group-creation events settle before measuring.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let plan = |msg: u32, sched_us: u64| {
            let g = msg as usize % groups;
            let turn = (msg as usize / groups) % size;
            let sender = g * size + turn;
            let body = json!(["message.send", {
                "conversationId": ids[g],
                "text": marker_text(msg, sched_us, sender as u32),
                "clientMessageId": Uuid::new_v4(),
            }]);
            Planned { socket: sender, body: body.to_string(), expected: (size - 1) as u32 }
        };
        let report = run_open_loop(open, 0, &c.recorder, &c.sockets, plan).await?;
        c.close().await;
        anyhow::Ok(report)
    }
    .await;
    server.stop().await;
    result
}
