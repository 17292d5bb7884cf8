//! [`SeaOrmChatStore`]: connection, migrations, the writer task, and the unit of work.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use tokio::sync::{mpsc, oneshot};

use chat_domain::uow::{BoxFuture, Committed, UnitOfWork, Work, WorkOutput};
use chat_domain::{RepositoryError, WorkError};

use super::admission::Admission;
use super::batch::UnitDelta;
use super::conn::Conn;
use super::direct::{DirectOptions, DirectSqlite};
use super::migration::Migrator;
use super::options::{Backend, Durability, SqliteWriter, StoreOptions, is_sqlite_memory};
use super::sql::db_err;
use super::transaction::SeaOrmTransaction;
use super::writer::{self, Job, JobFn, JobKind, WriterDb};

/// How many jobs may wait for the writer before senders wait too (back-pressure).
const QUEUE_DEPTH: usize = 8192;

/// SQLite's page cache per connection, in KiB (`PRAGMA cache_size = -N`). SQLite's default (2 MiB) is smaller
/// than what one group-commit batch dirties (B1: about 900 pages of 4 KiB for 256 sends), so the writer
/// spilled pages mid-batch and read them back; 64 MiB measured about +15 % on B1 (`docs/performance.md`).
/// The memory is taken only as pages are used.
const SQLITE_CACHE_KIB: u32 = 64 * 1024;

/// The chat store on SQLite or PostgreSQL, through sea-orm: every repository port and the unit of work.
///
/// Reads go through the connection pool. Every write — units of work and the few single-row writes of
/// the read ports — goes through one writer task that commits them in groups (see [`UnitOfWork`]).
/// Cloning is cheap and shares the pool and the writer.
///
/// ```no_run
/// # async fn demo() -> Result<(), chat_domain::RepositoryError> {
/// use std::sync::Arc;
/// use chat_infrastructure::persistence::{SeaOrmChatStore, StoreOptions};
/// let store = SeaOrmChatStore::connect(StoreOptions::new("sqlite::memory:")).await?;
/// let repositories = chat_domain::Repositories::from_store(Arc::new(store));
/// # let _ = repositories; Ok(()) }
/// ```
#[derive(Clone)]
pub struct SeaOrmChatStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    backend: Backend,
    writer: mpsc::Sender<Job>,
    admission: Arc<Admission>,
    settings: Vec<(String, String)>,
}

impl std::fmt::Debug for SeaOrmChatStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaOrmChatStore").field("backend", &self.inner.backend).finish_non_exhaustive()
    }
}

