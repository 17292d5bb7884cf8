use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::message::MessageDto;
use super::user::ChatUserDto;

/// Direct (two people) or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum ConversationTypeDto {
    /// One-to-one.
    Direct,
    /// A group (the conversation's id is the group's id).
    Group,
}

/// Whether the caller sent (`send`) or received (`receive`) the last message, after ABP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum MessageSideDto {
    /// The caller sent it.
    Send,
    /// Someone else sent it.
    Receive,
}

/// A conversation as the caller sees it: their side, with their unread count and settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConversationDto {
    /// Id (for a group, the group's id).
    pub id: Uuid,
    /// `direct` or `group`.
    #[serde(rename = "type")]
    pub kind: ConversationTypeDto,
    /// The group's name, or the other person's display name.
    pub name: Option<String>,
    /// The other person of a direct conversation.
    pub target_user_id: Option<Uuid>,
    /// The latest message.
    pub last_message: Option<MessageDto>,
    /// Whether the caller sent or received the latest message.
    pub last_message_side: Option<MessageSideDto>,
    /// When the latest message was sent.
    pub last_message_date: Option<DateTime<Utc>>,
    /// Others' messages the caller has not read.
    pub unread_count: i64,
    /// Muted by the caller.
    pub muted: bool,
    /// Archived by the caller.
    pub archived: bool,
    /// Number of members.
    pub member_count: u64,
    /// When the caller's side was created.
    pub created_at: DateTime<Utc>,
    /// Latest activity (last message, or creation): the list's order.
    pub last_activity_at: DateTime<Utc>,
    /// The caller's read watermark (highest `seq` read).
    pub read_seq: i64,
    /// The caller's delivered watermark.
    pub delivered_seq: i64,
}

/// The caller's conversations, newest activity first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct ListConversationsInput {
    /// Include archived conversations.
    #[serde(default)]
    pub include_archived: bool,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 100))]
    pub limit: Option<u32>,
}

/// Get or create the direct conversation with a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OpenDirectConversationInput {
    /// The other person (an active user of the caller's tenant).
    pub target_user_id: Uuid,
}

/// How many of the latest messages to return with a direct conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct GetDirectConversationInput {
    /// Number of latest messages, 1 to 100 (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 100))]
    pub limit: Option<u32>,
}

/// The direct conversation with a user and its latest messages (ABP's GetConversation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DirectConversationDto {
    /// The other person.
    pub target_user: ChatUserDto,
    /// The conversation; `None` when the two have never written to each other.
    pub conversation: Option<ConversationDto>,
    /// The latest messages, oldest first.
    pub messages: Vec<MessageDto>,
    /// Whether older messages exist.
    pub has_more: bool,
    /// Cursor (a `before`) for older messages.
    pub next_cursor: Option<String>,
}

/// Mute or unmute a conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MuteConversationInput {
    /// Muted or not.
    pub muted: bool,
}

/// Archive or unarchive a conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ArchiveConversationInput {
    /// Archived or not.
    pub archived: bool,
}

/// The caller started or stopped typing in a conversation (never stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TypingInput {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Typing or stopped.
    pub is_typing: bool,
}
