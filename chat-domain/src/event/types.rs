use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::conversation::ReceiptKind;
use crate::group::{GroupDetails, GroupRole};
use crate::ids::{ConversationId, EventSeq, MessageId, Seq, TenantId, UserId};
use crate::message::{DeleteScope, Emoji, MessageParts};

/// Something that happened which members are told about. Stored (as the outbox and the catch-up log) in the
/// same transaction as the change, and delivered only after that transaction commits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "event")]
pub enum DomainEvent {
    /// A message was sent.
    MessageCreated {
        /// The message.
        message: MessageParts,
    },
    /// A message was edited.
    MessageUpdated {
        /// The message after the edit.
        message: MessageParts,
    },
    /// A message was deleted for one member or for everyone.
    MessageDeleted {
        /// Conversation.
        conversation: ConversationId,
        /// Message.
        message: MessageId,
        /// Whose view changed.
        scope: DeleteScope,
    },
    /// A member's delivered or read watermark moved.
    Receipt {
        /// Conversation.
        conversation: ConversationId,
        /// The member.
        user: UserId,
        /// Delivered or read.
        kind: ReceiptKind,
        /// The new watermark.
        up_to: Seq,
        /// When.
        at: DateTime<Utc>,
    },
    /// A reaction was added or removed.
    Reaction {
        /// Conversation.
        conversation: ConversationId,
        /// Message.
        message: MessageId,
        /// Who reacted.
        user: UserId,
        /// With what.
        emoji: Emoji,
        /// Added (true) or removed.
        added: bool,
    },
    /// A member's own side changed (muted, archived, read elsewhere): sent to that member only.
    ConversationUpdated {
        /// Conversation.
        conversation: ConversationId,
    },
    /// A member deleted their side, or the conversation (group) is gone.
    ConversationDeleted {
        /// Conversation.
        conversation: ConversationId,
    },
    /// A group's details changed.
    GroupUpdated {
        /// Group.
        group: ConversationId,
        /// New details.
        details: GroupDetails,
        /// Owner after the change.
        owner: Option<UserId>,
    },
    /// A member joined a group.
    GroupMemberAdded {
        /// Group.
        group: ConversationId,
        /// The member.
        user: UserId,
        /// Their role.
        role: GroupRole,
    },
    /// A member's role changed (promotion, demotion, ownership passing).
    GroupMemberUpdated {
        /// Group.
        group: ConversationId,
        /// The member.
        user: UserId,
        /// Their new role.
        role: GroupRole,
    },
    /// A member left or was removed.
    GroupMemberRemoved {
        /// Group.
        group: ConversationId,
        /// The member.
        user: UserId,
    },
}

impl DomainEvent {
    /// The event's name on the wire (Socket.IO event name and envelope `type`).
    pub fn name(&self) -> &'static str {
        match self {
            DomainEvent::MessageCreated { .. } => "message.created",
            DomainEvent::MessageUpdated { .. } => "message.updated",
            DomainEvent::MessageDeleted { .. } => "message.deleted",
            DomainEvent::Receipt { kind: ReceiptKind::Delivered, .. } => "message.delivered",
            DomainEvent::Receipt { kind: ReceiptKind::Read, .. } => "message.read",
            DomainEvent::Reaction { .. } => "message.reaction",
            DomainEvent::ConversationUpdated { .. } => "conversation.updated",
            DomainEvent::ConversationDeleted { .. } => "conversation.deleted",
            DomainEvent::GroupUpdated { .. } => "group.updated",
            DomainEvent::GroupMemberAdded { .. } => "group.member_added",
            DomainEvent::GroupMemberUpdated { .. } => "group.member_updated",
            DomainEvent::GroupMemberRemoved { .. } => "group.member_removed",
        }
    }
}

/// One event as one recipient's stream holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Tenant.
    pub tenant: TenantId,
    /// The recipient.
    pub user: UserId,
    /// Position in the recipient's stream.
    pub seq: EventSeq,
    /// What happened.
    pub event: Arc<DomainEvent>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// An event that a committed unit of work recorded, with the position it took in each recipient's stream.
/// This is what is handed to real-time senders after commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedEvent {
    /// Tenant.
    pub tenant: TenantId,
    /// What happened.
    pub event: Arc<DomainEvent>,
    /// Each recipient with the event's position in their stream.
    pub recipients: Vec<(UserId, EventSeq)>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}
