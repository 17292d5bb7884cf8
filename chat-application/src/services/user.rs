//! The chat's copies of host users.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chat_domain::text::PersonName;
use chat_domain::user::ChatUser;
use chat_domain::{TenantId, UserId};

use crate::caller::CallerContext;
use crate::core::Core;
use crate::dto::{ChatUserDto, UpsertChatUserInput};
use crate::error::AppError;
use crate::mapping::user_dto;
use crate::rate_limit::RateLimitKind;

/// Keeps the chat's copy of each host user (`ChatUser`) up to date: from the caller's token on every
/// authenticated call, or pushed by an embedding application that syncs users itself.
#[derive(Clone)]
pub struct ChatUserAppService {
    core: Arc<Core>,
    recent: Arc<RecentUsers>,
}

/// How long a user known to be up to date is trusted without a read.
const RECENT_TTL: Duration = Duration::from_secs(300);
/// Most users remembered; the memory is dropped when it is full.
const RECENT_MAX: usize = 100_000;

/// Users recently seen with exactly these names, so that syncing the caller on every request costs no read
/// at all most of the time. Entries expire, so a change made elsewhere (another node, another process) is
/// noticed within [`RECENT_TTL`].
#[derive(Debug, Default)]
struct RecentUsers {
    seen: Mutex<HashMap<(TenantId, UserId), (PersonName, Instant)>>,
}

impl RecentUsers {
    fn is_fresh(&self, tenant: TenantId, id: UserId, name: &PersonName) -> bool {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.get(&(tenant, id)).is_some_and(|(known, at)| known == name && at.elapsed() < RECENT_TTL)
    }

    fn remember(&self, user: &ChatUser) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= RECENT_MAX {
            seen.clear();
        }
        if user.is_active() {
            seen.insert((user.tenant(), user.id()), (user.name().clone(), Instant::now()));
        } else {
            seen.remove(&(user.tenant(), user.id()));
        }
    }
}

impl std::fmt::Debug for ChatUserAppService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatUserAppService").finish_non_exhaustive()
    }
}

impl ChatUserAppService {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Self { core, recent: Arc::default() }
    }

    /// Creates or refreshes the caller's `ChatUser` from the caller context (names only: a user the
    /// embedding application deactivated stays inactive), writing only when something changed, so hosts can call it on every authenticated request and connection: a caller seen with the
    /// same names in the last few minutes costs no storage access at all, otherwise one read. Not
    /// rate-limited. Returns whether it wrote.
    pub async fn sync_caller(&self, caller: &CallerContext) -> Result<bool, AppError> {
        let name = caller.person_name()?;
        if self.recent.is_fresh(caller.tenant, caller.user, &name) {
            return Ok(false);
        }
        self.refresh(caller.tenant, caller.user, name, None).await.map(|(_, wrote)| wrote)
    }

    async fn refresh(
        &self,
        tenant: TenantId,
        id: UserId,
        name: PersonName,
        active: Option<bool>,
    ) -> Result<(ChatUser, bool), AppError> {
        let users = &self.core.repos.users;
        let now = self.core.now();
        let (user, changed) = match users.find(tenant, id).await? {
            Some(mut user) => {
                let active = active.unwrap_or(user.is_active());
                let changed = user.refresh(name, active, now);
                (user, changed)
            }
            None => {
                let mut user = ChatUser::new(tenant, id, name.clone(), now);
                user.refresh(name, active.unwrap_or(true), now);
                (user, true)
            }
        };
        if changed {
            users.upsert(&user).await?;
        }
        self.recent.remember(&user);
        Ok((user, changed))
    }

    /// Creates or refreshes a user as the embedding application describes them (trusted code: no caller,
    /// no rate limit). An inactive user can no longer be messaged or added to groups.
    pub async fn upsert_user(&self, input: UpsertChatUserInput) -> Result<ChatUserDto, AppError> {
        let tenant = input.tenant_id.map(TenantId::from_uuid).unwrap_or(TenantId::HOST);
        let name = PersonName::parse(&input.user_name, input.name.as_deref(), input.surname.as_deref())?;
        let (user, _) = self.refresh(tenant, UserId::from_uuid(input.user_id), name, Some(input.active)).await?;
        Ok(user_dto(&user))
    }

    /// A user of the caller's tenant.
    pub async fn get_user(&self, caller: &CallerContext, id: UserId) -> Result<ChatUserDto, AppError> {
        self.core.admit(caller, RateLimitKind::Other)?;
        let user = self.core.repos.users.find(caller.tenant, id).await?.ok_or(AppError::not_found("user"))?;
        Ok(user_dto(&user))
    }
}
