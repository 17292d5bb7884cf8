//! How to connect: the database URL, the durability asked for, the pool size and the writer's batch size.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How much a commit survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// No acknowledged write is lost, even on power loss (SQLite `synchronous=FULL`; PostgreSQL
    /// `synchronous_commit=on`). The default.
    #[default]
    Strict,
    /// Safe across process crashes only (SQLite `synchronous=NORMAL` in WAL mode; PostgreSQL
    /// `synchronous_commit=off`): the last commits may be lost if the machine loses power.
    Fast,
}

impl FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "strict" => Ok(Self::Strict),
            "fast" => Ok(Self::Fast),
            other => Err(format!("unknown durability {other:?} (expected \"strict\" or \"fast\")")),
        }
    }
}

impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Strict => "strict",
            Self::Fast => "fast",
        })
    }
}

/// Where the data lives and how it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// `sqlite://path?mode=rwc`, `sqlite::memory:` or `postgres://…`; the scheme picks the backend.
    pub url: String,
    /// Durability of commits.
    pub durability: Durability,
    /// Pool size; `None` picks a default (8 for PostgreSQL, 4 for a SQLite file; an in-memory SQLite
    /// database always has exactly one connection, since it lives inside it).
    pub max_connections: Option<u32>,
    /// How the writer reaches a SQLite file (an in-memory database is always written through the pool's
    /// one connection, which holds it).
    pub sqlite_writer: SqliteWriter,
}

impl DatabaseConfig {
    /// A configuration with default durability (strict), pool size and SQLite writer.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            durability: Durability::Strict,
            max_connections: None,
            sqlite_writer: SqliteWriter::default(),
        }
    }
}

/// How the writer of a SQLite file reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteWriter {
    /// Its own connection on SQLite's C API, on its own thread: no thread switch per statement (the
    /// default; see `docs/performance.md`).
    #[default]
    CApi,
    /// A connection of the async driver's pool, like the reads.
    Driver,
}

impl FromStr for SqliteWriter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "c-api" => Ok(Self::CApi),
            "driver" => Ok(Self::Driver),
            other => Err(format!("unknown SQLite writer {other:?} (expected \"c-api\" or \"driver\")")),
        }
    }
}

impl fmt::Display for SqliteWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CApi => "c-api",
            Self::Driver => "driver",
        })
    }
}

/// Everything [`SeaOrmChatStore::connect`](super::SeaOrmChatStore::connect) needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// The database.
    pub database: DatabaseConfig,
    /// Most units of work committed together in one transaction.
    pub max_batch: usize,
    /// How long SQLite waits for a lock held by another connection or process.
    pub busy_timeout: Duration,
    /// Run the migrations when connecting (the default).
    pub migrate: bool,
    /// Admission control: refuse writes (`RepositoryError::Overloaded`) while the group-commit queue
    /// makes units wait longer than this; `None` (the default) queues every write however long the wait.
    pub max_queue_delay: Option<Duration>,
}

impl StoreOptions {
    /// The default batch size.
    pub const DEFAULT_MAX_BATCH: usize = 256;

    /// Default options for a database URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self::from_config(DatabaseConfig::new(url))
    }

    /// Default options around a database configuration.
    pub fn from_config(database: DatabaseConfig) -> Self {
        Self {
            database,
            max_batch: Self::DEFAULT_MAX_BATCH,
            busy_timeout: Duration::from_secs(5),
            migrate: true,
            max_queue_delay: None,
        }
    }
}

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (embedded).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// The backend a URL names, by its scheme.
    pub fn of_url(url: &str) -> Option<Self> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if lower.starts_with("postgres:") || lower.starts_with("postgresql:") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// Whether a SQLite URL names an in-memory database.
pub(crate) fn is_sqlite_memory(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.contains(":memory:") || lower.contains("mode=memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_comes_from_the_scheme() {
        assert_eq!(Backend::of_url("sqlite://chat.db?mode=rwc"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgres://u@h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("mysql://x"), None);
    }

    #[test]
    fn durability_parses_its_names() {
        assert_eq!("STRICT".parse::<Durability>(), Ok(Durability::Strict));
        assert_eq!("fast".parse::<Durability>(), Ok(Durability::Fast));
        assert!("eventual".parse::<Durability>().is_err());
    }

    #[test]
    fn sqlite_writer_parses_what_it_prints() {
        for writer in [SqliteWriter::CApi, SqliteWriter::Driver] {
            assert_eq!(writer.to_string().parse::<SqliteWriter>(), Ok(writer));
        }
        assert!("rusqlite".parse::<SqliteWriter>().is_err());
    }
}
