//! The distributed event bus: how the nodes of a cluster hand each other real-time events.
//!
//! [`DistributedEventBus`] publishes opaque payloads on named channels and delivers every payload published
//! on a channel to each of its subscribers, on every node. It is best effort by design: a payload published
//! while the broker is away is lost, which is acceptable because every stored event is also in the catch-up
//! log that clients read with `sync` (see `docs/adr/0001-write-path.md`). Implementations reconnect by
//! themselves, with backoff.
//!
//! One file per broker: [`InProcessEventBus`] (one process; the default) and [`RedisEventBus`] (Redis
//! pub/sub). [`BusConfig::parse`] picks one from `CHAT_BUS_URL`, and [`connect`] opens it.

mod backoff;
mod inproc;
mod redis;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

pub use self::redis::{RedisBusOptions, RedisEventBus};
pub use backoff::Backoff;
pub use inproc::InProcessEventBus;

/// The channel prefix used when the bus URL does not name one.
pub const DEFAULT_CHANNEL_PREFIX: &str = "chat";

/// Why the bus could not do something.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// `CHAT_BUS_URL` names a scheme no implementation handles.
    #[error("unsupported event bus URL `{0}` (expected unset, `inproc:` or `redis://…`)")]
    Unsupported(String),
    /// The broker is not reachable, or refused the operation.
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
    /// The bus was shut down.
    #[error("the event bus is closed")]
    Closed,
}

/// A publish/subscribe transport between the nodes of a cluster.
///
/// Payloads published by one publisher on one channel reach each subscriber in publish order. Delivery is at
/// most once: nothing is buffered for a subscriber that is disconnected.
#[async_trait]
pub trait DistributedEventBus: Send + Sync + 'static {
    /// Publishes a payload on a channel. Fails fast (rather than waiting for a reconnection) when the broker
    /// is known to be away.
    async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<(), BusError>;

    /// Subscribes to a channel. The first connection is attempted before this returns (so that a subscriber
    /// started before traffic sees it); after that the subscription survives broker outages by
    /// reconnecting with backoff. It ends when the returned [`BusSubscription`] is dropped.
    async fn subscribe(&self, channel: &str) -> Result<BusSubscription, BusError>;

    /// Whether the broker answers and every subscription is connected (readiness).
    async fn check(&self) -> Result<(), BusError>;

    /// A short name for logs (`inproc`, `redis`).
    fn kind(&self) -> &'static str;
}

/// The payloads of one subscription, in arrival order. Dropping it unsubscribes.
#[derive(Debug)]
pub struct BusSubscription {
    payloads: mpsc::Receiver<Vec<u8>>,
    // Aborts the subscription's background task (if any) when dropped.
    _task: Option<AbortOnDrop>,
}

impl BusSubscription {
    /// A subscription fed by `payloads`, whose feeding task (if any) is aborted when it is dropped.
    pub(crate) fn new(payloads: mpsc::Receiver<Vec<u8>>, task: Option<tokio::task::JoinHandle<()>>) -> Self {
        Self { payloads, _task: task.map(AbortOnDrop) }
    }

    /// The next payload; `None` once the bus is closed.
    pub async fn next(&mut self) -> Option<Vec<u8>> {
        self.payloads.recv().await
    }
}

#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Which bus a `CHAT_BUS_URL` selects.
#[derive(Clone, PartialEq, Eq)]
pub enum BusConfig {
    /// One process: events never leave it (unset, `inproc:`, `memory:`).
    InProcess,
    /// Redis pub/sub. The URL is passed to the Redis client; channels are named `{prefix}:{name}`.
    Redis {
        /// `redis://[user:password@]host[:port][/db]`, without the `prefix` parameter.
        url: String,
        /// Channel prefix (`?prefix=` in `CHAT_BUS_URL`; default [`DEFAULT_CHANNEL_PREFIX`]). Clusters
        /// sharing one Redis keep apart by using different prefixes.
        prefix: String,
    },
}

impl std::fmt::Debug for BusConfig {
    // The URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InProcess => f.write_str("InProcess"),
            Self::Redis { prefix, .. } => f.debug_struct("Redis").field("prefix", prefix).finish_non_exhaustive(),
        }
    }
}

impl BusConfig {
    /// Parses `CHAT_BUS_URL` (`None` = in-process).
    pub fn parse(url: Option<&str>) -> Result<Self, BusError> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(Self::InProcess);
        };
        if matches!(url, "inproc:" | "inproc" | "memory:") {
            return Ok(Self::InProcess);
        }
        if url.starts_with("redis://") || url.starts_with("rediss://") {
            let (url, prefix) = take_query_param(url, "prefix");
            let prefix = prefix.filter(|p| !p.is_empty()).unwrap_or_else(|| DEFAULT_CHANNEL_PREFIX.to_owned());
            return Ok(Self::Redis { url, prefix });
        }
        let scheme = url.split(':').next().unwrap_or_default();
        Err(BusError::Unsupported(format!("{scheme}:…")))
    }

    /// Whether this bus connects several nodes (anything but in-process).
    pub fn is_distributed(&self) -> bool {
        !matches!(self, Self::InProcess)
    }
}

/// Opens the bus a configuration selects. A Redis bus that cannot reach its broker yet is still returned:
/// it keeps trying in the background, and [`DistributedEventBus::check`] reports it meanwhile.
pub fn connect(config: &BusConfig) -> Result<Arc<dyn DistributedEventBus>, BusError> {
    match config {
        BusConfig::InProcess => Ok(Arc::new(InProcessEventBus::new())),
        BusConfig::Redis { url, prefix } => {
            Ok(Arc::new(RedisEventBus::open(url, RedisBusOptions { prefix: prefix.clone(), ..Default::default() })?))
        }
    }
}

/// Removes `name=value` from a URL's query string; returns the URL without it and the value.
fn take_query_param(url: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some((key, v)) if key == name => {
                value = Some(v.to_owned());
                false
            }
            _ => !pair.is_empty(),
        })
        .collect();
    if kept.is_empty() { (base.to_owned(), value) } else { (format!("{base}?{}", kept.join("&")), value) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_and_inproc_urls_select_the_in_process_bus() {
        for url in [None, Some(""), Some("inproc:"), Some("memory:")] {
            assert_eq!(BusConfig::parse(url).ok(), Some(BusConfig::InProcess), "{url:?}");
        }
        assert!(!BusConfig::InProcess.is_distributed());
    }

    #[test]
    fn redis_urls_keep_their_parameters_but_the_prefix() {
        let config = BusConfig::parse(Some("redis://:pw@h:6379/2?prefix=east&protocol=resp3")).ok();
        assert_eq!(
            config,
            Some(BusConfig::Redis { url: "redis://:pw@h:6379/2?protocol=resp3".into(), prefix: "east".into() })
        );
        let config = BusConfig::parse(Some("redis://127.0.0.1:6379")).ok();
        assert_eq!(config, Some(BusConfig::Redis { url: "redis://127.0.0.1:6379".into(), prefix: "chat".into() }));
        assert!(!format!("{:?}", BusConfig::parse(Some("redis://:pw@h?prefix=x")).ok()).contains("pw"));
    }

    #[test]
    fn unknown_schemes_are_refused_without_echoing_credentials() {
        let err = BusConfig::parse(Some("nats://user:secret@h:4222")).err().map(|e| e.to_string());
        assert!(err.as_deref().is_some_and(|e| e.contains("nats") && !e.contains("secret")), "{err:?}");
    }
}
