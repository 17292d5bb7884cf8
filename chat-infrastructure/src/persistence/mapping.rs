//! Every conversion between storage rows and domain values, in one place. Aggregates are rebuilt only
//! through their `from_parts` doors; nothing outside this module reads an entity's fields.

use sea_orm::ActiveValue::Set;
use sea_orm::JsonValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use chat_domain::attachment::{Attachment, AttachmentKind, AttachmentParts};
use chat_domain::conversation::{Conversation, ConversationKind, ConversationParts, LastMessage, ReceiptKind};
use chat_domain::event::DomainEvent;
use chat_domain::group::{ChatGroup, ChatGroupParts, GroupDetails, GroupMember, GroupRole};
use chat_domain::message::{AttachmentRef, ClientMessageId, Emoji, Message, MessageParts, MessageText, Reaction};
use chat_domain::text::PersonName;
use chat_domain::user::{ChatUser, ChatUserParts};
use chat_domain::{AttachmentId, ConversationId, EventSeq, MessageId, RepositoryError, Seq, TenantId, UserId};

use super::entities::{attachment, chat_group, chat_user, conversation, group_member, message, reaction};

fn corrupt(what: &str, detail: impl std::fmt::Display) -> RepositoryError {
    RepositoryError::storage_msg(format!("stored {what} is invalid: {detail}"))
}

/// Serialises a value for a JSON column.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<JsonValue, RepositoryError> {
    serde_json::to_value(value).map_err(RepositoryError::storage)
}

/// Reads a value from a JSON column.
pub(crate) fn from_json<T: DeserializeOwned>(what: &str, value: JsonValue) -> Result<T, RepositoryError> {
    serde_json::from_value(value).map_err(|e| corrupt(what, e))
}

/// The events one `events` row holds, oldest first: one event (an object), or several recorded together by
/// one unit of work (an array) at consecutive positions of each recipient's stream, of which the row's
/// `user_events` rows carry the last (ADR 0004).
pub(crate) fn events_in_row(payload: JsonValue) -> Result<Vec<DomainEvent>, RepositoryError> {
    match payload {
        JsonValue::Array(items) => items.into_iter().map(|e| from_json("event", e)).collect(),
        single => Ok(vec![from_json("event", single)?]),
    }
}

/// The position of the `index`th of a row's `count` events, given the position of its last one (see
/// [`events_in_row`]).
pub(crate) fn position_in_row(last: EventSeq, count: usize, index: usize) -> EventSeq {
    let back = i64::try_from(count.saturating_sub(index + 1)).unwrap_or(i64::MAX);
    EventSeq::new(last.value().saturating_sub(back))
}

// --- users ---

/// A stored user.
pub(crate) fn user_from_row(row: chat_user::Model) -> Result<ChatUser, RepositoryError> {
    let name = PersonName::parse(&row.user_name, row.name.as_deref(), row.surname.as_deref())
        .map_err(|e| corrupt("user", e))?;
    Ok(ChatUser::from_parts(ChatUserParts {
        tenant: TenantId::from_uuid(row.tenant_id),
        id: UserId::from_uuid(row.id),
        name,
        active: row.active,
        updated_at: row.updated_at,
    }))
}

/// A user's row.
pub(crate) fn user_to_row(user: &ChatUser) -> chat_user::ActiveModel {
    let p = user.to_parts();
    chat_user::ActiveModel {
        tenant_id: Set(p.tenant.as_uuid()),
        id: Set(p.id.as_uuid()),
        user_name: Set(p.name.user_name().to_owned()),
        name: Set(p.name.name().map(str::to_owned)),
        surname: Set(p.name.surname().map(str::to_owned)),
        active: Set(p.active),
        updated_at: Set(p.updated_at),
    }
}

// --- conversations ---

/// The stored name of a conversation kind.
pub(crate) const KIND_DIRECT: &str = "direct";
/// The stored name of a conversation kind.
pub(crate) const KIND_GROUP: &str = "group";

/// A stored side.
pub(crate) fn conversation_from_row(row: conversation::Model) -> Result<Conversation, RepositoryError> {
    let kind = match (row.kind.as_str(), row.peer_id) {
        (KIND_DIRECT, Some(peer)) => ConversationKind::Direct { peer: UserId::from_uuid(peer) },
        (KIND_GROUP, _) => ConversationKind::Group,
        (other, _) => return Err(corrupt("conversation kind", other)),
    };
    let last_message = match (row.last_message_id, row.last_message_seq, row.last_message_sender, row.last_message_at) {
        (Some(id), Some(seq), Some(sender), Some(at)) => Some(LastMessage {
            id: MessageId::from_uuid(id),
            seq: Seq::new(seq),
            sender: UserId::from_uuid(sender),
            at,
        }),
        _ => None,
    };
    Ok(Conversation::from_parts(ConversationParts {
        tenant: TenantId::from_uuid(row.tenant_id),
        id: ConversationId::from_uuid(row.conversation_id),
        user: UserId::from_uuid(row.user_id),
        kind,
        last_message,
        last_activity_at: row.last_activity_at,
        unread_count: row.unread_count,
        read_seq: Seq::new(row.read_seq),
        read_at: row.read_at,
        delivered_seq: Seq::new(row.delivered_seq),
        delivered_at: row.delivered_at,
        cleared_seq: Seq::new(row.cleared_seq),
        hidden: row.hidden,
        muted: row.muted,
        archived: row.archived,
        created_at: row.created_at,
    }))
}

