//! The [`Transaction`] a unit of work sees: reads and writes on the batch's database transaction, inside
//! the unit's own savepoint, with counters and event rows kept in the batch's memory (see `batch`).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{EntityTrait, Value};
use uuid::Uuid;

use chat_domain::attachment::Attachment;
use chat_domain::conversation::{Conversation, LastMessage, ReceiptKind};
use chat_domain::event::{CommittedEvent, DomainEvent};
use chat_domain::group::ChatGroup;
use chat_domain::message::{ClientMessageId, Emoji, Message, Reaction};
use chat_domain::uow::Transaction;
use chat_domain::user::ChatUser;
use chat_domain::{AttachmentId, ConversationId, EventSeq, MessageId, RepositoryError, Seq, TenantId, UserId};

use super::batch::{BatchState, Counter, ReceiptRow, UnitDelta};
use super::conn::Conn;
use super::entities::{attachment, chat_group, chat_user, conversation, group_member};
use super::mapping;
use super::queries;
use super::sql::stmt;

/// One unit of work's view of the batch transaction. It collects the events the unit records so the
/// writer can hand them back after the commit, and its changes to the batch state for the writer to merge
/// if the unit succeeds.
pub(crate) struct SeaOrmTransaction<'c> {
    conn: Conn<'c>,
    batch: &'c BatchState,
    delta: UnitDelta,
    events: Vec<CommittedEvent>,
}

impl<'c> SeaOrmTransaction<'c> {
    /// A unit's view of `conn` (the unit's savepoint) after the batch's earlier units (`batch`).
    pub(crate) fn new(conn: Conn<'c>, batch: &'c BatchState) -> Self {
        Self { conn, batch, delta: UnitDelta::default(), events: Vec::new() }
    }

    /// The events recorded, in order, and the unit's changes to the batch state.
    pub(crate) fn finish(self) -> (Vec<CommittedEvent>, UnitDelta) {
        (self.events, self.delta)
    }

    async fn exec(&self, sql: &str, values: Vec<Value>) -> Result<u64, RepositoryError> {
        self.conn.execute(stmt(self.conn.backend(), sql, values)).await
    }
}

fn id(u: impl Into<Uuid>) -> Value {
    Value::from(u.into())
}

/// The tables a conversation's purge clears, with the column holding the conversation id.
const PURGED: [(&str, &str); 8] = [
    ("conversations", "conversation_id"),
    ("group_members", "group_id"),
    ("chat_groups", "id"),
    ("reactions", "conversation_id"),
    ("message_hides", "conversation_id"),
    ("receipts", "conversation_id"),
    ("messages", "conversation_id"),
    ("conversation_seqs", "conversation_id"),
];

