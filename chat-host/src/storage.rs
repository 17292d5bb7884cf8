//! Opening the configured store: the in-memory store (`memory:`), or SQLite / PostgreSQL through sea-orm.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chat_domain::Repositories;
use chat_domain::memory::InMemoryChatStore;
use chat_infrastructure::persistence::{IntegrityReport, SeaOrmChatStore, StoreOptions, WriteQueueStats};

use crate::config::{DatabaseConfig, is_memory_url, redact_url};
use crate::health::Readiness;

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the database {url}: {source}")]
pub struct StoreError {
    url: String,
    #[source]
    source: chat_domain::RepositoryError,
}

/// An open store: its repositories and how to tell whether it answers.
pub struct OpenedStore {
    /// Every port.
    pub repositories: Repositories,
    /// Readiness probe.
    pub readiness: Arc<dyn Readiness>,
    /// The writer's queue, for the metrics (`None`: the in-memory store has no writer).
    pub write_queue: Option<WriteQueueSource>,
}

/// Reads the writer's queue figures when the metrics are rendered.
#[derive(Clone)]
pub struct WriteQueueSource(Arc<dyn Fn() -> WriteQueueStats + Send + Sync>);

impl WriteQueueSource {
    /// A source that calls `read` for each rendering.
    pub fn new(read: impl Fn() -> WriteQueueStats + Send + Sync + 'static) -> Self {
        Self(Arc::new(read))
    }

    /// The figures now.
    pub fn read(&self) -> WriteQueueStats {
        (self.0)()
    }
}

impl std::fmt::Debug for WriteQueueSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("WriteQueueSource").field(&self.read()).finish()
    }
}

impl std::fmt::Debug for OpenedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedStore").finish_non_exhaustive()
    }
}

/// Opens the store a configuration names, running migrations, and logs the effective settings.
/// `write_queue_limit`: admission control of the store's writer (see `Config::write_queue_limit`).
pub async fn open_store(
    database: &DatabaseConfig,
    write_queue_limit: Option<Duration>,
) -> Result<OpenedStore, StoreError> {
    if is_memory_url(&database.url) {
        tracing::warn!("using the in-memory store: nothing is kept across restarts");
        return Ok(OpenedStore {
            repositories: Repositories::from_store(Arc::new(InMemoryChatStore::new())),
            readiness: Arc::new(AlwaysReady),
            write_queue: None,
        });
    }
    let store = connect(database, true, write_queue_limit).await?;
    for (name, value) in store.effective_settings() {
        tracing::info!(setting = %name, %value, "database setting in force");
    }
    let store = Arc::new(store);
    let queue = store.clone();
    Ok(OpenedStore {
        repositories: Repositories::from_store(store.clone()),
        readiness: Arc::new(PingProbe(store)),
        write_queue: Some(WriteQueueSource::new(move || queue.write_queue())),
    })
}

/// Applies the migrations and returns (for `chat-host migrate`).
pub async fn migrate(database: &DatabaseConfig) -> Result<(), StoreError> {
    if is_memory_url(&database.url) {
        return Ok(());
    }
    connect(database, true, None).await.map(|_| ())
}

/// Checks the store's consistency without changing anything (for `chat-host check`); the in-memory store
/// has nothing to check.
pub async fn check_integrity(database: &DatabaseConfig) -> Result<IntegrityReport, StoreError> {
    if is_memory_url(&database.url) {
        return Ok(IntegrityReport::default());
    }
    let store = connect(database, false, None).await?;
    store.check_integrity(None).await.map_err(|source| StoreError { url: redact_url(&database.url), source })
}

async fn connect(
    database: &DatabaseConfig,
    migrate: bool,
    max_queue_delay: Option<Duration>,
) -> Result<SeaOrmChatStore, StoreError> {
    let mut options = StoreOptions::from_config(database.clone());
    options.migrate = migrate;
    options.max_queue_delay = max_queue_delay;
    SeaOrmChatStore::connect(options).await.map_err(|source| StoreError { url: redact_url(&database.url), source })
}

struct AlwaysReady;

#[async_trait]
impl Readiness for AlwaysReady {
    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

struct PingProbe(Arc<SeaOrmChatStore>);

#[async_trait]
impl Readiness for PingProbe {
    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }
}
