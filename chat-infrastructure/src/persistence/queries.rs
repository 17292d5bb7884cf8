//! Reads shared by the unit of work (on its transaction) and the read ports (on the pool). Every function
//! takes the tenant and filters on it first.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use chat_domain::attachment::Attachment;
use chat_domain::conversation::Conversation;
use chat_domain::group::ChatGroup;
use chat_domain::message::{ClientMessageId, Message};
use chat_domain::user::ChatUser;
use chat_domain::{AttachmentId, ConversationId, MessageId, RepositoryError, Seq, TenantId, UserId};

use super::conn::Conn;
use super::entities::{attachment, chat_group, chat_user, conversation, conversation_seq, group_member, message};
use super::mapping;
use super::sql::stmt;

fn uuids<T: Copy>(ids: &[T], f: impl Fn(T) -> Uuid) -> Vec<Uuid> {
    ids.iter().map(|&i| f(i)).collect()
}

/// One user.
pub(crate) async fn user(c: &Conn<'_>, tenant: TenantId, id: UserId) -> Result<Option<ChatUser>, RepositoryError> {
    let row = c.one(chat_user::Entity::find_by_id((tenant.as_uuid(), id.as_uuid()))).await?;
    row.map(mapping::user_from_row).transpose()
}

/// Several users, ordered by id; missing ones are left out.
pub(crate) async fn users(c: &Conn<'_>, tenant: TenantId, ids: &[UserId]) -> Result<Vec<ChatUser>, RepositoryError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = c
        .all(
            chat_user::Entity::find()
                .filter(chat_user::Column::TenantId.eq(tenant.as_uuid()))
                .filter(chat_user::Column::Id.is_in(uuids(ids, |i| i.as_uuid())))
                .order_by_asc(chat_user::Column::Id),
        )
        .await?;
    rows.into_iter().map(mapping::user_from_row).collect()
}

/// One member's side.
pub(crate) async fn side(
    c: &Conn<'_>,
    tenant: TenantId,
    id: ConversationId,
    user: UserId,
) -> Result<Option<Conversation>, RepositoryError> {
    let row = c.one(conversation::Entity::find_by_id((tenant.as_uuid(), id.as_uuid(), user.as_uuid()))).await?;
    row.map(mapping::conversation_from_row).transpose()
}

/// A user's side of the direct conversation with `peer`.
pub(crate) async fn direct_side(
    c: &Conn<'_>,
    tenant: TenantId,
    user: UserId,
    peer: UserId,
) -> Result<Option<Conversation>, RepositoryError> {
    let row = c
        .one(
            conversation::Entity::find()
                .filter(conversation::Column::TenantId.eq(tenant.as_uuid()))
                .filter(conversation::Column::UserId.eq(user.as_uuid()))
                .filter(conversation::Column::PeerId.eq(peer.as_uuid())),
        )
        .await?;
    row.map(mapping::conversation_from_row).transpose()
}

/// Every side of a conversation, ordered by user.
pub(crate) async fn sides(
    c: &Conn<'_>,
    tenant: TenantId,
    id: ConversationId,
) -> Result<Vec<Conversation>, RepositoryError> {
    let rows = c
        .all(
            conversation::Entity::find()
                .filter(conversation::Column::TenantId.eq(tenant.as_uuid()))
                .filter(conversation::Column::ConversationId.eq(id.as_uuid()))
                .order_by_asc(conversation::Column::UserId),
        )
        .await?;
    rows.into_iter().map(mapping::conversation_from_row).collect()
}

/// The users who have a side of a conversation, ordered by id.
pub(crate) async fn members(
    c: &Conn<'_>,
    tenant: TenantId,
    id: ConversationId,
) -> Result<Vec<UserId>, RepositoryError> {
    let s = stmt(
        c.backend(),
        "SELECT user_id FROM conversations WHERE tenant_id = ? AND conversation_id = ? ORDER BY user_id",
        vec![tenant.as_uuid().into(), id.as_uuid().into()],
    );
    c.rows(s).await?.iter().map(|r| r.get::<Uuid>("user_id").map(UserId::from_uuid)).collect()
}

/// One group with its members in joining order.
pub(crate) async fn group(
    c: &Conn<'_>,
    tenant: TenantId,
    id: ConversationId,
) -> Result<Option<ChatGroup>, RepositoryError> {
    let Some(row) = c.one(chat_group::Entity::find_by_id((tenant.as_uuid(), id.as_uuid()))).await? else {
        return Ok(None);
    };
    let members = c
        .all(
            group_member::Entity::find()
                .filter(group_member::Column::TenantId.eq(tenant.as_uuid()))
                .filter(group_member::Column::GroupId.eq(id.as_uuid()))
                .order_by_asc(group_member::Column::Position),
        )
        .await?;
    mapping::group_from_rows(row, members).map(Some)
}

/// One message.
pub(crate) async fn message(c: &Conn<'_>, tenant: TenantId, id: MessageId) -> Result<Option<Message>, RepositoryError> {
    let row = c
        .one(
            message::Entity::find()
                .filter(message::Column::TenantId.eq(tenant.as_uuid()))
                .filter(message::Column::Id.eq(id.as_uuid())),
        )
        .await?;
    row.map(mapping::message_from_row).transpose()
}

/// Several messages, ordered by id; missing ones are left out.
pub(crate) async fn messages(
    c: &Conn<'_>,
    tenant: TenantId,
    ids: &[MessageId],
) -> Result<Vec<Message>, RepositoryError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = c
        .all(
            message::Entity::find()
                .filter(message::Column::TenantId.eq(tenant.as_uuid()))
                .filter(message::Column::Id.is_in(uuids(ids, |i| i.as_uuid())))
                .order_by_asc(message::Column::Id),
        )
        .await?;
    rows.into_iter().map(mapping::message_from_row).collect()
}

/// The message a sender stored under an idempotency key.
pub(crate) async fn message_by_client_id(
    c: &Conn<'_>,
    tenant: TenantId,
    sender: UserId,
    key: &ClientMessageId,
) -> Result<Option<Message>, RepositoryError> {
    let row = c
        .one(
            message::Entity::find()
                .filter(message::Column::TenantId.eq(tenant.as_uuid()))
                .filter(message::Column::SenderId.eq(sender.as_uuid()))
                .filter(message::Column::ClientMessageId.eq(key.as_str())),
        )
        .await?;
    row.map(mapping::message_from_row).transpose()
}

/// The highest `seq` assigned in a conversation.
pub(crate) async fn last_seq(c: &Conn<'_>, tenant: TenantId, id: ConversationId) -> Result<Seq, RepositoryError> {
    let row = c.one(conversation_seq::Entity::find_by_id((tenant.as_uuid(), id.as_uuid()))).await?;
    Ok(Seq::new(row.map_or(0, |r| r.last_seq)))
}

/// One attachment.
pub(crate) async fn attachment(
    c: &Conn<'_>,
    tenant: TenantId,
    id: AttachmentId,
) -> Result<Option<Attachment>, RepositoryError> {
    let row = c.one(attachment::Entity::find_by_id((tenant.as_uuid(), id.as_uuid()))).await?;
    row.map(mapping::attachment_from_row).transpose()
}

/// Others' visible messages after `after` for `user`.
pub(crate) async fn count_unread_after(
    c: &Conn<'_>,
    tenant: TenantId,
    id: ConversationId,
    user: UserId,
    after: Seq,
) -> Result<i64, RepositoryError> {
    let s = stmt(
        c.backend(),
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
    match c.row(s).await? {
        Some(r) => r.get::<i64>("n"),
        None => Ok(0),
    }
}
