//! A blob store in a local directory.
//!
//! Layout: `ROOT/<shard>/<key>`, where `<shard>` is two hex digits of a fixed hash of the key (so no
//! directory grows past a few thousand entries per million blobs), and `ROOT/.tmp/` for writes in
//! progress. A write goes to a fresh temporary file, is flushed to disk (`fsync`), then renamed into
//! place and the directory flushed too, so an acknowledged upload survives a crash and a reader never sees
//! half a file. A write past its cap or with a failed body removes its temporary file.
//!
//! File I/O runs on tokio's blocking pool (`std::fs` under `spawn_blocking`), chunk by chunk.

use std::fs::{self, File, OpenOptions};
use std::future::Future;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use chat_application::blob::{Bytes, Stream, next_chunk};
use chat_application::{BlobError, BlobKey, BlobStore, ByteStream};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Bytes gathered from the body before one write to disk.
const WRITE_BUFFER: usize = 256 * 1024;
/// Bytes per chunk when reading a blob back.
const READ_CHUNK: usize = 64 * 1024;
/// Temporary files older than this are left-overs of a crash, removed when the store opens.
const STALE_TEMP: Duration = Duration::from_secs(3600);
/// The directory of writes in progress (a dot name, which no key can have).
const TEMP_DIR: &str = ".tmp";

/// Stores blobs as files under one directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LocalFileBlobStore {
    root: PathBuf,
}

impl LocalFileBlobStore {
    /// Opens (creating it if needed) the directory `root`, and removes temporary files that crashed writes
    /// left there more than an hour ago.
    pub async fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        let temp = root.join(TEMP_DIR);
        blocking(move || {
            fs::create_dir_all(&temp)?;
            remove_stale_temp_files(&temp);
            Ok(())
        })
        .await?;
        Ok(Self { root })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a key's bytes live. The key is checked again here, so a path outside the root can never be
    /// formed, whatever built the key.
    fn path_for(&self, key: &str) -> Result<PathBuf, BlobError> {
        let key = BlobKey::parse(key)?;
        Ok(self.root.join(shard(key.as_str())).join(key.as_str()))
    }
}

/// Two hex digits of the key's FNV-1a hash: stable across builds and platforms, unlike `std`'s hasher.
fn shard(key: &str) -> String {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    format!("{:02x}", hash & 0xff)
}

fn remove_stale_temp_files(temp: &Path) {
    let Ok(entries) = fs::read_dir(temp) else { return };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let modified = entry.metadata().and_then(|m| m.modified());
        let stale = modified.is_ok_and(|at| now.duration_since(at).is_ok_and(|age| age > STALE_TEMP));
        if stale && let Err(error) = fs::remove_file(entry.path()) {
            tracing::warn!(path = %entry.path().display(), %error, "could not remove a stale temporary blob");
        }
    }
}

/// Runs blocking file I/O on tokio's blocking pool.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(io::Error::other)?
}

/// Flushes a directory's entries (a rename is durable only once its directory is).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn write_all(mut file: File, bytes: Vec<u8>) -> io::Result<File> {
    file.write_all(&bytes)?;
    Ok(file)
}

impl LocalFileBlobStore {
    /// Streams `body` into the temporary file at `temp` and moves it to `target`; returns the size.
    async fn write(&self, temp: &Path, target: PathBuf, mut body: ByteStream, max_size: u64) -> Result<u64, BlobError> {
        let path = temp.to_path_buf();
        let mut file = blocking(move || OpenOptions::new().write(true).create_new(true).open(path))
            .await
            .map_err(BlobError::Storage)?;
        let mut size: u64 = 0;
        let mut buffer = Vec::with_capacity(WRITE_BUFFER);
        while let Some(chunk) = next_chunk(&mut body).await {
            let chunk = chunk.map_err(BlobError::Body)?;
            size += chunk.len() as u64;
            if size > max_size {
                return Err(BlobError::TooLarge { max: max_size });
            }
            buffer.extend_from_slice(&chunk);
            if buffer.len() >= WRITE_BUFFER {
                let full = std::mem::replace(&mut buffer, Vec::with_capacity(WRITE_BUFFER));
                file = blocking(move || write_all(file, full)).await.map_err(BlobError::Storage)?;
            }
        }
        let temp = temp.to_path_buf();
        let root = self.root.clone();
        blocking(move || {
            let file = write_all(file, buffer)?;
            file.sync_all()?;
            drop(file);
            let dir = target.parent().map(Path::to_path_buf).unwrap_or_else(|| root.clone());
            let created = !dir.exists();
            fs::create_dir_all(&dir)?;
            fs::rename(&temp, &target)?;
            sync_dir(&dir)?;
            if created { sync_dir(&root) } else { Ok(()) }
        })
        .await
        .map_err(BlobError::Storage)?;
        Ok(size)
    }
}

