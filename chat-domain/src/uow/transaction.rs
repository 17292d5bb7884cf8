use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::attachment::Attachment;
use crate::conversation::{Conversation, LastMessage, ReceiptKind};
use crate::error::RepositoryError;
use crate::event::DomainEvent;
use crate::group::ChatGroup;
use crate::ids::{AttachmentId, ConversationId, MessageId, Seq, TenantId, UserId};
use crate::message::{ClientMessageId, Emoji, Message, Reaction};
use crate::user::ChatUser;

/// Reads and writes inside one unit of work. Reads see the unit's own writes. Every call is scoped by tenant.
///
/// Bulk operations (`record_message_on_sides`, `forget_message_on_sides`) exist so that a message to a group
/// of a thousand members costs one statement, not a thousand; their meaning is exactly that of the
/// `Conversation` verbs they name, applied to every side.
#[async_trait]
pub trait Transaction: Send {
    // --- users ---
    /// One user.
    async fn user(&mut self, tenant: TenantId, id: UserId) -> Result<Option<ChatUser>, RepositoryError>;
    /// Several users; missing ones are left out.
    async fn users(&mut self, tenant: TenantId, ids: &[UserId]) -> Result<Vec<ChatUser>, RepositoryError>;
    /// Inserts or replaces a user.
    async fn save_user(&mut self, user: &ChatUser) -> Result<(), RepositoryError>;

    // --- conversation sides ---
    /// One member's side.
    async fn conversation(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
    ) -> Result<Option<Conversation>, RepositoryError>;
    /// A user's side of the direct conversation with `peer`.
    async fn direct_conversation(
        &mut self,
        tenant: TenantId,
        user: UserId,
        peer: UserId,
    ) -> Result<Option<Conversation>, RepositoryError>;
    /// The members of a conversation (the users who have a side).
    async fn conversation_members(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
    ) -> Result<Vec<UserId>, RepositoryError>;
    /// Inserts or replaces one side. A second direct conversation between the same two users is a
    /// `Conflict`.
    async fn save_conversation(&mut self, side: &Conversation) -> Result<(), RepositoryError>;
    /// Removes one member's side.
    async fn delete_conversation(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
    ) -> Result<(), RepositoryError>;
    /// `Conversation::record_message` on every side of the conversation.
    async fn record_message_on_sides(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        message: &LastMessage,
    ) -> Result<(), RepositoryError>;
    /// `Conversation::forget_message` on every side of the conversation, except the sides of members who
    /// already hid that message (they stopped counting it when they hid it).
    async fn forget_message_on_sides(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        seq: Seq,
        sender: UserId,
    ) -> Result<(), RepositoryError>;
    /// Appends to a member's receipt log: their `kind` watermark reached `up_to` at `at`.
    async fn record_receipt(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
        kind: ReceiptKind,
        up_to: Seq,
        at: DateTime<Utc>,
    ) -> Result<(), RepositoryError>;
    /// Removes everything of a conversation: sides, group and members, messages, reactions, hidden marks,
    /// receipts, and its sequence counter. Recorded events stay.
    async fn purge_conversation(&mut self, tenant: TenantId, id: ConversationId) -> Result<(), RepositoryError>;

    // --- groups ---
    /// One group with its members.
    async fn group(&mut self, tenant: TenantId, id: ConversationId) -> Result<Option<ChatGroup>, RepositoryError>;
    /// Inserts or replaces a group and its member list.
    async fn save_group(&mut self, group: &ChatGroup) -> Result<(), RepositoryError>;

    // --- messages ---
    /// One message.
    async fn message(&mut self, tenant: TenantId, id: MessageId) -> Result<Option<Message>, RepositoryError>;
    /// The message a sender stored under an idempotency key.
    async fn message_by_client_id(
        &mut self,
        tenant: TenantId,
        sender: UserId,
        client_message_id: &ClientMessageId,
    ) -> Result<Option<Message>, RepositoryError>;
    /// The highest `seq` assigned in a conversation (zero before the first message).
    async fn last_seq(&mut self, tenant: TenantId, id: ConversationId) -> Result<Seq, RepositoryError>;
    /// Assigns the next `seq` of a conversation. Gap-free: the counter moves only if the unit commits, and
    /// concurrent units (other processes included) never get the same value.
    async fn next_seq(&mut self, tenant: TenantId, id: ConversationId) -> Result<Seq, RepositoryError>;
    /// Inserts a committed message. A repeated (tenant, sender, client message id) is a `Conflict`.
    async fn insert_message(&mut self, message: &Message) -> Result<(), RepositoryError>;
    /// Replaces a message's mutable fields (text, edit and deletion times, attachments).
    async fn update_message(&mut self, message: &Message) -> Result<(), RepositoryError>;
    /// Hides a message from one member ("delete for me"). Returns whether it was visible before.
    async fn hide_message(&mut self, tenant: TenantId, user: UserId, id: MessageId) -> Result<bool, RepositoryError>;
    /// Whether `user` deleted the message for themselves.
    async fn is_hidden(&mut self, tenant: TenantId, user: UserId, id: MessageId) -> Result<bool, RepositoryError>;
    /// How many messages after `after` are from others than `user`, not deleted and not hidden from `user`.
    async fn count_unread_after(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
        after: Seq,
    ) -> Result<i64, RepositoryError>;
    /// Adds a reaction. Returns whether it is new.
    async fn add_reaction(&mut self, reaction: &Reaction) -> Result<bool, RepositoryError>;
    /// Removes a reaction. Returns whether it existed.
    async fn remove_reaction(
        &mut self,
        tenant: TenantId,
        message: MessageId,
        user: UserId,
        emoji: &Emoji,
    ) -> Result<bool, RepositoryError>;

    // --- attachments ---
    /// One attachment.
    async fn attachment(&mut self, tenant: TenantId, id: AttachmentId) -> Result<Option<Attachment>, RepositoryError>;
    /// Replaces an attachment's metadata (to record the message that carries it).
    async fn save_attachment(&mut self, attachment: &Attachment) -> Result<(), RepositoryError>;

    // --- events (the outbox) ---
    /// Records an event for each recipient, at the next position of each recipient's stream. The unit of
    /// work returns it, with those positions, after commit.
    async fn record_event(
        &mut self,
        tenant: TenantId,
        recipients: &[UserId],
        event: DomainEvent,
        at: DateTime<Utc>,
    ) -> Result<(), RepositoryError>;
}
