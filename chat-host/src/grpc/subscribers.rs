//! This node's gRPC event subscribers, fed by the same local delivery point as the Socket.IO sockets.
//!
//! [`GrpcSubscribers`] is a [`RealTimeChatMessageSender`]: the host puts it beside the Socket.IO sender in
//! a [`FanOutChatMessageSender`], which is the node's local sender (alone on a single node, behind the
//! event bus in a cluster, which relays other nodes' events to it). So a gRPC subscriber receives exactly
//! what a socket of the same user on this node receives, with the same `eventSeq`s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chat_application::{RealTimeChatMessageSender, RealtimeEvent, SenderError};
use chat_domain::{TenantId, UserId};
use tokio::sync::mpsc;

use super::proto;

/// Live events buffered per subscriber; one that falls further behind is ended (it resubscribes with
/// its last `event_seq` and gets the rest replayed).
pub const SUBSCRIBER_BUFFER: usize = 256;

/// The gRPC subscribers of this node, per user. Cheap to clone.
#[derive(Clone, Default)]
pub struct GrpcSubscribers {
    inner: Arc<Mutex<Registry>>,
}

/// Whose events a subscriber receives.
type UserKey = (TenantId, UserId);

/// One registered subscriber: its id and its queue.
type Entry = (u64, mpsc::Sender<proto::Event>);

#[derive(Default)]
struct Registry {
    next_id: u64,
    closed: bool,
    by_user: HashMap<UserKey, Vec<Entry>>,
}

impl std::fmt::Debug for GrpcSubscribers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcSubscribers").finish_non_exhaustive()
    }
}

/// Why a subscription is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The user already has this many subscriptions on this node.
    #[error("too many event streams for this user on this server (at most {0})")]
    TooMany(usize),
}

/// Why a subscriber's live events stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It fell more than [`SUBSCRIBER_BUFFER`] events behind.
    FellBehind,
    /// The server is shutting down.
    ShuttingDown,
}

impl GrpcSubscribers {
    /// No subscribers.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a subscriber of `user`'s events, if the user has fewer than `max_per_user` here and the
    /// server is not shutting down. Events delivered from now on are queued for it until the
    /// [`Subscription`] is dropped.
    pub fn subscribe(&self, tenant: TenantId, user: UserId, max_per_user: usize) -> Result<Subscription, Refused> {
        let mut registry = self.lock();
        if registry.closed {
            return Err(Refused::ShuttingDown);
        }
        let id = registry.next_id;
        registry.next_id += 1;
        let list = registry.by_user.entry((tenant, user)).or_default();
        if list.len() >= max_per_user {
            return Err(Refused::TooMany(max_per_user));
        }
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        list.push((id, tx));
        Ok(Subscription { registry: self.clone(), key: (tenant, user), id, rx })
    }

    /// Ends every subscription (at shutdown, so that open streams do not hold the graceful drain).
    pub fn close(&self) {
        let mut registry = self.lock();
        registry.closed = true;
        registry.by_user.clear();
    }

    /// How many subscribers are registered (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().by_user.values().map(Vec::len).sum()
    }

    /// Whether no subscriber is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn remove(&self, key: UserKey, id: u64) {
        let mut registry = self.lock();
        if let Some(list) = registry.by_user.get_mut(&key) {
            list.retain(|(i, _)| *i != id);
            if list.is_empty() {
                registry.by_user.remove(&key);
            }
        }
    }
}

#[async_trait]
impl RealTimeChatMessageSender for GrpcSubscribers {
    async fn deliver(&self, events: &[RealtimeEvent]) -> Result<(), SenderError> {
        let mut registry = self.lock();
        if registry.by_user.is_empty() {
            return Ok(());
        }
        for event in events {
            // Serialized once per event, and only when one of its recipients subscribes here.
            let mut data_json: Option<String> = None;
            for (user, seq) in &event.recipients {
                let key = (event.tenant, *user);
                let Some(list) = registry.by_user.get_mut(&key) else { continue };
                let data = data_json.get_or_insert_with(|| event.data.to_string());
                list.retain(|(_, tx)| {
                    let live = proto::Event {
                        event_seq: seq.map(|s| s.value()),
                        r#type: event.name.to_string(),
                        data_json: data.clone(),
                    };
                    // A full buffer drops the subscriber (its stream ends; it resubscribes and catches up)
                    // rather than blocking delivery to everyone else.
                    tx.try_send(live).is_ok()
                });
                if list.is_empty() {
                    registry.by_user.remove(&key);
                }
            }
        }
        Ok(())
    }
}

/// One subscriber's queue of live events; unregisters itself when dropped.
#[derive(Debug)]
pub struct Subscription {
    registry: GrpcSubscribers,
    key: UserKey,
    id: u64,
    rx: mpsc::Receiver<proto::Event>,
}

