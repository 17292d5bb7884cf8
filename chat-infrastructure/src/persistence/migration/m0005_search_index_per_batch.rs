//! SQLite's search index is written once per batch, not once per message.
//!
//! FTS5 keeps the entries of a transaction in memory, but it writes them out as a new index segment at
//! every savepoint, because it cannot roll its memory back to one. The writer opens a savepoint per unit of
//! work, so a trigger that indexed each message as it was inserted wrote one small segment per message,
//! which later merges paid for again (measured in `docs/performance.md`: 12 % of the writer's time).
//!
//! The insert trigger now only notes the message's row id in `messages_fts_pending`, an ordinary table
//! that savepoints cost nothing extra for. Before a batch commits, if one of its units inserted or updated
//! messages, the writer indexes every noted message in one statement ([`SEARCH_INDEX_FLUSH`]), so
//! committed data has no pending rows (`check_integrity` reports any). An edit or delete of a message
//! still pending (inserted earlier in the same batch) leaves the index alone: removing an entry FTS5 never
//! received would corrupt an external-content index. Every other edit removes the old entry and notes the
//! message again; a write that leaves the text as it was touches nothing.
//!
//! Every message is indexed now, a message without text (deleted for everyone) as an empty document, where
//! m0001 skipped those. FTS5 expects an external-content index to hold every row of its content table,
//! and only then can its own integrity check compare the two (`check_integrity` runs it); the migration
//! indexes the messages m0001 skipped.
//!
//! PostgreSQL's index is a generated column and is untouched.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

use super::execute_all;

/// Replaces the per-message search-index triggers with pending rows indexed once per batch (SQLite).
#[derive(Debug, Clone, Copy)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_search_index_per_batch"
    }
}

/// Indexes the pending messages in row-id order (FTS5 writes a segment early when ids go backwards) and
/// forgets them: what a batch runs before it commits, on SQLite. A message deleted before this runs has
/// left `messages_fts_pending` already (its delete trigger). Public for programs that write `messages`
/// with their own SQL on a store's SQLite file (benchmark baselines, seeds): they run it before their
/// commit too, or search misses their messages.
pub const SEARCH_INDEX_FLUSH: [&str; 2] = [
    "INSERT INTO messages_fts (rowid, text) SELECT m.rid, m.text FROM messages_fts_pending p \
     JOIN messages m ON m.rid = p.rid ORDER BY p.rid",
    "DELETE FROM messages_fts_pending",
];

/// Whether a message's row is still waiting to be indexed, as a trigger's condition on `old`.
const PENDING: &str = "EXISTS (SELECT 1 FROM messages_fts_pending WHERE rid = old.rid)";

fn sqlite_up() -> Vec<String> {
    vec![
        "CREATE TABLE IF NOT EXISTS messages_fts_pending (rid INTEGER PRIMARY KEY)".into(),
        "DROP TRIGGER IF EXISTS messages_fts_insert".into(),
        "DROP TRIGGER IF EXISTS messages_fts_delete".into(),
        "DROP TRIGGER IF EXISTS messages_fts_update".into(),
        "INSERT INTO messages_fts (rowid, text) SELECT rid, text FROM messages WHERE text IS NULL ORDER BY rid".into(),
        "CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN \
         INSERT INTO messages_fts_pending (rid) VALUES (new.rid); END"
            .into(),
        format!(
            "CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN \
             INSERT INTO messages_fts (messages_fts, rowid, text) SELECT 'delete', old.rid, old.text \
             WHERE NOT {PENDING}; \
             DELETE FROM messages_fts_pending WHERE rid = old.rid; END"
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF text ON messages \
             WHEN old.text IS NOT new.text AND NOT {PENDING} BEGIN \
             INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rid, old.text); \
             INSERT INTO messages_fts_pending (rid) VALUES (new.rid); END"
        ),
    ]
}

/// Back to m0001's triggers, after indexing whatever is pending, without the messages m0001 skips.
fn sqlite_down() -> Vec<String> {
    vec![
        SEARCH_INDEX_FLUSH[0].into(),
        SEARCH_INDEX_FLUSH[1].into(),
        "INSERT INTO messages_fts (messages_fts, rowid, text) SELECT 'delete', rid, text FROM messages \
         WHERE text IS NULL"
            .into(),
        "DROP TRIGGER IF EXISTS messages_fts_insert".into(),
        "DROP TRIGGER IF EXISTS messages_fts_delete".into(),
        "DROP TRIGGER IF EXISTS messages_fts_update".into(),
        "DROP TABLE IF EXISTS messages_fts_pending".into(),
        "CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN \
         INSERT INTO messages_fts(rowid, text) VALUES (new.rid, new.text); END"
            .into(),
        "CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages WHEN old.text IS NOT NULL BEGIN \
         INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.rid, old.text); END"
            .into(),
        "CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF text ON messages BEGIN \
         INSERT INTO messages_fts(messages_fts, rowid, text) \
         SELECT 'delete', old.rid, old.text WHERE old.text IS NOT NULL; \
         INSERT INTO messages_fts(rowid, text) SELECT new.rid, new.text WHERE new.text IS NOT NULL; END"
            .into(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too: the triggers are swapped, and the skipped messages indexed, together
    /// or not at all, on one connection. On several, a pool connection whose cached schema predates the
    /// `DROP TRIGGER` refuses the `CREATE TRIGGER` as a duplicate (seen in the server's tests); the
    /// `IF NOT EXISTS` makes SQLite check the schema again instead.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        let up = sqlite_up();
        execute_all(manager, &up.iter().map(String::as_str).collect::<Vec<_>>()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        let down = sqlite_down();
        execute_all(manager, &down.iter().map(String::as_str).collect::<Vec<_>>()).await
    }
}
