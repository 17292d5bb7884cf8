use async_trait::async_trait;

use super::{TenantSettings, UserSettings};
use crate::error::RepositoryError;
use crate::ids::{TenantId, UserId};

/// Reads and writes settings. Each write is a single row, so it needs no unit of work.
#[async_trait]
pub trait SettingsRepository: Send + Sync {
    /// A tenant's settings, or the defaults when none were saved.
    async fn tenant(&self, tenant: TenantId) -> Result<TenantSettings, RepositoryError>;
    /// Saves a tenant's settings.
    async fn save_tenant(&self, tenant: TenantId, settings: &TenantSettings) -> Result<(), RepositoryError>;
    /// A user's settings, or the defaults when none were saved.
    async fn user(&self, tenant: TenantId, user: UserId) -> Result<UserSettings, RepositoryError>;
    /// Saves a user's settings.
    async fn save_user(&self, tenant: TenantId, user: UserId, settings: &UserSettings) -> Result<(), RepositoryError>;
}
