//! Per-user unread totals kept on write, so that "total unread" reads one row instead of summing every side
//! (SPEC §8, B6: a user with 10,000 conversations).
//!
//! `user_unread_totals (tenant_id, user_id, total)` holds, for each user, the sum of `unread_count` over
//! their `conversations` rows. Triggers on `conversations` apply each insert, update and delete of a side
//! to the total in the same statement, hence in the same transaction: every write path (a single side, the
//! set-based updates of a whole conversation, deletes and purges) keeps the total exact without having to
//! remember it. Existing rows are summed once when the migration runs.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

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

const POSTGRES_UP: &[&str] = &[
    "CREATE OR REPLACE FUNCTION chat_conversations_unread() RETURNS trigger LANGUAGE plpgsql AS $$ \
     DECLARE delta BIGINT; t UUID; u UUID; \
     BEGIN \
       IF TG_OP = 'INSERT' THEN delta := NEW.unread_count; t := NEW.tenant_id; u := NEW.user_id; \
       ELSIF TG_OP = 'UPDATE' THEN delta := NEW.unread_count - OLD.unread_count; t := NEW.tenant_id; u := NEW.user_id; \
       ELSE delta := -OLD.unread_count; t := OLD.tenant_id; u := OLD.user_id; \
       END IF; \
       IF delta <> 0 THEN \
         INSERT INTO user_unread_totals (tenant_id, user_id, total) VALUES (t, u, delta) \
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET total = user_unread_totals.total + EXCLUDED.total; \
       END IF; \
       RETURN NULL; \
     END $$",
    "DROP TRIGGER IF EXISTS conversations_unread ON conversations",
    "CREATE TRIGGER conversations_unread AFTER INSERT OR UPDATE OF unread_count OR DELETE ON conversations \
     FOR EACH ROW EXECUTE FUNCTION chat_conversations_unread()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS conversations_unread ON conversations",
    "DROP FUNCTION IF EXISTS chat_conversations_unread()",
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
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = if manager.get_database_backend() == DbBackend::Sqlite { SQLITE_DOWN } else { POSTGRES_DOWN };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        manager.drop_table(Table::drop().table("user_unread_totals").if_exists().to_owned()).await
    }
}
