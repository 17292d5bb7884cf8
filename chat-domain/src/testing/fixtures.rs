//! Helpers the contract cases share: fixed times, fresh ids, seeded users and conversations, and units
//! of work that must succeed.

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use crate::Repositories;
use crate::conversation::{Conversation, ConversationKind, LastMessage};
use crate::error::WorkError;
use crate::group::{ChatGroup, GroupDetails};
use crate::ids::{ConversationId, MessageId, Seq, TenantId, UserId};
use crate::message::{ClientMessageId, Message, MessagePageQuery, MessageText, NewMessage, PageOrder};
use crate::messaging::{MessagingManager, SendMessage, SendTarget, Sent};
use crate::text::PersonName;
use crate::uow::{BoxFuture, Committed, Transaction};
use crate::user::ChatUser;

/// A fixed instant plus `secs` seconds, so time rules are tested with explicit values.
pub fn at(secs: i64) -> DateTime<Utc> {
    let base = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).single().expect("a valid instant");
    base + chrono::Duration::seconds(secs)
}

/// A fresh tenant (never the host tenant, so scoping mistakes towards the nil UUID show).
pub fn tenant() -> TenantId {
    TenantId::from_uuid(Uuid::new_v4())
}

/// A fresh user id.
pub fn user_id() -> UserId {
    UserId::from_uuid(Uuid::new_v4())
}

/// A fresh conversation id.
pub fn conversation_id() -> ConversationId {
    ConversationId::from_uuid(Uuid::new_v4())
}

/// Message text that is known to be valid.
pub fn text(value: &str) -> MessageText {
    MessageText::parse(value, MessageText::DEFAULT_MAX).expect("valid text")
}

/// An idempotency key that is known to be valid.
pub fn key(value: &str) -> ClientMessageId {
    ClientMessageId::parse(value).expect("valid key")
}

/// Stores an active user called `name` and returns their id.
pub async fn seed_user(repos: &Repositories, tenant: TenantId, name: &str) -> UserId {
    let id = user_id();
    let person = PersonName::parse(name, None, None).expect("valid name");
    repos.users.upsert(&ChatUser::new(tenant, id, person, at(0))).await.expect("upsert user");
    id
}

/// Stores `n` active users.
pub async fn seed_users(repos: &Repositories, tenant: TenantId, n: usize) -> Vec<UserId> {
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        users.push(seed_user(repos, tenant, &format!("user{i}")).await);
    }
    users
}

/// Runs a unit of work that must commit.
pub async fn commit<T, F>(repos: &Repositories, body: F) -> Committed<T>
where
    T: Send + 'static,
    F: for<'t> FnOnce(&'t mut dyn Transaction) -> BoxFuture<'t, Result<T, WorkError>> + Send + 'static,
{
    match repos.uow.transact(body).await {
        Ok(committed) => committed,
        Err(e) => panic!("the unit of work should have committed: {e}"),
    }
}

/// Runs a unit of work and returns its error, failing if it committed.
pub async fn refused<T, F>(repos: &Repositories, body: F) -> WorkError
where
    T: Send + 'static,
    F: for<'t> FnOnce(&'t mut dyn Transaction) -> BoxFuture<'t, Result<T, WorkError>> + Send + 'static,
{
    match repos.uow.transact(body).await {
        Ok(_) => panic!("the unit of work should have been refused"),
        Err(e) => e,
    }
}

/// Saves both sides of a direct conversation between `a` and `b` (without the manager's checks).
pub async fn direct_sides(
    repos: &Repositories,
    tenant: TenantId,
    a: UserId,
    b: UserId,
    now: DateTime<Utc>,
) -> ConversationId {
    let id = conversation_id();
    let sides = [
        Conversation::open(tenant, id, a, ConversationKind::Direct { peer: b }, Seq::ZERO, now),
        Conversation::open(tenant, id, b, ConversationKind::Direct { peer: a }, Seq::ZERO, now),
    ];
    commit(repos, move |tx| {
        Box::pin(async move {
            for side in &sides {
                tx.save_conversation(side).await?;
            }
            Ok::<_, WorkError>(())
        })
    })
    .await;
    id
}

