//! Reads shared by the unit of work (on its transaction) and the read ports (on the pool). Every function
//! takes the tenant and filters on it first.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use chat_domain::attachment::Attachment;
use chat_domain::conversation::Conversation;
use chat_domain::group::ChatGroup;
use chat_domain::message::{ClientMessageId, Message};
use chat_domain::user::ChatUser;
use chat_domain::{AttachmentId, ConversationId, MessageId, RepositoryError, Seq, TenantId, UserId};

use super::entities::{attachment, chat_group, chat_user, conversation, conversation_seq, group_member, message};
use super::mapping;
use super::sql::{db_err, stmt};

fn uuids<T: Copy>(ids: &[T], f: impl Fn(T) -> Uuid) -> Vec<Uuid> {
    ids.iter().map(|&i| f(i)).collect()
}

/// One user.
pub(crate) async fn user<C: ConnectionTrait>(
    c: &C,
    tenant: TenantId,
    id: UserId,
) -> Result<Option<ChatUser>, RepositoryError> {
    let row = chat_user::Entity::find_by_id((tenant.as_uuid(), id.as_uuid())).one(c).await.map_err(db_err)?;
    row.map(mapping::user_from_row).transpose()
}

/// Several users, ordered by id; missing ones are left out.
pub(crate) async fn users<C: ConnectionTrait>(
    c: &C,
    tenant: TenantId,
    ids: &[UserId],
) -> Result<Vec<ChatUser>, RepositoryError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = chat_user::Entity::find()
        .filter(chat_user::Column::TenantId.eq(tenant.as_uuid()))
        .filter(chat_user::Column::Id.is_in(uuids(ids, |i| i.as_uuid())))
        .order_by_asc(chat_user::Column::Id)
        .all(c)
        .await
        .map_err(db_err)?;
    rows.into_iter().map(mapping::user_from_row).collect()
}

/// One member's side.
pub(crate) async fn side<C: ConnectionTrait>(
    c: &C,
    tenant: TenantId,
    id: ConversationId,
    user: UserId,
) -> Result<Option<Conversation>, RepositoryError> {
    let row = conversation::Entity::find_by_id((tenant.as_uuid(), id.as_uuid(), user.as_uuid()))
        .one(c)
        .await
        .map_err(db_err)?;
    row.map(mapping::conversation_from_row).transpose()
}

/// A user's side of the direct conversation with `peer`.
pub(crate) async fn direct_side<C: ConnectionTrait>(
    c: &C,
    tenant: TenantId,
    user: UserId,
    peer: UserId,
) -> Result<Option<Conversation>, RepositoryError> {
    let row = conversation::Entity::find()
        .filter(conversation::Column::TenantId.eq(tenant.as_uuid()))
        .filter(conversation::Column::UserId.eq(user.as_uuid()))
        .filter(conversation::Column::PeerId.eq(peer.as_uuid()))
        .one(c)
        .await
        .map_err(db_err)?;
    row.map(mapping::conversation_from_row).transpose()
}

/// Every side of a conversation, ordered by user.
pub(crate) async fn sides<C: ConnectionTrait>(
    c: &C,
    tenant: TenantId,
    id: ConversationId,
) -> Result<Vec<Conversation>, RepositoryError> {
    let rows = conversation::Entity::find()
        .filter(conversation::Column::TenantId.eq(tenant.as_uuid()))
        .filter(conversation::Column::ConversationId.eq(id.as_uuid()))
        .order_by_asc(conversation::Column::UserId)
        .all(c)
        .await
        .map_err(db_err)?;
    rows.into_iter().map(mapping::conversation_from_row).collect()
}

/// The users who have a side of a conversation, ordered by id.
pub(crate) async fn members<C: ConnectionTrait>(
    c: &C,
    tenant: TenantId,
    id: ConversationId,
) -> Result<Vec<UserId>, RepositoryError> {
    let ids: Vec<Uuid> = conversation::Entity::find()
        .select_only()
        .column(conversation::Column::UserId)
        .filter(conversation::Column::TenantId.eq(tenant.as_uuid()))
        .filter(conversation::Column::ConversationId.eq(id.as_uuid()))
        .order_by_asc(conversation::Column::UserId)
        .into_tuple()
        .all(c)
        .await
        .map_err(db_err)?;
    Ok(ids.into_iter().map(UserId::from_uuid).collect())
}

