//! Consistency checks for tests and operators: the denormalised counters agree with the messages.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Value};
use uuid::Uuid;

use chat_domain::{ConversationId, RepositoryError, TenantId, UserId};

use super::sql::{db_err, stmt};
use super::store::SeaOrmChatStore;

/// One inconsistency found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntegrityProblem {
    /// A side's stored unread count differs from the count recomputed from the messages.
    UnreadCount {
        /// Tenant.
        tenant: TenantId,
        /// Conversation.
        conversation: ConversationId,
        /// Whose side.
        user: UserId,
        /// Stored.
        stored: i64,
        /// Recomputed.
        actual: i64,
    },
    /// A side's last message is not the conversation's latest message (or is missing while newer
    /// messages exist).
    LastMessage {
        /// Tenant.
        tenant: TenantId,
        /// Conversation.
        conversation: ConversationId,
        /// Whose side.
        user: UserId,
        /// The `seq` the side remembers.
        stored_seq: Option<i64>,
        /// The conversation's highest `seq`.
        latest_seq: Option<i64>,
    },
    /// A conversation's `seq`s are not exactly 1..=n.
    SeqHoles {
        /// Tenant.
        tenant: TenantId,
        /// Conversation.
        conversation: ConversationId,
        /// How many messages.
        count: i64,
        /// Lowest `seq`.
        min: i64,
        /// Highest `seq`.
        max: i64,
    },
    /// The sequence counter does not equal the highest stored `seq`.
    SeqCounter {
        /// Tenant.
        tenant: TenantId,
        /// Conversation.
        conversation: ConversationId,
        /// The counter (0 when missing).
        counter: i64,
        /// The highest stored `seq` (0 when none).
        max: i64,
    },
    /// A user's kept unread total differs from the sum of their sides' unread counts.
    UnreadTotal {
        /// Tenant.
        tenant: TenantId,
        /// Whose total.
        user: UserId,
        /// Stored in `user_unread_totals` (0 when missing).
        stored: i64,
        /// The sum over the user's sides.
        actual: i64,
    },
    /// Messages whose conversation has no side.
    MessagesWithoutSides {
        /// Tenant.
        tenant: TenantId,
        /// Conversation.
        conversation: ConversationId,
        /// How many.
        count: i64,
    },
    /// SQLite's search index does not match the messages' texts, or messages committed without being
    /// indexed (rows left in `messages_fts_pending`). Checked over the whole database, whatever the tenant.
    SearchIndex {
        /// What SQLite's FTS5 integrity check said, or how many messages wait to be indexed.
        detail: String,
    },
}

/// Everything [`SeaOrmChatStore::check_integrity`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Sides checked.
    pub sides_checked: u64,
    /// Conversations with messages checked.
    pub conversations_checked: u64,
    /// Problems, in no particular order.
    pub problems: Vec<IntegrityProblem>,
}

