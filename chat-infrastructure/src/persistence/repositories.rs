//! The read ports (and their few single-row writes) of [`SeaOrmChatStore`]. Reads use the pool; writes go
//! through the store's writer so they are serialised with the units of work.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Value};
use uuid::Uuid;

use chat_domain::attachment::{Attachment, AttachmentRepository};
use chat_domain::conversation::{Conversation, ConversationListQuery, ConversationRepository, MemberReceipt};
use chat_domain::event::{EventRepository, EventWindow, StoredEvent};
use chat_domain::group::{ChatGroup, ChatGroupRepository, GroupMember, GroupMemberPageQuery};
use chat_domain::message::{
    ClientMessageId, Message, MessagePageQuery, MessageRepository, MessageSearchQuery, PageOrder, Reaction,
};
use chat_domain::settings::{SettingsRepository, TenantSettings, UserSettings};
use chat_domain::user::{ChatUser, ChatUserRepository, UserSearchQuery};
use chat_domain::{AttachmentId, ConversationId, EventSeq, MessageId, RepositoryError, Seq, TenantId, UserId};

use super::entities::{
    chat_user, conversation, group_member, message, reaction, tenant_setting, user_setting, user_stream,
};
use super::mapping;
use super::options::Backend;
use super::queries;
use super::sql::{db_err, fts5_query, like_contains, stmt};
use super::store::SeaOrmChatStore;
use super::transaction::{upsert_attachment, upsert_user};

/// The columns of a message row, for raw queries aliasing `messages` as `m`.
const MESSAGE_COLUMNS: &str = "m.tenant_id, m.id, m.conversation_id, m.seq, m.sender_id, m.text, m.reply_to, \
     m.attachments, m.client_message_id, m.created_at, m.edited_at, m.deleted_at";

/// Messages hidden from the viewer (bound to one `?`, the viewer) are left out.
const NOT_HIDDEN: &str = "NOT EXISTS (SELECT 1 FROM message_hides h \
     WHERE h.tenant_id = m.tenant_id AND h.user_id = ? AND h.message_id = m.id)";

fn limit(n: usize) -> Value {
    i64::try_from(n).unwrap_or(i64::MAX).into()
}

impl SeaOrmChatStore {
    async fn raw_messages(&self, sql: &str, values: Vec<Value>) -> Result<Vec<Message>, RepositoryError> {
        let db = self.connection();
        let rows = message::Entity::find()
            .from_raw_sql(stmt(db.get_database_backend(), sql, values))
            .all(db)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(mapping::message_from_row).collect()
    }
}

#[async_trait]
impl ChatUserRepository for SeaOrmChatStore {
    async fn find(&self, tenant: TenantId, id: UserId) -> Result<Option<ChatUser>, RepositoryError> {
        queries::user(&self.reader(), tenant, id).await
    }

    async fn find_many(&self, tenant: TenantId, ids: &[UserId]) -> Result<Vec<ChatUser>, RepositoryError> {
        queries::users(&self.reader(), tenant, ids).await
    }

    async fn search(&self, query: &UserSearchQuery) -> Result<Vec<ChatUser>, RepositoryError> {
        let mut sql = String::from(
            "SELECT tenant_id, id, user_name, name, surname, active, updated_at FROM chat_users \
             WHERE tenant_id = ? AND active = ?",
        );
        let mut values: Vec<Value> = vec![query.tenant.as_uuid().into(), true.into()];
        if let Some(after) = query.after {
            sql.push_str(" AND id > ?");
            values.push(after.as_uuid().into());
        }
        if let Some(filter) = query.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            // Lower-cased on both sides; the pattern's own wildcards are escaped.
            let pattern = like_contains(&filter.to_lowercase());
            sql.push_str(
                " AND (LOWER(user_name) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(name, '')) LIKE ? ESCAPE '\\' \
                 OR LOWER(COALESCE(surname, '')) LIKE ? ESCAPE '\\')",
            );
            values.extend([pattern.clone().into(), pattern.clone().into(), pattern.into()]);
        }
        sql.push_str(" ORDER BY id LIMIT ?");
        values.push(limit(query.limit));
        let db = self.connection();
        let rows = chat_user::Entity::find()
            .from_raw_sql(stmt(db.get_database_backend(), &sql, values))
            .all(db)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(mapping::user_from_row).collect()
    }

    async fn upsert(&self, user: &ChatUser) -> Result<(), RepositoryError> {
        let user = user.clone();
        self.write(move |c| Box::pin(async move { upsert_user(&c, &user).await })).await
    }
}

