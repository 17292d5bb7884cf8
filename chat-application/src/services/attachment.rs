//! Attachments: uploading files into the blob store and fetching them back, for their uploader and, once a
//! message carries them, for the members of its conversation.

use std::sync::Arc;

use chat_domain::attachment::{Attachment, AttachmentKind, NewAttachment};
use chat_domain::{AttachmentId, RepositoryError};

use crate::blob::{BlobError, BlobKey, BlobStore, ByteStream, Bytes, next_chunk, prefixed};
use crate::caller::CallerContext;
use crate::core::Core;
use crate::dto::{AttachmentDownload, AttachmentKindDto, UploadAttachmentInput, UploadedAttachmentDto};
use crate::error::AppError;
use crate::rate_limit::RateLimitKind;
use crate::sniff::{self, SNIFF_LEN, SniffError};

/// The input field every upload problem is reported on (the multipart field's name).
pub const UPLOAD_FIELD: &str = "file";

/// Uploads and downloads of attachments (SPEC §5, §7).
///
/// The type of an upload is detected from its content ([`sniff`](crate::sniff)), and its size limit is
/// that type's: images 10 MB, videos 100 MB, files 50 MB. An upload belongs to its uploader until a
/// message carries it (`attachmentIds` of `send_message`); from then on the members of that message's
/// conversation may fetch it. Anyone else, and any other tenant, gets `chat.not_found`.
///
/// Errors of `upload`, all `chat.validation` on field `file` (HTTP 400): content of no accepted type
/// (including a spoofed name), an empty file, a file over its type's limit, an interrupted body. Without a
/// blob store (see [`ChatModuleBuilder::blob_store`](crate::ChatModuleBuilder::blob_store)) both methods
/// answer `chat.internal`; hosts check [`is_enabled`](Self::is_enabled) to answer "not available" instead.
#[derive(Clone)]
pub struct AttachmentAppService {
    core: Arc<Core>,
    blobs: Option<Arc<dyn BlobStore>>,
}

impl std::fmt::Debug for AttachmentAppService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentAppService").field("enabled", &self.is_enabled()).finish_non_exhaustive()
    }
}

impl AttachmentAppService {
    pub(crate) fn new(core: Arc<Core>, blobs: Option<Arc<dyn BlobStore>>) -> Self {
        Self { core, blobs }
    }

    /// Whether a blob store is configured (without one, uploads and downloads cannot work).
    pub fn is_enabled(&self) -> bool {
        self.blobs.is_some()
    }

    fn blobs(&self) -> Result<&Arc<dyn BlobStore>, AppError> {
        self.blobs.as_ref().ok_or_else(|| AppError::Internal {
            source: RepositoryError::storage_msg("attachments are disabled: no blob store is configured"),
        })
    }

