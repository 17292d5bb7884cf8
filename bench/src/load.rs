//! The open-loop load generator and what it records.
//!
//! Message `i` of a run is *scheduled* at `start + i / rate`, whatever happened to earlier messages, and
//! every latency is measured from that scheduled time: if the server (or the generator) falls behind, the
//! wait counts against it instead of silently lowering the offered rate. Each message's text carries a
//! marker `#bm:<msg>:<scheduled µs>:<sender>#`, so a receiving socket measures delivery latency by scanning
//! the raw frame, without parsing it or looking anything up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::client::{Command, SocketHandle};
use crate::stats::{Latency, latency_histogram};

static EPOCH: OnceLock<Instant> = OnceLock::new();

fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds on the process-wide benchmark clock (monotonic).
pub fn now_us() -> u64 {
    u64::try_from(epoch().elapsed().as_micros()).unwrap_or(u64::MAX)
}

fn instant_at(us: u64) -> Instant {
    epoch() + Duration::from_micros(us)
}

/// What a message's marker says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    /// The message's index in the run.
    pub msg: u32,
    /// When it was scheduled.
    pub sched_us: u64,
    /// The sending user's index.
    pub sender: u32,
}

/// The text of message `msg`, scheduled at `sched_us`, from user `sender`.
pub fn marker_text(msg: u32, sched_us: u64, sender: u32) -> String {
    format!("#bm:{msg}:{sched_us}:{sender}#")
}

/// The `conversationId` and message `seq` of a raw `message.created` payload, when both are there.
pub fn parse_conversation_seq(s: &str) -> Option<(u128, i64)> {
    let c = s.find("\"conversationId\":\"")? + 18;
    let conversation = uuid::Uuid::parse_str(s.get(c..c + 36)?).ok()?.as_u128();
    let q = s.find("\"seq\":")? + 6;
    let digits: &str = &s[q..];
    let end = digits.find(|ch: char| !ch.is_ascii_digit() && ch != '-').unwrap_or(digits.len());
    Some((conversation, digits[..end].parse().ok()?))
}

/// Finds and reads a marker anywhere in `s` (a raw event payload).
pub fn parse_marker(s: &str) -> Option<Marker> {
    let start = s.find("#bm:")? + 4;
    let rest = &s[start..];
    let end = rest.find('#')?;
    let mut parts = rest[..end].split(':');
    let msg = parts.next()?.parse().ok()?;
    let sched_us = parts.next()?.parse().ok()?;
    let sender = parts.next()?.parse().ok()?;
    Some(Marker { msg, sched_us, sender })
}

#[derive(Debug, Clone, Copy, Default)]
struct MessageState {
    sched_us: u64,
    expected: u32,
    received: u32,
    last_us: u64,
    acked: Option<bool>,
}

/// Everything one run records: histograms and per-message delivery counts.
#[derive(Debug)]
pub struct Recorder {
    delivery: Histogram<u64>,
    last_member: Histogram<u64>,
    ack: Histogram<u64>,
    messages: Vec<MessageState>,
    base: u32,
    measure_from: u32,
    first_error: Option<String>,
    duplicates: u64,
    last_delivery_us: u64,
    /// Per (receiving user, conversation): the last message `seq` seen, for the order check.
    last_seq: HashMap<(u32, u128), i64>,
    out_of_order: u64,
    seq_checked: u64,
    server_disconnects: u64,
}

/// The recorder shared by the sockets of a run (they run on one thread, so the lock is never contended).
pub type SharedRecorder = Arc<Mutex<Recorder>>;

