//! The outbox relay of cluster mode: publishes committed events whose live publication was lost (the node
//! died between commit and publish, or could not reach the broker), so that clients on every node still
//! get them live. See `docs/adr/0003-outbox-relay.md`.
//!
//! Two parts, both running on every node:
//! - [`PublishedLog`]: after [`EventBusChatMessageSender`](super::EventBusChatMessageSender) has published
//!   events inline (the fast path), it records them here; a background task writes the markers in batches,
//!   off the acknowledgement path.
//! - [`OutboxRelay`]: every `interval`, claims events older than `grace` that have no marker, and publishes
//!   those it has itself seen unmarked for `grace` already (so that the inline publication gets its grace
//!   period after the commit, however late the commit came) through a publisher that reports whether the
//!   broker took them, then commits their markers.
//!   Claims lock rows with `SKIP LOCKED`, so relays of several nodes share a backlog instead of all
//!   republishing it.
//!
//! Delivery stays at least once: a node that dies after publishing but before its markers are written gets
//! its events republished, and recipients drop what they already applied by `eventSeq`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chat_application::realtime::realtime_event_with;
use chat_application::{RealTimeChatMessageSender, RealtimeEvent, SenderError};
use chat_domain::RepositoryError;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::persistence::{PublishedKey, SeaOrmOutbox, StoredEventKey};

/// How far before its cursor a relay looks again, for events whose commit came long after their
/// timestamp (a unit that waited in the writer's queue). Events committed later than `grace` plus this
/// after their timestamp, and not published inline, reach clients through `sync` only.
const LATE_COMMIT_MARGIN: Duration = Duration::from_secs(10);

/// How often a pass looks back over [`LATE_COMMIT_MARGIN`]; the other passes read only what is new since
/// the previous one, so that a pass costs what arrived in one interval, not in the whole margin.
const RESCAN_EVERY: Duration = Duration::from_secs(5);

/// Longest pause after failed passes (the pause doubles from `interval` with each failure in a row), so
/// that a node cut off from its broker does not claim and release the same backlog twice a second.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How many batches one pass claims at most, so that a pass ends even under a steady backlog.
const MAX_BATCHES_PER_PASS: usize = 64;

/// How often the relay deletes markers older than its horizon.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// How long the marker writer gathers keys before writing them, and how many it writes at once.
const MARK_FLUSH: Duration = Duration::from_millis(100);
const MARK_BATCH: usize = 1000;
/// How many keys may wait for the marker writer; beyond that keys are dropped (their events are then
/// republished by a relay: a duplicate, never a loss).
const MARK_QUEUE: usize = 65_536;

/// How a relay paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxRelayOptions {
    /// Time between passes (`CHAT_OUTBOX_INTERVAL_MS`, default 500 ms).
    pub interval: Duration,
    /// How old an unmarked event must be before a relay publishes it: the time inline publishing and its
    /// marker get (`CHAT_OUTBOX_GRACE_MS`, default 2 s). Shorter means quicker recovery and more duplicates.
    pub grace: Duration,
    /// How far back relays look (default 10 min, at most a day). Older unpublished events reach clients
    /// through `sync` only.
    pub horizon: Duration,
    /// Events per claim (default 256).
    pub batch: usize,
}

impl Default for OutboxRelayOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(500),
            grace: Duration::from_secs(2),
            horizon: Duration::from_secs(600),
            batch: 256,
        }
    }
}

/// Why a relay pass stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] RepositoryError),
    /// The broker did not take the events (they stay unpublished for the next pass).
    #[error(transparent)]
    Publish(#[from] SenderError),
}

/// What relays and the marker writer did, for metrics.
#[derive(Debug, Default)]
pub struct OutboxStats {
    relayed: AtomicU64,
    failures: AtomicU64,
    marks_dropped: AtomicU64,
    lag_ms: AtomicI64,
    last_pass_ms: AtomicI64,
}

impl OutboxStats {
    /// Events published by this node's relay (not inline).
    pub fn relayed(&self) -> u64 {
        self.relayed.load(Ordering::Relaxed)
    }

    /// Relay passes that stopped on an error (database or broker).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Inline publications whose marker was dropped because the marker writer fell behind (each costs one
    /// duplicate later, never a loss).
    pub fn marks_dropped(&self) -> u64 {
        self.marks_dropped.load(Ordering::Relaxed)
    }

    /// Age, when relayed, of the oldest event the latest pass that relayed anything published: how late
    /// relayed events reached clients.
    pub fn lag(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.lag_ms.load(Ordering::Relaxed)).unwrap_or(0))
    }

    /// When the latest pass finished without error (Unix milliseconds; 0 = never).
    pub fn last_pass_unix_ms(&self) -> i64 {
        self.last_pass_ms.load(Ordering::Relaxed)
    }
}

