//! The initial schema: every table, key and index the store's queries use.
//!
//! Portable column types come from sea-query (`uuid` is native on PostgreSQL and a 16-byte BLOB on SQLite;
//! timestamps are `timestamptz` / ISO-8601 TEXT). Full-text search differs by backend and is created with
//! backend-gated SQL: an FTS5 table kept in step by triggers on SQLite, a generated `tsvector` column with a
//! GIN index on PostgreSQL.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

use super::execute_all;

/// The initial schema.
#[derive(Debug, Clone, Copy)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_initial"
    }
}

fn uuid(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).uuid().not_null().to_owned()
}
fn uuid_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).uuid().null().to_owned()
}
fn big(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}
fn big_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().null().to_owned()
}
fn text(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().not_null().to_owned()
}
fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().null().to_owned()
}
fn ts(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().not_null().to_owned()
}
fn ts_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().null().to_owned()
}
fn boolean(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).boolean().not_null().to_owned()
}
fn json(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).json_binary().not_null().to_owned()
}

fn table(name: &'static str, columns: Vec<ColumnDef>, key: &[&'static str]) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(name).if_not_exists();
    for mut c in columns {
        t.col(&mut c);
    }
    if !key.is_empty() {
        let mut pk = Index::create();
        for k in key {
            pk.col(*k);
        }
        t.primary_key(&mut pk);
    }
    t.to_owned()
}