/// Locks a recorder, ignoring poisoning (a panicked socket task leaves consistent counters behind).
pub fn lock(r: &SharedRecorder) -> MutexGuard<'_, Recorder> {
    r.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Recorder {
    /// A recorder for messages `base..base + messages`, of which the first `warmup` are not measured.
    /// Messages outside that range (stragglers of an earlier run on the same sockets) are ignored.
    pub fn new(base: u32, messages: u32, warmup: u32) -> anyhow::Result<Self> {
        Ok(Self {
            delivery: latency_histogram()?,
            last_member: latency_histogram()?,
            ack: latency_histogram()?,
            messages: vec![MessageState::default(); messages as usize],
            base,
            measure_from: warmup,
            first_error: None,
            duplicates: 0,
            last_delivery_us: 0,
            last_seq: HashMap::new(),
            out_of_order: 0,
            seq_checked: 0,
            server_disconnects: 0,
        })
    }

    /// A socket was closed by the server (or the connection broke), not by the run. The chat server does
    /// that to a socket whose send buffer filled up; a real client would reconnect and catch up, this one
    /// does not, so the deliveries it then misses count as lost.
    pub fn on_server_disconnect(&mut self) {
        self.server_disconnects += 1;
    }

    /// A shared recorder for messages `0..messages`.
    pub fn shared(messages: u32, warmup: u32) -> anyhow::Result<SharedRecorder> {
        Ok(Arc::new(Mutex::new(Self::new(0, messages, warmup)?)))
    }

    fn slot(&mut self, msg: u32) -> Option<(u32, &mut MessageState)> {
        let i = msg.checked_sub(self.base)?;
        self.messages.get_mut(i as usize).map(|m| (i, m))
    }

    fn expect(&mut self, msg: u32, sched_us: u64, expected: u32) {
        if let Some((_, m)) = self.slot(msg) {
            m.sched_us = sched_us;
            m.expected = expected;
        }
    }

    /// One socket received message `msg`.
    pub fn on_delivery(&mut self, msg: u32, sched_us: u64, at_us: u64) {
        let measure_from = self.measure_from;
        let Some((i, m)) = self.slot(msg) else { return };
        if m.received >= m.expected {
            self.duplicates += 1;
            return;
        }
        m.received += 1;
        let latency = at_us.saturating_sub(sched_us).max(1);
        m.last_us = m.last_us.max(latency);
        let (received, expected, last) = (m.received, m.expected, m.last_us);
        self.last_delivery_us = self.last_delivery_us.max(at_us);
        if i >= measure_from {
            let _ = self.delivery.record(latency);
            if received == expected {
                let _ = self.last_member.record(last);
            }
        }
    }

    /// User `receiver` received a message of `conversation` with `seq`: each receiver must see the `seq`s
    /// of one conversation strictly increasing.
    pub fn on_seq(&mut self, receiver: u32, conversation: u128, seq: i64) {
        self.seq_checked += 1;
        let last = self.last_seq.entry((receiver, conversation)).or_insert(i64::MIN);
        if seq <= *last {
            self.out_of_order += 1;
        } else {
            *last = seq;
        }
    }

    /// The server acknowledged message `msg`.
    pub fn on_ack(&mut self, msg: u32, sched_us: u64, at_us: u64, ok: bool, payload: &str) {
        let measure_from = self.measure_from;
        let Some((i, m)) = self.slot(msg) else { return };
        m.acked = Some(ok);
        if !ok && self.first_error.is_none() {
            self.first_error = Some(payload.chars().take(300).collect());
        }
        if ok && i >= measure_from {
            let _ = self.ack.record(at_us.saturating_sub(sched_us).max(1));
        }
    }

    /// Deliveries still expected from messages acknowledged so far, and messages still unacknowledged.
    fn outstanding(&self) -> (u64, u64) {
        let mut deliveries = 0;
        let mut acks = 0;
        for m in &self.messages {
            match m.acked {
                None => acks += 1,
                Some(true) => deliveries += u64::from(m.expected.saturating_sub(m.received)),
                Some(false) => {}
            }
        }
        (deliveries, acks)
    }

    /// The run's figures.
    pub fn report(&self, offered_rate: f64) -> RunReport {
        let mut r = RunReport {
            offered_rate,
            duplicates: self.duplicates,
            out_of_order: self.out_of_order,
            seq_checked: self.seq_checked,
            server_disconnects: self.server_disconnects,
            ..RunReport::default()
        };
        let mut first_sched = u64::MAX;
        for m in &self.messages {
            r.sent += 1;
            match m.acked {
                Some(true) => {
                    r.acked_ok += 1;
                    r.lost += u64::from(m.expected.saturating_sub(m.received));
                }
                Some(false) => r.ack_errors += 1,
                None => r.unacked += 1,
            }
            r.expected_deliveries += u64::from(m.expected);
            r.delivered += u64::from(m.received);
            if m.expected > 0 {
                first_sched = first_sched.min(m.sched_us);
            }
        }
        // Over the whole run, warm-up included: from the first scheduled message to the last delivery.
        if first_sched != u64::MAX && self.last_delivery_us > first_sched {
            let secs = (self.last_delivery_us - first_sched) as f64 / 1e6;
            r.deliveries_per_s = r.delivered as f64 / secs;
        }
        r.delivery = Latency::of(&self.delivery);
        r.last_member = Latency::of(&self.last_member);
        r.ack = Latency::of(&self.ack);
        r.first_error = self.first_error.clone();
        r
    }
}

/// The figures of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// Messages per second offered.
    pub offered_rate: f64,
    /// Messages scheduled.
    pub sent: u64,
    /// Acknowledged `{ ok: true }`.
    pub acked_ok: u64,
    /// Acknowledged with an error (rate limit, validation, …).
    pub ack_errors: u64,
    /// Never acknowledged before the run ended.
    pub unacked: u64,
    /// Deliveries the messages should have made (one per receiving socket).
    pub expected_deliveries: u64,
    /// Deliveries made.
    pub delivered: u64,
    /// Deliveries of acknowledged messages that never arrived (including those meant for sockets the
    /// server disconnected, see `server_disconnects`).
    pub lost: u64,
    /// Sockets closed by the server or by a broken connection during the run.
    pub server_disconnects: u64,
    /// Deliveries beyond the expected count.
    pub duplicates: u64,
    /// Deliveries whose conversation `seq` was not above the last one the same receiver saw there.
    pub out_of_order: u64,
    /// Deliveries whose `conversationId` and `seq` were found, so went through the order check.
    pub seq_checked: u64,
    /// Deliveries per second over the whole run (first scheduled message to last delivery).
    pub deliveries_per_s: f64,
    /// Scheduled send -> each receiving socket.
    pub delivery: Latency,
    /// Scheduled send -> the last receiving socket of each message.
    pub last_member: Latency,
    /// Scheduled send -> the sender's acknowledgement.
    pub ack: Latency,
    /// The first error acknowledgement, for the log.
    pub first_error: Option<String>,
}