#[async_trait]
impl Transaction for SeaOrmTransaction<'_> {
    async fn user(&mut self, tenant: TenantId, id: UserId) -> Result<Option<ChatUser>, RepositoryError> {
        queries::user(&self.conn, tenant, id).await
    }

    async fn users(&mut self, tenant: TenantId, ids: &[UserId]) -> Result<Vec<ChatUser>, RepositoryError> {
        queries::users(&self.conn, tenant, ids).await
    }

    async fn save_user(&mut self, user: &ChatUser) -> Result<(), RepositoryError> {
        upsert_user(&self.conn, user).await
    }

    async fn conversation(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
    ) -> Result<Option<Conversation>, RepositoryError> {
        queries::side(&self.conn, tenant, id, user).await
    }

    async fn direct_conversation(
        &mut self,
        tenant: TenantId,
        user: UserId,
        peer: UserId,
    ) -> Result<Option<Conversation>, RepositoryError> {
        queries::direct_side(&self.conn, tenant, user, peer).await
    }

    async fn conversation_members(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
    ) -> Result<Vec<UserId>, RepositoryError> {
        let key = (tenant.as_uuid(), id.as_uuid());
        if let Some(members) = self.batch.members(&self.delta, key) {
            return Ok(members);
        }
        let members = queries::members(&self.conn, tenant, id).await?;
        self.delta.members.insert(key, Some(members.clone()));
        Ok(members)
    }

    async fn save_conversation(&mut self, side: &Conversation) -> Result<(), RepositoryError> {
        // Checked here rather than left to the unique index: on PostgreSQL a failed statement would poison
        // the whole batch transaction, not only this unit.
        if let Some(peer) = side.peer()
            && let Some(existing) = queries::direct_side(&self.conn, side.tenant(), side.user(), peer).await?
            && existing.id() != side.id()
        {
            return Err(RepositoryError::Conflict(format!(
                "a direct conversation between {} and {peer} already exists",
                side.user()
            )));
        }
        // Members are the users with a side: saving a known member's side (a read, muting, archiving)
        // leaves them as they are; a new side adds its user to the list the batch keeps.
        let key = (side.tenant().as_uuid(), side.id().as_uuid());
        if let Some(mut members) = self.batch.members(&self.delta, key)
            && !members.contains(&side.user())
        {
            members.insert(members.partition_point(|m| *m < side.user()), side.user());
            self.delta.members.insert(key, Some(members));
        }
        self.conn
            .insert(
                conversation::Entity::insert(mapping::conversation_to_row(side)).on_conflict(
                    OnConflict::columns([
                        conversation::Column::TenantId,
                        conversation::Column::ConversationId,
                        conversation::Column::UserId,
                    ])
                    .update_columns([
                        conversation::Column::Kind,
                        conversation::Column::PeerId,
                        conversation::Column::LastMessageId,
                        conversation::Column::LastMessageSeq,
                        conversation::Column::LastMessageSender,
                        conversation::Column::LastMessageAt,
                        conversation::Column::LastActivityAt,
                        conversation::Column::UnreadCount,
                        conversation::Column::ReadSeq,
                        conversation::Column::ReadAt,
                        conversation::Column::DeliveredSeq,
                        conversation::Column::DeliveredAt,
                        conversation::Column::ClearedSeq,
                        conversation::Column::Hidden,
                        conversation::Column::Muted,
                        conversation::Column::Archived,
                        conversation::Column::CreatedAt,
                    ])
                    .to_owned(),
                ),
            )
            .await?;
        Ok(())
    }

    async fn delete_conversation(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
    ) -> Result<(), RepositoryError> {
        self.delta.members.insert((tenant.as_uuid(), id.as_uuid()), None);
        self.exec(
            "DELETE FROM conversations WHERE tenant_id = ? AND conversation_id = ? AND user_id = ?",
            vec![id_v(tenant), id_c(id), id_u(user)],
        )
        .await
        .map(drop)
    }

    async fn record_message_on_sides(
        &mut self,
        tenant: TenantId,
        conversation: ConversationId,
        message: &LastMessage,
    ) -> Result<(), RepositoryError> {
        // `Conversation::record_message` on every side in one statement. Every right-hand side reads the
        // row as it was before the update, on both backends.
        let (sender, seq, at) = (id_u(message.sender), message.seq.value(), message.at);
        self.exec(
            "UPDATE conversations SET \
             last_message_id = ?, last_message_seq = ?, last_message_sender = ?, last_message_at = ?, \
             last_activity_at = ?, hidden = ?, \
             unread_count = CASE WHEN user_id = ? THEN 0 ELSE unread_count + 1 END, \
             read_at = CASE WHEN user_id = ? AND read_seq < ? THEN ? ELSE read_at END, \
             read_seq = CASE WHEN user_id = ? AND read_seq < ? THEN ? ELSE read_seq END, \
             delivered_at = CASE WHEN user_id = ? AND delivered_seq < ? THEN ? ELSE delivered_at END, \
             delivered_seq = CASE WHEN user_id = ? AND delivered_seq < ? THEN ? ELSE delivered_seq END \
             WHERE tenant_id = ? AND conversation_id = ?",
            vec![
                id(message.id.as_uuid()),
                seq.into(),
                sender.clone(),
                at.into(),
                at.into(),
                false.into(),
                sender.clone(),
                sender.clone(),
                seq.into(),
                at.into(),
                sender.clone(),
                seq.into(),
                seq.into(),
                sender.clone(),
                seq.into(),
                at.into(),
                sender,
                seq.into(),
                seq.into(),
                id_v(tenant),
                id_c(conversation),
            ],
        )
        .await
        .map(drop)
    }

    async fn forget_message_on_sides(
        &mut self,
        tenant: TenantId,
        conversation: ConversationId,
        seq: Seq,
        sender: UserId,
    ) -> Result<(), RepositoryError> {
        // `Conversation::forget_message` on every side, except the sides of members who already deleted
        // the message for themselves: it stopped counting for them then.
        self.exec(
            "UPDATE conversations SET unread_count = unread_count - 1 \
             WHERE tenant_id = ? AND conversation_id = ? AND user_id <> ? AND read_seq < ? AND unread_count > 0 \
             AND NOT EXISTS (SELECT 1 FROM message_hides h JOIN messages m \
             ON m.tenant_id = h.tenant_id AND m.id = h.message_id \
             WHERE h.tenant_id = conversations.tenant_id AND h.user_id = conversations.user_id \
             AND m.conversation_id = conversations.conversation_id AND m.seq = ?)",
            vec![id_v(tenant), id_c(conversation), id_u(sender), seq.value().into(), seq.value().into()],
        )
        .await
        .map(drop)
    }

    async fn record_receipt(
        &mut self,
        tenant: TenantId,
        conversation: ConversationId,
        user: UserId,
        kind: ReceiptKind,
        up_to: Seq,
        at: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        // Append-only and read by no unit: the batch inserts it before it commits.
        self.delta.receipts.push(ReceiptRow {
            tenant: tenant.as_uuid(),
            conversation: conversation.as_uuid(),
            user: user.as_uuid(),
            kind: mapping::receipt_kind_name(kind),
            up_to: up_to.value(),
            at,
        });
        Ok(())
    }

    async fn purge_conversation(&mut self, tenant: TenantId, id: ConversationId) -> Result<(), RepositoryError> {
        // The counter row goes too (the database is the truth for it again), and pending receipts.
        self.delta.purge((tenant.as_uuid(), id.as_uuid()));
        for (table, column) in PURGED {
            self.exec(
                &format!("DELETE FROM {table} WHERE tenant_id = ? AND {column} = ?"),
                vec![id_v(tenant), id_c(id)],
            )
            .await?;
        }
        Ok(())
    }

    async fn group(&mut self, tenant: TenantId, id: ConversationId) -> Result<Option<ChatGroup>, RepositoryError> {
        queries::group(&self.conn, tenant, id).await
    }

    async fn save_group(&mut self, group: &ChatGroup) -> Result<(), RepositoryError> {
        let (row, members) = mapping::group_to_rows(group);
        self.conn
            .insert(
                chat_group::Entity::insert(row).on_conflict(
                    OnConflict::columns([chat_group::Column::TenantId, chat_group::Column::Id])
                        .update_columns([
                            chat_group::Column::Name,
                            chat_group::Column::Description,
                            chat_group::Column::AvatarUrl,
                            chat_group::Column::CreatedAt,
                            chat_group::Column::UpdatedAt,
                        ])
                        .to_owned(),
                ),
            )
            .await?;
        self.exec(
            "DELETE FROM group_members WHERE tenant_id = ? AND group_id = ?",
            vec![id_v(group.tenant()), id_c(group.id())],
        )
        .await?;
        // Bounded chunks keep each statement under every backend's limit on bound values.
        for chunk in members.chunks(500) {
            self.conn.insert(group_member::Entity::insert_many(chunk.to_vec())).await?;
        }
        Ok(())
    }

    async fn message(&mut self, tenant: TenantId, id: MessageId) -> Result<Option<Message>, RepositoryError> {
        queries::message(&self.conn, tenant, id).await
    }

    async fn message_by_client_id(
        &mut self,
        tenant: TenantId,
        sender: UserId,
        client_message_id: &ClientMessageId,
    ) -> Result<Option<Message>, RepositoryError> {
        queries::message_by_client_id(&self.conn, tenant, sender, client_message_id).await
    }

    async fn last_seq(&mut self, tenant: TenantId, id: ConversationId) -> Result<Seq, RepositoryError> {
        match self.batch.seq(&self.delta, (tenant.as_uuid(), id.as_uuid())) {
            Some(value) => Ok(Seq::new(value)),
            None => queries::last_seq(&self.conn, tenant, id).await,
        }
    }

    async fn next_seq(&mut self, tenant: TenantId, id: ConversationId) -> Result<Seq, RepositoryError> {
        let key = (tenant.as_uuid(), id.as_uuid());
        // Later in the batch the counter moves in memory; the batch writes it back before it commits.
        if let Some(value) = self.batch.seq(&self.delta, key) {
            self.delta.seqs.insert(key, Some(Counter { value: value + 1, dirty: true }));
            return Ok(Seq::new(value + 1));
        }
        // The first use in a batch moves the row. Its lock is held until the batch commits, so concurrent
        // writers (other processes included) queue behind it and every value is used exactly once.
        let s = stmt(
            self.conn.backend(),
            "INSERT INTO conversation_seqs (tenant_id, conversation_id, last_seq) VALUES (?, ?, 1) \
             ON CONFLICT (tenant_id, conversation_id) DO UPDATE SET last_seq = conversation_seqs.last_seq + 1 \
             RETURNING last_seq",
            vec![id_v(tenant), id_c(id)],
        );
        let row = self.conn.row(s).await?;
        let row = row.ok_or_else(|| RepositoryError::storage_msg("sequence counter returned no row"))?;
        let value = row.get::<i64>("last_seq")?;
        self.delta.seqs.insert(key, Some(Counter { value, dirty: false }));
        Ok(Seq::new(value))
    }

    async fn insert_message(&mut self, message: &Message) -> Result<(), RepositoryError> {
        // `DO NOTHING` instead of an error keeps the batch transaction usable on PostgreSQL; zero rows
        // inserted means a key (id, seq or idempotency key) was taken.
        let inserted = insert_message_row(&self.conn, message).await?;
        if inserted == 0 {
            return Err(RepositoryError::Conflict(format!("message {} or its keys already exist", message.id())));
        }
        self.delta.messages_written = true;
        Ok(())
    }

    async fn update_message(&mut self, message: &Message) -> Result<(), RepositoryError> {
        let p = message.to_parts();
        self.exec(
            "UPDATE messages SET text = ?, attachments = ?, edited_at = ?, deleted_at = ? \
             WHERE tenant_id = ? AND id = ?",
            vec![
                p.text.map(|t| t.as_str().to_owned()).into(),
                Value::Json(Some(Box::new(mapping::to_json(&p.attachments)?))),
                p.edited_at.into(),
                p.deleted_at.into(),
                id_v(p.tenant),
                id(p.id.as_uuid()),
            ],
        )
        .await?;
        self.delta.messages_written = true;
        Ok(())
    }

    async fn hide_message(&mut self, tenant: TenantId, user: UserId, id_: MessageId) -> Result<bool, RepositoryError> {
        let n = self
            .exec(
                "INSERT INTO message_hides (tenant_id, user_id, message_id, conversation_id) \
                 SELECT m.tenant_id, ?, m.id, m.conversation_id FROM messages m WHERE m.tenant_id = ? AND m.id = ? \
                 ON CONFLICT DO NOTHING",
                vec![id_u(user), id_v(tenant), id(id_.as_uuid())],
            )
            .await?;
        Ok(n > 0)
    }

    async fn is_hidden(&mut self, tenant: TenantId, user: UserId, id_: MessageId) -> Result<bool, RepositoryError> {
        let s = stmt(
            self.conn.backend(),
            "SELECT 1 AS hidden FROM message_hides WHERE tenant_id = ? AND user_id = ? AND message_id = ?",
            vec![id_v(tenant), id_u(user), id(id_.as_uuid())],
        );
        Ok(self.conn.row(s).await?.is_some())
    }

    async fn count_unread_after(
        &mut self,
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
        after: Seq,
    ) -> Result<i64, RepositoryError> {
        queries::count_unread_after(&self.conn, tenant, id, user, after).await
    }

    async fn add_reaction(&mut self, reaction: &Reaction) -> Result<bool, RepositoryError> {
        let n = self
            .exec(
                "INSERT INTO reactions (tenant_id, message_id, user_id, emoji, conversation_id, at) \
                 SELECT m.tenant_id, m.id, ?, ?, m.conversation_id, ? FROM messages m \
                 WHERE m.tenant_id = ? AND m.id = ? ON CONFLICT DO NOTHING",
                vec![
                    id_u(reaction.user),
                    reaction.emoji.as_str().into(),
                    reaction.at.into(),
                    id_v(reaction.tenant),
                    id(reaction.message.as_uuid()),
                ],
            )
            .await?;
        Ok(n > 0)
    }

    async fn remove_reaction(
        &mut self,
        tenant: TenantId,
        message: MessageId,
        user: UserId,
        emoji: &Emoji,
    ) -> Result<bool, RepositoryError> {
        let n = self
            .exec(
                "DELETE FROM reactions WHERE tenant_id = ? AND message_id = ? AND user_id = ? AND emoji = ?",
                vec![id_v(tenant), id(message.as_uuid()), id_u(user), emoji.as_str().into()],
            )
            .await?;
        Ok(n > 0)
    }

    async fn attachment(&mut self, tenant: TenantId, id: AttachmentId) -> Result<Option<Attachment>, RepositoryError> {
        queries::attachment(&self.conn, tenant, id).await
    }

    async fn save_attachment(&mut self, attachment: &Attachment) -> Result<(), RepositoryError> {
        upsert_attachment(&self.conn, attachment).await
    }

    async fn record_event(
        &mut self,
        tenant: TenantId,
        recipients: &[UserId],
        event: DomainEvent,
        at: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        // Recipients keep the caller's order (first occurrence); the rows are locked in sorted order.
        let mut ordered: Vec<UserId> = Vec::with_capacity(recipients.len());
        for user in recipients {
            if !ordered.contains(user) {
                ordered.push(*user);
            }
        }
        let mut users = ordered.clone();
        users.sort();
        let positions = if users.is_empty() {
            Vec::new()
        } else {
            let sorted = self.record_event_rows(tenant, &users, &event, at).await?;
            ordered
                .iter()
                .filter_map(|u| sorted.binary_search_by(|(v, _)| v.cmp(u)).ok().and_then(|i| sorted.get(i)).copied())
                .collect()
        };
        self.events.push(CommittedEvent { tenant, event: Arc::new(event), recipients: positions, at });
        Ok(())
    }
}