impl Subscription {
    /// The next live event, or why there are no more.
    pub async fn recv(&mut self) -> Result<proto::Event, Ended> {
        match self.rx.recv().await {
            Some(event) => Ok(event),
            None if self.registry.lock().closed => Err(Ended::ShuttingDown),
            None => Err(Ended::FellBehind),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.registry.remove(self.key, self.id);
    }
}

/// Delivers every event through each of several senders in turn (this node's sockets and its gRPC
/// subscribers). A failure of one does not stop the others; the first is reported.
pub struct FanOutChatMessageSender {
    senders: Vec<Arc<dyn RealTimeChatMessageSender>>,
}

impl FanOutChatMessageSender {
    /// Over these senders, in this order.
    pub fn new(senders: Vec<Arc<dyn RealTimeChatMessageSender>>) -> Self {
        Self { senders }
    }
}

impl std::fmt::Debug for FanOutChatMessageSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FanOutChatMessageSender").field("senders", &self.senders.len()).finish()
    }
}

#[async_trait]
impl RealTimeChatMessageSender for FanOutChatMessageSender {
    async fn deliver(&self, events: &[RealtimeEvent]) -> Result<(), SenderError> {
        let mut first_error = None;
        for sender in &self.senders {
            if let Err(e) = sender.deliver(events).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use chat_domain::EventSeq;
    use uuid::Uuid;

    use super::*;

    fn user() -> UserId {
        UserId::from_uuid(Uuid::new_v4())
    }

    fn stored(to: UserId, seq: i64) -> RealtimeEvent {
        RealtimeEvent {
            tenant: TenantId::HOST,
            name: "message.created".into(),
            data: Arc::new(serde_json::json!({ "text": "hi" })),
            recipients: vec![(to, Some(EventSeq::new(seq)))],
        }
    }

    #[tokio::test]
    async fn a_subscriber_gets_its_users_envelopes_only() {
        let subscribers = GrpcSubscribers::new();
        let (a, b) = (user(), user());
        let mut sub = subscribers.subscribe(TenantId::HOST, a, 10).unwrap();
        subscribers.deliver(&[stored(b, 1), stored(a, 7)]).await.unwrap();
        let event = sub.recv().await.unwrap();
        assert_eq!(event.event_seq, Some(7));
        assert_eq!(event.r#type, "message.created");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&event.data_json).unwrap()["text"], "hi");
        // Same user id in another tenant: not this subscriber's.
        let mut other_tenant = stored(a, 8);
        other_tenant.tenant = TenantId::from_uuid(Uuid::new_v4());
        subscribers.deliver(&[other_tenant]).await.unwrap();
        assert!(sub.rx.try_recv().is_err());
        drop(sub);
        assert!(subscribers.is_empty());
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_ended_and_others_are_not() {
        let subscribers = GrpcSubscribers::new();
        let a = user();
        let mut slow = subscribers.subscribe(TenantId::HOST, a, 10).unwrap();
        let events: Vec<RealtimeEvent> = (1..=SUBSCRIBER_BUFFER as i64 + 1).map(|s| stored(a, s)).collect();
        subscribers.deliver(&events).await.unwrap();
        let mut fresh = subscribers.subscribe(TenantId::HOST, a, 10).unwrap();
        subscribers.deliver(&[stored(a, 1000)]).await.unwrap();
        assert_eq!(fresh.recv().await.unwrap().event_seq, Some(1000));
        for _ in 0..SUBSCRIBER_BUFFER {
            assert!(slow.recv().await.is_ok());
        }
        assert_eq!(slow.recv().await.unwrap_err(), Ended::FellBehind);
    }

    #[tokio::test]
    async fn closing_ends_subscriptions_and_refuses_new_ones() {
        let subscribers = GrpcSubscribers::new();
        let a = user();
        let mut sub = subscribers.subscribe(TenantId::HOST, a, 10).unwrap();
        subscribers.close();
        assert_eq!(sub.recv().await.unwrap_err(), Ended::ShuttingDown);
        assert_eq!(subscribers.subscribe(TenantId::HOST, a, 10).unwrap_err(), Refused::ShuttingDown);
    }

    #[tokio::test]
    async fn a_user_holds_at_most_the_configured_number_of_subscriptions() {
        let subscribers = GrpcSubscribers::new();
        let (a, b) = (user(), user());
        let first = subscribers.subscribe(TenantId::HOST, a, 2).unwrap();
        let _second = subscribers.subscribe(TenantId::HOST, a, 2).unwrap();
        assert_eq!(subscribers.subscribe(TenantId::HOST, a, 2).unwrap_err(), Refused::TooMany(2));
        assert!(subscribers.subscribe(TenantId::HOST, b, 2).is_ok(), "another user is not affected");
        drop(first);
        assert!(subscribers.subscribe(TenantId::HOST, a, 2).is_ok(), "a closed stream frees its place");
    }
}
