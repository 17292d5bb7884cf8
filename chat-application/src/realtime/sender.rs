use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use chat_domain::{EventSeq, TenantId, UserId};
use serde::{Deserialize, Serialize};

use crate::dto::EventEnvelopeDto;

/// One event to deliver to some users, with its client payload serialized once for all of them.
///
/// A stored event carries each recipient's position in their own stream (`Some(eventSeq)`); an ephemeral
/// one (`typing`, `presence`) carries `None` for everyone and is never stored. It is serializable so that an
/// event-bus sender can carry it to other nodes as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RealtimeEvent {
    /// Tenant of every recipient.
    pub tenant: TenantId,
    /// The event's name: the Socket.IO event name and the envelope's `type` (`message.created`, …).
    pub name: Cow<'static, str>,
    /// The client payload (camelCase DTO), shared by every recipient.
    pub data: Arc<serde_json::Value>,
    /// Who receives it, each with the event's position in their stream (`None` for ephemeral events).
    pub recipients: Vec<(UserId, Option<EventSeq>)>,
}

impl RealtimeEvent {
    /// An ephemeral event (not stored, no `eventSeq`), such as `presence` `{ userId, online }`.
    pub fn ephemeral(
        tenant: TenantId,
        name: impl Into<Cow<'static, str>>,
        data: serde_json::Value,
        users: impl IntoIterator<Item = UserId>,
    ) -> Self {
        Self {
            tenant,
            name: name.into(),
            data: Arc::new(data),
            recipients: users.into_iter().map(|user| (user, None)).collect(),
        }
    }

    /// Whether the event is ephemeral (not stored, no `eventSeq`).
    pub fn is_ephemeral(&self) -> bool {
        self.recipients.iter().all(|(_, seq)| seq.is_none())
    }

    /// The recipients' ids.
    pub fn users(&self) -> impl Iterator<Item = UserId> + '_ {
        self.recipients.iter().map(|(user, _)| *user)
    }

    /// The envelope `{ eventSeq, type, data }` one recipient receives.
    pub fn envelope(&self, event_seq: Option<EventSeq>) -> EventEnvelopeDto {
        EventEnvelopeDto {
            event_seq: event_seq.map(|s| s.value()),
            kind: self.name.to_string(),
            data: self.data.as_ref().clone(),
        }
    }

    /// The envelope one recipient receives, borrowing the shared payload: serialize it directly (for
    /// example as a Socket.IO event) to avoid copying the payload for each member of a large group.
    pub fn envelope_ref(&self, event_seq: Option<EventSeq>) -> EventEnvelopeRef<'_> {
        EventEnvelopeRef { event_seq: event_seq.map(|s| s.value()), kind: &self.name, data: &self.data }
    }

    /// The envelope `user` receives, if they are a recipient.
    pub fn envelope_for(&self, user: UserId) -> Option<EventEnvelopeDto> {
        self.recipients.iter().find(|(u, _)| *u == user).map(|(_, seq)| self.envelope(*seq))
    }
}

/// A borrowed envelope `{ eventSeq, type, data }`; serializes exactly like
/// [`EventEnvelopeDto`](crate::dto::EventEnvelopeDto).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventEnvelopeRef<'a> {
    /// Position in the recipient's stream; absent for ephemeral events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_seq: Option<i64>,
    /// The event's name.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// The shared payload.
    pub data: &'a serde_json::Value,
}

/// Why a sender could not deliver. Delivery failures are logged and never fail the committed call:
/// clients catch up with `sync`.
#[derive(Debug, thiserror::Error)]
#[error("real-time delivery failed: {0}")]
pub struct SenderError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl SenderError {
    /// Wraps any error.
    pub fn new<E: Into<Box<dyn std::error::Error + Send + Sync>>>(error: E) -> Self {
        Self(error.into())
    }
}

/// Delivers events to users, after ABP's `IRealTimeChatMessageSender`: over Socket.IO (one room per user),
/// over an event bus to every node, or nowhere. The services call it only after the unit of work that
/// produced the events has committed, with the events in commit order.
#[async_trait]
pub trait RealTimeChatMessageSender: Send + Sync {
    /// Delivers each event to each of its recipients. Should not block for long: slow recipients are the
    /// implementation's business (buffers, dropping), since clients can always catch up.
    async fn deliver(&self, events: &[RealtimeEvent]) -> Result<(), SenderError>;
}

/// A sender that delivers nothing (for hosts without real time, and benchmarks of the write path).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopChatMessageSender;

#[async_trait]
impl RealTimeChatMessageSender for NoopChatMessageSender {
    async fn deliver(&self, _events: &[RealtimeEvent]) -> Result<(), SenderError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn stored_events_carry_each_recipients_position_and_ephemeral_ones_none() {
        let (a, b) = (UserId::from_uuid(Uuid::new_v4()), UserId::from_uuid(Uuid::new_v4()));
        let stored = RealtimeEvent {
            tenant: TenantId::HOST,
            name: Cow::Borrowed("message.read"),
            data: Arc::new(serde_json::json!({ "upToSeq": 3 })),
            recipients: vec![(a, Some(EventSeq::new(7))), (b, Some(EventSeq::new(2)))],
        };
        assert!(!stored.is_ephemeral());
        let env = serde_json::to_value(stored.envelope_for(b)).unwrap_or_default();
        assert_eq!(env, serde_json::json!({ "eventSeq": 2, "type": "message.read", "data": { "upToSeq": 3 } }));
        let presence = RealtimeEvent::ephemeral(TenantId::HOST, "presence", serde_json::json!({ "online": true }), [a]);
        assert!(presence.is_ephemeral());
        let env = serde_json::to_value(presence.envelope_for(a)).unwrap_or_default();
        assert_eq!(env, serde_json::json!({ "type": "presence", "data": { "online": true } }));
        assert!(presence.envelope_for(b).is_none());
        let borrowed = serde_json::to_value(stored.envelope_ref(Some(EventSeq::new(2)))).unwrap_or_default();
        let owned = serde_json::to_value(stored.envelope_for(b)).unwrap_or_default();
        assert_eq!(borrowed, owned);
    }

    #[test]
    fn events_survive_a_trip_over_a_bus() {
        let a = UserId::from_uuid(Uuid::new_v4());
        let event = RealtimeEvent::ephemeral(TenantId::HOST, "typing", serde_json::json!({ "isTyping": true }), [a]);
        let wire = serde_json::to_string(&event).unwrap_or_default();
        let back: Result<RealtimeEvent, _> = serde_json::from_str(&wire);
        assert_eq!(back.ok(), Some(event));
    }
}
