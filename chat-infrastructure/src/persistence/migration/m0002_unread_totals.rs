//! Per-user unread totals kept on write, so that "total unread" reads one row instead of summing every side
//! (SPEC §8, B6: a user with 10,000 conversations).
//!
//! `user_unread_totals (tenant_id, user_id, total)` holds, for each user, the sum of `unread_count` over
//! their `conversations` rows. Triggers on `conversations` (row triggers on SQLite, statement triggers with
//! transition tables on PostgreSQL) apply each insert, update and delete of a side to the total in the
//! same statement, hence in the same transaction: every write path (a single side, the
//! set-based updates of a whole conversation, deletes and purges) keeps the total exact without having to
//! remember it. Existing rows are summed once when the migration runs.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

use super::execute_all;

/// Adds `user_unread_totals` and the triggers that maintain it.
#[derive(Debug, Clone, Copy)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_unread_totals"
    }
}

const SQLITE_UP: &[&str] = &[
    "CREATE TRIGGER IF NOT EXISTS conversations_unread_insert AFTER INSERT ON conversations \
     WHEN new.unread_count <> 0 BEGIN \
     INSERT INTO user_unread_totals (tenant_id, user_id, total) VALUES (new.tenant_id, new.user_id, new.unread_count) \
     ON CONFLICT (tenant_id, user_id) DO UPDATE SET total = total + excluded.total; END",
    "CREATE TRIGGER IF NOT EXISTS conversations_unread_update AFTER UPDATE OF unread_count ON conversations \
     WHEN new.unread_count <> old.unread_count BEGIN \
     INSERT INTO user_unread_totals (tenant_id, user_id, total) \
     VALUES (new.tenant_id, new.user_id, new.unread_count - old.unread_count) \
     ON CONFLICT (tenant_id, user_id) DO UPDATE SET total = total + excluded.total; END",
    "CREATE TRIGGER IF NOT EXISTS conversations_unread_delete AFTER DELETE ON conversations \
     WHEN old.unread_count <> 0 BEGIN \
     UPDATE user_unread_totals SET total = total - old.unread_count \
     WHERE tenant_id = old.tenant_id AND user_id = old.user_id; END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS conversations_unread_insert",
    "DROP TRIGGER IF EXISTS conversations_unread_update",
    "DROP TRIGGER IF EXISTS conversations_unread_delete",
];

/// On PostgreSQL statement-level triggers with transition tables: one set-based upsert per statement, so
/// the set-based update of a thousand members' sides costs one statement more, not a thousand function
/// calls. An `INSERT … ON CONFLICT DO UPDATE` fires the insert trigger for the rows it inserted and the
/// update trigger for the rows it updated.
const POSTGRES_UP: &[&str] = &[
    "CREATE OR REPLACE FUNCTION chat_unread_totals_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     INSERT INTO user_unread_totals (tenant_id, user_id, total) \
     SELECT tenant_id, user_id, SUM(unread_count) FROM chat_new_sides GROUP BY tenant_id, user_id \
     HAVING SUM(unread_count) <> 0 \
     ON CONFLICT (tenant_id, user_id) DO UPDATE SET total = user_unread_totals.total + EXCLUDED.total; \
     RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION chat_unread_totals_updated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     INSERT INTO user_unread_totals (tenant_id, user_id, total) \
     SELECT n.tenant_id, n.user_id, SUM(n.unread_count - o.unread_count) FROM chat_new_sides n \
     JOIN chat_old_sides o ON o.tenant_id = n.tenant_id AND o.conversation_id = n.conversation_id \
     AND o.user_id = n.user_id GROUP BY n.tenant_id, n.user_id HAVING SUM(n.unread_count - o.unread_count) <> 0 \
     ON CONFLICT (tenant_id, user_id) DO UPDATE SET total = user_unread_totals.total + EXCLUDED.total; \
     RETURN NULL; END $$",
    "CREATE OR REPLACE FUNCTION chat_unread_totals_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     UPDATE user_unread_totals t SET total = t.total - d.total \
     FROM (SELECT tenant_id, user_id, SUM(unread_count) AS total FROM chat_old_sides \
     GROUP BY tenant_id, user_id HAVING SUM(unread_count) <> 0) d \
     WHERE t.tenant_id = d.tenant_id AND t.user_id = d.user_id; \
     RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS conversations_unread_insert ON conversations",
    "DROP TRIGGER IF EXISTS conversations_unread_update ON conversations",
    "DROP TRIGGER IF EXISTS conversations_unread_delete ON conversations",
    "CREATE TRIGGER conversations_unread_insert AFTER INSERT ON conversations \
     REFERENCING NEW TABLE AS chat_new_sides FOR EACH STATEMENT EXECUTE FUNCTION chat_unread_totals_inserted()",
    "CREATE TRIGGER conversations_unread_update AFTER UPDATE ON conversations \
     REFERENCING OLD TABLE AS chat_old_sides NEW TABLE AS chat_new_sides \
     FOR EACH STATEMENT EXECUTE FUNCTION chat_unread_totals_updated()",
    "CREATE TRIGGER conversations_unread_delete AFTER DELETE ON conversations \
     REFERENCING OLD TABLE AS chat_old_sides FOR EACH STATEMENT EXECUTE FUNCTION chat_unread_totals_deleted()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS conversations_unread_insert ON conversations",
    "DROP TRIGGER IF EXISTS conversations_unread_update ON conversations",
    "DROP TRIGGER IF EXISTS conversations_unread_delete ON conversations",
    "DROP FUNCTION IF EXISTS chat_unread_totals_inserted()",
    "DROP FUNCTION IF EXISTS chat_unread_totals_updated()",
    "DROP FUNCTION IF EXISTS chat_unread_totals_deleted()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("user_unread_totals")
                    .if_not_exists()
                    .col(ColumnDef::new("tenant_id").uuid().not_null())
                    .col(ColumnDef::new("user_id").uuid().not_null())
                    .col(ColumnDef::new("total").big_integer().not_null())
                    .primary_key(Index::create().col("tenant_id").col("user_id"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO user_unread_totals (tenant_id, user_id, total) \
             SELECT tenant_id, user_id, SUM(unread_count) FROM conversations GROUP BY tenant_id, user_id",
        )
        .await?;
        let statements = if manager.get_database_backend() == DbBackend::Sqlite { SQLITE_UP } else { POSTGRES_UP };
        execute_all(manager, statements).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = if manager.get_database_backend() == DbBackend::Sqlite { SQLITE_DOWN } else { POSTGRES_DOWN };
        execute_all(manager, statements).await?;
        manager.drop_table(Table::drop().table("user_unread_totals").if_exists().to_owned()).await
    }
}