/// Saves group sides for `members` of conversation `id` (without a group row).
pub async fn group_sides(
    repos: &Repositories,
    tenant: TenantId,
    id: ConversationId,
    members: &[UserId],
    now: DateTime<Utc>,
) {
    let sides: Vec<Conversation> =
        members.iter().map(|&m| Conversation::open(tenant, id, m, ConversationKind::Group, Seq::ZERO, now)).collect();
    commit(repos, move |tx| {
        Box::pin(async move {
            for side in &sides {
                tx.save_conversation(side).await?;
            }
            Ok::<_, WorkError>(())
        })
    })
    .await;
}

/// What [`store_message`] stores besides the text.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Tenant.
    pub tenant: TenantId,
    /// Conversation.
    pub conversation: ConversationId,
    /// Sender.
    pub sender: UserId,
    /// Idempotency key.
    pub key: Option<ClientMessageId>,
    /// Sent at.
    pub at: DateTime<Utc>,
}

impl Draft {
    /// A message from `sender` in `conversation` at `at`, without an idempotency key.
    pub fn new(tenant: TenantId, conversation: ConversationId, sender: UserId, at: DateTime<Utc>) -> Self {
        Self { tenant, conversation, sender, key: None, at }
    }

    /// The message before its position is assigned.
    pub fn to_new_message(&self, body: &str) -> NewMessage {
        NewMessage {
            tenant: self.tenant,
            id: MessageId::new_at(self.at),
            conversation: self.conversation,
            sender: self.sender,
            text: text(body),
            reply_to: None,
            attachments: Vec::new(),
            client_message_id: self.key.clone(),
            created_at: self.at,
        }
    }
}

/// Stores a message the way a send does, through the ports only: next `seq`, insert, and the bulk update of
/// every side.
pub async fn store_message(repos: &Repositories, draft: &Draft, body: &str) -> Message {
    let new = draft.to_new_message(body);
    commit(repos, move |tx| {
        Box::pin(async move {
            let seq = tx.next_seq(new.tenant, new.conversation).await?;
            let message = new.into_message(seq);
            tx.insert_message(&message).await?;
            let last = LastMessage { id: message.id(), seq, sender: message.sender(), at: message.created_at() };
            tx.record_message_on_sides(message.tenant(), message.conversation(), &last).await?;
            Ok::<_, WorkError>(message)
        })
    })
    .await
    .value
}

/// A send request with everything optional left out.
pub fn send_cmd(tenant: TenantId, sender: UserId, target: SendTarget, body: &str, now: DateTime<Utc>) -> SendMessage {
    SendMessage {
        tenant,
        sender,
        target,
        text: text(body),
        reply_to: None,
        attachments: Vec::new(),
        client_message_id: None,
        now,
    }
}

/// Sends through the [`MessagingManager`] in a unit of work.
pub async fn send(repos: &Repositories, cmd: SendMessage) -> Committed<Sent> {
    commit(repos, move |tx| Box::pin(async move { MessagingManager::default().send(tx, cmd).await })).await
}

/// Tries to send through the [`MessagingManager`] and returns the error.
pub async fn send_refused(repos: &Repositories, cmd: SendMessage) -> WorkError {
    refused(repos, move |tx| Box::pin(async move { MessagingManager::default().send(tx, cmd).await })).await
}

/// Creates a group through the [`MessagingManager`]; every member must be a seeded user.
pub async fn create_group(
    repos: &Repositories,
    tenant: TenantId,
    owner: UserId,
    members: &[UserId],
    now: DateTime<Utc>,
) -> ChatGroup {
    let members = members.to_vec();
    commit(repos, move |tx| {
        Box::pin(async move {
            let details = GroupDetails::parse("Team", None, None)?;
            MessagingManager::default().create_group(tx, tenant, owner, details, &members, now).await
        })
    })
    .await
    .value
}

/// The sorted values, to compare lists whose order a case does not specify.
pub fn sorted<T: Ord>(mut values: Vec<T>) -> Vec<T> {
    values.sort();
    values
}

/// A conversation's history as `viewer` sees it, oldest first (up to 1,000 messages).
pub async fn history(
    repos: &Repositories,
    tenant: TenantId,
    conversation: ConversationId,
    viewer: UserId,
) -> Vec<Message> {
    let query = MessagePageQuery::all(tenant, conversation, viewer, PageOrder::OldestFirst, 1000);
    repos.messages.page(&query).await.expect("a history page")
}
