use std::sync::Arc;

use async_trait::async_trait;
use chat_application::{RealTimeChatMessageSender, RealtimeEvent, SenderError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::outbox_relay::PublishedLog;
use crate::bus::{BusError, DistributedEventBus};

/// The bus channel real-time events travel on (prefixed by the bus, e.g. `chat:realtime`).
pub const REALTIME_CHANNEL: &str = "realtime";

/// What one node publishes for one `deliver` call.
#[derive(Serialize, Deserialize)]
struct BusBatch<'a> {
    /// Wire format version, so that a rolling upgrade can tell formats apart.
    v: u8,
    /// The publishing node, which already delivered the batch to its own sockets.
    origin: Uuid,
    events: std::borrow::Cow<'a, [RealtimeEvent]>,
}

const WIRE_VERSION: u8 = 1;

/// Delivers events in a cluster: to this node's sockets directly, and to every other node through a
/// [`DistributedEventBus`], where [`EventBusChatMessageSender::start`]'s relay hands them to that node's
/// local sender.
///
/// Local delivery does not wait for the broker, so a node keeps serving its own users live while the
/// broker is away. A failed publish is logged and never fails the call: the events are already committed
/// and stored, and clients on other nodes catch up with `sync` (or `auth.afterEventSeq` when they
/// reconnect). Each node skips the batches it published itself.
pub struct EventBusChatMessageSender {
    bus: Arc<dyn DistributedEventBus>,
    local: Arc<dyn RealTimeChatMessageSender>,
    node: Uuid,
    // With an outbox relay: where successful publications are recorded.
    published: Option<PublishedLog>,
}

impl std::fmt::Debug for EventBusChatMessageSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBusChatMessageSender")
            .field("bus", &self.bus.kind())
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl EventBusChatMessageSender {
    /// A sender for this node: `local` delivers to its own sockets (typically a
    /// [`SocketIoChatMessageSender`](super::SocketIoChatMessageSender)); `bus` reaches the other nodes.
    pub fn new(bus: Arc<dyn DistributedEventBus>, local: Arc<dyn RealTimeChatMessageSender>) -> Self {
        Self { bus, local, node: Uuid::new_v4(), published: None }
    }

    /// Records every successful publication in `log`, so that outbox relays know which committed events
    /// still need publishing (see [`OutboxRelay`](super::OutboxRelay)).
    pub fn with_published_log(mut self, log: PublishedLog) -> Self {
        self.published = Some(log);
        self
    }

    /// The publisher an [`OutboxRelay`](super::OutboxRelay) uses on this node: it publishes first and
    /// fails when the broker did not take the events (so they stay unpublished), and only then delivers to
    /// this node's sockets (so a broker outage does not repeat them to local sockets at every pass).
    pub fn republisher(&self) -> Arc<dyn RealTimeChatMessageSender> {
        Arc::new(Republisher { bus: self.bus.clone(), local: self.local.clone(), node: self.node })
    }

    /// This node's id on the bus (random per sender).
    pub fn node_id(&self) -> Uuid {
        self.node
    }

    /// Subscribes to the bus and starts relaying other nodes' events to the local sender. The relay stops
    /// when the returned handle is dropped. The first subscription attempt is made before this returns; a
    /// broker that is down does not fail it (the subscription keeps reconnecting, and readiness says so).
    pub async fn start(&self) -> Result<EventRelay, BusError> {
        let mut subscription = self.bus.subscribe(REALTIME_CHANNEL).await?;
        let local = self.local.clone();
        let node = self.node;
        let task = tokio::spawn(async move {
            while let Some(payload) = subscription.next().await {
                let batch: BusBatch<'_> = match serde_json::from_slice(&payload) {
                    Ok(batch) => batch,
                    Err(error) => {
                        tracing::warn!(%error, "ignoring an unreadable event bus payload");
                        continue;
                    }
                };
                if batch.v != WIRE_VERSION {
                    tracing::warn!(version = batch.v, "ignoring an event bus payload of another wire version");
                    continue;
                }
                if batch.origin == node {
                    continue;
                }
                if let Err(error) = local.deliver(&batch.events).await {
                    tracing::debug!(%error, "relayed events not delivered to every local socket");
                }
            }
        });
        Ok(EventRelay(task))
    }

    fn encode(&self, events: &[RealtimeEvent]) -> Result<Vec<u8>, serde_json::Error> {
        encode(self.node, events)
    }
}

fn encode(node: Uuid, events: &[RealtimeEvent]) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&BusBatch { v: WIRE_VERSION, origin: node, events: std::borrow::Cow::Borrowed(events) })
}

/// See [`EventBusChatMessageSender::republisher`].
struct Republisher {
    bus: Arc<dyn DistributedEventBus>,
    local: Arc<dyn RealTimeChatMessageSender>,
    node: Uuid,
}

#[async_trait]
impl RealTimeChatMessageSender for Republisher {
    async fn deliver(&self, events: &[RealtimeEvent]) -> Result<(), SenderError> {
        if events.is_empty() {
            return Ok(());
        }
        let payload = encode(self.node, events).map_err(SenderError::new)?;
        self.bus.publish(REALTIME_CHANNEL, payload).await.map_err(SenderError::new)?;
        if let Err(error) = self.local.deliver(events).await {
            tracing::debug!(%error, "relayed events not delivered to every local socket");
        }
        Ok(())
    }
}

