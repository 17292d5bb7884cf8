//! Idempotency keys are indexed only where a message has one.
//!
//! `ux_messages_client_id` was a full index on `(tenant_id, sender_id, client_message_id)`, so every
//! message without a key still added an entry, placed by sender: a batch of sends from N senders touched N
//! index pages for nothing (measured in `docs/performance.md`, B1). The partial index keeps the same
//! uniqueness for keyed messages (NULLs never collided) and serves the same lookup, whose
//! `client_message_id = ?` implies `IS NOT NULL` on both backends.

use sea_orm_migration::prelude::*;

use super::execute_all;

/// Replaces `ux_messages_client_id` with a partial unique index.
#[derive(Debug, Clone, Copy)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_partial_client_id_index"
    }
}

const UP: &[&str] = &[
    "DROP INDEX IF EXISTS ux_messages_client_id",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_messages_client_id ON messages (tenant_id, sender_id, client_message_id) \
     WHERE client_message_id IS NOT NULL",
];

const DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS ux_messages_client_id",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_messages_client_id ON messages (tenant_id, sender_id, client_message_id)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        execute_all(manager, DOWN).await
    }
}
