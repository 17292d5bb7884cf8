//! Uploaded files that messages carry.

mod aggregate;
mod repository;

pub use aggregate::{Attachment, AttachmentKind, AttachmentParts, NewAttachment};
pub use repository::AttachmentRepository;