/// Publishes committed events that nobody marked as published. One per node; see the module docs.
pub struct OutboxRelay {
    outbox: SeaOrmOutbox,
    publisher: Arc<dyn RealTimeChatMessageSender>,
    options: OutboxRelayOptions,
    stats: Arc<OutboxStats>,
    window: Mutex<Window>,
    // When this relay first saw each unmarked event it has not published yet.
    seen: Mutex<HashMap<StoredEventKey, DateTime<Utc>>>,
}

/// Where the previous passes got to.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    // The end of the window the latest complete pass covered.
    cursor: Option<DateTime<Utc>>,
    // When the latest pass that looked back over the late-commit margin started.
    rescanned: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for OutboxRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRelay").field("options", &self.options).finish_non_exhaustive()
    }
}

impl OutboxRelay {
    /// A relay over `outbox`. `publisher` must fail when the broker did not take the events, so that they
    /// stay unpublished (in a cluster: [`EventBusChatMessageSender::republisher`](super::EventBusChatMessageSender::republisher)).
    pub fn new(
        outbox: SeaOrmOutbox,
        publisher: Arc<dyn RealTimeChatMessageSender>,
        options: OutboxRelayOptions,
        stats: Arc<OutboxStats>,
    ) -> Self {
        let horizon = options.horizon.min(Duration::from_secs(24 * 3600));
        let options = OutboxRelayOptions { horizon, ..options };
        Self { outbox, publisher, options, stats, window: Mutex::new(Window::default()), seen: Mutex::default() }
    }

    /// One pass at time `now`: claims and publishes, batch by batch, the unmarked events recorded up to
    /// `now - grace` since the previous complete pass ended (every few seconds, and on the first pass, from
    /// a late-commit margin before that; never before the horizon) that this relay has seen unmarked for
    /// at least `grace` already (a first sighting only starts that clock). Returns how many events it
    /// published.
    /// On an error the events of the failed batch stay unpublished and the window is not advanced, so the
    /// next pass tries again from the same point.
    ///
    /// The first pass does not look back to the horizon: events committed before this relay started
    /// were either relayed by the nodes running then, or reach clients through the catch-up of their
    /// (re)connection, since no node was up to hold their sockets.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize, RelayError> {
        let to = now - chrono_duration(self.options.grace);
        let oldest = now - chrono_duration(self.options.horizon);
        let margin = chrono_duration(LATE_COMMIT_MARGIN);
        let window = *self.window.lock().unwrap_or_else(|p| p.into_inner());
        let rescan = window.rescanned.is_none_or(|at| now - at >= chrono_duration(RESCAN_EVERY));
        let from = match window.cursor {
            Some(cursor) if !rescan => cursor,
            Some(cursor) => cursor - margin,
            None => to - margin,
        }
        .max(oldest);
        if from > to {
            return Ok(0);
        }
        let batch = self.options.batch.max(1);
        let grace = chrono_duration(self.options.grace);
        let mut relayed = 0;
        let mut lag = Duration::ZERO;
        let mut complete = false;
        // The oldest event seen in this pass but not yet ready.
        let mut held: Option<DateTime<Utc>> = None;
        // Batches follow each other by key, so that events still in their grace period do not hide the
        // ones behind them.
        let mut after: Option<StoredEventKey> = None;
        for _ in 0..MAX_BATCHES_PER_PASS {
            let mut claim = self.outbox.claim(from, to, after, batch).await?;
            let scanned = claim.scanned();
            after = claim.candidates().last().or(after);
            // An event is published once this relay has seen it unmarked for a whole grace period, not
            // merely once its timestamp is that old: the timestamp is taken before the commit, which can
            // come much later on a loaded node, and its inline publication deserves the grace after it.
            let ready: HashSet<StoredEventKey> = {
                let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
                claim
                    .candidates()
                    .filter(|key| {
                        let first = *seen.entry(*key).or_insert(now);
                        let ready = now - first >= grace;
                        if !ready {
                            held = Some(held.map_or(key.at, |h| h.min(key.at)));
                        }
                        ready
                    })
                    .collect()
            };
            let taken = if ready.is_empty() { 0 } else { claim.take(|key| ready.contains(key), now).await?.len() };
            if taken > 0 {
                let events: Vec<RealtimeEvent> =
                    claim.events().iter().map(|e| realtime_event_with(e, claim.reactions())).collect();
                if let Some(first) = claim.events().first() {
                    lag = lag.max((now - first.at).to_std().unwrap_or_default());
                }
                if let Err(error) = self.publisher.deliver(&events).await {
                    let _ = claim.release().await;
                    return Err(error.into());
                }
                let count = events.len();
                claim.commit().await?;
                relayed += count;
                self.stats.relayed.fetch_add(u64::try_from(count).unwrap_or(u64::MAX), Ordering::Relaxed);
            } else {
                claim.release().await?;
            }
            // Published by this relay or, when the marker conflicted, by another: no longer waiting.
            {
                let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
                for key in &ready {
                    seen.remove(key);
                }
            }
            if scanned < batch {
                complete = true;
                break;
            }
        }
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            let forget = grace + chrono_duration(LATE_COMMIT_MARGIN + PRUNE_EVERY);
            seen.retain(|_, first| now - *first < forget);
        }
        if complete {
            let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
            window.cursor = Some(held.map_or(to, |h| h.min(to)));
            if rescan {
                window.rescanned = Some(now);
            }
        }
        if relayed > 0 {
            self.stats.lag_ms.store(i64::try_from(lag.as_millis()).unwrap_or(i64::MAX), Ordering::Relaxed);
            tracing::info!(
                relayed,
                lag_ms = lag.as_millis(),
                "outbox relay published events that were not published inline"
            );
        }
        self.stats.last_pass_ms.store(Utc::now().timestamp_millis(), Ordering::Relaxed);
        Ok(relayed)
    }

    /// Deletes markers the relay no longer needs (older than its horizon, with a margin).
    pub async fn prune(&self, now: DateTime<Utc>) -> Result<u64, RelayError> {
        let keep = self.options.horizon + LATE_COMMIT_MARGIN + Duration::from_secs(60);
        Ok(self.outbox.prune(now - chrono_duration(keep)).await?)
    }

    /// Runs a pass every `interval` (and prunes markers every minute) until stopped. The first pass starts
    /// at once, so that a node that starts after another died relays what it left.
    pub fn start(self) -> OutboxRelayTask {
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(self.options.interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut pruned_at: Option<tokio::time::Instant> = None;
            let mut failures: u32 = 0;
            let mut resume_at = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    _ = &mut stop_rx => return,
                    _ = ticker.tick() => {}
                }
                if tokio::time::Instant::now() < resume_at {
                    continue;
                }
                let now = Utc::now();
                match self.run_once(now).await {
                    Ok(_) => failures = 0,
                    Err(error) => {
                        failures = failures.saturating_add(1);
                        let pause = self.options.interval.saturating_mul(2u32.saturating_pow(failures.min(16)));
                        let pause = pause.min(MAX_BACKOFF);
                        resume_at = tokio::time::Instant::now() + pause;
                        self.stats.failures.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(%error, retry_in = ?pause, "outbox relay pass failed");
                    }
                }
                if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                    pruned_at = Some(tokio::time::Instant::now());
                    if let Err(error) = self.prune(now).await {
                        tracing::warn!(%error, "outbox markers could not be pruned");
                    }
                }
            }
        });
        OutboxRelayTask { stop: Some(stop_tx), task: Some(task) }
    }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// A running relay. [`stop`](Self::stop) lets the current pass finish; dropping aborts it (its claim is
