//! Chat settings (after ABP): the caller's preferences and the tenant's rules.

use std::sync::Arc;

use crate::caller::CallerContext;
use crate::core::{Checks, Core};
use crate::dto::{ChatSettingsDto, UpdateChatSettingsInput};
use crate::error::AppError;
use crate::mapping::{conversation_deletion_from_dto, message_deletion_from_dto, tenant_settings_dto};
use crate::rate_limit::RateLimitKind;

/// The caller's settings (`sendOnEnter`) and the tenant's (`chatEnabled`, deletion rules, edit window,
/// `searchOtherContacts`). Everyone reads both; only tenant administrators change the tenant's.
#[derive(Clone)]
pub struct SettingsAppService {
    core: Arc<Core>,
}

impl std::fmt::Debug for SettingsAppService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingsAppService").finish_non_exhaustive()
    }
}

impl SettingsAppService {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    /// The caller's and their tenant's settings (defaults until changed).
    pub async fn get_settings(&self, caller: &CallerContext) -> Result<ChatSettingsDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        self.read(caller).await
    }

    async fn read(&self, caller: &CallerContext) -> Result<ChatSettingsDto, AppError> {
        let repos = &self.core.repos;
        let user = repos.settings.user(caller.tenant, caller.user).await?;
        let tenant = repos.settings.tenant(caller.tenant).await?;
        Ok(ChatSettingsDto {
            send_on_enter: user.send_on_enter,
            tenant: tenant_settings_dto(&tenant),
            can_manage_tenant: caller.is_tenant_admin,
        })
    }

    /// Changes the caller's settings and, for tenant administrators, the tenant's (absent fields keep
    /// their values). Tenant changes from anyone else are `chat.forbidden` and nothing is saved.
    pub async fn update_settings(
        &self,
        caller: &CallerContext,
        input: UpdateChatSettingsInput,
    ) -> Result<ChatSettingsDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let repos = &self.core.repos;
        let mut tenant_update = None;
        if let Some(change) = input.tenant {
            if !caller.is_tenant_admin {
                return Err(AppError::forbidden("only tenant administrators may change the tenant's chat settings"));
            }
            let mut checks = Checks::default();
            if change.message_deletion_period.is_some_and(|p| p < 0) {
                checks.fail("tenant.messageDeletionPeriod", "must not be negative");
            }
            if change.edit_window.is_some_and(|w| w < 0) {
                checks.fail("tenant.editWindow", "must not be negative");
            }
            checks.finish()?;
            let mut settings = repos.settings.tenant(caller.tenant).await?;
            if let Some(v) = change.chat_enabled {
                settings.chat_enabled = v;
            }
            if let Some(v) = change.deleting_messages {
                settings.deleting_messages = message_deletion_from_dto(v);
            }
            if let Some(v) = change.message_deletion_period {
                settings.message_deletion_period = v;
            }
            if let Some(v) = change.deleting_conversations {
                settings.deleting_conversations = conversation_deletion_from_dto(v);
            }
            if let Some(v) = change.search_other_contacts {
                settings.search_other_contacts = v;
            }
            if let Some(v) = change.edit_window {
                settings.edit_window = v;
            }
            settings.validate()?;
            tenant_update = Some(settings);
        }
        if let Some(send_on_enter) = input.send_on_enter {
            let mut user = repos.settings.user(caller.tenant, caller.user).await?;
            if user.send_on_enter != send_on_enter {
                user.send_on_enter = send_on_enter;
                repos.settings.save_user(caller.tenant, caller.user, &user).await?;
            }
        }
        if let Some(settings) = tenant_update {
            repos.settings.save_tenant(caller.tenant, &settings).await?;
            // After the save: a read that starts now must see the new settings, not keep the old ones.
            self.core.settings_cache.invalidate(caller.tenant);
        }
        self.read(caller).await
    }
}
