//! The blob store port: where attachments' bytes live, apart from their metadata.
//!
//! Bytes move as a [`ByteStream`] (a boxed [`Stream`] of [`Bytes`] chunks), so that uploads and downloads
//! of up to 100 MB never sit in memory whole and no web or I/O crate leaks into this layer. Hosts adapt
//! their request body to a `ByteStream` and hand a `ByteStream` back as the response body.
//!
//! Keys are [`BlobKey`]s: short strings of ASCII letters, digits, `-` and `_`, checked when they are
//! made, so no store ever sees a key with a path separator, a dot or `..` in it.

#[cfg(feature = "testing")]
mod memory;

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use chat_domain::{AttachmentId, TenantId};

pub use bytes::Bytes;
pub use futures_core::Stream;
#[cfg(feature = "testing")]
pub use memory::InMemoryBlobStore;

/// A stream of byte chunks, for example an upload's body or a stored blob being read. An `Err` item ends
/// the stream: the source failed (a client went away, a disk read failed).
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Why a blob store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The content went past the size cap of the write; nothing was kept.
    #[error("the content is larger than {max} bytes")]
    TooLarge {
        /// The cap, in bytes.
        max: u64,
    },
    /// The content's stream failed (for example the client went away); nothing was kept.
    #[error("reading the content failed: {0}")]
    Body(#[source] io::Error),
    /// A key that is not a safe blob key.
    #[error("invalid blob key")]
    InvalidKey,
    /// The storage itself failed.
    #[error("blob storage failed: {0}")]
    Storage(#[source] io::Error),
}

/// The name a blob is stored under: 1 to [`BlobKey::MAX_LEN`] ASCII letters, digits, `-` or `_`.
///
/// The charset is the safety rule: a key can name no directory, no parent (`..`), no hidden file and no
/// extension, so a store may map it to a file name or an object name as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

impl BlobKey {
    /// The longest key.
    pub const MAX_LEN: usize = 128;

    /// A key from text, refused with [`BlobError::InvalidKey`] unless every character is safe.
    pub fn parse(key: &str) -> Result<Self, BlobError> {
        let safe = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if key.is_empty() || key.len() > Self::MAX_LEN || !key.chars().all(safe) {
            return Err(BlobError::InvalidKey);
        }
        Ok(Self(key.to_owned()))
    }

    /// The key of an attachment's bytes: tenant and attachment id, so keys never collide across tenants.
    pub fn for_attachment(tenant: TenantId, id: AttachmentId) -> Self {
        Self(format!("{}-{}", tenant.as_uuid().simple(), id.as_uuid().simple()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Stores attachments' bytes. Hosts pick an implementation at run time (`Arc<dyn BlobStore>`): a
/// directory, an object store, or `InMemoryBlobStore` in tests (feature `testing`).
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Writes `body` under `key` and returns how many bytes were stored.
    ///
    /// When the body yields more than `max_size` bytes the write stops at once, whatever was written is
    /// removed and [`BlobError::TooLarge`] is returned; when the body fails, [`BlobError::Body`]. Either
    /// way nothing is left under `key`. `Ok` means the bytes are durable: they survive a crash.
    async fn put(&self, key: &BlobKey, body: ByteStream, max_size: u64) -> Result<u64, BlobError>;

    /// Opens a blob for reading as a stream of chunks, or `None` when nothing is stored under `key`.
    async fn open(&self, key: &BlobKey) -> Result<Option<ByteStream>, BlobError>;

    /// Removes a blob; removing a missing blob is not an error.
    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError>;
}

/// The next chunk of a stream (`None` at its end), without an extension-trait crate.
pub async fn next_chunk(body: &mut ByteStream) -> Option<io::Result<Bytes>> {
    std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await
}

/// A stream over chunks already in memory (small bodies, tests, adapters).
pub fn byte_stream(chunks: impl IntoIterator<Item = Bytes>) -> ByteStream {
    Box::pin(Chunks { chunks: chunks.into_iter().filter(|c| !c.is_empty()).collect() })
}

/// Reads a whole stream into memory, refusing with [`BlobError::TooLarge`] past `max_size` bytes.
pub async fn read_all(mut body: ByteStream, max_size: u64) -> Result<Vec<u8>, BlobError> {
    let mut all = Vec::new();
    while let Some(chunk) = next_chunk(&mut body).await {
        let chunk = chunk.map_err(BlobError::Body)?;
        if (all.len() + chunk.len()) as u64 > max_size {
            return Err(BlobError::TooLarge { max: max_size });
        }
        all.extend_from_slice(&chunk);
    }
    Ok(all)
}

struct Chunks {
    chunks: VecDeque<Bytes>,
}

impl Stream for Chunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.chunks.pop_front().map(Ok))
    }
}

/// A stream that yields `head` first, then the rest of a stream whose beginning was already read (`None`
/// when that stream already ended: a finished stream must not be polled again). It is fused: once the rest
/// ends, it is dropped and never polled again.
pub(crate) fn prefixed(head: Bytes, rest: Option<ByteStream>) -> ByteStream {
    Box::pin(Prefixed { head: Some(head).filter(|h| !h.is_empty()), rest })
}

struct Prefixed {
    head: Option<Bytes>,
    rest: Option<ByteStream>,
}

impl Stream for Prefixed {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(head) = self.head.take() {
            return Poll::Ready(Some(Ok(head)));
        }
        let Some(rest) = self.rest.as_mut() else { return Poll::Ready(None) };
        let next = rest.as_mut().poll_next(cx);
        if let Poll::Ready(None) = next {
            self.rest = None;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn keys_with_separators_dots_or_odd_characters_are_refused() {
        for bad in ["", "..", "a/b", "a\\b", "../x", ".hidden", "a.b", "a b", "é", "a\0b", &"x".repeat(129)] {
            assert!(matches!(BlobKey::parse(bad), Err(BlobError::InvalidKey)), "{bad:?}");
        }
        assert_eq!(BlobKey::parse("abc-DEF_09").map(|k| k.to_string()).ok(), Some("abc-DEF_09".to_owned()));
    }

    #[test]
    fn attachment_keys_are_safe_and_differ_by_tenant() {
        let id = AttachmentId::from_uuid(Uuid::new_v4());
        let a = BlobKey::for_attachment(TenantId::HOST, id);
        let b = BlobKey::for_attachment(TenantId::from_uuid(Uuid::new_v4()), id);
        assert_ne!(a, b);
        assert!(BlobKey::parse(a.as_str()).is_ok());
    }

    #[tokio::test]
    async fn a_prefixed_stream_yields_the_head_then_the_rest() {
        let rest = byte_stream([Bytes::from_static(b"cd"), Bytes::from_static(b"ef")]);
        let all = read_all(prefixed(Bytes::from_static(b"ab"), Some(rest)), 10).await.ok();
        assert_eq!(all.as_deref(), Some(&b"abcdef"[..]));
    }

    #[tokio::test]
    async fn reading_past_the_cap_is_refused() {
        let body = byte_stream([Bytes::from_static(b"abc"), Bytes::from_static(b"def")]);
        assert!(matches!(read_all(body, 5).await, Err(BlobError::TooLarge { max: 5 })));
    }
}