impl IntegrityReport {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn get<T: sea_orm::TryGetable>(row: &sea_orm::QueryResult, col: &str) -> Result<T, RepositoryError> {
    row.try_get("", col).map_err(db_err)
}

impl SeaOrmChatStore {
    /// Recomputes every side's unread count and last message from the messages, checks that each
    /// conversation's `seq`s are gap-free and match its counter, and that every message's conversation has
    /// sides, that every user's kept unread total is the sum of their sides, and (SQLite) that the search
    /// index holds exactly the messages' texts. Scans the whole tenant (or database; the search index
    /// always whole): an operator's tool, not a request path.
    pub async fn check_integrity(&self, tenant: Option<TenantId>) -> Result<IntegrityReport, RepositoryError> {
        let db = self.connection();
        let backend = db.get_database_backend();
        let scope = |alias: &str| tenant.map(|_| format!(" WHERE {alias}.tenant_id = ?")).unwrap_or_default();
        let bind = || -> Vec<Value> { tenant.map(|t| vec![Value::from(t.as_uuid())]).unwrap_or_default() };
        let mut report = IntegrityReport::default();

        let sides = db
            .query_all_raw(stmt(
                backend,
                &format!(
                    "SELECT c.tenant_id, c.conversation_id, c.user_id, c.unread_count, c.read_seq, \
                     c.last_message_id, c.last_message_seq, \
                     (SELECT COUNT(*) FROM messages m WHERE m.tenant_id = c.tenant_id \
                      AND m.conversation_id = c.conversation_id AND m.seq > c.read_seq AND m.sender_id <> c.user_id \
                      AND m.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM message_hides h \
                      WHERE h.tenant_id = m.tenant_id AND h.user_id = c.user_id AND h.message_id = m.id)) AS actual, \
                     (SELECT MAX(m.seq) FROM messages m WHERE m.tenant_id = c.tenant_id \
                      AND m.conversation_id = c.conversation_id) AS latest_seq, \
                     (SELECT m.id FROM messages m WHERE m.tenant_id = c.tenant_id \
                      AND m.conversation_id = c.conversation_id AND m.seq = c.last_message_seq) AS seq_message_id \
                     FROM conversations c{}",
                    scope("c")
                ),
                bind(),
            ))
            .await
            .map_err(db_err)?;
        for row in &sides {
            report.sides_checked += 1;
            let tenant = TenantId::from_uuid(get(row, "tenant_id")?);
            let conversation = ConversationId::from_uuid(get(row, "conversation_id")?);
            let user = UserId::from_uuid(get(row, "user_id")?);
            let stored: i64 = get(row, "unread_count")?;
            let actual: i64 = get(row, "actual")?;
            if stored != actual {
                report.problems.push(IntegrityProblem::UnreadCount { tenant, conversation, user, stored, actual });
            }
            let read_seq: i64 = get(row, "read_seq")?;
            let stored_seq: Option<i64> = get(row, "last_message_seq")?;
            let stored_id: Option<Uuid> = get(row, "last_message_id")?;
            let latest_seq: Option<i64> = get(row, "latest_seq")?;
            let seq_message_id: Option<Uuid> = get(row, "seq_message_id")?;
            let consistent = match stored_seq {
                Some(seq) => latest_seq == Some(seq) && seq_message_id.is_some() && seq_message_id == stored_id,
                // A member who joined later has seen no message yet: nothing may lie past their start.
                None => latest_seq.is_none_or(|latest| latest <= read_seq),
            };
            if !consistent {
                report.problems.push(IntegrityProblem::LastMessage {
                    tenant,
                    conversation,
                    user,
                    stored_seq,
                    latest_seq,
                });
            }
        }

        let conversations = db
            .query_all_raw(stmt(
                backend,
                &format!(
                    "SELECT m.tenant_id, m.conversation_id, COUNT(*) AS n, MIN(m.seq) AS min_seq, MAX(m.seq) AS max_seq, \
                     (SELECT s.last_seq FROM conversation_seqs s WHERE s.tenant_id = m.tenant_id \
                      AND s.conversation_id = m.conversation_id) AS counter, \
                     (SELECT COUNT(*) FROM conversations c WHERE c.tenant_id = m.tenant_id \
                      AND c.conversation_id = m.conversation_id) AS sides \
                     FROM messages m{} GROUP BY m.tenant_id, m.conversation_id",
                    scope("m")
                ),
                bind(),
            ))
            .await
            .map_err(db_err)?;
        for row in &conversations {
            report.conversations_checked += 1;
            let tenant = TenantId::from_uuid(get(row, "tenant_id")?);
            let conversation = ConversationId::from_uuid(get(row, "conversation_id")?);
            let count: i64 = get(row, "n")?;
            let min: i64 = get(row, "min_seq")?;
            let max: i64 = get(row, "max_seq")?;
            let counter: Option<i64> = get(row, "counter")?;
            let side_count: i64 = get(row, "sides")?;
            if count != max || min != 1 {
                report.problems.push(IntegrityProblem::SeqHoles { tenant, conversation, count, min, max });
            }
            if counter.unwrap_or(0) != max {
                report.problems.push(IntegrityProblem::SeqCounter {
                    tenant,
                    conversation,
                    counter: counter.unwrap_or(0),
                    max,
                });
            }
            if side_count == 0 {
                report.problems.push(IntegrityProblem::MessagesWithoutSides { tenant, conversation, count });
            }
        }

        let counters = db
            .query_all_raw(stmt(
                backend,
                &format!(
                    "SELECT s.tenant_id, s.conversation_id, s.last_seq FROM conversation_seqs s{} {} s.last_seq > 0 \
                     AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.tenant_id = s.tenant_id \
                     AND m.conversation_id = s.conversation_id)",
                    scope("s"),
                    if tenant.is_some() { "AND" } else { "WHERE" }
                ),
                bind(),
            ))
            .await
            .map_err(db_err)?;
        for row in &counters {
            report.problems.push(IntegrityProblem::SeqCounter {
                tenant: TenantId::from_uuid(get(row, "tenant_id")?),
                conversation: ConversationId::from_uuid(get(row, "conversation_id")?),
                counter: get(row, "last_seq")?,
                max: 0,
            });
        }

        // Totals against the sums, both ways: users with sides, and totals left for users without any.
        let totals = db
            .query_all_raw(stmt(
                backend,
                &format!(
                    "SELECT x.tenant_id, x.user_id, CAST(SUM(x.actual) AS BIGINT) AS actual, \
                     CAST(SUM(x.stored) AS BIGINT) AS stored FROM ( \
                     SELECT c.tenant_id, c.user_id, c.unread_count AS actual, 0 AS stored FROM conversations c \
                     UNION ALL SELECT t.tenant_id, t.user_id, 0 AS actual, t.total AS stored FROM user_unread_totals t \
                     ) x{} GROUP BY x.tenant_id, x.user_id",
                    scope("x")
                ),
                bind(),
            ))
            .await
            .map_err(db_err)?;
        for row in &totals {
            let (stored, actual): (i64, i64) = (get(row, "stored")?, get(row, "actual")?);
            if stored != actual {
                report.problems.push(IntegrityProblem::UnreadTotal {
                    tenant: TenantId::from_uuid(get(row, "tenant_id")?),
                    user: UserId::from_uuid(get(row, "user_id")?),
                    stored,
                    actual,
                });
            }
        }
        if backend == DbBackend::Sqlite {
            report.problems.extend(search_index_problem(db).await?);
        }
        Ok(report)
    }
}

/// SQLite's search index against the messages (see [`IntegrityProblem::SearchIndex`]).
async fn search_index_problem(db: &DatabaseConnection) -> Result<Option<IntegrityProblem>, RepositoryError> {
    let pending = db
        .query_one_raw(stmt(DbBackend::Sqlite, "SELECT COUNT(*) AS n FROM messages_fts_pending", Vec::new()))
        .await
        .map_err(db_err)?
        .map(|row| get::<i64>(&row, "n"))
        .transpose()?
        .unwrap_or(0);
    if pending > 0 {
        return Ok(Some(IntegrityProblem::SearchIndex { detail: format!("{pending} committed messages not indexed") }));
    }
    // FTS5's own check; rank 1 compares an external-content index with its content table.
    match db.execute_unprepared("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)").await {
        Ok(_) => Ok(None),
        // SQLITE_CORRUPT_VTAB: the index and the texts differ. Anything else is a failure to check.
        Err(e) if e.to_string().contains("malformed") => {
            Ok(Some(IntegrityProblem::SearchIndex { detail: e.to_string() }))
        }
        Err(e) => Err(db_err(e)),
    }
}