#[async_trait]
impl RealTimeChatMessageSender for EventBusChatMessageSender {
    async fn deliver(&self, events: &[RealtimeEvent]) -> Result<(), SenderError> {
        if events.is_empty() {
            return Ok(());
        }
        let local = self.local.deliver(events).await;
        match self.encode(events) {
            Ok(payload) => {
                match self.bus.publish(REALTIME_CHANNEL, payload).await {
                    Ok(()) => {
                        if let Some(log) = &self.published {
                            log.record(events);
                        }
                    }
                    // Committed and stored already: an outbox relay publishes them later, and other nodes'
                    // clients catch up with `sync` meanwhile.
                    Err(error) => {
                        tracing::warn!(%error, events = events.len(), "events not published to the other nodes")
                    }
                }
            }
            Err(error) => tracing::error!(%error, "events could not be encoded for the event bus"),
        }
        local
    }
}

/// Relays other nodes' events to this node's sockets until dropped.
#[derive(Debug)]
pub struct EventRelay(tokio::task::JoinHandle<()>);

impl Drop for EventRelay {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::InProcessEventBus;
    use chat_application::realtime::RecordingChatMessageSender;
    use chat_domain::{EventSeq, TenantId, UserId};
    use std::time::Duration;

    fn event(n: i64) -> RealtimeEvent {
        RealtimeEvent {
            tenant: TenantId::HOST,
            name: "message.created".into(),
            data: Arc::new(serde_json::json!({ "n": n })),
            recipients: vec![(UserId::from_uuid(Uuid::nil()), Some(EventSeq::new(n)))],
        }
    }

    async fn wait_for(recorder: &RecordingChatMessageSender, count: usize) -> Vec<RealtimeEvent> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            let events = recorder.events();
            if events.len() >= count || tokio::time::Instant::now() > deadline {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A sender under test and the recorder standing for its node's sockets.
    struct Node {
        sender: EventBusChatMessageSender,
        local: Arc<RecordingChatMessageSender>,
    }

    /// Two nodes on one in-process bus, with their relays running (until the relays are dropped).
    async fn two_nodes() -> (Node, Node, (EventRelay, EventRelay)) {
        let bus: Arc<dyn DistributedEventBus> = Arc::new(InProcessEventBus::new());
        let node = || {
            let local = Arc::new(RecordingChatMessageSender::new());
            Node { sender: EventBusChatMessageSender::new(bus.clone(), local.clone()), local }
        };
        let (a, b) = (node(), node());
        let relays = match (a.sender.start().await, b.sender.start().await) {
            (Ok(ra), Ok(rb)) => (ra, rb),
            _ => panic!("relays did not start"),
        };
        (a, b, relays)
    }

    #[tokio::test]
    async fn each_node_delivers_its_own_events_once_and_the_others_through_the_bus_in_order() {
        let (Node { sender: a, local: local_a }, Node { sender: b, local: local_b }, _relays) = two_nodes().await;
        for n in 1..=3 {
            assert!(a.deliver(&[event(n)]).await.is_ok());
        }
        assert!(b.deliver(&[event(4), event(5)]).await.is_ok());
        let on_b = wait_for(&local_b, 5).await;
        let on_a = wait_for(&local_a, 5).await;
        let seqs = |events: &[RealtimeEvent]| events.iter().map(|e| e.data["n"].as_i64()).collect::<Vec<_>>();
        // Node B: its own two events first (delivered directly), then A's three in publish order.
        assert_eq!(seqs(&on_b).iter().filter(|n| n.is_some_and(|n| n <= 3)).count(), 3);
        let from_a: Vec<_> = seqs(&on_b).into_iter().filter(|n| n.is_some_and(|n| n <= 3)).collect();
        assert_eq!(from_a, vec![Some(1), Some(2), Some(3)]);
        assert_eq!(seqs(&on_a).len(), 5, "no duplicates of a node's own events: {:?}", seqs(&on_a));
    }

    #[tokio::test]
    async fn the_relays_publisher_publishes_before_delivering_locally_and_fails_when_the_bus_does() {
        let (Node { sender: a, local: local_a }, Node { sender: _b, local: local_b }, _relays) = two_nodes().await;
        assert!(a.republisher().deliver(&[event(1)]).await.is_ok());
        assert_eq!(wait_for(&local_b, 1).await.len(), 1, "the other node gets it through the bus");
        assert_eq!(local_a.events().len(), 1, "this node's sockets get it once");

        let down = EventBusChatMessageSender::new(Arc::new(DownBus), local_a.clone());
        assert!(down.republisher().deliver(&[event(2)]).await.is_err(), "the relay must know");
        assert_eq!(local_a.events().len(), 1, "nothing repeated to local sockets while the broker is away");
    }

    struct DownBus;
    #[async_trait]
    impl DistributedEventBus for DownBus {
        async fn publish(&self, _: &str, _: Vec<u8>) -> Result<(), BusError> {
            Err(BusError::Unavailable("down".into()))
        }
        async fn subscribe(&self, _: &str) -> Result<crate::bus::BusSubscription, BusError> {
            Err(BusError::Unavailable("down".into()))
        }
        async fn check(&self) -> Result<(), BusError> {
            Err(BusError::Unavailable("down".into()))
        }
        fn kind(&self) -> &'static str {
            "down"
        }
    }

    #[tokio::test]
    async fn a_failing_bus_never_fails_the_call_and_local_delivery_still_happens() {
        let local = Arc::new(RecordingChatMessageSender::new());
        let sender = EventBusChatMessageSender::new(Arc::new(DownBus), local.clone());
        assert!(sender.deliver(&[event(1)]).await.is_ok());
        assert_eq!(local.events().len(), 1);
    }
}
