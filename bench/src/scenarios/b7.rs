//! B7: cross-node delivery. Two `chat-host` nodes share a fresh PostgreSQL database (created for the run,
//! dropped at its end) and a Redis broker (`CHAT_BUS_URL` with a prefix of the run's own). Senders hold
//! sockets on node A and their receivers on node B; each sender writes to one receiver (one conversation per
//! pair) at a fixed offered rate, open loop, and latency runs from the scheduled send to the receiver's
//! `message.created`. Every receiver checks that the `seq`s of each conversation arrive strictly increasing.
//!
//! Baselines: the same run with senders and receivers on node A only (the cluster stays as it is, so the
//! node still publishes every event), and the broker's raw round trip: `PUBLISH` -> a `SUBSCRIBE`d
//! connection on the same machine at the same rate. The added latency is cross-node minus one-node, per
//! percentile, round by round.
//!
//! Needs `CHAT_TEST_DATABASE_URL` (PostgreSQL; the role must be allowed to create databases) and
//! `CHAT_TEST_REDIS_URL`; without them the benchmark reports itself skipped.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use futures_util::StreamExt;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::json;

use super::report::OURS;
use super::{BenchResult, Samples, Suite, progress};
use crate::client::{SocketHandle, connect_all, spawn_socket};
use crate::load::{OpenLoop, Planned, Recorder, RunReport, marker_text, now_us, run_open_loop, wait_until};
use crate::servers::{Server, ServerKind};
use crate::stats::{Latency, latency_histogram};
use crate::token::{BenchUser, users};

const DATABASE_VAR: &str = "CHAT_TEST_DATABASE_URL";
const REDIS_VAR: &str = "CHAT_TEST_REDIS_URL";

/// Prefix of the databases this benchmark creates; older left-overs (a killed run) are dropped.
const DB_PREFIX: &str = "chat_b7_";
const STALE_SECS: u64 = 3600;

const ONE_NODE: &str = "one-node";
const REDIS_RAW: &str = "redis-raw";