    /// Stores an upload and records it as the caller's: reads the first bytes to detect the type, then
    /// streams everything to the blob store under a fresh key with the type's size limit as a hard cap.
    /// Nothing is stored when the content is refused; a write past the cap is aborted and removed.
    pub async fn upload(
        &self,
        caller: &CallerContext,
        input: UploadAttachmentInput,
    ) -> Result<UploadedAttachmentDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let blobs = self.blobs()?.clone();
        if !self.core.tenant_settings(caller.tenant).await?.chat_enabled {
            return Err(AppError::ChatDisabled);
        }
        let UploadAttachmentInput { file_name, declared_content_type, mut body } = input;
        let (head, ended) = read_head(&mut body).await?;
        if head.is_empty() {
            return Err(AppError::validation(UPLOAD_FIELD, "the file is empty"));
        }
        let detected = sniff::detect(&head, &file_name, declared_content_type.as_deref()).map_err(refused)?;
        if declared_content_type.as_deref().is_some_and(|declared| !declared.starts_with(detected.mime)) {
            tracing::debug!(declared = ?declared_content_type, detected = detected.mime, "declared type ignored");
        }
        let max = u64::try_from(detected.kind.max_size()).unwrap_or(0);
        let now = self.core.now();
        let id = AttachmentId::new_at(now);
        let key = BlobKey::for_attachment(caller.tenant, id);
        let size = blobs
            .put(&key, prefixed(head, (!ended).then_some(body)), max)
            .await
            .map_err(|e| put_failed(e, detected.kind))?;
        let new = NewAttachment {
            tenant: caller.tenant,
            id,
            uploader: caller.user,
            file_name,
            mime_type: detected.mime.to_owned(),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            blob_key: key.as_str().to_owned(),
            created_at: now,
        };
        let recorded = match Attachment::new(new) {
            Ok(attachment) => {
                self.core.repos.attachments.insert(&attachment).await.map(|()| attachment).map_err(AppError::from)
            }
            Err(error) => {
                Err(AppError::from(error).on_field("file size", UPLOAD_FIELD).on_field("file type", UPLOAD_FIELD))
            }
        };
        match recorded {
            Ok(attachment) => Ok(attachment_dto(&attachment)),
            Err(error) => {
                if let Err(cleanup) = blobs.delete(&key).await {
                    tracing::warn!(%key, error = %cleanup, "could not remove the bytes of a refused upload");
                }
                Err(error)
            }
        }
    }

    /// An attachment's metadata and bytes. Allowed to its uploader while no message carries it, and to the
    /// current members of the conversation of the (not deleted) message that carries it; anyone else, and
    /// any other tenant, gets `chat.not_found`.
    pub async fn download(&self, caller: &CallerContext, id: AttachmentId) -> Result<AttachmentDownload, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let blobs = self.blobs()?.clone();
        let attachment = self.visible(caller, id).await?;
        let key = BlobKey::parse(&attachment.parts().blob_key).map_err(storage)?;
        let body: ByteStream = match blobs.open(&key).await.map_err(storage)? {
            Some(body) => body,
            None => {
                return Err(storage(BlobError::Storage(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("the bytes of attachment {id} are missing"),
                ))));
            }
        };
        Ok(AttachmentDownload { attachment: attachment_dto(&attachment), body })
    }

    /// An attachment's metadata, under the same rule as [`download`](Self::download) (for `HEAD`-like
    /// checks without opening the bytes).
    pub async fn get(&self, caller: &CallerContext, id: AttachmentId) -> Result<UploadedAttachmentDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        Ok(attachment_dto(&self.visible(caller, id).await?))
    }

    async fn visible(&self, caller: &CallerContext, id: AttachmentId) -> Result<Attachment, AppError> {
        let not_found = || AppError::not_found("attachment");
        let repos = &self.core.repos;
        let attachment = repos.attachments.find(caller.tenant, id).await?.ok_or_else(not_found)?;
        let parts = attachment.parts();
        let (Some(message), Some(conversation)) = (parts.message, parts.conversation) else {
            return if parts.uploader == caller.user { Ok(attachment) } else { Err(not_found()) };
        };
        let side = repos.conversations.find(caller.tenant, conversation, caller.user).await?.ok_or_else(not_found)?;
        let message = repos.messages.find(caller.tenant, message).await?.ok_or_else(not_found)?;
        if message.is_deleted() || message.conversation() != conversation || message.seq() <= side.cleared_seq() {
            return Err(not_found());
        }
        Ok(attachment)
    }
}

/// Reads the first [`SNIFF_LEN`] bytes (fewer for a shorter file) of an upload, and whether the upload
/// already ended (then the stream must not be polled again).
async fn read_head(body: &mut ByteStream) -> Result<(Bytes, bool), AppError> {
    let mut head = Vec::new();
    while head.len() < SNIFF_LEN {
        match next_chunk(body).await {
            None => return Ok((Bytes::from(head), true)),
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(error)) => return Err(interrupted(&error)),
        }
    }
    Ok((Bytes::from(head), false))
}

fn refused(error: SniffError) -> AppError {
    AppError::validation(UPLOAD_FIELD, error.to_string())
}

fn interrupted(error: &std::io::Error) -> AppError {
    AppError::validation(UPLOAD_FIELD, format!("the upload was interrupted: {error}"))
}

fn too_large(kind: AttachmentKind) -> AppError {
    let family = match kind {
        AttachmentKind::Image => "images",
        AttachmentKind::Video => "videos",
        AttachmentKind::File => "files",
    };
    AppError::validation(UPLOAD_FIELD, format!("the file is too large: at most {} bytes for {family}", kind.max_size()))
}

fn put_failed(error: BlobError, kind: AttachmentKind) -> AppError {
    match error {
        BlobError::TooLarge { .. } => too_large(kind),
        BlobError::Body(error) => interrupted(&error),
        other => storage(other),
    }
}

fn storage(error: BlobError) -> AppError {
    AppError::Internal { source: RepositoryError::storage(error) }
}

/// An attachment as its DTO.
fn attachment_dto(attachment: &Attachment) -> UploadedAttachmentDto {
    let parts = attachment.parts();
    UploadedAttachmentDto {
        id: parts.id.as_uuid(),
        file_name: parts.file_name.clone(),
        mime_type: parts.mime_type.clone(),
        size: parts.size,
        kind: match parts.kind {
            AttachmentKind::Image => AttachmentKindDto::Image,
            AttachmentKind::Video => AttachmentKindDto::Video,
            AttachmentKind::File => AttachmentKindDto::File,
        },
        created_at: parts.created_at,
    }
}
