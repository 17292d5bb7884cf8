use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::blob::ByteStream;

/// The family of an uploaded file, which sets its size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum AttachmentKindDto {
    /// JPEG, PNG, GIF, WebP (up to 10 MB).
    Image,
    /// MP4, WebM, MOV (up to 100 MB).
    Video,
    /// PDF, DOC, DOCX, XLS, XLSX, ZIP (up to 50 MB).
    File,
}

/// An uploaded file, as its uploader (or a member of the conversation that holds it) sees it. The fields
/// a message's `attachments` carry, plus its kind and upload time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UploadedAttachmentDto {
    /// Id: pass it in a message's `attachmentIds`, fetch it from the attachments endpoint.
    pub id: Uuid,
    /// File name as uploaded, without path separators or control characters (at most 255 characters).
    pub file_name: String,
    /// Type detected from the content (never the declared one).
    pub mime_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Family of the type.
    pub kind: AttachmentKindDto,
    /// Uploaded at.
    pub created_at: DateTime<Utc>,
}

/// An upload: the client's file name and content type, and the body as a stream. Not a JSON input: hosts
/// build it from a multipart part (field `file`) and hand over the part's bytes as they arrive.
pub struct UploadAttachmentInput {
    /// The client's file name (kept for display and downloads; it never decides the type, except between
    /// DOC and XLS, and between DOCX, XLSX and ZIP when the content leaves it open).
    pub file_name: String,
    /// The client's declared content type, if any (consulted only to tell DOC from XLS).
    pub declared_content_type: Option<String>,
    /// The bytes.
    pub body: ByteStream,
}

impl std::fmt::Debug for UploadAttachmentInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadAttachmentInput")
            .field("file_name", &self.file_name)
            .field("declared_content_type", &self.declared_content_type)
            .finish_non_exhaustive()
    }
}

/// A file being fetched: its metadata (for `Content-Type`, `Content-Length` and `Content-Disposition`)
/// and its bytes as a stream.
pub struct AttachmentDownload {
    /// Metadata.
    pub attachment: UploadedAttachmentDto,
    /// The bytes, in chunks.
    pub body: ByteStream,
}

impl std::fmt::Debug for AttachmentDownload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentDownload").field("attachment", &self.attachment).finish_non_exhaustive()
    }
}
