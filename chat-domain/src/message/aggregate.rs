use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::values::{ClientMessageId, MessageText};
use crate::error::DomainError;
use crate::ids::{AttachmentId, ConversationId, MessageId, Seq, TenantId, UserId};

/// What a message says about an attachment it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    /// The attachment.
    pub id: AttachmentId,
    /// The uploaded file's name.
    pub file_name: String,
    /// The type detected from the content.
    pub mime_type: String,
    /// Size in bytes.
    pub size: i64,
}

/// Whose view a deletion changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeleteScope {
    /// Only the deleting user's side.
    Me,
    /// Every member's side: the text is erased and the message shows as deleted.
    Everyone,
}

/// A message before it is committed: everything but its `seq`, which the store assigns inside the
/// transaction that writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Tenant.
    pub tenant: TenantId,
    /// New id.
    pub id: MessageId,
    /// The conversation it is sent to.
    pub conversation: ConversationId,
    /// The sender.
    pub sender: UserId,
    /// The text.
    pub text: MessageText,
    /// The message replied to, in the same conversation.
    pub reply_to: Option<MessageId>,
    /// Attachments, already uploaded by the sender.
    pub attachments: Vec<AttachmentRef>,
    /// The sender's idempotency key.
    pub client_message_id: Option<ClientMessageId>,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
}

/// One chat message. Its text is gone once it is deleted for everyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    tenant: TenantId,
    id: MessageId,
    conversation: ConversationId,
    seq: Seq,
    sender: UserId,
    text: Option<MessageText>,
    reply_to: Option<MessageId>,
    attachments: Vec<AttachmentRef>,
    client_message_id: Option<ClientMessageId>,
    created_at: DateTime<Utc>,
    edited_at: Option<DateTime<Utc>>,
    deleted_at: Option<DateTime<Utc>>,
}

/// Every stored field of a [`Message`]: the one door for rehydration, and the shape carried in events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageParts {
    /// Tenant.
    pub tenant: TenantId,
    /// Id.
    pub id: MessageId,
    /// Conversation.
    pub conversation: ConversationId,
    /// Position in the conversation.
    pub seq: Seq,
    /// Sender.
    pub sender: UserId,
    /// Text; `None` once deleted for everyone.
    pub text: Option<MessageText>,
    /// Replied-to message.
    pub reply_to: Option<MessageId>,
    /// Attachments.
    pub attachments: Vec<AttachmentRef>,
    /// Idempotency key.
    pub client_message_id: Option<ClientMessageId>,
    /// Sent at.
    pub created_at: DateTime<Utc>,
    /// Last edited at.
    pub edited_at: Option<DateTime<Utc>>,
    /// Deleted for everyone at.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl NewMessage {
    /// The committed message, once the store has assigned its position.
    pub fn into_message(self, seq: Seq) -> Message {
        Message {
            tenant: self.tenant,
            id: self.id,
            conversation: self.conversation,
            seq,
            sender: self.sender,
            text: Some(self.text),
            reply_to: self.reply_to,
            attachments: self.attachments,
            client_message_id: self.client_message_id,
            created_at: self.created_at,
            edited_at: None,
            deleted_at: None,
        }
    }
}

impl Message {
    /// Rehydrates a stored message.
    pub fn from_parts(parts: MessageParts) -> Self {
        Self {
            tenant: parts.tenant,
            id: parts.id,
            conversation: parts.conversation,
            seq: parts.seq,
            sender: parts.sender,
            text: parts.text,
            reply_to: parts.reply_to,
            attachments: parts.attachments,
            client_message_id: parts.client_message_id,
            created_at: parts.created_at,
            edited_at: parts.edited_at,
            deleted_at: parts.deleted_at,
        }
    }

    /// All fields, for storage and events.
    pub fn to_parts(&self) -> MessageParts {
        MessageParts {
            tenant: self.tenant,
            id: self.id,
            conversation: self.conversation,
            seq: self.seq,
            sender: self.sender,
            text: self.text.clone(),
            reply_to: self.reply_to,
            attachments: self.attachments.clone(),
            client_message_id: self.client_message_id.clone(),
            created_at: self.created_at,
            edited_at: self.edited_at,
            deleted_at: self.deleted_at,
        }
    }

