use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Conversation;
use crate::error::RepositoryError;
use crate::ids::{ConversationId, Seq, TenantId, UserId};

/// One page of a user's conversation list, newest activity first, keyset-paginated by
/// (`last_activity_at`, id). Hidden sides are never listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationListQuery {
    /// Tenant.
    pub tenant: TenantId,
    /// Whose list.
    pub user: UserId,
    /// Include archived conversations.
    pub include_archived: bool,
    /// Only conversations strictly older than this (activity, id) position.
    pub before: Option<(DateTime<Utc>, ConversationId)>,
    /// Maximum number returned.
    pub limit: usize,
}

/// When one member received and read a given message, for receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberReceipt {
    /// The member.
    pub user: UserId,
    /// When their delivered watermark first reached the message.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When their read watermark first reached the message.
    pub read_at: Option<DateTime<Utc>>,
}

/// Reads conversation sides.
#[async_trait]
pub trait ConversationRepository: Send + Sync {
    /// One member's side.
    async fn find(
        &self,
        tenant: TenantId,
        id: ConversationId,
        user: UserId,
    ) -> Result<Option<Conversation>, RepositoryError>;
    /// A user's side of their direct conversation with `peer`.
    async fn find_direct(
        &self,
        tenant: TenantId,
        user: UserId,
        peer: UserId,
    ) -> Result<Option<Conversation>, RepositoryError>;
    /// A page of a user's list.
    async fn list(&self, query: &ConversationListQuery) -> Result<Vec<Conversation>, RepositoryError>;
    /// Every member's side of a conversation.
    async fn sides(&self, tenant: TenantId, id: ConversationId) -> Result<Vec<Conversation>, RepositoryError>;
    /// How many members a conversation has.
    async fn member_count(&self, tenant: TenantId, id: ConversationId) -> Result<u64, RepositoryError>;
    /// Sum of a user's unread counts across their conversations.
    async fn total_unread(&self, tenant: TenantId, user: UserId) -> Result<i64, RepositoryError>;
    /// For every member, when they received and read the message at `seq` (from the receipt log).
    async fn receipts(
        &self,
        tenant: TenantId,
        id: ConversationId,
        seq: Seq,
    ) -> Result<Vec<MemberReceipt>, RepositoryError>;
}
