//! The outbox relay's markers: which stored events have been published on the event bus.
//!
//! `outbox_published` holds one row per published event (its key, its `at` copied so that the relay's scan
//! and the pruning are range scans, and when it was published). Rows are written after publishing, off the
//! acknowledgement path, and pruned by the relay once they are older than its horizon. Existing events of
//! the last day are marked as published on PostgreSQL, so that the first relay after an upgrade does not
//! republish what was already delivered.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

/// Creates `outbox_published`.
#[derive(Debug, Clone, Copy)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_outbox_relay"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("outbox_published")
                    .if_not_exists()
                    .col(ColumnDef::new("tenant_id").uuid().not_null())
                    .col(ColumnDef::new("event_id").uuid().not_null())
                    .col(ColumnDef::new("at").timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new("published_at").timestamp_with_time_zone().not_null())
                    .primary_key(Index::create().col("tenant_id").col("event_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_published_at")
                    .table("outbox_published")
                    .col("at")
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "INSERT INTO outbox_published (tenant_id, event_id, at, published_at) \
                     SELECT tenant_id, id, at, now() FROM events WHERE at > now() - interval '1 day' \
                     ON CONFLICT DO NOTHING",
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("outbox_published").if_exists().to_owned()).await
    }
}