/// The shape of an open-loop run.
#[derive(Debug, Clone, Copy)]
pub struct OpenLoop {
    /// Messages per second.
    pub rate: f64,
    /// Messages in all.
    pub messages: u32,
    /// The first messages, not measured.
    pub warmup: u32,
    /// How long to wait for stragglers after the last message.
    pub drain: Duration,
}

/// One scheduled message: which socket sends it, its `["event", data]` body, how many deliveries it makes.
#[derive(Debug)]
pub struct Planned {
    /// Index into the run's sockets.
    pub socket: usize,
    /// `["message.send", {...}]` with the marker in its text.
    pub body: String,
    /// Sockets that should receive it.
    pub expected: u32,
}

/// Waits until `us` on the benchmark clock: a timer sleep to about a millisecond before it (tokio's timer
/// ticks in milliseconds), then yielding to the other tasks until it is due.
pub async fn wait_until(us: u64) {
    let now = now_us();
    if us > now + 1500 {
        tokio::time::sleep_until(instant_at(us - 1000).into()).await;
    }
    while now_us() < us {
        tokio::task::yield_now().await;
    }
}

/// Runs an open-loop load of messages `base..base + spec.messages`: `plan(msg, sched_us)` says who sends
/// message `msg` and what. The recorder is reset for the run.
pub async fn run_open_loop(
    spec: OpenLoop,
    base: u32,
    recorder: &SharedRecorder,
    sockets: &[SocketHandle],
    mut plan: impl FnMut(u32, u64) -> Planned,
) -> anyhow::Result<RunReport> {
    *lock(recorder) = Recorder::new(base, spec.messages, spec.warmup)?;
    let start = now_us() + 20_000;
    let interval = 1e6 / spec.rate.max(0.001);
    for i in 0..spec.messages {
        let msg = base + i;
        let sched_us = start + (f64::from(i) * interval) as u64;
        wait_until(sched_us).await;
        let p = plan(msg, sched_us);
        lock(recorder).expect(msg, sched_us, p.expected);
        if let Some(s) = sockets.get(p.socket) {
            s.command(Command::Send { body: p.body, msg, sched_us });
        }
    }
    let deadline = Instant::now() + spec.drain;
    while Instant::now() < deadline {
        let (deliveries, acks) = lock(recorder).outstanding();
        if deliveries == 0 && acks == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(lock(recorder).report(spec.rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_inside_a_frame() {
        let text = marker_text(42, 1_234_567, 9);
        let frame = format!("[\"message.created\",{{\"eventSeq\":3,\"data\":{{\"text\":\"{text}\"}}}}]");
        assert_eq!(parse_marker(&frame), Some(Marker { msg: 42, sched_us: 1_234_567, sender: 9 }));
        assert_eq!(parse_marker("[\"ready\",{}]"), None);
        let created = "[\"message.created\",{\"eventSeq\":9,\"data\":{\"conversationId\":\
                       \"67e55044-10b1-426f-9247-bb680e5fe0c8\",\"seq\":12,\"text\":\"x\"}}]";
        let (c, seq) = parse_conversation_seq(created).unwrap();
        assert_eq!((uuid::Uuid::from_u128(c).to_string().as_str(), seq), ("67e55044-10b1-426f-9247-bb680e5fe0c8", 12));
    }

    #[test]
    fn order_is_checked_per_receiver_and_conversation() {
        let mut r = Recorder::new(0, 0, 0).unwrap();
        r.on_seq(1, 7, 1);
        r.on_seq(1, 7, 2);
        r.on_seq(2, 7, 1);
        r.on_seq(1, 8, 1);
        r.on_seq(1, 7, 2);
        assert_eq!(r.report(1.0).out_of_order, 1);
    }

    #[test]
    fn lost_counts_only_acknowledged_messages() {
        let mut r = Recorder::new(0, 3, 0).unwrap();
        for i in 0..3 {
            r.expect(i, 100, 2);
        }
        r.on_ack(0, 100, 200, true, "");
        r.on_ack(1, 100, 200, false, "[{\"ok\":false}]");
        r.on_delivery(0, 100, 300);
        r.on_delivery(0, 100, 500);
        r.on_delivery(0, 100, 600);
        r.on_ack(2, 100, 200, true, "");
        r.on_delivery(2, 100, 300);
        let report = r.report(1.0);
        assert_eq!((report.acked_ok, report.ack_errors, report.lost, report.duplicates), (2, 1, 1, 1));
        assert_eq!(report.last_member.count, 1);
        assert!((report.last_member.max_ms - 0.4).abs() < 0.01);
        assert_eq!(report.server_disconnects, 0);
        r.on_server_disconnect();
        assert_eq!(r.report(1.0).server_disconnects, 1);
    }
}