fn id_v(t: TenantId) -> Value {
    id(t.as_uuid())
}
fn id_c(c: ConversationId) -> Value {
    id(c.as_uuid())
}
fn id_u(u: UserId) -> Value {
    id(u.as_uuid())
}

async fn insert_message_row(conn: &Conn<'_>, message: &Message) -> Result<u64, RepositoryError> {
    let row = mapping::message_to_row(message)?;
    conn.insert(super::entities::message::Entity::insert(row).on_conflict(OnConflict::new().do_nothing().to_owned()))
        .await
}

impl SeaOrmTransaction<'_> {
    /// Advances each recipient's stream by one and records the event once with one position per
    /// recipient (in the unit's previous event row when [`UnitDelta::record_event`] allows). Positions the
    /// batch already knows move in memory; the others move in the database (one multi-row statement,
    /// recipients sorted so concurrent writers lock in the same order). The rows are written by the batch
    /// before it commits. Returns each recipient's position, sorted by recipient.
    async fn record_event_rows(
        &mut self,
        tenant: TenantId,
        users: &[UserId],
        event: &DomainEvent,
        at: DateTime<Utc>,
    ) -> Result<Vec<(UserId, EventSeq)>, RepositoryError> {
        let t = tenant.as_uuid();
        let mut positions = Vec::with_capacity(users.len());
        let mut unknown = Vec::new();
        for user in users {
            let key = (t, user.as_uuid());
            match self.batch.stream(&self.delta, key) {
                Some(value) => {
                    self.delta.streams.insert(key, Counter { value: value + 1, dirty: true });
                    positions.push((*user, EventSeq::new(value + 1)));
                }
                None => unknown.push(*user),
            }
        }
        let backend = self.conn.backend();
        for chunk in unknown.chunks(1000) {
            let rows = vec!["(?, ?, 1, 0)"; chunk.len()].join(", ");
            let mut values = Vec::with_capacity(chunk.len() * 2);
            for u in chunk {
                values.push(id_v(tenant));
                values.push(id_u(*u));
            }
            let s = stmt(
                backend,
                &format!(
                    "INSERT INTO user_streams (tenant_id, user_id, last_event_seq, pruned_event_seq) VALUES {rows} \
                     ON CONFLICT (tenant_id, user_id) DO UPDATE SET last_event_seq = user_streams.last_event_seq + 1 \
                     RETURNING user_id, last_event_seq"
                ),
                values,
            );
            for row in self.conn.rows(s).await? {
                let user: Uuid = row.get("user_id")?;
                let seq: i64 = row.get("last_event_seq")?;
                self.delta.streams.insert((t, user), Counter { value: seq, dirty: false });
                positions.push((UserId::from_uuid(user), EventSeq::new(seq)));
            }
        }
        positions.sort();
        self.delta.record_event(t, &positions, mapping::to_json(event)?, at);
        Ok(positions)
    }
}