#[async_trait]
impl BlobStore for LocalFileBlobStore {
    async fn put(&self, key: &BlobKey, body: ByteStream, max_size: u64) -> Result<u64, BlobError> {
        let target = self.path_for(key.as_str())?;
        let temp = self.root.join(TEMP_DIR).join(format!("{key}.{}.part", Uuid::new_v4().simple()));
        let written = self.write(&temp, target, body, max_size).await;
        if written.is_err() {
            let leftover = temp.clone();
            let removed = blocking(move || match fs::remove_file(&leftover) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
                _ => Ok(()),
            })
            .await;
            if let Err(error) = removed {
                tracing::warn!(path = %temp.display(), %error, "could not remove a refused blob write");
            }
        }
        written
    }

    async fn open(&self, key: &BlobKey) -> Result<Option<ByteStream>, BlobError> {
        let path = self.path_for(key.as_str())?;
        let opened = blocking(move || match File::open(path) {
            Ok(file) => Ok(Some(file)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        })
        .await
        .map_err(BlobError::Storage)?;
        Ok(opened
            .map(|file| Box::pin(FileChunks { handle: Handle::current(), state: ReadState::Idle(file) }) as ByteStream))
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        let path = self.path_for(key.as_str())?;
        blocking(move || match fs::remove_file(path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        })
        .await
        .map_err(BlobError::Storage)
    }
}

/// A file read back in chunks of [`READ_CHUNK`] bytes, each read on the blocking pool of the runtime
/// that opened it (so polling from elsewhere cannot panic for want of a runtime).
struct FileChunks {
    handle: Handle,
    state: ReadState,
}

enum ReadState {
    Idle(File),
    Reading(JoinHandle<(File, io::Result<Vec<u8>>)>),
    Done,
}

fn read_chunk(mut file: File) -> (File, io::Result<Vec<u8>>) {
    let mut buffer = vec![0; READ_CHUNK];
    let read = loop {
        match file.read(&mut buffer) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            other => break other,
        }
    };
    let chunk = read.map(|n| {
        buffer.truncate(n);
        buffer
    });
    (file, chunk)
}

