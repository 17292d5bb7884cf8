use chrono::{DateTime, Utc};

use crate::group::{GroupDetails, GroupRole};
use crate::ids::{AttachmentId, ConversationId, MessageId, TenantId, UserId};
use crate::message::{ClientMessageId, Message, MessageText};

/// Limits the messaging rules depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessagingPolicy {
    /// Most members a group may have.
    pub max_group_members: usize,
    /// Most attachments one message may carry.
    pub max_attachments: usize,
}

impl Default for MessagingPolicy {
    fn default() -> Self {
        Self { max_group_members: 1000, max_attachments: 10 }
    }
}

/// Who acts, in which tenant, and when: the context of every manager call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The acting user's tenant.
    pub tenant: TenantId,
    /// The acting user.
    pub user: UserId,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendTarget {
    /// The direct conversation with a user (created on first use).
    User(UserId),
    /// An existing conversation the sender belongs to.
    Conversation(ConversationId),
}

/// A request to send one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMessage {
    /// Tenant.
    pub tenant: TenantId,
    /// Sender.
    pub sender: UserId,
    /// Destination.
    pub target: SendTarget,
    /// Validated text.
    pub text: MessageText,
    /// Message replied to.
    pub reply_to: Option<MessageId>,
    /// Uploaded attachments to carry.
    pub attachments: Vec<AttachmentId>,
    /// Idempotency key.
    pub client_message_id: Option<ClientMessageId>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// The outcome of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The stored message (the original one for a repeated idempotency key).
    pub message: Message,
    /// Whether this was a repeat of an earlier send (nothing new was stored).
    pub duplicate: bool,
}

/// A change to a group's membership or details, by `actor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupChange {
    /// New name, description, avatar.
    Update(GroupDetails),
    /// Add members.
    AddMembers(Vec<UserId>),
    /// Remove a member (or oneself).
    RemoveMember(UserId),
    /// Set a member's role.
    ChangeRole(UserId, GroupRole),
    /// Hand ownership to a member.
    TransferOwnership(UserId),
    /// Leave the group.
    Leave,
}
