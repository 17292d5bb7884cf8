use async_trait::async_trait;

use super::ChatUser;
use crate::error::RepositoryError;
use crate::ids::{TenantId, UserId};

/// Which users of a tenant to list, for "other contacts".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSearchQuery {
    /// Tenant searched.
    pub tenant: TenantId,
    /// Case-insensitive substring of user name, name or surname; `None` lists everyone.
    pub filter: Option<String>,
    /// Only users whose id is greater (keyset cursor).
    pub after: Option<UserId>,
    /// Maximum number returned.
    pub limit: usize,
}

/// Reads and refreshes the chat's copies of users.
#[async_trait]
pub trait ChatUserRepository: Send + Sync {
    /// One user of a tenant.
    async fn find(&self, tenant: TenantId, id: UserId) -> Result<Option<ChatUser>, RepositoryError>;
    /// Several users of a tenant; missing ones are left out.
    async fn find_many(&self, tenant: TenantId, ids: &[UserId]) -> Result<Vec<ChatUser>, RepositoryError>;
    /// Active users of a tenant matching a filter, ordered by id.
    async fn search(&self, query: &UserSearchQuery) -> Result<Vec<ChatUser>, RepositoryError>;
    /// Inserts or replaces one user. A single-row write, so it needs no unit of work.
    async fn upsert(&self, user: &ChatUser) -> Result<(), RepositoryError>;
}