impl SeaOrmChatStore {
    /// Connects, runs the migrations (unless `options.migrate` is off) and starts the writer task. Must be
    /// called inside a Tokio runtime.
    pub async fn connect(options: StoreOptions) -> Result<Self, RepositoryError> {
        let url = options.database.url.clone();
        let backend = Backend::of_url(&url)
            .ok_or_else(|| RepositoryError::storage_msg("the database URL must start with sqlite: or postgres:"))?;
        let mut connect = ConnectOptions::new(url.clone());
        let pool_size;
        let mut direct = None;
        connect.sqlx_logging(false).connect_timeout(Duration::from_secs(10)).acquire_timeout(Duration::from_secs(30));
        match backend {
            Backend::Sqlite => {
                let memory = is_sqlite_memory(&url);
                let synchronous = match options.database.durability {
                    Durability::Strict => SqliteSynchronous::Full,
                    Durability::Fast => SqliteSynchronous::Normal,
                };
                let busy = options.busy_timeout;
                connect.map_sqlx_sqlite_opts(move |o| {
                    let o = o
                        .busy_timeout(busy)
                        .foreign_keys(true)
                        .synchronous(synchronous)
                        .pragma("cache_size", format!("-{SQLITE_CACHE_KIB}"))
                        // A unit's savepoint keeps the pages it changes in a sub-journal, which SQLite spills
                        // to a temporary file past 64 KiB: under load the writer created, wrote and deleted
                        // such files in /var/tmp every batch. In memory they cost a unit's pages at most.
                        .pragma("temp_store", "memory");
                    if memory { o } else { o.journal_mode(SqliteJournalMode::Wal) }
                });
                if !memory && options.database.sqlite_writer == SqliteWriter::CApi {
                    let settings = DirectOptions {
                        durability: options.database.durability,
                        busy_timeout: options.busy_timeout,
                        cache_kib: SQLITE_CACHE_KIB,
                    };
                    direct = Some((sqlite_path(&url)?, settings));
                }
                if memory {
                    // The database lives inside its one connection: never close or replace it.
                    pool_size = 1;
                    connect.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None);
                } else {
                    pool_size = options.database.max_connections.unwrap_or(4).max(2);
                    connect.max_connections(pool_size);
                }
            }
            Backend::Postgres => {
                pool_size = options.database.max_connections.unwrap_or(8).max(2);
                connect.max_connections(pool_size);
                if options.database.durability == Durability::Fast {
                    connect.map_sqlx_postgres_opts(|o| o.options([("synchronous_commit", "off")]));
                }
            }
        }
        let db = Database::connect(connect).await.map_err(db_err)?;
        if options.migrate {
            Migrator::up(&db, None).await.map_err(db_err)?;
        }
        let mut settings = effective_settings(&db, backend, pool_size).await?;
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let admission = Arc::new(Admission::new(options.max_queue_delay));
        // The file exists (the pool created and migrated it) before the writer opens its own connection.
        let writer_db = match direct {
            Some((path, settings)) => WriterDb::Direct(DirectSqlite::open(&path, settings)?),
            None => WriterDb::Driver(db.clone(), backend),
        };
        settings.push(("writer".to_owned(), writer_db.label().to_owned()));
        let direct_writer = matches!(writer_db, WriterDb::Direct(_));
        let run = writer::run(writer_db, rx, options.max_batch, admission.clone());
        if direct_writer {
            spawn_writer_thread(run)?;
        } else {
            tokio::spawn(run);
        }
        Ok(Self { inner: Arc::new(Inner { db, backend, writer: tx, admission, settings }) })
    }

    /// Connects with default options to `url`.
    pub async fn connect_url(url: &str) -> Result<Self, RepositoryError> {
        Self::connect(StoreOptions::new(url)).await
    }

    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The settings in force, read back from the database at connect time (SQLite: `journal_mode`,
    /// `synchronous`, `busy_timeout`, `foreign_keys`, version; PostgreSQL: server version and
    /// `synchronous_commit`), plus the backend, the pool size and the writer's connection, for the server to log
    /// at start-up.
    pub fn effective_settings(&self) -> &[(String, String)] {
        &self.inner.settings
    }

    /// The pool, as the store's shared reads take it.
    pub(crate) fn reader(&self) -> Conn<'_> {
        Conn::Pool(&self.inner.db)
    }

    /// The connection pool, for health checks and operators' tools.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// How many units of work are waiting for the writer: the depth of the group-commit queue (a gauge for
    /// operators, and what tests wait on to know units will share a batch).
    pub fn queued_units(&self) -> usize {
        self.inner.writer.max_capacity() - self.inner.writer.capacity()
    }

    /// The writer's queue as operators watch it (metrics): its depth, its latest delay, and the writes
    /// admission control refused.
    pub fn write_queue(&self) -> WriteQueueStats {
        let admission = &self.inner.admission;
        WriteQueueStats {
            queued_units: self.queued_units(),
            latest_delay: admission.latest_delay(),
            refused: admission.refused(),
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), RepositoryError> {
        self.inner.db.ping().await.map_err(db_err)
    }

    /// Queues a job for the writer and waits for its answer (after the commit), or refuses it at once when
    /// the queue is too slow (see `admission`).
    pub(crate) async fn submit(&self, body: JobFn, kind: JobKind) -> Result<Committed<WorkOutput>, WorkError> {
        self.inner.admission.admit(self.queued_units())?;
        let (reply, answer) = oneshot::channel();
        self.inner
            .writer
            .send(Job { body, kind, reply, queued_at: Instant::now() })
            .await
            .map_err(|_| RepositoryError::storage_msg("the store's writer has stopped"))?;
        answer.await.map_err(|_| RepositoryError::storage_msg("the store's writer has stopped"))?
    }

    /// Runs a single write (one that records no events) through the writer, so that it is serialised and
    /// group-committed with the units of work; returns what the write returns (a count, or nothing).
    pub(crate) async fn write<T, F>(&self, body: F) -> Result<T, RepositoryError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(Conn<'c>) -> BoxFuture<'c, Result<T, RepositoryError>> + Send + 'static,
    {
        let job: JobFn = Box::new(move |c, _| {
            Box::pin(async move {
                let value = body(c).await?;
                Ok((Box::new(value) as WorkOutput, Vec::new(), UnitDelta::default()))
            })
        });
        match self.submit(job, JobKind::Write).await {
            Ok(committed) => committed
                .value
                .downcast::<T>()
                .map(|value| *value)
                .map_err(|_| RepositoryError::storage_msg("writer returned a value of another type")),
            Err(WorkError::Repository(e)) => Err(e),
            Err(WorkError::Domain(e)) => Err(RepositoryError::storage_msg(e.to_string())),
        }
    }
}

/// A snapshot of the writer's queue (see [`SeaOrmChatStore::write_queue`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteQueueStats {
    /// Units of work and writes waiting for the writer now.
    pub queued_units: usize,
    /// How long the freshest unit of the latest batch waited: what admission control compares with its
    /// limit.
    pub latest_delay: Duration,
    /// Writes refused by admission control since the store was opened.
    pub refused: u64,
}

