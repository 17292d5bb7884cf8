//! An in-memory blob store for tests.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use super::{BlobError, BlobKey, BlobStore, ByteStream, Bytes, byte_stream, read_all};

/// Keeps blobs in a map. A write is collected whole before it is stored, so a refused write (too large,
/// failed body) leaves nothing behind, as the port requires.
#[derive(Debug, Default)]
pub struct InMemoryBlobStore {
    blobs: Mutex<BTreeMap<BlobKey, Bytes>>,
}

impl InMemoryBlobStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many blobs are stored.
    pub fn len(&self) -> usize {
        self.blobs.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes stored under `key`.
    pub fn get(&self, key: &BlobKey) -> Option<Bytes> {
        self.blobs.lock().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }
}

#[async_trait]
impl BlobStore for InMemoryBlobStore {
    async fn put(&self, key: &BlobKey, body: ByteStream, max_size: u64) -> Result<u64, BlobError> {
        let bytes = read_all(body, max_size).await?;
        let size = bytes.len() as u64;
        self.blobs.lock().unwrap_or_else(PoisonError::into_inner).insert(key.clone(), Bytes::from(bytes));
        Ok(size)
    }

    async fn open(&self, key: &BlobKey) -> Result<Option<ByteStream>, BlobError> {
        Ok(self.get(key).map(|bytes| byte_stream([bytes])))
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        self.blobs.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
        Ok(())
    }
}
