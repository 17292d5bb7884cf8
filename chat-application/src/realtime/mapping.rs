//! The one mapping from domain events to client payloads, shared by live delivery and `sync`.
//!
//! Payloads (camelCase):
//! - `message.created`, `message.updated`: a message DTO (`reactions[].me` is always `false`: one payload
//!   serves every recipient);
//! - `message.deleted`: `{ conversationId, messageId, scope }` (`me` goes to the deleting user only);
//! - `message.read`, `message.delivered`: `{ conversationId, userId, upToSeq, at }`;
//! - `message.reaction`: `{ conversationId, messageId, userId, emoji, added }`;
//! - `conversation.updated`, `conversation.deleted`: `{ conversationId }`;
//! - `group.updated`: `{ groupId, name, description, avatarUrl, ownerId }`;
//! - `group.member_added` / `group.member_updated`: `{ groupId, userId, role }` (a join / a role change);
//! - `group.member_removed`: `{ groupId, userId }`;
//! - `typing` (ephemeral): `{ conversationId, userId, isTyping }`.

use std::borrow::Cow;
use std::sync::Arc;

use chat_domain::event::{CommittedEvent, DomainEvent, StoredEvent};
use chat_domain::message::{Message, Reaction};
use chat_domain::{ConversationId, TenantId, UserId};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::sender::RealtimeEvent;
use crate::dto::{DeleteScopeDto, EventEnvelopeDto, GroupRoleDto};
use crate::mapping::{message_dto, role_dto};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageDeletedData {
    conversation_id: Uuid,
    message_id: Uuid,
    scope: DeleteScopeDto,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptData {
    conversation_id: Uuid,
    user_id: Uuid,
    up_to_seq: i64,
    at: DateTime<Utc>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReactionData<'a> {
    conversation_id: Uuid,
    message_id: Uuid,
    user_id: Uuid,
    emoji: &'a str,
    added: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConversationData {
    conversation_id: Uuid,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupUpdatedData<'a> {
    group_id: Uuid,
    name: &'a str,
    description: Option<&'a str>,
    avatar_url: Option<&'a str>,
    owner_id: Option<Uuid>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupMemberData {
    group_id: Uuid,
    user_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<GroupRoleDto>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TypingData {
    conversation_id: Uuid,
    user_id: Uuid,
    is_typing: bool,
}

fn to_value<T: Serialize>(data: &T) -> Value {
    serde_json::to_value(data).unwrap_or_else(|error| {
        tracing::error!(%error, "an event payload could not be serialized");
        Value::Null
    })
}

/// The client payload of a domain event. `reactions` supplies the current reactions of message events
/// (may be empty).
fn event_data(event: &DomainEvent, reactions: &[Reaction]) -> Value {
    match event {
        DomainEvent::MessageCreated { message } | DomainEvent::MessageUpdated { message } => {
            to_value(&message_dto(&Message::from_parts(message.clone()), reactions, None))
        }
        DomainEvent::MessageDeleted { conversation, message, scope } => to_value(&MessageDeletedData {
            conversation_id: conversation.as_uuid(),
            message_id: message.as_uuid(),
            scope: match scope {
                chat_domain::message::DeleteScope::Me => DeleteScopeDto::Me,
                chat_domain::message::DeleteScope::Everyone => DeleteScopeDto::Everyone,
            },
        }),
        DomainEvent::Receipt { conversation, user, up_to, at, .. } => to_value(&ReceiptData {
            conversation_id: conversation.as_uuid(),
            user_id: user.as_uuid(),
            up_to_seq: up_to.value(),
            at: *at,
        }),
        DomainEvent::Reaction { conversation, message, user, emoji, added } => to_value(&ReactionData {
            conversation_id: conversation.as_uuid(),
            message_id: message.as_uuid(),
            user_id: user.as_uuid(),
            emoji: emoji.as_str(),
            added: *added,
        }),
        DomainEvent::ConversationUpdated { conversation } | DomainEvent::ConversationDeleted { conversation } => {
            to_value(&ConversationData { conversation_id: conversation.as_uuid() })
        }
        DomainEvent::GroupUpdated { group, details, owner } => to_value(&GroupUpdatedData {
            group_id: group.as_uuid(),
            name: details.name(),
            description: details.description(),
            avatar_url: details.avatar_url(),
            owner_id: owner.map(|o| o.as_uuid()),
        }),
        DomainEvent::GroupMemberAdded { group, user, role } | DomainEvent::GroupMemberUpdated { group, user, role } => {
            to_value(&GroupMemberData {
                group_id: group.as_uuid(),
                user_id: user.as_uuid(),
                role: Some(role_dto(*role)),
            })
        }
        DomainEvent::GroupMemberRemoved { group, user } => {
            to_value(&GroupMemberData { group_id: group.as_uuid(), user_id: user.as_uuid(), role: None })
        }
    }
}

/// A committed event, ready for a sender (message payloads without reactions).
pub fn realtime_event(committed: &CommittedEvent) -> RealtimeEvent {
    realtime_event_with(committed, &[])
}

/// A committed event, ready for a sender, with the current reactions for message payloads.
pub fn realtime_event_with(committed: &CommittedEvent, reactions: &[Reaction]) -> RealtimeEvent {
    RealtimeEvent {
        tenant: committed.tenant,
        name: Cow::Borrowed(committed.event.name()),
        data: Arc::new(event_data(&committed.event, reactions)),
        recipients: committed.recipients.iter().map(|(user, seq)| (*user, Some(*seq))).collect(),
    }
}

/// A stored event as its recipient receives it on catch-up (message payloads without reactions).
pub fn envelope(stored: &StoredEvent) -> EventEnvelopeDto {
    envelope_with(stored, &[])
}

/// A stored event as its recipient receives it, with the current reactions for message payloads.
pub(crate) fn envelope_with(stored: &StoredEvent, reactions: &[Reaction]) -> EventEnvelopeDto {
    EventEnvelopeDto {
        event_seq: Some(stored.seq.value()),
        kind: stored.event.name().to_owned(),
        data: event_data(&stored.event, reactions),
    }
}

/// The ephemeral `typing` event.
pub(crate) fn typing_event(
    tenant: TenantId,
    conversation: ConversationId,
    user: UserId,
    is_typing: bool,
    recipients: impl IntoIterator<Item = UserId>,
) -> RealtimeEvent {
    let data = TypingData { conversation_id: conversation.as_uuid(), user_id: user.as_uuid(), is_typing };
    RealtimeEvent::ephemeral(tenant, "typing", to_value(&data), recipients)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_domain::conversation::ReceiptKind;
    use chat_domain::group::{GroupDetails, GroupRole};
    use chat_domain::message::{DeleteScope, Emoji};
    use chat_domain::{EventSeq, MessageId, Seq};
    use serde_json::json;

    fn committed(event: DomainEvent, to: UserId) -> CommittedEvent {
        CommittedEvent {
            tenant: TenantId::HOST,
            event: Arc::new(event),
            recipients: vec![(to, EventSeq::new(1))],
            at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn payloads_have_the_documented_shapes() {
        let (c, m, u) = (
            ConversationId::from_uuid(Uuid::new_v4()),
            MessageId::from_uuid(Uuid::new_v4()),
            UserId::from_uuid(Uuid::new_v4()),
        );
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let cases = [
            (
                DomainEvent::MessageDeleted { conversation: c, message: m, scope: DeleteScope::Everyone },
                "message.deleted",
                json!({ "conversationId": c, "messageId": m, "scope": "everyone" }),
            ),
            (
                DomainEvent::Receipt { conversation: c, user: u, kind: ReceiptKind::Delivered, up_to: Seq::new(4), at },
                "message.delivered",
                json!({ "conversationId": c, "userId": u, "upToSeq": 4, "at": at }),
            ),
            (
                DomainEvent::Reaction {
                    conversation: c,
                    message: m,
                    user: u,
                    emoji: Emoji::parse("👍").unwrap_or_else(|_| unreachable!()),
                    added: true,
                },
                "message.reaction",
                json!({ "conversationId": c, "messageId": m, "userId": u, "emoji": "👍", "added": true }),
            ),
            (
                DomainEvent::ConversationUpdated { conversation: c },
                "conversation.updated",
                json!({ "conversationId": c }),
            ),
            (
                DomainEvent::GroupMemberAdded { group: c, user: u, role: GroupRole::Admin },
                "group.member_added",
                json!({ "groupId": c, "userId": u, "role": "admin" }),
            ),
            (
                DomainEvent::GroupMemberUpdated { group: c, user: u, role: GroupRole::Owner },
                "group.member_updated",
                json!({ "groupId": c, "userId": u, "role": "owner" }),
            ),
            (
                DomainEvent::GroupMemberRemoved { group: c, user: u },
                "group.member_removed",
                json!({ "groupId": c, "userId": u }),
            ),
            (
                DomainEvent::GroupUpdated {
                    group: c,
                    details: GroupDetails::parse("Team", None, None).unwrap_or_else(|_| unreachable!()),
                    owner: Some(u),
                },
                "group.updated",
                json!({ "groupId": c, "name": "Team", "description": null, "avatarUrl": null, "ownerId": u }),
            ),
        ];
        for (event, name, data) in cases {
            let live = realtime_event(&committed(event, u));
            assert_eq!(live.name, name);
            assert_eq!(*live.data, data, "{name}");
            assert_eq!(live.recipients, vec![(u, Some(EventSeq::new(1)))]);
        }
    }
}