/// A side's row.
pub(crate) fn conversation_to_row(side: &Conversation) -> conversation::ActiveModel {
    let p = side.to_parts();
    let (kind, peer) = match p.kind {
        ConversationKind::Direct { peer } => (KIND_DIRECT, Some(peer.as_uuid())),
        ConversationKind::Group => (KIND_GROUP, None),
    };
    conversation::ActiveModel {
        tenant_id: Set(p.tenant.as_uuid()),
        conversation_id: Set(p.id.as_uuid()),
        user_id: Set(p.user.as_uuid()),
        kind: Set(kind.to_owned()),
        peer_id: Set(peer),
        last_message_id: Set(p.last_message.map(|m| m.id.as_uuid())),
        last_message_seq: Set(p.last_message.map(|m| m.seq.value())),
        last_message_sender: Set(p.last_message.map(|m| m.sender.as_uuid())),
        last_message_at: Set(p.last_message.map(|m| m.at)),
        last_activity_at: Set(p.last_activity_at),
        unread_count: Set(p.unread_count),
        read_seq: Set(p.read_seq.value()),
        read_at: Set(p.read_at),
        delivered_seq: Set(p.delivered_seq.value()),
        delivered_at: Set(p.delivered_at),
        cleared_seq: Set(p.cleared_seq.value()),
        hidden: Set(p.hidden),
        muted: Set(p.muted),
        archived: Set(p.archived),
        created_at: Set(p.created_at),
    }
}

/// The stored name of a receipt kind.
pub(crate) fn receipt_kind_name(kind: ReceiptKind) -> &'static str {
    match kind {
        ReceiptKind::Delivered => "delivered",
        ReceiptKind::Read => "read",
    }
}

// --- groups ---

fn role_name(role: GroupRole) -> &'static str {
    match role {
        GroupRole::Owner => "owner",
        GroupRole::Admin => "admin",
        GroupRole::Member => "member",
    }
}

fn role_from_name(name: &str) -> Result<GroupRole, RepositoryError> {
    match name {
        "owner" => Ok(GroupRole::Owner),
        "admin" => Ok(GroupRole::Admin),
        "member" => Ok(GroupRole::Member),
        other => Err(corrupt("group role", other)),
    }
}

/// A stored member.
pub(crate) fn member_from_row(row: group_member::Model) -> Result<GroupMember, RepositoryError> {
    Ok(GroupMember { user: UserId::from_uuid(row.user_id), role: role_from_name(&row.role)?, joined_at: row.joined_at })
}