#[async_trait]
impl ConversationRepository for SeaOrmChatStore {
    async fn find(
        &self,
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
    ) -> Result<Option<Conversation>, RepositoryError> {
        queries::side(&self.reader(), tenant, id, user).await
    }

    async fn find_direct(
        &self,
        tenant: TenantId,
        user: UserId,
        peer: UserId,
    ) -> Result<Option<Conversation>, RepositoryError> {
        queries::direct_side(&self.reader(), tenant, user, peer).await
    }

    async fn list(&self, query: &ConversationListQuery) -> Result<Vec<Conversation>, RepositoryError> {
        let mut select = conversation::Entity::find()
            .filter(conversation::Column::TenantId.eq(query.tenant.as_uuid()))
            .filter(conversation::Column::UserId.eq(query.user.as_uuid()))
            .filter(conversation::Column::Hidden.eq(false));
        if !query.include_archived {
            select = select.filter(conversation::Column::Archived.eq(false));
        }
        if let Some((at, id)) = query.before {
            select = select.filter(
                sea_orm::Condition::any().add(conversation::Column::LastActivityAt.lt(at)).add(
                    sea_orm::Condition::all()
                        .add(conversation::Column::LastActivityAt.eq(at))
                        .add(conversation::Column::ConversationId.lt(id.as_uuid())),
                ),
            );
        }
        let rows = select
            .order_by_desc(conversation::Column::LastActivityAt)
            .order_by_desc(conversation::Column::ConversationId)
            .limit(u64::try_from(query.limit).unwrap_or(u64::MAX))
            .all(self.connection())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(mapping::conversation_from_row).collect()
    }

    async fn sides(&self, tenant: TenantId, id: ConversationId) -> Result<Vec<Conversation>, RepositoryError> {
        queries::sides(&self.reader(), tenant, id).await
    }