    /// Tenant.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }
    /// Id.
    pub fn id(&self) -> MessageId {
        self.id
    }
    /// Conversation.
    pub fn conversation(&self) -> ConversationId {
        self.conversation
    }
    /// Position in the conversation.
    pub fn seq(&self) -> Seq {
        self.seq
    }
    /// Sender.
    pub fn sender(&self) -> UserId {
        self.sender
    }
    /// Text, unless deleted for everyone.
    pub fn text(&self) -> Option<&MessageText> {
        self.text.as_ref()
    }
    /// Replied-to message.
    pub fn reply_to(&self) -> Option<MessageId> {
        self.reply_to
    }
    /// Attachments (empty once deleted for everyone).
    pub fn attachments(&self) -> &[AttachmentRef] {
        &self.attachments
    }
    /// Idempotency key.
    pub fn client_message_id(&self) -> Option<&ClientMessageId> {
        self.client_message_id.as_ref()
    }
    /// Sent at.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    /// Last edited at.
    pub fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.edited_at
    }
    /// Deleted for everyone at.
    pub fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.deleted_at
    }
    /// Whether it was deleted for everyone.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// Replaces the text. Only the author may, only while the message exists, and only within the edit
    /// window (`None` = no limit).
    pub fn edit(
        &mut self,
        editor: UserId,
        text: MessageText,
        edit_window_seconds: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        if editor != self.sender {
            return Err(DomainError::NotTheAuthor { message: self.id, action: "edit" });
        }
        if self.is_deleted() {
            return Err(DomainError::MessageDeleted(self.id));
        }
        if let Some(seconds) = edit_window_seconds
            && now - self.created_at > chrono::Duration::seconds(seconds)
        {
            return Err(DomainError::EditWindowPassed { seconds });
        }
        self.text = Some(text);
        self.edited_at = Some(now);
        Ok(())
    }

    /// Deletes the message for everyone: erases text and attachments, keeps the position so `seq` stays
    /// gap-free. The caller has checked who may (see `MessagingManager`).
    pub fn erase(&mut self, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.is_deleted() {
            return Err(DomainError::MessageDeleted(self.id));
        }
        self.text = None;
        self.attachments.clear();
        self.deleted_at = Some(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).single().unwrap_or_default()
    }

    fn message(sender: UserId) -> Message {
        NewMessage {
            tenant: TenantId::HOST,
            id: MessageId::new_at(t0()),
            conversation: ConversationId::new_at(t0()),
            sender,
            text: MessageText::from_stored("hello".into()),
            reply_to: None,
            attachments: vec![],
            client_message_id: None,
            created_at: t0(),
        }
        .into_message(Seq::new(1))
    }

    #[test]
    fn editing_someone_elses_message_is_refused() {
        let author = UserId::new_at(t0());
        let other = UserId::from_uuid(uuid::Uuid::new_v4());
        let mut m = message(author);
        let err = m.edit(other, MessageText::from_stored("x".into()), None, t0());
        assert!(matches!(err, Err(DomainError::NotTheAuthor { .. })));
        assert_eq!(m.text().map(MessageText::as_str), Some("hello"));
    }

    #[test]
    fn edit_after_the_window_is_refused() {
        let author = UserId::new_at(t0());
        let mut m = message(author);
        let late = t0() + chrono::Duration::seconds(61);
        let err = m.edit(author, MessageText::from_stored("x".into()), Some(60), late);
        assert_eq!(err, Err(DomainError::EditWindowPassed { seconds: 60 }));
        assert!(m.edit(author, MessageText::from_stored("x".into()), Some(60), t0()).is_ok());
        assert_eq!(m.edited_at(), Some(t0()));
    }

    #[test]
    fn erased_message_loses_its_text_and_cannot_be_edited() {
        let author = UserId::new_at(t0());
        let mut m = message(author);
        assert!(m.erase(t0()).is_ok());
        assert!(m.text().is_none());
        assert!(m.is_deleted());
        assert!(m.erase(t0()).is_err());
        assert!(m.edit(author, MessageText::from_stored("x".into()), None, t0()).is_err());
    }
}
