//! Persistence on SQLite and PostgreSQL through sea-orm.
//!
//! - [`SeaOrmChatStore`] implements every repository port and the unit of work (group commit);
//! - [`StoreOptions`] / [`DatabaseConfig`] / [`Durability`] say where and how to write;
//! - [`Migrator`] holds the schema migrations (run at connect);
//! - [`IntegrityReport`] is what [`SeaOrmChatStore::check_integrity`] finds;
//! - [`SeaOrmOutbox`] tells which stored events were published and claims the others (cluster relay);
//! - feature `testing`: [`testing::fresh_postgres_schema`] gives each test its own PostgreSQL schema.
//!
//! Layout: `entities` (rows), `migration` (schema), `mapping` (rows <-> domain, the only place that does
//! it), `queries` (reads shared by units and ports), `transaction` (the unit of work's writes), `writer`
//! (group commit), `conn` (what statements run on: the pool, the
//! writer's transaction, or `direct`, the SQLite writer's own connection on the C API), `admission` (refusing writes while the writer's queue is too slow), `batch` (what one
//! batch keeps in memory), `repositories` (read ports), `integrity` (consistency checks), `sql` (helpers).

mod admission;
mod batch;
mod conn;
mod direct;
pub mod entities;
mod integrity;
mod mapping;
pub mod migration;
mod options;
mod outbox;
mod queries;
mod repositories;
mod sql;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod transaction;
mod writer;

pub use integrity::{IntegrityProblem, IntegrityReport};
pub use migration::Migrator;
pub use options::{Backend, DatabaseConfig, Durability, SqliteWriter, StoreOptions};
pub use outbox::{OutboxClaim, PublishedKey, SeaOrmOutbox, StoredEventKey};
pub use store::{SeaOrmChatStore, WriteQueueStats};
