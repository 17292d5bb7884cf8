use async_trait::async_trait;

use super::{ChatGroup, GroupMember};
use crate::error::RepositoryError;
use crate::ids::{ConversationId, TenantId, UserId};

/// One page of a group's members, ordered by user id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMemberPageQuery {
    /// Tenant.
    pub tenant: TenantId,
    /// Group.
    pub group: ConversationId,
    /// Only members with a greater user id.
    pub after: Option<UserId>,
    /// Maximum number returned.
    pub limit: usize,
}

/// Reads groups.
#[async_trait]
pub trait ChatGroupRepository: Send + Sync {
    /// One group with all its members.
    async fn find(&self, tenant: TenantId, id: ConversationId) -> Result<Option<ChatGroup>, RepositoryError>;
    /// A page of a group's members.
    async fn members(&self, query: &GroupMemberPageQuery) -> Result<Vec<GroupMember>, RepositoryError>;
}
