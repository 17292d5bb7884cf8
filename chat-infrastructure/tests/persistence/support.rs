//! Store factories for the tests.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chat_domain::Repositories;
use chat_domain::testing::ContractSetup;
use chat_infrastructure::persistence::{SeaOrmChatStore, StoreOptions};

/// The environment variable naming the PostgreSQL server used by the tests.
pub const PG_ENV: &str = "CHAT_TEST_DATABASE_URL";

/// Files older than this are left-overs of earlier runs and are removed.
const STALE: Duration = Duration::from_secs(30 * 60);

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// A store on a private in-memory SQLite database.
pub async fn sqlite_memory() -> SeaOrmChatStore {
    SeaOrmChatStore::connect_url("sqlite::memory:").await.expect("in-memory SQLite store")
}

fn sqlite_dir() -> PathBuf {
    std::env::temp_dir().join("chat-infrastructure-tests")
}

/// A fresh SQLite file URL in the temporary directory (old test files are removed on the way).
pub fn sqlite_file_url() -> String {
    let dir = sqlite_dir();
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let old = entry.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
            if old.is_some_and(|age| age > STALE) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    format!("sqlite://{}?mode=rwc", dir.join(format!("{}.db", unique())).display())
}

/// A store on a fresh SQLite file (WAL, strict durability).
pub async fn sqlite_file() -> SeaOrmChatStore {
    SeaOrmChatStore::connect_url(&sqlite_file_url()).await.expect("SQLite file store")
}

/// A URL on a fresh PostgreSQL schema, or `None` without `CHAT_TEST_DATABASE_URL`. Schemas this suite
/// created more than half an hour ago are dropped on the way.
pub async fn postgres_url() -> Option<String> {
    let url = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty())?;
    Some(chat_infrastructure::persistence::testing::fresh_postgres_schema(&url).await.expect("a fresh test schema"))
}

/// A store on a fresh PostgreSQL schema, or `None` without `CHAT_TEST_DATABASE_URL`.
pub async fn postgres() -> Option<SeaOrmChatStore> {
    let url = postgres_url().await?;
    Some(SeaOrmChatStore::connect(StoreOptions::new(url)).await.expect("PostgreSQL store"))
}

/// What the contract suite's factories return.
pub fn setup(store: Option<SeaOrmChatStore>) -> ContractSetup {
    match store {
        Some(store) => ContractSetup::Ready(Repositories::from_store(Arc::new(store))),
        None => ContractSetup::Skip(format!("{PG_ENV} is not set; the PostgreSQL leg is skipped")),
    }
}

/// The stores every store test runs on: SQLite memory, SQLite file, and PostgreSQL when configured.
pub async fn every_backend() -> Vec<(&'static str, SeaOrmChatStore)> {
    let mut stores = vec![("sqlite-memory", sqlite_memory().await), ("sqlite-file", sqlite_file().await)];
    match postgres().await {
        Some(pg) => stores.push(("postgres", pg)),
        None => eprintln!("{PG_ENV} is not set; the PostgreSQL leg is skipped"),
    }
    stores
}
