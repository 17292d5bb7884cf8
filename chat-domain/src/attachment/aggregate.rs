use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::ids::{AttachmentId, ConversationId, MessageId, TenantId, UserId};
use crate::message::AttachmentRef;

/// The families of files accepted, each with its own size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttachmentKind {
    /// JPEG, PNG, GIF, WebP: up to 10 MB.
    Image,
    /// MP4, WebM, MOV: up to 100 MB.
    Video,
    /// PDF, DOC, DOCX, XLS, XLSX, ZIP: up to 50 MB.
    File,
}

impl AttachmentKind {
    /// The kind of an accepted MIME type, or `None` for a type that is not accepted.
    pub fn of_mime(mime: &str) -> Option<Self> {
        match mime {
            "image/jpeg" | "image/png" | "image/gif" | "image/webp" => Some(Self::Image),
            "video/mp4" | "video/webm" | "video/quicktime" => Some(Self::Video),
            "application/pdf"
            | "application/msword"
            | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            | "application/vnd.ms-excel"
            | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            | "application/zip" => Some(Self::File),
            _ => None,
        }
    }

    /// The largest file of this kind, in bytes.
    pub fn max_size(self) -> i64 {
        match self {
            Self::Image => 10_000_000,
            Self::Video => 100_000_000,
            Self::File => 50_000_000,
        }
    }
}

/// An uploaded file. It belongs to its uploader until a message carries it; from then on, members of that
/// message's conversation may fetch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    parts: AttachmentParts,
}

/// What an upload brings, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct NewAttachment {
    pub tenant: TenantId,
    pub id: AttachmentId,
    pub uploader: UserId,
    pub file_name: String,
    /// Detected from the content, not taken from the client.
    pub mime_type: String,
    pub size: i64,
    pub blob_key: String,
    pub created_at: DateTime<Utc>,
}

/// Every stored field of an [`Attachment`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct AttachmentParts {
    pub tenant: TenantId,
    pub id: AttachmentId,
    pub uploader: UserId,
    pub file_name: String,
    pub mime_type: String,
    pub kind: AttachmentKind,
    pub size: i64,
    /// Where the blob store keeps the bytes.
    pub blob_key: String,
    pub created_at: DateTime<Utc>,
    pub message: Option<MessageId>,
    pub conversation: Option<ConversationId>,
}

impl Attachment {
    /// The longest file name kept.
    pub const MAX_FILE_NAME: usize = 255;

    /// A new upload: the MIME type (detected from the content) must be accepted and the size within its
    /// kind's limit. The file name is kept without path separators or control characters.
    pub fn new(upload: NewAttachment) -> Result<Self, DomainError> {
        let kind = AttachmentKind::of_mime(&upload.mime_type)
            .ok_or(DomainError::InvalidText { field: "file type", max: 0 })?;
        if upload.size <= 0 || upload.size > kind.max_size() {
            let max = usize::try_from(kind.max_size()).unwrap_or(usize::MAX);
            return Err(DomainError::InvalidText { field: "file size", max });
        }
        let file_name: String = upload
            .file_name
            .chars()
            .filter(|c| !c.is_control() && !matches!(c, '/' | '\\'))
            .take(Self::MAX_FILE_NAME)
            .collect();
        let file_name = if file_name.trim().is_empty() { "file".to_owned() } else { file_name };
        Ok(Self {
            parts: AttachmentParts {
                tenant: upload.tenant,
                id: upload.id,
                uploader: upload.uploader,
                file_name,
                mime_type: upload.mime_type,
                kind,
                size: upload.size,
                blob_key: upload.blob_key,
                created_at: upload.created_at,
                message: None,
                conversation: None,
            },
        })
    }

    /// Rehydrates a stored attachment.
    pub fn from_parts(parts: AttachmentParts) -> Self {
        Self { parts }
    }

    /// All fields.
    pub fn parts(&self) -> &AttachmentParts {
        &self.parts
    }

    /// Id.
    pub fn id(&self) -> AttachmentId {
        self.parts.id
    }

    /// Checks that `sender` may attach it to a new message: they uploaded it and no message carries it yet.
    pub fn ensure_attachable_by(&self, sender: UserId) -> Result<(), DomainError> {
        if self.parts.uploader != sender || self.parts.message.is_some() {
            return Err(DomainError::NotFound("attachment"));
        }
        Ok(())
    }

    /// Records the message that carries it.
    pub fn attach_to(&mut self, message: MessageId, conversation: ConversationId) {
        self.parts.message = Some(message);
        self.parts.conversation = Some(conversation);
    }

    /// What a message says about it.
    pub fn to_ref(&self) -> AttachmentRef {
        AttachmentRef {
            id: self.parts.id,
            file_name: self.parts.file_name.clone(),
            mime_type: self.parts.mime_type.clone(),
            size: self.parts.size,
        }
    }
}
