//! Schema migrations. [`Migrator::up`] runs at start-up; applied migrations are recorded in
//! `seaql_migrations`, so running it again is a no-op.

use sea_orm_migration::prelude::*;

mod m0001_initial;
mod m0002_unread_totals;
mod m0003_outbox_relay;
mod m0004_partial_client_id_index;
mod m0005_search_index_per_batch;

pub use m0005_search_index_per_batch::SEARCH_INDEX_FLUSH;

/// Runs raw statements in order: what the schema builder cannot express (triggers, FTS tables, partial
/// indexes).
async fn execute_all(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    for sql in statements {
        manager.get_connection().execute_unprepared(sql).await?;
    }
    Ok(())
}

/// Every migration of the chat schema, in order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_unread_totals::Migration),
            Box::new(m0003_outbox_relay::Migration),
            Box::new(m0004_partial_client_id_index::Migration),
            Box::new(m0005_search_index_per_batch::Migration),
        ]
    }
}
