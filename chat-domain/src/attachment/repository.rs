use async_trait::async_trait;

use super::Attachment;
use crate::error::RepositoryError;
use crate::ids::{AttachmentId, TenantId};

/// Reads and records attachments' metadata (the bytes live in a blob store).
#[async_trait]
pub trait AttachmentRepository: Send + Sync {
    /// Records a new upload (a single row, no unit of work needed).
    async fn insert(&self, attachment: &Attachment) -> Result<(), RepositoryError>;
    /// One attachment of a tenant.
    async fn find(&self, tenant: TenantId, id: AttachmentId) -> Result<Option<Attachment>, RepositoryError>;
}