/// One group with its members in joining order.
pub(crate) async fn group<C: ConnectionTrait>(
    c: &C,
    tenant: TenantId,
    id: ConversationId,
) -> Result<Option<ChatGroup>, RepositoryError> {
    let Some(row) = chat_group::Entity::find_by_id((tenant.as_uuid(), id.as_uuid())).one(c).await.map_err(db_err)?
    else {
        return Ok(None);
    };
    let members = group_member::Entity::find()
        .filter(group_member::Column::TenantId.eq(tenant.as_uuid()))
        .filter(group_member::Column::GroupId.eq(id.as_uuid()))
        .order_by_asc(group_member::Column::Position)
        .all(c)
        .await
        .map_err(db_err)?;
    mapping::group_from_rows(row, members).map(Some)
}

/// One message.
pub(crate) async fn message<C: ConnectionTrait>(
    c: &C,
    tenant: TenantId,
    id: MessageId,
) -> Result<Option<Message>, RepositoryError> {
    let row = message::Entity::find()
        .filter(message::Column::TenantId.eq(tenant.as_uuid()))
        .filter(message::Column::Id.eq(id.as_uuid()))
        .one(c)
        .await
        .map_err(db_err)?;
    row.map(mapping::message_from_row).transpose()
}

/// Several messages, ordered by id; missing ones are left out.
pub(crate) async fn messages<C: ConnectionTrait>(
    c: &C,
    tenant: TenantId,
    ids: &[MessageId],
) -> Result<Vec<Message>, RepositoryError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = message::Entity::find()
        .filter(message::Column::TenantId.eq(tenant.as_uuid()))
        .filter(message::Column::Id.is_in(uuids(ids, |i| i.as_uuid())))
        .order_by_asc(message::Column::Id)
        .all(c)
        .await
        .map_err(db_err)?;
    rows.into_iter().map(mapping::message_from_row).collect()
}

/// The message a sender stored under an idempotency key.
pub(crate) async fn message_by_client_id<C: ConnectionTrait>(
    c: &C,
    tenant: TenantId,
    sender: UserId,
    key: &ClientMessageId,
) -> Result<Option<Message>, RepositoryError> {
    let row = message::Entity::find()
        .filter(message::Column::TenantId.eq(tenant.as_uuid()))
        .filter(message::Column::SenderId.eq(sender.as_uuid()))
        .filter(message::Column::ClientMessageId.eq(key.as_str()))
        .one(c)
        .await
        .map_err(db_err)?;
    row.map(mapping::message_from_row).transpose()
}

/// The highest `seq` assigned in a conversation.
pub(crate) async fn last_seq<C: ConnectionTrait>(
    c: &C,
    tenant: TenantId,
    id: ConversationId,
) -> Result<Seq, RepositoryError> {
    let row = conversation_seq::Entity::find_by_id((tenant.as_uuid(), id.as_uuid())).one(c).await.map_err(db_err)?;
    Ok(Seq::new(row.map_or(0, |r| r.last_seq)))
}

/// One attachment.
pub(crate) async fn attachment<C: ConnectionTrait>(
    c: &C,
    tenant: TenantId,
    id: AttachmentId,
) -> Result<Option<Attachment>, RepositoryError> {
    let row = attachment::Entity::find_by_id((tenant.as_uuid(), id.as_uuid())).one(c).await.map_err(db_err)?;
    row.map(mapping::attachment_from_row).transpose()
}

/// Others' visible messages after `after` for `user`.
pub(crate) async fn count_unread_after<C: ConnectionTrait>(
    c: &C,
    tenant: TenantId,
    id: ConversationId,
    user: UserId,
    after: Seq,
) -> Result<i64, RepositoryError> {
    let s = stmt(
        c.get_database_backend(),
        "SELECT COUNT(*) AS n FROM messages m \
         WHERE m.tenant_id = ? AND m.conversation_id = ? AND m.seq > ? AND m.sender_id <> ? \
         AND m.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM message_hides h \
         WHERE h.tenant_id = m.tenant_id AND h.user_id = ? AND h.message_id = m.id)",
        vec![
            tenant.as_uuid().into(),
            id.as_uuid().into(),
            after.value().into(),
            user.as_uuid().into(),
            user.as_uuid().into(),
        ],
    );
    let row = c.query_one_raw(s).await.map_err(db_err)?;
    match row {
        Some(r) => r.try_get::<i64>("", "n").map_err(db_err),
        None => Ok(0),
    }
}
