//! What every HTTP handler and socket handler shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chat_application::{
    AppError, AttachmentAppService, CallerContext, ChatModule, ChatUserAppService, ContactAppService,
    ConversationAppService, GroupAppService, SettingsAppService, SyncAppService,
};
use chat_domain::{TenantId, UserId};

use crate::auth::{Authenticator, JwtAuth};
use crate::config::{AllowedOrigins, HostLimits};
use crate::health::Readiness;
use crate::metrics::Metrics;

/// The shared state of the chat's routes and socket handlers. Cheap to clone.
#[derive(Clone)]
pub struct ChatState {
    inner: Arc<Inner>,
}

struct Inner {
    chat: ChatModule,
    authenticator: Arc<dyn Authenticator>,
    dev_login: Option<Arc<JwtAuth>>,
    metrics: Arc<Metrics>,
    readiness: Arc<dyn Readiness>,
    allowed_origins: AllowedOrigins,
    limits: HostLimits,
    synced: UserSyncCache,
}

impl std::fmt::Debug for ChatState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatState").finish_non_exhaustive()
    }
}

/// Builds a [`ChatState`].
pub struct ChatStateBuilder {
    chat: ChatModule,
    authenticator: Arc<dyn Authenticator>,
    dev_login: Option<Arc<JwtAuth>>,
    metrics: Arc<Metrics>,
    readiness: Option<Arc<dyn Readiness>>,
    allowed_origins: AllowedOrigins,
    limits: HostLimits,
}

impl ChatStateBuilder {
    /// Enables `POST /api/dev/login`, issuing tokens with this (development) key.
    pub fn dev_login(mut self, jwt: Arc<JwtAuth>) -> Self {
        self.dev_login = Some(jwt);
        self
    }

    /// Uses this metrics registry (e.g. one shared with the embedding host).
    pub fn metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// How `/health/ready` checks the store.
    pub fn readiness(mut self, readiness: Arc<dyn Readiness>) -> Self {
        self.readiness = Some(readiness);
        self
    }

    /// Which browser origins may open sockets.
    pub fn allowed_origins(mut self, origins: AllowedOrigins) -> Self {
        self.allowed_origins = origins;
        self
    }

    /// Host-level limits.
    pub fn limits(mut self, limits: HostLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The state.
    pub fn build(self) -> ChatState {
        let readiness = self.readiness.unwrap_or_else(|| Arc::new(crate::health::SettingsProbe::new(&self.chat)));
        ChatState {
            inner: Arc::new(Inner {
                chat: self.chat,
                authenticator: self.authenticator,
                dev_login: self.dev_login,
                metrics: self.metrics,
                readiness,
                allowed_origins: self.allowed_origins,
                limits: self.limits,
                synced: UserSyncCache::default(),
            }),
        }
    }
}

impl ChatState {
    /// A state over a chat module, authenticating callers with `authenticator`.
    pub fn builder(chat: ChatModule, authenticator: Arc<dyn Authenticator>) -> ChatStateBuilder {
        ChatStateBuilder {
            chat,
            authenticator,
            dev_login: None,
            metrics: Arc::new(Metrics::new()),
            readiness: None,
            allowed_origins: AllowedOrigins::default(),
            limits: HostLimits::default(),
        }
    }

    /// The chat module.
    pub fn chat(&self) -> &ChatModule {
        &self.inner.chat
    }

    /// Conversations and messages.
    pub fn conversations(&self) -> &ConversationAppService {
        self.inner.chat.conversations()
    }

    /// Groups.
    pub fn groups(&self) -> &GroupAppService {
        self.inner.chat.groups()
    }

    /// Contacts.
    pub fn contacts(&self) -> &ContactAppService {
        self.inner.chat.contacts()
    }

    /// Settings.
    pub fn settings(&self) -> &SettingsAppService {
        self.inner.chat.settings()
    }

    /// Catch-up.
    pub fn sync(&self) -> &SyncAppService {
        self.inner.chat.sync()
    }

    /// Attachments.
    pub fn attachments(&self) -> &AttachmentAppService {
        self.inner.chat.attachments()
    }

    /// Users.
    pub fn users(&self) -> &ChatUserAppService {
        self.inner.chat.users()
    }

    /// How callers are authenticated.
    pub fn authenticator(&self) -> &dyn Authenticator {
        self.inner.authenticator.as_ref()
    }

    /// The development token issuer, when development login is on.
    pub fn dev_login(&self) -> Option<&JwtAuth> {
        self.inner.dev_login.as_deref()
    }

    /// Metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Readiness probe.
    pub fn readiness(&self) -> &dyn Readiness {
        self.inner.readiness.as_ref()
    }

    /// Allowed browser origins.
    pub fn allowed_origins(&self) -> &AllowedOrigins {
        &self.inner.allowed_origins
    }

    /// Host-level limits.
    pub fn limits(&self) -> &HostLimits {
        &self.inner.limits
    }

    /// Refreshes the chat's copy of the caller from their token, at most once every few minutes per user
    /// and set of names, so that authenticated calls do not each cost a write.
    pub async fn sync_caller(&self, caller: &CallerContext) -> Result<(), AppError> {
        if self.inner.synced.is_fresh(caller) {
            return Ok(());
        }
        self.users().sync_caller(caller).await?;
        self.inner.synced.remember(caller);
        Ok(())
    }
}

/// Remembers which callers were recently synchronised, and with which names.
#[derive(Default)]
struct UserSyncCache {
    entries: Mutex<HashMap<(TenantId, UserId), (u64, Instant)>>,
}

impl UserSyncCache {
    const FRESH_FOR: Duration = Duration::from_secs(300);
    const MAX_ENTRIES: usize = 100_000;

    fn fingerprint(caller: &CallerContext) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&caller.user_name, &caller.name, &caller.surname).hash(&mut h);
        h.finish()
    }

    fn is_fresh(&self, caller: &CallerContext) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        matches!(
            entries.get(&(caller.tenant, caller.user)),
            Some((print, at)) if *print == Self::fingerprint(caller) && at.elapsed() < Self::FRESH_FOR
        )
    }

    fn remember(&self, caller: &CallerContext) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < Self::FRESH_FOR);
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert((caller.tenant, caller.user), (Self::fingerprint(caller), Instant::now()));
    }
}
