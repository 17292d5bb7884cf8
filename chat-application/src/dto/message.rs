use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A message as clients see it.
///
/// `reactions[].me` says whether the reader reacted; in real-time events and `sync` (one payload for every
/// recipient) it is always `false`, and clients track their own reactions from `message.reaction` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MessageDto {
    /// Id (UUID v7).
    pub id: Uuid,
    /// Conversation (for a group, the group's id).
    pub conversation_id: Uuid,
    /// Position in the conversation: 1, 2, 3 … without gaps.
    pub seq: i64,
    /// Sender.
    pub sender_id: Uuid,
    /// Text, byte for byte as sent; `None` once deleted for everyone.
    pub text: Option<String>,
    /// The message replied to.
    pub reply_to_id: Option<Uuid>,
    /// Attachments.
    pub attachments: Vec<AttachmentDto>,
    /// Reactions grouped by emoji.
    pub reactions: Vec<ReactionDto>,
    /// The sender's idempotency key.
    pub client_message_id: Option<String>,
    /// Sent at.
    pub created_at: DateTime<Utc>,
    /// Last edited at.
    pub edited_at: Option<DateTime<Utc>>,
    /// Deleted for everyone.
    pub deleted: bool,
}

/// An attachment a message carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AttachmentDto {
    /// Id (fetch it from the attachments endpoint).
    pub id: Uuid,
    /// File name.
    pub file_name: String,
    /// Type detected from the content.
    pub mime_type: String,
    /// Size in bytes.
    pub size: i64,
}

/// One emoji's reactions to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReactionDto {
    /// The emoji.
    pub emoji: String,
    /// How many members reacted with it.
    pub count: u32,
    /// Whether the reader is one of them (always `false` in events).
    pub me: bool,
}

/// Send a message to a user (direct conversation, created on first use) or to a conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SendMessageInput {
    /// The user to write to; exactly one of `targetUserId` and `conversationId`.
    pub target_user_id: Option<Uuid>,
    /// The conversation to write to.
    pub conversation_id: Option<Uuid>,
    /// Text: 1 to 4,000 characters after trimming (configurable).
    pub text: String,
    /// A message of the same conversation this one replies to.
    pub reply_to_id: Option<Uuid>,
    /// Idempotency key (1-64 visible ASCII characters): a repeat returns the first message.
    pub client_message_id: Option<String>,
    /// Attachments uploaded by the sender and not yet sent.
    #[serde(default)]
    pub attachment_ids: Vec<Uuid>,
}

/// Which page of a conversation's history. Items are always in ascending `seq` order.
///
/// Without `after`, the page is the newest `limit` messages before `before` (or the latest), and
/// `nextCursor` goes further back (pass it as `before`). With `after`, the page is the oldest `limit`
/// messages after it, and `nextCursor` goes forward (pass it as `after`). Cursors are message `seq`s.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct GetMessagesInput {
    /// Only messages before this cursor.
    pub before: Option<String>,
    /// Only messages after this cursor.
    pub after: Option<String>,
    /// Only messages sent at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only messages sent at or before this time.
    pub to: Option<DateTime<Utc>>,
    /// Page size, 1 to 100 (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 100))]
    pub limit: Option<u32>,
}

/// Mark a conversation read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MarkReadInput {
    /// Read up to and including this message; `None` reads everything.
    pub up_to_message_id: Option<Uuid>,
}

/// Messages this device received.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MarkDeliveredInput {
    /// The messages (at most 100); each conversation's delivered watermark moves to the highest.
    pub message_ids: Vec<Uuid>,
}

/// Replace the text of one's own message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EditMessageInput {
    /// The new text.
    pub text: String,
}

/// Whose view a deletion changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum DeleteScopeDto {
    /// Only my side.
    #[default]
    Me,
    /// Everyone's (the sender, or a group owner/admin, within the tenant's deletion settings).
    Everyone,
}

/// Delete a message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct DeleteMessageInput {
    /// `me` (default) or `everyone`.
    #[serde(default)]
    pub scope: DeleteScopeDto,
}

/// Full-text search over the caller's conversations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct SearchMessagesInput {
    /// Words to find (1 to 256 characters).
    pub q: String,
    /// Restrict to one conversation.
    pub conversation_id: Option<Uuid>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 100))]
    pub limit: Option<u32>,
}

/// Who received and read a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReceiptsDto {
    /// The message.
    pub message_id: Uuid,
    /// Every member of its conversation.
    pub members: Vec<MemberReceiptDto>,
}

/// When one member received and read a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MemberReceiptDto {
    /// The member.
    pub user_id: Uuid,
    /// When their device received it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When they read it.
    pub read_at: Option<DateTime<Utc>>,
}