impl Stream for FileChunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match std::mem::replace(&mut self.state, ReadState::Done) {
                ReadState::Idle(file) => {
                    self.state = ReadState::Reading(self.handle.spawn_blocking(move || read_chunk(file)));
                }
                ReadState::Reading(mut reading) => {
                    return match Pin::new(&mut reading).poll(cx) {
                        Poll::Pending => {
                            self.state = ReadState::Reading(reading);
                            Poll::Pending
                        }
                        Poll::Ready(Ok((_, Ok(chunk)))) if chunk.is_empty() => Poll::Ready(None),
                        Poll::Ready(Ok((file, Ok(chunk)))) => {
                            self.state = ReadState::Idle(file);
                            Poll::Ready(Some(Ok(Bytes::from(chunk))))
                        }
                        Poll::Ready(Ok((_, Err(error)))) => Poll::Ready(Some(Err(error))),
                        Poll::Ready(Err(join)) => Poll::Ready(Some(Err(io::Error::other(join)))),
                    };
                }
                ReadState::Done => return Poll::Ready(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_application::blob::{byte_stream, read_all};

    /// A fresh directory, removed when the test ends.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            Self(std::env::temp_dir().join(format!("chat-blobs-{}", Uuid::new_v4().simple())))
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() { found.extend(files_under(&path)) } else { found.push(path) }
        }
        found
    }

    fn key(name: &str) -> BlobKey {
        BlobKey::parse(name).unwrap()
    }

    fn chunks(total: usize, size: usize) -> ByteStream {
        let all: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
        byte_stream(all.chunks(size).map(Bytes::copy_from_slice).collect::<Vec<_>>())
    }

    #[tokio::test]
    async fn a_blob_is_written_read_back_in_chunks_and_deleted() {
        let dir = TempDir::new();
        let store = LocalFileBlobStore::open(&dir.0).await.unwrap();
        let total = 3 * READ_CHUNK + 17;
        assert_eq!(store.put(&key("k1"), chunks(total, 1000), total as u64).await.unwrap(), total as u64);
        let files = files_under(&dir.0);
        assert_eq!(files.len(), 1);
        assert!(files[0].starts_with(&dir.0) && files[0].ends_with("k1"));

        let mut body = store.open(&key("k1")).await.unwrap().unwrap();
        let mut read = Vec::new();
        let mut count = 0;
        while let Some(chunk) = next_chunk(&mut body).await {
            let chunk = chunk.unwrap();
            assert!(chunk.len() <= READ_CHUNK);
            read.extend_from_slice(&chunk);
            count += 1;
        }
        assert!(count >= 4, "{count} chunks");
        assert_eq!(read, read_all(chunks(total, 1000), u64::MAX).await.unwrap());

        store.delete(&key("k1")).await.unwrap();
        assert!(store.open(&key("k1")).await.unwrap().is_none());
        store.delete(&key("k1")).await.unwrap();
        assert!(files_under(&dir.0).is_empty());
    }

    #[tokio::test]
    async fn a_write_past_its_cap_leaves_no_file() {
        let dir = TempDir::new();
        let store = LocalFileBlobStore::open(&dir.0).await.unwrap();
        let result = store.put(&key("big"), chunks(2 * WRITE_BUFFER, 4096), WRITE_BUFFER as u64 + 1).await;
        assert!(matches!(result, Err(BlobError::TooLarge { .. })), "{result:?}");
        assert!(files_under(&dir.0).is_empty());
        assert!(store.open(&key("big")).await.unwrap().is_none());
        // Exactly at the cap is fine.
        assert_eq!(store.put(&key("big"), chunks(1000, 100), 1000).await.unwrap(), 1000);
    }

    struct Failing(usize);

    impl Stream for Failing {
        type Item = io::Result<Bytes>;

        fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.0 += 1;
            Poll::Ready(Some(if self.0 < 40 {
                Ok(Bytes::from(vec![7; 10_000]))
            } else {
                Err(io::Error::new(io::ErrorKind::ConnectionReset, "gone"))
            }))
        }
    }

    #[tokio::test]
    async fn a_failed_body_leaves_no_file() {
        let dir = TempDir::new();
        let store = LocalFileBlobStore::open(&dir.0).await.unwrap();
        let result = store.put(&key("cut"), Box::pin(Failing(0)), u64::MAX).await;
        assert!(matches!(result, Err(BlobError::Body(_))), "{result:?}");
        assert!(files_under(&dir.0).is_empty());
    }

    #[tokio::test]
    async fn keys_that_could_leave_the_directory_are_refused() {
        let dir = TempDir::new();
        let store = LocalFileBlobStore::open(&dir.0).await.unwrap();
        for bad in ["..", "../escape", "a/b", "a\\b", "/etc/passwd", ".tmp", "x.part", ""] {
            assert!(matches!(store.path_for(bad), Err(BlobError::InvalidKey)), "{bad:?}");
            assert!(BlobKey::parse(bad).is_err(), "{bad:?}");
        }
        let path = store.path_for("abc_DEF-1").unwrap();
        assert_eq!(path.parent().and_then(Path::parent), Some(dir.0.as_path()));
    }

    #[tokio::test]
    async fn a_rewrite_replaces_the_blob_and_stale_temp_files_are_swept_on_open() {
        let dir = TempDir::new();
        let store = LocalFileBlobStore::open(&dir.0).await.unwrap();
        store.put(&key("k"), byte_stream([Bytes::from_static(b"old")]), 10).await.unwrap();
        store.put(&key("k"), byte_stream([Bytes::from_static(b"new!")]), 10).await.unwrap();
        let body = store.open(&key("k")).await.unwrap().unwrap();
        assert_eq!(read_all(body, 10).await.unwrap(), b"new!");

        let fresh = dir.0.join(TEMP_DIR).join("fresh.part");
        fs::write(&fresh, b"in progress").unwrap();
        let stale = dir.0.join(TEMP_DIR).join("stale.part");
        fs::write(&stale, b"crashed").unwrap();
        let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
        File::options().write(true).open(&stale).unwrap().set_modified(two_hours_ago).unwrap();
        LocalFileBlobStore::open(&dir.0).await.unwrap();
        assert!(fresh.exists(), "a recent temporary file may belong to a write in progress");
        assert!(!stale.exists());
    }

    #[test]
    fn shards_are_stable_two_hex_digits() {
        assert_eq!(shard("abc"), shard("abc"));
        assert_eq!(shard("abc").len(), 2);
        assert!(shard("abc").chars().all(|c| c.is_ascii_hexdigit()));
    }
}