/// Inserts or replaces a user.
pub(crate) async fn upsert_user(c: &Conn<'_>, user: &ChatUser) -> Result<(), RepositoryError> {
    c.insert(
        chat_user::Entity::insert(mapping::user_to_row(user)).on_conflict(
            OnConflict::columns([chat_user::Column::TenantId, chat_user::Column::Id])
                .update_columns([
                    chat_user::Column::UserName,
                    chat_user::Column::Name,
                    chat_user::Column::Surname,
                    chat_user::Column::Active,
                    chat_user::Column::UpdatedAt,
                ])
                .to_owned(),
        ),
    )
    .await?;
    Ok(())
}

/// Inserts or replaces an attachment's metadata.
pub(crate) async fn upsert_attachment(c: &Conn<'_>, a: &Attachment) -> Result<(), RepositoryError> {
    c.insert(
        attachment::Entity::insert(mapping::attachment_to_row(a)).on_conflict(
            OnConflict::columns([attachment::Column::TenantId, attachment::Column::Id])
                .update_columns([
                    attachment::Column::UploaderId,
                    attachment::Column::FileName,
                    attachment::Column::MimeType,
                    attachment::Column::Kind,
                    attachment::Column::Size,
                    attachment::Column::BlobKey,
                    attachment::Column::CreatedAt,
                    attachment::Column::MessageId,
                    attachment::Column::ConversationId,
                ])
                .to_owned(),
        ),
    )
    .await?;
    Ok(())
}
