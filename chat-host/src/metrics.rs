//! Prometheus metrics, rendered in the text exposition format at `/metrics`.
//!
//! The registry is a plain value owned by each [`Application`](crate::Application) rather than the global
//! recorder of the `metrics` crate: a process may run several applications (every black-box test does, and an
//! embedding host may too), and a global recorder would mix their figures and clash with a recorder the host
//! installs for itself. The few series the chat needs are simple enough to write out by hand.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chat_infrastructure::realtime::OutboxStats;

use crate::storage::WriteQueueSource;

/// Upper bounds of the request latency histogram, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.counts[i] += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }
}

/// The chat's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    sockets_connected: AtomicI64,
    socket_connections_total: AtomicU64,
    socket_connections_refused: AtomicU64,
    socket_events: Mutex<BTreeMap<(String, bool), u64>>,
    messages_sent: AtomicU64,
    events_emitted: AtomicU64,
    errors: AtomicU64,
    outbox: OnceLock<Arc<OutboxStats>>,
    write_queue: OnceLock<WriteQueueSource>,
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one HTTP request: `route` is the matched route template (never the raw path, so ids do not
    /// multiply the series).
    pub fn record_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        {
            let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            *requests.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        }
        {
            let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
            latency.entry((method.to_owned(), route.to_owned())).or_default().observe(elapsed.as_secs_f64());
        }
        // 503 says "not now" (overload, not ready), not that something broke.
        if status >= 500 && status != 503 {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A socket connected.
    pub fn socket_connected(&self) {
        self.sockets_connected.fetch_add(1, Ordering::Relaxed);
        self.socket_connections_total.fetch_add(1, Ordering::Relaxed);
    }

    /// A socket disconnected.
    pub fn socket_disconnected(&self) {
        self.sockets_connected.fetch_sub(1, Ordering::Relaxed);
    }

    /// A socket was refused at connect (authentication, origin, too many sockets).
    pub fn socket_refused(&self) {
        self.socket_connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A client event was handled; `ok` is whether it succeeded.
    pub fn socket_event(&self, event: &str, ok: bool) {
        let mut events = self.socket_events.lock().unwrap_or_else(|p| p.into_inner());
        *events.entry((event.to_owned(), ok)).or_default() += 1;
    }

    /// A message was sent (through any transport).
    pub fn message_sent(&self) {
        self.messages_sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Real-time events were emitted to sockets.
    pub fn events_emitted(&self, count: u64) {
        self.events_emitted.fetch_add(count, Ordering::Relaxed);
    }

    /// An internal error happened outside a request (socket handler, sender).
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Cluster mode: reports the outbox relay's figures from now on.
    pub fn set_outbox(&self, stats: Arc<OutboxStats>) {
        let _ = self.outbox.set(stats);
    }

    /// Reports the store's write queue (depth, delay, refused writes) from now on.
    pub fn set_write_queue(&self, source: WriteQueueSource) {
        let _ = self.write_queue.set(source);
    }

    /// Sockets connected now.
    pub fn connected_sockets(&self) -> i64 {
        self.sockets_connected.load(Ordering::Relaxed)
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP chat_http_requests_total HTTP requests by method, route and status.");
        let _ = writeln!(out, "# TYPE chat_http_requests_total counter");
        for ((method, route, status), n) in self.requests.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(
                out,
                "chat_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(method),
                escape(route)
            );
        }
        let _ = writeln!(out, "# HELP chat_http_request_duration_seconds HTTP request latency.");
        let _ = writeln!(out, "# TYPE chat_http_request_duration_seconds histogram");
        for ((method, route), h) in self.latency.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
            for (bound, n) in BUCKETS.iter().zip(h.counts.iter()) {
                let _ = writeln!(out, "chat_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "chat_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "chat_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "chat_http_request_duration_seconds_count{{{labels}}} {}", h.count);
        }
        let gauge = |out: &mut String, name: &str, help: &str, kind: &str, value: String| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        };
        gauge(
            &mut out,
            "chat_sockets_connected",
            "Socket.IO sockets connected now.",
            "gauge",
            self.connected_sockets().to_string(),
        );
        gauge(
            &mut out,
            "chat_socket_connections_total",
            "Socket.IO sockets accepted.",
            "counter",
            self.socket_connections_total.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "chat_socket_connections_refused_total",
            "Socket.IO handshakes refused (authentication, origin, socket limit).",
            "counter",
            self.socket_connections_refused.load(Ordering::Relaxed).to_string(),
        );
        let _ = writeln!(out, "# HELP chat_socket_events_total Client events handled, by event and outcome.");
        let _ = writeln!(out, "# TYPE chat_socket_events_total counter");
        for ((event, ok), n) in self.socket_events.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let outcome = if *ok { "ok" } else { "error" };
            let _ = writeln!(out, "chat_socket_events_total{{event=\"{}\",outcome=\"{outcome}\"}} {n}", escape(event));
        }
        gauge(
            &mut out,
            "chat_messages_sent_total",
            "Messages sent through this node.",
            "counter",
            self.messages_sent.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "chat_realtime_events_emitted_total",
            "Real-time events emitted to user rooms.",
            "counter",
            self.events_emitted.load(Ordering::Relaxed).to_string(),
        );
        if let Some(outbox) = self.outbox.get() {
            gauge(
                &mut out,
                "chat_outbox_relayed_total",
                "Committed events this node's outbox relay published because nobody had (not inline).",
                "counter",
                outbox.relayed().to_string(),
            );
            gauge(
                &mut out,
                "chat_outbox_relay_failures_total",
                "Outbox relay passes that stopped on a database or broker error.",
                "counter",
                outbox.failures().to_string(),
            );
            gauge(
                &mut out,
                "chat_outbox_relay_lag_seconds",
                "Age of the oldest event in the latest relay pass that published anything.",
                "gauge",
                outbox.lag().as_secs_f64().to_string(),
            );
            let last = outbox.last_pass_unix_ms();
            gauge(
                &mut out,
                "chat_outbox_relay_last_pass_timestamp_seconds",
                "When the latest relay pass finished without error (Unix time; 0 = never).",
                "gauge",
                (last as f64 / 1000.0).to_string(),
            );
            gauge(
                &mut out,
                "chat_outbox_marks_dropped_total",
                "Inline publications left unmarked because the marker writer fell behind (each one is republished).",
                "counter",
                outbox.marks_dropped().to_string(),
            );
        }
        if let Some(source) = self.write_queue.get() {
            let queue = source.read();
            gauge(
                &mut out,
                "chat_write_queue_units",
                "Units of work and writes waiting for the store's group-commit writer.",
                "gauge",
                queue.queued_units.to_string(),
            );
            gauge(
                &mut out,
                "chat_write_queue_delay_seconds",
                "How long the freshest unit of the writer's latest batch waited (what admission control checks).",
                "gauge",
                queue.latest_delay.as_secs_f64().to_string(),
            );
            gauge(
                &mut out,
                "chat_writes_refused_total",
                "Writes refused with chat.overloaded because the writer's queue was too slow (CHAT_WRITE_QUEUE_LIMIT_MS).",
                "counter",
                queue.refused.to_string(),
            );
        }
        gauge(
            &mut out,
            "chat_errors_total",
            "Internal errors (5xx responses other than 503, and failed socket handlers).",
            "counter",
            self.errors.load(Ordering::Relaxed).to_string(),
        );
        out
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_and_status() {
        let m = Metrics::new();
        m.record_request("GET", "/api/chat/conversations", 200, Duration::from_millis(3));
        m.record_request("GET", "/api/chat/conversations", 200, Duration::from_millis(30));
        let text = m.render();
        assert!(
            text.contains(
                "chat_http_requests_total{method=\"GET\",route=\"/api/chat/conversations\",status=\"200\"} 2"
            )
        );
        assert!(text.contains("le=\"+Inf\"} 2"));
    }

    /// An overloaded server's 503s are not internal errors; the writer's queue figures are reported.
    #[test]
    fn refused_writes_are_counted_apart_from_errors() {
        let m = Metrics::new();
        m.record_request("POST", "/api/chat/messages", 503, Duration::from_millis(1));
        m.record_request("POST", "/api/chat/messages", 500, Duration::from_millis(1));
        m.set_write_queue(WriteQueueSource::new(|| chat_infrastructure::persistence::WriteQueueStats {
            queued_units: 7,
            latest_delay: Duration::from_millis(2500),
            refused: 3,
        }));
        let text = m.render();
        for line in [
            "chat_errors_total 1",
            "chat_write_queue_units 7",
            "chat_write_queue_delay_seconds 2.5",
            "chat_writes_refused_total 3",
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in:\n{text}");
        }
    }
}
