//! Blob storage for attachments' bytes: implementations of the application's
//! [`BlobStore`](chat_application::BlobStore) port.
//!
//! - [`LocalFileBlobStore`]: a directory on the local file system (the reference server's
//!   `CHAT_BLOB_DIR`, default [`DEFAULT_BLOB_DIR`]), with atomic, durable writes.

mod local;

pub use local::LocalFileBlobStore;

/// The reference server's default blob directory (SPEC §4 `CHAT_BLOB_DIR`).
pub const DEFAULT_BLOB_DIR: &str = "chat-data/blobs";
