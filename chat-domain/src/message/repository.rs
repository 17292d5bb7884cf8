use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{ClientMessageId, Message, Reaction};
use crate::error::RepositoryError;
use crate::ids::{ConversationId, MessageId, Seq, TenantId, UserId};

/// Which end of a conversation's history a page starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageOrder {
    /// Highest `seq` first (the latest messages, scrolling up).
    NewestFirst,
    /// Lowest `seq` first (catching up after a position).
    OldestFirst,
}

/// One page of a conversation's history, as one member sees it (without the messages they deleted for
/// themselves or that precede their cleared position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePageQuery {
    /// Tenant.
    pub tenant: TenantId,
    /// Conversation.
    pub conversation: ConversationId,
    /// The member reading.
    pub viewer: UserId,
    /// Only messages with a greater `seq` (the member's cleared position, or an `after` cursor).
    pub after: Seq,
    /// Only messages with a smaller `seq` (a `before` cursor).
    pub before: Option<Seq>,
    /// Only messages sent at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only messages sent at or before this time.
    pub to: Option<DateTime<Utc>>,
    /// Order of the results.
    pub order: PageOrder,
    /// Maximum number returned.
    pub limit: usize,
}

impl MessagePageQuery {
    /// Every message `viewer` sees in the conversation, in `order`, at most `limit`. Narrow it with struct
    /// update syntax: `MessagePageQuery { before: Some(seq), ..MessagePageQuery::all(…) }`.
    pub fn all(tenant: TenantId, conversation: ConversationId, viewer: UserId, order: PageOrder, limit: usize) -> Self {
        Self { tenant, conversation, viewer, after: Seq::ZERO, before: None, from: None, to: None, order, limit }
    }
}

/// Full-text search over the messages a user can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSearchQuery {
    /// Tenant.
    pub tenant: TenantId,
    /// The searching user: only conversations they are a member of, without messages they hid or cleared.
    pub viewer: UserId,
    /// Words to find, as typed (the store escapes its own query syntax).
    pub text: String,
    /// Restrict to one conversation.
    pub conversation: Option<ConversationId>,
    /// Number of best results to skip (the cursor).
    pub offset: usize,
    /// Maximum number returned.
    pub limit: usize,
}

/// Reads messages and their reactions.
#[async_trait]
pub trait MessageRepository: Send + Sync {
    /// One message of a tenant.
    async fn find(&self, tenant: TenantId, id: MessageId) -> Result<Option<Message>, RepositoryError>;
    /// Several messages of a tenant; missing ones are left out.
    async fn find_many(&self, tenant: TenantId, ids: &[MessageId]) -> Result<Vec<Message>, RepositoryError>;
    /// The message a sender stored under an idempotency key.
    async fn find_by_client_id(
        &self,
        tenant: TenantId,
        sender: UserId,
        client_message_id: &ClientMessageId,
    ) -> Result<Option<Message>, RepositoryError>;
    /// A page of history, keyset-paginated by `seq`.
    async fn page(&self, query: &MessagePageQuery) -> Result<Vec<Message>, RepositoryError>;
    /// Best matches first; messages deleted for everyone never match.
    async fn search(&self, query: &MessageSearchQuery) -> Result<Vec<Message>, RepositoryError>;
    /// Reactions to the given messages.
    async fn reactions(&self, tenant: TenantId, messages: &[MessageId]) -> Result<Vec<Reaction>, RepositoryError>;
}