fn unix_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub(super) async fn run(suite: &Suite) -> anyhow::Result<BenchResult> {
    let (Some(db_url), Some(redis_url)) = (non_empty_var(DATABASE_VAR), non_empty_var(REDIS_VAR)) else {
        return Ok(BenchResult::skipped(
            "B7",
            suite,
            "needs CHAT_TEST_DATABASE_URL (PostgreSQL) and CHAT_TEST_REDIS_URL (the cluster's database and broker)",
        ));
    };
    if !db_url.starts_with("postgres://") && !db_url.starts_with("postgresql://") {
        return Ok(BenchResult::skipped("B7", suite, "CHAT_TEST_DATABASE_URL is not a postgres:// URL"));
    }

    // Pairs at 2 messages per second per sender: below the per-user limit of 5/s.
    let pairs: usize = suite.clients.map(|c| (c / 2).max(1)).unwrap_or(if suite.quick { 50 } else { 200 });
    let rate: f64 = suite.rate.unwrap_or(2.0 * pairs as f64);
    let seconds: f64 = if suite.quick { 3.0 } else { 20.0 };
    let warmup = (pairs as u32).max(rate as u32);
    let messages = warmup + (rate * seconds) as u32;
    let open = OpenLoop { rate, messages, warmup, drain: Duration::from_secs(if suite.quick { 5 } else { 15 }) };

    let mut samples = Samples::default();
    samples.metric("delivery_p50_ms", "lower", None);
    samples.metric("delivery_p99_ms", "lower", None);
    samples.metric("added_p50_ms", "lower", Some("<= 1 ms (cross-node minus one-node)"));
    samples.metric("added_p99_ms", "lower", Some("<= 5 ms (cross-node minus one-node)"));
    samples.metric("lost", "lower", Some("0"));
    samples.metric("out_of_order", "lower", Some("0"));
    samples.metric("ack_errors", "lower", None);
    samples.metric("unacked", "lower", None);
    let mut notes = Vec::new();

    let unique = format!("{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let db = ScratchDatabase::create(&db_url).await.context("creating B7's PostgreSQL database")?;
    progress(format!("B7: database {} created", db.name));
    let outcome = async {
        let cluster = Cluster::start(suite, &db.url, &bus_url(&redis_url, &format!("b7-{unique}"))).await?;
        let result = rounds(suite, &cluster, &redis_url, &unique, open, pairs, &mut samples, &mut notes).await;
        cluster.stop().await;
        result
    }
    .await;
    if let Err(e) = db.remove().await {
        progress(format!("B7: dropping the database failed: {e:#}"));
        notes.push(format!("dropping the database failed: {e:#}"));
    }
    outcome?;

    let params = json!({
        "pairs": pairs, "rate_msg_s": rate, "measured_s": seconds, "warmup_msgs": warmup,
        "rounds": suite.rounds, "pinned": suite.env.server_core.is_some(),
        "ours": "senders on node A, receivers on node B",
        "baselines": { ONE_NODE: "senders and receivers on node A (same cluster)", REDIS_RAW: "PUBLISH -> SUBSCRIBE" },
    });
    Ok(BenchResult::new("B7", suite, params, &samples, notes))
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `redis://…` with `prefix=NAME` added (`/?prefix=` when the URL names no database).
fn bus_url(redis_url: &str, prefix: &str) -> String {
    let base = redis_url.trim_end_matches('/');
    if base.contains('?') {
        return format!("{base}&prefix={prefix}");
    }
    let after_scheme = base.split_once("://").map_or(base, |(_, rest)| rest);
    if after_scheme.contains('/') { format!("{base}?prefix={prefix}") } else { format!("{base}/?prefix={prefix}") }
}

#[allow(clippy::too_many_arguments)]
async fn rounds(
    suite: &Suite,
    cluster: &Cluster,
    redis_url: &str,
    unique: &str,
    open: OpenLoop,
    pairs: usize,
    samples: &mut Samples,
    notes: &mut Vec<String>,
) -> anyhow::Result<()> {
    for round in 0..suite.rounds {
        let mut order = [Some(true), Some(false), None];
        if round % 2 == 1 {
            order.reverse();
        }
        let mut cross: Option<RunReport> = None;
        let mut one: Option<RunReport> = None;
        for which in order {
            match which {
                Some(cross_node) => {
                    let who = if cross_node { "cross-node" } else { ONE_NODE };
                    progress(format!(
                        "B7 round {} {who}: {pairs} pairs, {} msg/s, {} messages",
                        round + 1,
                        open.rate,
                        open.messages
                    ));
                    let receivers = if cross_node { &cluster.b } else { &cluster.a };
                    match run_pairs(suite, &cluster.a, receivers, pairs, open).await {
                        Ok(r) => {
                            let key = if cross_node { OURS } else { ONE_NODE };
                            progress(format!(
                                "B7 {who}: p50 {:.2} ms p99 {:.2} ms, lost {}, out of order {} (of {} checked), errors {}, \
                                 unacked {}",
                                r.delivery.p50_ms,
                                r.delivery.p99_ms,
                                r.lost,
                                r.out_of_order,
                                r.seq_checked,
                                r.ack_errors,
                                r.unacked
                            ));
                            samples.add("delivery_p50_ms", key, r.delivery.p50_ms);
                            samples.add("delivery_p99_ms", key, r.delivery.p99_ms);
                            samples.add("lost", key, r.lost as f64);
                            samples.add("out_of_order", key, r.out_of_order as f64);
                            samples.add("ack_errors", key, r.ack_errors as f64);
                            samples.add("unacked", key, r.unacked as f64);
                            if r.seq_checked < r.delivered {
                                notes.push(format!(
                                    "{who}: only {} of {} deliveries carried a conversation seq to check",
                                    r.seq_checked, r.delivered
                                ));
                            }
                            if let Some(e) = &r.first_error {
                                notes.push(format!("{who}: first error ack: {e}"));
                            }
                            if cross_node { cross = Some(r) } else { one = Some(r) }
                        }
                        Err(e) => {
                            progress(format!("B7 {who} failed: {e:#}"));
                            notes.push(format!("{who} failed: {e:#}"));
                        }
                    }
                }
                None => {
                    progress(format!("B7 round {} {REDIS_RAW}: {} msg/s", round + 1, open.rate));
                    let channel = format!("b7-{unique}:raw");
                    match redis_round_trip(redis_url, &channel, open).await {
                        Ok(r) => {
                            progress(format!(
                                "B7 {REDIS_RAW}: p50 {:.3} ms p99 {:.3} ms, lost {}, out of order {}",
                                r.latency.p50_ms, r.latency.p99_ms, r.lost, r.out_of_order
                            ));
                            samples.add("delivery_p50_ms", REDIS_RAW, r.latency.p50_ms);
                            samples.add("delivery_p99_ms", REDIS_RAW, r.latency.p99_ms);
                            samples.add("lost", REDIS_RAW, r.lost as f64);
                            samples.add("out_of_order", REDIS_RAW, r.out_of_order as f64);
                        }
                        Err(e) => {
                            progress(format!("B7 {REDIS_RAW} failed: {e:#}"));
                            notes.push(format!("{REDIS_RAW} failed: {e:#}"));
                        }
                    }
                }
            }
        }
        if let (Some(c), Some(o)) = (&cross, &one) {
            let round3 = |x: f64| (x * 1000.0).round() / 1000.0;
            let d50 = round3(c.delivery.p50_ms - o.delivery.p50_ms);
            let d99 = round3(c.delivery.p99_ms - o.delivery.p99_ms);
            samples.add("added_p50_ms", OURS, d50);
            samples.add("added_p99_ms", OURS, d99);
            progress(format!(
                "B7 round {}: cross-node adds {d50:.2} ms at p50 (target <= 1), {d99:.2} ms at p99 (target <= 5)",
                round + 1
            ));
        }
    }
    Ok(())
}

/// Two nodes of one cluster.
struct Cluster {
    a: Server,
    b: Server,
}

impl Cluster {
    /// Starts node A, then node B (so that migrations do not race), and waits until both are ready (their
    /// broker subscription connected).
    async fn start(suite: &Suite, db_url: &str, bus_url: &str) -> anyhow::Result<Self> {
        let vars = [("CHAT_DATABASE_URL", db_url.to_owned()), ("CHAT_BUS_URL", bus_url.to_owned())];
        let a = Server::start_with(ServerKind::Chat, &suite.env, "b7-node-a", &vars).await.context("node A")?;
        let b = match Server::start_with(ServerKind::Chat, &suite.env, "b7-node-b", &vars).await {
            Ok(b) => b,
            Err(e) => {
                a.stop().await;
                return Err(e.context("node B"));
            }
        };
        let cluster = Self { a, b };
        let ready = async {
            wait_ready(&cluster.a).await.context("node A")?;
            wait_ready(&cluster.b).await.context("node B")
        }
        .await;
        match ready {
            Ok(()) => {
                progress(format!("B7: nodes ready on {} and {}", cluster.a.addr, cluster.b.addr));
                Ok(cluster)
            }
            Err(e) => {
                cluster.stop().await;
                Err(e)
            }
        }
    }

    async fn stop(self) {
        self.a.stop().await;
        self.b.stop().await;
    }
}

async fn wait_ready(server: &Server) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let url = format!("http://{}/health/ready", server.addr);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while Instant::now() < deadline {
        match http.get(&url).timeout(Duration::from_secs(2)).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => last = format!("{}: {}", r.status(), r.text().await.unwrap_or_default()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("not ready within 30 s ({last})")
}

/// One run: `pairs` senders on `senders`, their receivers on `receivers` (fresh users, so fresh
/// conversations: the warm-up's first message of each pair creates its conversation).
async fn run_pairs(
    suite: &Suite,
    senders: &Server,
    receivers: &Server,
    pairs: usize,
    open: OpenLoop,
) -> anyhow::Result<RunReport> {
    let users = users(&suite.env.secret, 2 * pairs)?;
    let tokens: Vec<String> = users.iter().map(|u| u.token.clone()).collect();
    let recorder = Recorder::shared(0, 0)?;
    let from = connect_all(senders.addr, &tokens[..pairs], 64, true).await.context("connecting the senders")?;
    let to = connect_all(receivers.addr, &tokens[pairs..], 64, true).await.context("connecting the receivers")?;
    let sockets: Vec<SocketHandle> =
        from.into_iter().chain(to).enumerate().map(|(i, ws)| spawn_socket(ws, i as u32, recorder.clone())).collect();
    let report = run_open_loop(open, 0, &recorder, &sockets, plan(&users, pairs)).await;
    for s in &sockets {
        s.command(crate::client::Command::Close);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    report
}

/// Message `i` goes from sender `i mod pairs` to its receiver `pairs + i mod pairs`.
fn plan(users: &[BenchUser], pairs: usize) -> impl FnMut(u32, u64) -> Planned + '_ {
    move |msg, sched_us| {
        let from = msg as usize % pairs;
        let body = json!(["message.send", {
            "targetUserId": users[pairs + from].id,
            "text": marker_text(msg, sched_us, from as u32),
            "clientMessageId": uuid::Uuid::new_v4(),
        }]);
        Planned { socket: from, body: body.to_string(), expected: 1 }
    }
}

/// The broker's raw round trip at the offered rate.
#[derive(Debug)]
struct RawReport {
    latency: Latency,
    lost: u64,
    out_of_order: u64,
}

struct RawState {
    histogram: hdrhistogram::Histogram<u64>,
    received: u64,
    last: Option<u32>,
    out_of_order: u64,
}

/// Publishes `open.messages` payloads `<i>:<scheduled µs>` on `channel`, open loop, and measures scheduled
/// time -> arrival on a second, subscribed connection.
async fn redis_round_trip(url: &str, channel: &str, open: OpenLoop) -> anyhow::Result<RawReport> {
    let client = redis::Client::open(url).context("parsing CHAT_TEST_REDIS_URL")?;
    let connect = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        let publisher = client.get_multiplexed_async_connection().await?;
        redis::RedisResult::Ok((pubsub, publisher))
    };
    let (pubsub, mut publisher) = tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .map_err(|_| anyhow!("connecting to Redis timed out"))?
        .context("connecting to Redis")?;
    let state =
        Arc::new(Mutex::new(RawState { histogram: latency_histogram()?, received: 0, last: None, out_of_order: 0 }));
    let shared = state.clone();
    let warmup = open.warmup;
    let subscriber = tokio::spawn(async move {
        let mut stream = pubsub.into_on_message();
        while let Some(m) = stream.next().await {
            let at = now_us();
            let payload: String = m.get_payload().unwrap_or_default();
            let Some((i, sched)) = payload.split_once(':') else { continue };
            let (Ok(i), Ok(sched)) = (i.parse::<u32>(), sched.parse::<u64>()) else { continue };
            let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
            s.received += 1;
            if s.last.is_some_and(|last| i <= last) {
                s.out_of_order += 1;
            } else {
                s.last = Some(i);
            }
            if i >= warmup {
                let _ = s.histogram.record(at.saturating_sub(sched).max(1));
            }
        }
    });
    let result = async {
        let start = now_us() + 20_000;
        let interval = 1e6 / open.rate.max(0.001);
        for i in 0..open.messages {
            let sched = start + (f64::from(i) * interval) as u64;
            wait_until(sched).await;
            let _: i64 = redis::cmd("PUBLISH")
                .arg(channel)
                .arg(format!("{i}:{sched}"))
                .query_async(&mut publisher)
                .await
                .context("PUBLISH")?;
        }
        let deadline = Instant::now() + open.drain;
        while Instant::now() < deadline {
            if state.lock().unwrap_or_else(PoisonError::into_inner).received >= u64::from(open.messages) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        anyhow::Ok(())
    }
    .await;
    subscriber.abort();
    result?;
    let s = state.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(RawReport {
        latency: Latency::of(&s.histogram),
        lost: u64::from(open.messages).saturating_sub(s.received),
        out_of_order: s.out_of_order,
    })
}

/// A PostgreSQL database created for one run, on the server the admin URL names.
struct ScratchDatabase {
    admin: DatabaseConnection,
    name: String,
    /// The admin URL with the database replaced by this one.
    url: String,
}

impl ScratchDatabase {
    async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let admin = tokio::time::timeout(Duration::from_secs(15), Database::connect(admin_url))
            .await
            .map_err(|_| anyhow!("connecting to PostgreSQL timed out"))??;
        // Left-overs of killed runs: `chat_b7_<pid>_<unix seconds>` older than an hour.
        let rows = admin
            .query_all_raw(sea_orm::Statement::from_string(
                admin.get_database_backend(),
                format!("SELECT datname FROM pg_database WHERE datname LIKE '{}%'", DB_PREFIX.replace('_', "\\_")),
            ))
            .await?;
        for row in rows {
            let Ok(name) = row.try_get::<String>("", "datname") else { continue };
            let created = name.rsplit('_').next().and_then(|s| s.parse::<u64>().ok()).unwrap_or(u64::MAX);
            if unix_secs().saturating_sub(created) > STALE_SECS && created != u64::MAX {
                let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\"")).await;
            }
        }
        let name = format!("{DB_PREFIX}{}_{}", std::process::id(), unix_secs());
        admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await?;
        let mut url = reqwest::Url::parse(admin_url).context("parsing CHAT_TEST_DATABASE_URL")?;
        url.set_path(&format!("/{name}"));
        Ok(Self { admin, name, url: url.to_string() })
    }

    /// Drops the database (the nodes are stopped by now; `FORCE` ends any connection they left behind).
    async fn remove(self) -> anyhow::Result<()> {
        let forced = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let result = match self.admin.execute_unprepared(&forced).await {
            Ok(_) => Ok(()),
            // Before PostgreSQL 13 there is no FORCE.
            Err(_) => self
                .admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{}\"", self.name))
                .await
                .map(|_| ())
                .map_err(Into::into),
        };
        let _ = self.admin.close().await;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::bus_url;

    #[test]
    fn the_prefix_is_added_to_any_redis_url() {
        assert_eq!(bus_url("redis://127.0.0.1:6379", "p"), "redis://127.0.0.1:6379/?prefix=p");
        assert_eq!(bus_url("redis://127.0.0.1:6379/", "p"), "redis://127.0.0.1:6379/?prefix=p");
        assert_eq!(bus_url("redis://h:1/2", "p"), "redis://h:1/2?prefix=p");
        assert_eq!(bus_url("redis://h:1/2?x=y", "p"), "redis://h:1/2?x=y&prefix=p");
    }
}