/// Group commit: the unit is queued to the writer, runs in its own savepoint of the batch transaction, and
/// is answered only after that transaction commits. On PostgreSQL writer transactions of all processes
/// take one advisory lock, so units are serializable across processes too.
#[async_trait]
impl UnitOfWork for SeaOrmChatStore {
    async fn run(&self, work: Work) -> Result<Committed<WorkOutput>, WorkError> {
        let body: JobFn = Box::new(move |c, batch| {
            Box::pin(async move {
                let mut tx = SeaOrmTransaction::new(c, batch);
                let value = work(&mut tx).await?;
                let (events, delta) = tx.finish();
                Ok((value, events, delta))
            })
        });
        self.submit(body, JobKind::Unit).await
    }
}

/// The file a SQLite URL names, as the pool's driver reads the URL.
fn sqlite_path(url: &str) -> Result<std::path::PathBuf, RepositoryError> {
    let options: SqliteConnectOptions = url.parse().map_err(RepositoryError::storage)?;
    Ok(options.get_filename().to_path_buf())
}

/// Runs the writer of a SQLite file on a thread of its own, with a runtime of its own: its statements
/// block while SQLite works (and syncs at each commit), which must not hold up a worker of the server's
/// runtime.
fn spawn_writer_thread(writer: impl std::future::Future<Output = ()> + Send + 'static) -> Result<(), RepositoryError> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(RepositoryError::storage)?;
    std::thread::Builder::new()
        .name("chat-sqlite-writer".to_owned())
        .spawn(move || runtime.block_on(writer))
        .map(drop)
        .map_err(RepositoryError::storage)
}