    async fn member_count(&self, tenant: TenantId, id: ConversationId) -> Result<u64, RepositoryError> {
        let db = self.connection();
        let row = db
            .query_one_raw(stmt(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM conversations WHERE tenant_id = ? AND conversation_id = ?",
                vec![tenant.as_uuid().into(), id.as_uuid().into()],
            ))
            .await
            .map_err(db_err)?;
        let n = match row {
            Some(r) => r.try_get::<i64>("", "n").map_err(db_err)?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn total_unread(&self, tenant: TenantId, user: UserId) -> Result<i64, RepositoryError> {
        let db = self.connection();
        let row = db
            .query_one_raw(stmt(
                db.get_database_backend(),
                // Kept on write by triggers on `conversations` (migration m0002): one row, not a sum.
                "SELECT total AS n FROM user_unread_totals WHERE tenant_id = ? AND user_id = ?",
                vec![tenant.as_uuid().into(), user.as_uuid().into()],
            ))
            .await
            .map_err(db_err)?;
        match row {
            Some(r) => r.try_get::<i64>("", "n").map_err(db_err),
            None => Ok(0),
        }
    }

    async fn receipts(
        &self,
        tenant: TenantId,
        id: ConversationId,
        seq: Seq,
    ) -> Result<Vec<MemberReceipt>, RepositoryError> {
        // Reading implies receiving, so a read receipt also counts as delivery.
        let db = self.connection();
        let rows = db
            .query_all_raw(stmt(
                db.get_database_backend(),
                "SELECT c.user_id, \
                 (SELECT MIN(r.at) FROM receipts r WHERE r.tenant_id = c.tenant_id \
                  AND r.conversation_id = c.conversation_id AND r.user_id = c.user_id AND r.up_to_seq >= ?) \
                  AS delivered_at, \
                 (SELECT MIN(r.at) FROM receipts r WHERE r.tenant_id = c.tenant_id \
                  AND r.conversation_id = c.conversation_id AND r.user_id = c.user_id AND r.kind = 'read' \
                  AND r.up_to_seq >= ?) AS read_at \
                 FROM conversations c WHERE c.tenant_id = ? AND c.conversation_id = ? ORDER BY c.user_id",
                vec![seq.value().into(), seq.value().into(), tenant.as_uuid().into(), id.as_uuid().into()],
            ))
            .await
            .map_err(db_err)?;
        rows.into_iter()
            .map(|r| {
                Ok(MemberReceipt {
                    user: UserId::from_uuid(r.try_get::<Uuid>("", "user_id").map_err(db_err)?),
                    delivered_at: r.try_get::<Option<DateTime<Utc>>>("", "delivered_at").map_err(db_err)?,
                    read_at: r.try_get::<Option<DateTime<Utc>>>("", "read_at").map_err(db_err)?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl MessageRepository for SeaOrmChatStore {
    async fn find(&self, tenant: TenantId, id: MessageId) -> Result<Option<Message>, RepositoryError> {
        queries::message(&self.reader(), tenant, id).await
    }

    async fn find_many(&self, tenant: TenantId, ids: &[MessageId]) -> Result<Vec<Message>, RepositoryError> {
        queries::messages(&self.reader(), tenant, ids).await
    }

    async fn find_by_client_id(
        &self,
        tenant: TenantId,
        sender: UserId,
        client_message_id: &ClientMessageId,
    ) -> Result<Option<Message>, RepositoryError> {
        queries::message_by_client_id(&self.reader(), tenant, sender, client_message_id).await
    }

    async fn page(&self, query: &MessagePageQuery) -> Result<Vec<Message>, RepositoryError> {
        let mut sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.tenant_id = ? AND m.conversation_id = ? AND m.seq > ?"
        );
        let mut values: Vec<Value> =
            vec![query.tenant.as_uuid().into(), query.conversation.as_uuid().into(), query.after.value().into()];
        if let Some(before) = query.before {
            sql.push_str(" AND m.seq < ?");
            values.push(before.value().into());
        }
        if let Some(from) = query.from {
            sql.push_str(" AND m.created_at >= ?");
            values.push(from.into());
        }
        if let Some(to) = query.to {
            sql.push_str(" AND m.created_at <= ?");
            values.push(to.into());
        }
        sql.push_str(" AND ");
        sql.push_str(NOT_HIDDEN);
        values.push(query.viewer.as_uuid().into());
        sql.push_str(match query.order {
            PageOrder::NewestFirst => " ORDER BY m.seq DESC LIMIT ?",
            PageOrder::OldestFirst => " ORDER BY m.seq ASC LIMIT ?",
        });
        values.push(limit(query.limit));
        self.raw_messages(&sql, values).await
    }

    async fn search(&self, query: &MessageSearchQuery) -> Result<Vec<Message>, RepositoryError> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let scope_conversation = if query.conversation.is_some() { " AND m.conversation_id = ?" } else { "" };
        // Only conversations where the viewer has a side, after their cleared position, without messages
        // they hid or that were deleted for everyone.
        let (sql, mut values): (String, Vec<Value>) = match self.backend() {
            Backend::Sqlite => {
                let Some(fts) = fts5_query(&query.text) else { return Ok(Vec::new()) };
                (
                    format!(
                        "SELECT {MESSAGE_COLUMNS} FROM messages_fts \
                         JOIN messages m ON m.rid = messages_fts.rowid \
                         JOIN conversations c ON c.tenant_id = m.tenant_id AND c.conversation_id = m.conversation_id \
                         AND c.user_id = ? \
                         WHERE messages_fts MATCH ? AND m.tenant_id = ? AND m.deleted_at IS NULL \
                         AND m.seq > c.cleared_seq AND {NOT_HIDDEN}{scope_conversation} \
                         ORDER BY bm25(messages_fts), m.id DESC LIMIT ? OFFSET ?"
                    ),
                    vec![
                        query.viewer.as_uuid().into(),
                        fts.into(),
                        query.tenant.as_uuid().into(),
                        query.viewer.as_uuid().into(),
                    ],
                )
            }
            Backend::Postgres => {
                if query.text.split_whitespace().next().is_none() {
                    return Ok(Vec::new());
                }
                (
                    format!(
                        "SELECT {MESSAGE_COLUMNS} FROM messages m \
                         JOIN conversations c ON c.tenant_id = m.tenant_id AND c.conversation_id = m.conversation_id \
                         AND c.user_id = ? \
                         WHERE m.search_vector @@ plainto_tsquery('simple', ?) AND m.tenant_id = ? \
                         AND m.deleted_at IS NULL AND m.seq > c.cleared_seq AND {NOT_HIDDEN}{scope_conversation} \
                         ORDER BY ts_rank(m.search_vector, plainto_tsquery('simple', ?)) DESC, m.id DESC \
                         LIMIT ? OFFSET ?"
                    ),
                    vec![
                        query.viewer.as_uuid().into(),
                        query.text.clone().into(),
                        query.tenant.as_uuid().into(),
                        query.viewer.as_uuid().into(),
                    ],
                )
            }
        };
        if let Some(conversation) = query.conversation {
            values.push(conversation.as_uuid().into());
        }
        if self.backend() == Backend::Postgres {
            values.push(query.text.clone().into());
        }
        values.push(limit(query.limit));
        values.push(limit(query.offset));
        self.raw_messages(&sql, values).await
    }

    async fn reactions(&self, tenant: TenantId, messages: &[MessageId]) -> Result<Vec<Reaction>, RepositoryError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let rows = reaction::Entity::find()
            .filter(reaction::Column::TenantId.eq(tenant.as_uuid()))
            .filter(reaction::Column::MessageId.is_in(messages.iter().map(|m| m.as_uuid())))
            .order_by_asc(reaction::Column::MessageId)
            .order_by_asc(reaction::Column::At)
            .order_by_asc(reaction::Column::UserId)
            .order_by_asc(reaction::Column::Emoji)
            .all(self.connection())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(mapping::reaction_from_row).collect()
    }
}

#[async_trait]
impl ChatGroupRepository for SeaOrmChatStore {
    async fn find(&self, tenant: TenantId, id: ConversationId) -> Result<Option<ChatGroup>, RepositoryError> {
        queries::group(&self.reader(), tenant, id).await
    }

    async fn members(&self, query: &GroupMemberPageQuery) -> Result<Vec<GroupMember>, RepositoryError> {
        let mut select = group_member::Entity::find()
            .filter(group_member::Column::TenantId.eq(query.tenant.as_uuid()))
            .filter(group_member::Column::GroupId.eq(query.group.as_uuid()));
        if let Some(after) = query.after {
            select = select.filter(group_member::Column::UserId.gt(after.as_uuid()));
        }
        let rows = select
            .order_by_asc(group_member::Column::UserId)
            .limit(u64::try_from(query.limit).unwrap_or(u64::MAX))
            .all(self.connection())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(mapping::member_from_row).collect()
    }
}

#[async_trait]
impl SettingsRepository for SeaOrmChatStore {
    async fn tenant(&self, tenant: TenantId) -> Result<TenantSettings, RepositoryError> {
        let row = tenant_setting::Entity::find_by_id(tenant.as_uuid()).one(self.connection()).await.map_err(db_err)?;
        match row {
            Some(r) => mapping::from_json("tenant settings", r.settings),
            None => Ok(TenantSettings::default()),
        }
    }

    async fn save_tenant(&self, tenant: TenantId, settings: &TenantSettings) -> Result<(), RepositoryError> {
        let row = tenant_setting::ActiveModel {
            tenant_id: sea_orm::ActiveValue::Set(tenant.as_uuid()),
            settings: sea_orm::ActiveValue::Set(mapping::to_json(settings)?),
        };
        self.write(move |c| {
            Box::pin(async move {
                c.insert(
                    tenant_setting::Entity::insert(row).on_conflict(
                        OnConflict::column(tenant_setting::Column::TenantId)
                            .update_column(tenant_setting::Column::Settings)
                            .to_owned(),
                    ),
                )
                .await
                .map(drop)
            })
        })
        .await
    }

    async fn user(&self, tenant: TenantId, user: UserId) -> Result<UserSettings, RepositoryError> {
        let row = user_setting::Entity::find_by_id((tenant.as_uuid(), user.as_uuid()))
            .one(self.connection())
            .await
            .map_err(db_err)?;
        match row {
            Some(r) => mapping::from_json("user settings", r.settings),
            None => Ok(UserSettings::default()),
        }
    }

    async fn save_user(&self, tenant: TenantId, user: UserId, settings: &UserSettings) -> Result<(), RepositoryError> {
        let row = user_setting::ActiveModel {
            tenant_id: sea_orm::ActiveValue::Set(tenant.as_uuid()),
            user_id: sea_orm::ActiveValue::Set(user.as_uuid()),
            settings: sea_orm::ActiveValue::Set(mapping::to_json(settings)?),
        };
        self.write(move |c| {
            Box::pin(async move {
                c.insert(
                    user_setting::Entity::insert(row).on_conflict(
                        OnConflict::columns([user_setting::Column::TenantId, user_setting::Column::UserId])
                            .update_column(user_setting::Column::Settings)
                            .to_owned(),
                    ),
                )
                .await
                .map(drop)
            })
        })
        .await
    }
}

#[async_trait]
impl EventRepository for SeaOrmChatStore {
    async fn after(
        &self,
        tenant: TenantId,
        user: UserId,
        after: EventSeq,
        limit_: usize,
    ) -> Result<Vec<StoredEvent>, RepositoryError> {
        let db = self.connection();
        let rows = db
            .query_all_raw(stmt(
                db.get_database_backend(),
                "SELECT ue.event_seq, ue.at, e.payload FROM user_events ue \
                 JOIN events e ON e.tenant_id = ue.tenant_id AND e.id = ue.event_id \
                 WHERE ue.tenant_id = ? AND ue.user_id = ? AND ue.event_seq > ? ORDER BY ue.event_seq LIMIT ?",
                vec![tenant.as_uuid().into(), user.as_uuid().into(), after.value().into(), limit(limit_)],
            ))
            .await
            .map_err(db_err)?;
        // A row may hold several events at consecutive positions ending at its own; the first of them may
        // be at or before `after` already. Each row holds at least one event after it, so `limit_` rows
        // hold at least `limit_` events.
        let mut events = Vec::with_capacity(rows.len());
        for r in rows {
            let payload: serde_json::Value = r.try_get("", "payload").map_err(db_err)?;
            let last = EventSeq::new(r.try_get::<i64>("", "event_seq").map_err(db_err)?);
            let at: DateTime<Utc> = r.try_get("", "at").map_err(db_err)?;
            let held = mapping::events_in_row(payload)?;
            let count = held.len();
            for (index, event) in held.into_iter().enumerate() {
                let seq = mapping::position_in_row(last, count, index);
                if seq > after && events.len() < limit_ {
                    events.push(StoredEvent { tenant, user, seq, event: std::sync::Arc::new(event), at });
                }
            }
        }
        Ok(events)
    }

    async fn window(&self, tenant: TenantId, user: UserId) -> Result<EventWindow, RepositoryError> {
        let row = user_stream::Entity::find_by_id((tenant.as_uuid(), user.as_uuid()))
            .one(self.connection())
            .await
            .map_err(db_err)?;
        Ok(row.map_or_else(EventWindow::default, |r| EventWindow {
            pruned_through: EventSeq::new(r.pruned_event_seq),
            latest: EventSeq::new(r.last_event_seq),
        }))
    }

    async fn prune(&self, older_than: DateTime<Utc>) -> Result<u64, RepositoryError> {
        self.write(move |c| {
            Box::pin(async move {
                let backend = c.backend();
                // Remember per user how far their stream is cut, then cut it.
                c.execute(stmt(
                    backend,
                    "UPDATE user_streams SET pruned_event_seq = (SELECT MAX(ue.event_seq) FROM user_events ue \
                     WHERE ue.tenant_id = user_streams.tenant_id AND ue.user_id = user_streams.user_id AND ue.at < ?) \
                     WHERE EXISTS (SELECT 1 FROM user_events ue WHERE ue.tenant_id = user_streams.tenant_id \
                     AND ue.user_id = user_streams.user_id AND ue.at < ?)",
                    vec![older_than.into(), older_than.into()],
                ))
                .await?;
                // Counted per recipient, as each user's stream sees it.
                let dropped =
                    c.execute(stmt(backend, "DELETE FROM user_events WHERE at < ?", vec![older_than.into()])).await?;
                c.execute(stmt(backend, "DELETE FROM events WHERE at < ?", vec![older_than.into()])).await?;
                Ok(dropped)
            })
        })
        .await
    }
}

#[async_trait]
impl AttachmentRepository for SeaOrmChatStore {
    async fn insert(&self, attachment: &Attachment) -> Result<(), RepositoryError> {
        let exists = queries::attachment(&self.reader(), attachment.parts().tenant, attachment.id()).await?;
        if exists.is_some() {
            return Err(RepositoryError::Conflict(format!("attachment {} already exists", attachment.id())));
        }
        let attachment = attachment.clone();
        self.write(move |c| Box::pin(async move { upsert_attachment(&c, &attachment).await })).await
    }

    async fn find(&self, tenant: TenantId, id: AttachmentId) -> Result<Option<Attachment>, RepositoryError> {
        queries::attachment(&self.reader(), tenant, id).await
    }
}