/// rolled back, so another node republishes those events).
#[derive(Debug)]
pub struct OutboxRelayTask {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl OutboxRelayTask {
    /// Stops after the current pass (waiting at most `timeout`, then aborting it).
    pub async fn stop(mut self, timeout: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(timeout, &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for OutboxRelayTask {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Records which events this node published inline, for the relays: each event is identified by its
/// first recipient's position, queued without waiting, and written in batches by a background task.
#[derive(Debug, Clone)]
pub struct PublishedLog {
    keys: mpsc::Sender<PublishedKey>,
    stats: Arc<OutboxStats>,
}

/// The marker writer of a [`PublishedLog`]; aborted when dropped.
#[derive(Debug)]
pub struct PublishedLogTask(JoinHandle<()>);

impl Drop for PublishedLogTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl PublishedLog {
    /// A log writing markers through `outbox`, and its writer task.
    pub fn start(outbox: SeaOrmOutbox, stats: Arc<OutboxStats>) -> (Self, PublishedLogTask) {
        let (keys, mut rx) = mpsc::channel::<PublishedKey>(MARK_QUEUE);
        let task = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                let deadline = tokio::time::Instant::now() + MARK_FLUSH;
                while batch.len() < MARK_BATCH {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(key)) => batch.push(key),
                        Ok(None) | Err(_) => break,
                    }
                }
                if let Err(error) = outbox.mark_published(&batch, Utc::now()).await {
                    // Unmarked events are republished by a relay after the grace period: duplicates only.
                    tracing::warn!(%error, events = batch.len(), "published events could not be marked");
                }
            }
        });
        (Self { keys, stats }, PublishedLogTask(task))
    }

    /// Notes that `events` were published (ephemeral events are not stored and are skipped). Never waits.
    pub fn record(&self, events: &[RealtimeEvent]) {
        for event in events {
            let Some((user, Some(seq))) = event.recipients.first() else { continue };
            if self.keys.try_send(PublishedKey { tenant: event.tenant, user: *user, seq: *seq }).is_err() {
                self.stats.marks_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