fn index(name: &'static str, table: &'static str, columns: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table).if_not_exists();
    for c in columns {
        i.col(*c);
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let sqlite = backend == DbBackend::Sqlite;
        let tables = vec![
            table(
                "chat_users",
                vec![
                    uuid("tenant_id"),
                    uuid("id"),
                    text("user_name"),
                    text_null("name"),
                    text_null("surname"),
                    boolean("active"),
                    ts("updated_at"),
                ],
                &["tenant_id", "id"],
            ),
            table(
                "user_streams",
                vec![uuid("tenant_id"), uuid("user_id"), big("last_event_seq"), big("pruned_event_seq")],
                &["tenant_id", "user_id"],
            ),
            table(
                "conversations",
                vec![
                    uuid("tenant_id"),
                    uuid("conversation_id"),
                    uuid("user_id"),
                    text("kind"),
                    uuid_null("peer_id"),
                    uuid_null("last_message_id"),
                    big_null("last_message_seq"),
                    uuid_null("last_message_sender"),
                    ts_null("last_message_at"),
                    ts("last_activity_at"),
                    big("unread_count"),
                    big("read_seq"),
                    ts_null("read_at"),
                    big("delivered_seq"),
                    ts_null("delivered_at"),
                    big("cleared_seq"),
                    boolean("hidden"),
                    boolean("muted"),
                    boolean("archived"),
                    ts("created_at"),
                ],
                &["tenant_id", "conversation_id", "user_id"],
            ),
            table(
                "conversation_seqs",
                vec![uuid("tenant_id"), uuid("conversation_id"), big("last_seq")],
                &["tenant_id", "conversation_id"],
            ),
            table(
                "chat_groups",
                vec![
                    uuid("tenant_id"),
                    uuid("id"),
                    text("name"),
                    text_null("description"),
                    text_null("avatar_url"),
                    ts("created_at"),
                    ts("updated_at"),
                ],
                &["tenant_id", "id"],
            ),
            table(
                "group_members",
                vec![
                    uuid("tenant_id"),
                    uuid("group_id"),
                    uuid("user_id"),
                    text("role"),
                    ts("joined_at"),
                    big("position"),
                ],
                &["tenant_id", "group_id", "user_id"],
            ),
            messages_table(sqlite),
            table(
                "message_hides",
                vec![uuid("tenant_id"), uuid("user_id"), uuid("message_id"), uuid("conversation_id")],
                &["tenant_id", "user_id", "message_id"],
            ),
            table(
                "reactions",
                vec![
                    uuid("tenant_id"),
                    uuid("message_id"),
                    uuid("user_id"),
                    text("emoji"),
                    uuid("conversation_id"),
                    ts("at"),
                ],
                &["tenant_id", "message_id", "user_id", "emoji"],
            ),
            table(
                "receipts",
                vec![
                    uuid("tenant_id"),
                    uuid("conversation_id"),
                    uuid("user_id"),
                    text("kind"),
                    big("up_to_seq"),
                    ts("at"),
                ],
                &["tenant_id", "conversation_id", "user_id", "kind", "up_to_seq"],
            ),
            table("events", vec![uuid("tenant_id"), uuid("id"), json("payload"), ts("at")], &["tenant_id", "id"]),
            table(
                "user_events",
                vec![uuid("tenant_id"), uuid("user_id"), big("event_seq"), uuid("event_id"), ts("at")],
                &["tenant_id", "user_id", "event_seq"],
            ),
            table("tenant_settings", vec![uuid("tenant_id"), json("settings")], &["tenant_id"]),
            table(
                "user_settings",
                vec![uuid("tenant_id"), uuid("user_id"), json("settings")],
                &["tenant_id", "user_id"],
            ),
            table(
                "attachments",
                vec![
                    uuid("tenant_id"),
                    uuid("id"),
                    uuid("uploader_id"),
                    text("file_name"),
                    text("mime_type"),
                    text("kind"),
                    big("size"),
                    text("blob_key"),
                    ts("created_at"),
                    uuid_null("message_id"),
                    uuid_null("conversation_id"),
                ],
                &["tenant_id", "id"],
            ),
        ];
        for t in tables {
            manager.create_table(t).await?;
        }

        let mut indexes = vec![
            // One direct conversation per pair (group sides have a NULL peer, and NULLs never collide).
            index("ux_conversations_direct", "conversations", &["tenant_id", "user_id", "peer_id"], true),
            // A user's list, newest activity first, and their total unread.
            index(
                "ix_conversations_list",
                "conversations",
                &["tenant_id", "user_id", "last_activity_at", "conversation_id"],
                false,
            ),
            index("ux_messages_seq", "messages", &["tenant_id", "conversation_id", "seq"], true),
            index("ux_messages_client_id", "messages", &["tenant_id", "sender_id", "client_message_id"], true),
            index("ix_message_hides_conversation", "message_hides", &["tenant_id", "conversation_id"], false),
            index("ix_reactions_conversation", "reactions", &["tenant_id", "conversation_id"], false),
            index("ix_events_at", "events", &["at"], false),
            index("ix_user_events_at", "user_events", &["at"], false),
            index("ix_chat_users_name", "chat_users", &["tenant_id", "user_name"], false),
        ];
        if sqlite {
            // On SQLite the row id is the FTS key, so the domain key is a unique index instead of the primary key.
            indexes.push(index("ux_messages_id", "messages", &["tenant_id", "id"], true));
        }
        for i in indexes {
            manager.create_index(i).await?;
        }

        let fts: &[&str] = if sqlite {
            &[
                "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(text, content='messages', \
                 content_rowid='rid', tokenize='unicode61 remove_diacritics 2')",
                "CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages \
                 WHEN new.text IS NOT NULL BEGIN \
                 INSERT INTO messages_fts(rowid, text) VALUES (new.rid, new.text); END",
                "CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages \
                 WHEN old.text IS NOT NULL BEGIN \
                 INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.rid, old.text); END",
                "CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF text ON messages BEGIN \
                 INSERT INTO messages_fts(messages_fts, rowid, text) \
                 SELECT 'delete', old.rid, old.text WHERE old.text IS NOT NULL; \
                 INSERT INTO messages_fts(rowid, text) SELECT new.rid, new.text WHERE new.text IS NOT NULL; END",
            ]
        } else {
            &[
                "ALTER TABLE messages ADD COLUMN IF NOT EXISTS search_vector tsvector \
                 GENERATED ALWAYS AS (to_tsvector('simple', coalesce(text, ''))) STORED",
                "CREATE INDEX IF NOT EXISTS ix_messages_search ON messages USING GIN (search_vector)",
            ]
        };
        execute_all(manager, fts).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Sqlite {
            db.execute_unprepared("DROP TABLE IF EXISTS messages_fts").await?;
        }
        for name in [
            "attachments",
            "user_settings",
            "tenant_settings",
            "user_events",
            "events",
            "receipts",
            "reactions",
            "message_hides",
            "messages",
            "group_members",
            "chat_groups",
            "conversation_seqs",
            "conversations",
            "user_streams",
            "chat_users",
        ] {
            manager.drop_table(Table::drop().table(name).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}

/// `messages`: on SQLite an explicit integer row id (stable across VACUUM) keys the FTS index and the
/// domain key (tenant, id) is a unique index; on PostgreSQL (tenant, id) is the primary key.
fn messages_table(sqlite: bool) -> TableCreateStatement {
    let mut columns = Vec::new();
    if sqlite {
        columns.push(ColumnDef::new("rid").integer().not_null().primary_key().to_owned());
    }
    columns.extend([
        uuid("tenant_id"),
        uuid("id"),
        uuid("conversation_id"),
        big("seq"),
        uuid("sender_id"),
        text_null("text"),
        uuid_null("reply_to"),
        json("attachments"),
        text_null("client_message_id"),
        ts("created_at"),
        ts_null("edited_at"),
        ts_null("deleted_at"),
    ]);
    let key: &[&'static str] = if sqlite { &[] } else { &["tenant_id", "id"] };
    table("messages", columns, key)
}