async fn effective_settings(
    db: &DatabaseConnection,
    backend: Backend,
    pool_size: u32,
) -> Result<Vec<(String, String)>, RepositoryError> {
    let mut out = vec![("backend".to_owned(), format!("{backend:?}").to_lowercase())];
    let queries: &[(&str, &str)] = match backend {
        Backend::Sqlite => &[
            ("journal_mode", "PRAGMA journal_mode"),
            ("synchronous", "PRAGMA synchronous"),
            ("busy_timeout", "PRAGMA busy_timeout"),
            ("foreign_keys", "PRAGMA foreign_keys"),
            ("cache_size", "PRAGMA cache_size"),
            ("temp_store", "PRAGMA temp_store"),
            ("sqlite_version", "SELECT sqlite_version()"),
        ],
        Backend::Postgres => {
            &[("server_version", "SHOW server_version"), ("synchronous_commit", "SHOW synchronous_commit")]
        }
    };
    for (name, sql) in queries {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), (*sql).to_owned()))
            .await
            .map_err(db_err)?;
        let value = row
            .map(|r| {
                r.try_get_by_index::<String>(0)
                    .or_else(|_| r.try_get_by_index::<i64>(0).map(|n| n.to_string()))
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let value = match (*name, value.as_str()) {
            ("synchronous", "0") => "OFF".to_owned(),
            ("synchronous", "1") => "NORMAL".to_owned(),
            ("synchronous", "2") => "FULL".to_owned(),
            ("synchronous", "3") => "EXTRA".to_owned(),
            _ => value,
        };
        out.push(((*name).to_owned(), value));
    }
    out.push(("max_connections".to_owned(), pool_size.to_string()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::Notify;

    use super::*;

    /// A job that says when the writer runs it and then waits to be released: it holds the writer.
    fn gated(started: Arc<Notify>, release: Arc<Notify>) -> JobFn {
        Box::new(move |_, _| {
            Box::pin(async move {
                started.notify_one();
                release.notified().await;
                writer::nothing_done()
            })
        })
    }

    fn plain() -> JobFn {
        Box::new(|_, _| Box::pin(async { writer::nothing_done() }))
    }

    async fn until_queued(store: &SeaOrmChatStore, units: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while store.queued_units() != units {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{units} units never queued (now {})", store.queued_units()));
    }

    /// Once the freshest unit of a batch waited longer than the limit, a write that would queue behind
    /// others is refused at once with a time to retry after; the accepted ones all commit, and an empty
    /// queue admits again.
    #[tokio::test]
    async fn a_slow_queue_refuses_new_writes_until_it_empties() {
        let mut options = StoreOptions::new("sqlite::memory:");
        options.max_queue_delay = Some(Duration::from_millis(20));
        let store = SeaOrmChatStore::connect(options).await.expect("store");
        let (first_started, first_release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let (second_started, second_release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));

        // The writer runs the first job; two more queue behind it and wait longer than the limit.
        let first = tokio::spawn({
            let (store, job) = (store.clone(), gated(first_started.clone(), first_release.clone()));
            async move { store.submit(job, JobKind::Unit).await.map(drop) }
        });
        first_started.notified().await;
        let second = tokio::spawn({
            let (store, job) = (store.clone(), gated(second_started.clone(), second_release.clone()));
            async move { store.submit(job, JobKind::Unit).await.map(drop) }
        });
        until_queued(&store, 1).await;
        let third = tokio::spawn({
            let store = store.clone();
            async move { store.submit(plain(), JobKind::Unit).await.map(drop) }
        });
        until_queued(&store, 2).await;
        tokio::time::sleep(Duration::from_millis(60)).await;
        first_release.notify_one();
        // The writer takes both as its next batch and measures the freshest one's wait (>= 60 ms).
        second_started.notified().await;

        // An empty queue admits, whatever the delay measured last.
        let fourth = tokio::spawn({
            let store = store.clone();
            async move { store.submit(plain(), JobKind::Unit).await.map(drop) }
        });
        until_queued(&store, 1).await;
        // A plain write is held to the same limit as a unit of work.
        match store.submit(plain(), JobKind::Write).await {
            Err(WorkError::Repository(RepositoryError::Overloaded { retry_after })) => {
                assert!(retry_after >= Duration::from_millis(60), "retry after {retry_after:?}");
            }
            other => panic!("a write behind a slow queue must be refused, got {:?}", other.map(drop)),
        }
        let stats = store.write_queue();
        assert_eq!((stats.queued_units, stats.refused), (1, 1), "{stats:?}");
        assert!(stats.latest_delay >= Duration::from_millis(60), "{stats:?}");

        second_release.notify_one();
        for (name, job) in [("first", first), ("second", second), ("third", third), ("fourth", fourth)] {
            job.await.expect("task").unwrap_or_else(|e| panic!("the {name} write failed: {e}"));
        }
        assert_eq!(store.queued_units(), 0);
        store.submit(plain(), JobKind::Unit).await.map(drop).expect("an empty queue admits again");
    }
}