/// A stored group with its members (in joining order).
pub(crate) fn group_from_rows(
    row: chat_group::Model,
    members: Vec<group_member::Model>,
) -> Result<ChatGroup, RepositoryError> {
    let details = GroupDetails::parse(&row.name, row.description.as_deref(), row.avatar_url.as_deref())
        .map_err(|e| corrupt("group", e))?;
    let members = members.into_iter().map(member_from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(ChatGroup::from_parts(ChatGroupParts {
        tenant: TenantId::from_uuid(row.tenant_id),
        id: ConversationId::from_uuid(row.id),
        details,
        members,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }))
}

/// A group's row and its members' rows (`position` keeps the joining order).
pub(crate) fn group_to_rows(group: &ChatGroup) -> (chat_group::ActiveModel, Vec<group_member::ActiveModel>) {
    let p = group.to_parts();
    let row = chat_group::ActiveModel {
        tenant_id: Set(p.tenant.as_uuid()),
        id: Set(p.id.as_uuid()),
        name: Set(p.details.name().to_owned()),
        description: Set(p.details.description().map(str::to_owned)),
        avatar_url: Set(p.details.avatar_url().map(str::to_owned)),
        created_at: Set(p.created_at),
        updated_at: Set(p.updated_at),
    };
    let members = p
        .members
        .iter()
        .zip(0i64..)
        .map(|(m, position)| group_member::ActiveModel {
            tenant_id: Set(p.tenant.as_uuid()),
            group_id: Set(p.id.as_uuid()),
            user_id: Set(m.user.as_uuid()),
            role: Set(role_name(m.role).to_owned()),
            joined_at: Set(m.joined_at),
            position: Set(position),
        })
        .collect();
    (row, members)
}

// --- messages ---

/// A stored message.
pub(crate) fn message_from_row(row: message::Model) -> Result<Message, RepositoryError> {
    let attachments: Vec<AttachmentRef> = from_json("message attachments", row.attachments)?;
    let client_message_id = row
        .client_message_id
        .map(|k| ClientMessageId::parse(&k).map_err(|e| corrupt("client message id", e)))
        .transpose()?;
    Ok(Message::from_parts(MessageParts {
        tenant: TenantId::from_uuid(row.tenant_id),
        id: MessageId::from_uuid(row.id),
        conversation: ConversationId::from_uuid(row.conversation_id),
        seq: Seq::new(row.seq),
        sender: UserId::from_uuid(row.sender_id),
        text: row.text.map(MessageText::from_stored),
        reply_to: row.reply_to.map(MessageId::from_uuid),
        attachments,
        client_message_id,
        created_at: row.created_at,
        edited_at: row.edited_at,
        deleted_at: row.deleted_at,
    }))
}

/// A message's row.
pub(crate) fn message_to_row(message: &Message) -> Result<message::ActiveModel, RepositoryError> {
    let p = message.to_parts();
    Ok(message::ActiveModel {
        tenant_id: Set(p.tenant.as_uuid()),
        id: Set(p.id.as_uuid()),
        conversation_id: Set(p.conversation.as_uuid()),
        seq: Set(p.seq.value()),
        sender_id: Set(p.sender.as_uuid()),
        text: Set(p.text.map(|t| t.as_str().to_owned())),
        reply_to: Set(p.reply_to.map(|m| m.as_uuid())),
        attachments: Set(to_json(&p.attachments)?),
        client_message_id: Set(p.client_message_id.map(|k| k.as_str().to_owned())),
        created_at: Set(p.created_at),
        edited_at: Set(p.edited_at),
        deleted_at: Set(p.deleted_at),
    })
}

/// A stored reaction.
pub(crate) fn reaction_from_row(row: reaction::Model) -> Result<Reaction, RepositoryError> {
    Ok(Reaction {
        tenant: TenantId::from_uuid(row.tenant_id),
        message: MessageId::from_uuid(row.message_id),
        user: UserId::from_uuid(row.user_id),
        emoji: Emoji::parse(&row.emoji).map_err(|e| corrupt("reaction", e))?,
        at: row.at,
    })
}

// --- attachments ---

fn attachment_kind_name(kind: AttachmentKind) -> &'static str {
    match kind {
        AttachmentKind::Image => "image",
        AttachmentKind::Video => "video",
        AttachmentKind::File => "file",
    }
}

/// A stored attachment.
pub(crate) fn attachment_from_row(row: attachment::Model) -> Result<Attachment, RepositoryError> {
    let kind = match row.kind.as_str() {
        "image" => AttachmentKind::Image,
        "video" => AttachmentKind::Video,
        "file" => AttachmentKind::File,
        other => return Err(corrupt("attachment kind", other)),
    };
    Ok(Attachment::from_parts(AttachmentParts {
        tenant: TenantId::from_uuid(row.tenant_id),
        id: AttachmentId::from_uuid(row.id),
        uploader: UserId::from_uuid(row.uploader_id),
        file_name: row.file_name,
        mime_type: row.mime_type,
        kind,
        size: row.size,
        blob_key: row.blob_key,
        created_at: row.created_at,
        message: row.message_id.map(MessageId::from_uuid),
        conversation: row.conversation_id.map(ConversationId::from_uuid),
    }))
}

/// An attachment's row.
pub(crate) fn attachment_to_row(a: &Attachment) -> attachment::ActiveModel {
    let p = a.parts();
    attachment::ActiveModel {
        tenant_id: Set(p.tenant.as_uuid()),
        id: Set(p.id.as_uuid()),
        uploader_id: Set(p.uploader.as_uuid()),
        file_name: Set(p.file_name.clone()),
        mime_type: Set(p.mime_type.clone()),
        kind: Set(attachment_kind_name(p.kind).to_owned()),
        size: Set(p.size),
        blob_key: Set(p.blob_key.clone()),
        created_at: Set(p.created_at),
        message_id: Set(p.message.map(|m| m.as_uuid())),
        conversation_id: Set(p.conversation.map(|c| c.as_uuid())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(up_to: i64) -> DomainEvent {
        DomainEvent::Receipt {
            conversation: ConversationId::from_uuid(uuid::Uuid::from_u128(1)),
            user: UserId::from_uuid(uuid::Uuid::from_u128(2)),
            kind: ReceiptKind::Read,
            up_to: Seq::new(up_to),
            at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_row_holds_one_event_or_several_at_the_positions_before_its_own() {
        let one = to_json(&receipt(1)).expect("json");
        assert_eq!(events_in_row(one).expect("one event"), vec![receipt(1)]);
        let several = JsonValue::Array(vec![to_json(&receipt(1)).expect("json"), to_json(&receipt(2)).expect("json")]);
        assert_eq!(events_in_row(several).expect("two events"), vec![receipt(1), receipt(2)]);
        let last = EventSeq::new(10);
        let at: Vec<i64> = (0..3).map(|i| position_in_row(last, 3, i).value()).collect();
        assert_eq!(at, vec![8, 9, 10]);
        assert_eq!(position_in_row(last, 1, 0), last);
        assert!(events_in_row(serde_json::json!({"event": "nothing"})).is_err(), "a corrupt row is an error");
    }
}
