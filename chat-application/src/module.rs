//! The composition root: builds every service from a store, a sender, a clock, a rate limiter and options.

use std::sync::Arc;

use chat_domain::Repositories;
use chat_domain::clock::{Clock, SystemClock};
use chat_domain::messaging::MessagingManager;

use crate::blob::BlobStore;
use crate::core::Core;
use crate::options::ChatOptions;
use crate::presence::{InMemoryPresenceTracker, PresenceTracker};
use crate::rate_limit::{GovernorRateLimiter, RateLimiter};
use crate::realtime::{NoopChatMessageSender, RealTimeChatMessageSender};
use crate::services::{
    AttachmentAppService, ChatUserAppService, ContactAppService, ConversationAppService, GroupAppService,
    PresenceAppService, SettingsAppService, SyncAppService,
};
use crate::tenant_settings::TenantSettingsCache;
use crate::users::{NoUserDirectory, UserDirectory};

/// The chat module: every application service over one store. Cheap to clone; hosts keep one and hand
/// out the services (themselves cheap clones).
#[derive(Clone)]
pub struct ChatModule {
    conversations: ConversationAppService,
    groups: GroupAppService,
    contacts: ContactAppService,
    settings: SettingsAppService,
    users: ChatUserAppService,
    sync: SyncAppService,
    attachments: AttachmentAppService,
    presence: PresenceAppService,
    core: Arc<Core>,
}

impl std::fmt::Debug for ChatModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatModule").field("options", &self.core.options).finish_non_exhaustive()
    }
}

impl ChatModule {
    /// Starts building a module over `repositories`; everything else has a default.
    pub fn builder(repositories: Repositories) -> ChatModuleBuilder {
        ChatModuleBuilder {
            repositories,
            sender: None,
            clock: None,
            rate_limiter: None,
            options: None,
            blobs: None,
            presence: None,
            directory: None,
        }
    }

    /// Conversations and messages.
    pub fn conversations(&self) -> &ConversationAppService {
        &self.conversations
    }

    /// Group chats.
    pub fn groups(&self) -> &GroupAppService {
        &self.groups
    }

    /// Contacts and unread counts.
    pub fn contacts(&self) -> &ContactAppService {
        &self.contacts
    }

    /// Settings.
    pub fn settings(&self) -> &SettingsAppService {
        &self.settings
    }

    /// User synchronisation.
    pub fn users(&self) -> &ChatUserAppService {
        &self.users
    }

    /// Catch-up of event streams.
    pub fn sync(&self) -> &SyncAppService {
        &self.sync
    }

    /// Attachments: uploads and downloads (needs a [`BlobStore`], see [`ChatModuleBuilder::blob_store`]).
    pub fn attachments(&self) -> &AttachmentAppService {
        &self.attachments
    }

    /// Presence: hosts report sockets opening and closing; clients read their contacts' presence.
    pub fn presence(&self) -> &PresenceAppService {
        &self.presence
    }

    /// The options in force.
    pub fn options(&self) -> &ChatOptions {
        &self.core.options
    }

    /// The store the module works on (for hosts' health checks and maintenance such as event pruning).
    pub fn repositories(&self) -> &Repositories {
        &self.core.repos
    }
}

/// Builds a [`ChatModule`]. Defaults: no real-time delivery, the system clock, a per-process
/// [`GovernorRateLimiter`] with the options' limits, default [`ChatOptions`], and no blob store (so
/// attachments are unavailable until one is given), an [`InMemoryPresenceTracker`] (right for one node), and
/// [`NoUserDirectory`] (the chat knows only users it has seen).
pub struct ChatModuleBuilder {
    repositories: Repositories,
    sender: Option<Arc<dyn RealTimeChatMessageSender>>,
    clock: Option<Arc<dyn Clock>>,
    rate_limiter: Option<Arc<dyn RateLimiter>>,
    options: Option<ChatOptions>,
    blobs: Option<Arc<dyn BlobStore>>,
    presence: Option<Arc<dyn PresenceTracker>>,
    directory: Option<Arc<dyn UserDirectory>>,
}

impl std::fmt::Debug for ChatModuleBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatModuleBuilder").field("options", &self.options).finish_non_exhaustive()
    }
}

impl ChatModuleBuilder {
    /// Where committed events are delivered.
    pub fn sender(mut self, sender: Arc<dyn RealTimeChatMessageSender>) -> Self {
        self.sender = Some(sender);
        self
    }

    /// The source of time (tests pass a manual clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The rate limiter (for example [`UnlimitedRateLimiter`](crate::UnlimitedRateLimiter) for trusted
    /// callers, or a shared one for a cluster).
    pub fn rate_limiter(mut self, rate_limiter: Arc<dyn RateLimiter>) -> Self {
        self.rate_limiter = Some(rate_limiter);
        self
    }

    /// Limits and defaults.
    pub fn options(mut self, options: ChatOptions) -> Self {
        self.options = Some(options);
        self
    }

    /// Where attachments' bytes are stored (a directory, an object store, or an in-memory store in
    /// tests). Without one, uploads and downloads answer `chat.internal`.
    pub fn blob_store(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.blobs = Some(blobs);
        self
    }

    /// Where users' open connections are counted for presence. The default, an
    /// [`InMemoryPresenceTracker`], knows only this process's sockets; nodes of a cluster share one
    /// tracker instead.
    pub fn presence_tracker(mut self, tracker: Arc<dyn PresenceTracker>) -> Self {
        self.presence = Some(tracker);
        self
    }

    /// The embedding application's users, asked about a user the chat has never seen (for example to
    /// start a conversation with someone who has not used the chat yet). The default,
    /// [`NoUserDirectory`], knows nobody.
    pub fn user_directory(mut self, directory: Arc<dyn UserDirectory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// The module.
    pub fn build(self) -> ChatModule {
        let options = self.options.unwrap_or_default();
        let rate_limiter = self.rate_limiter.unwrap_or_else(|| Arc::new(GovernorRateLimiter::new(options.rate_limits)));
        let core = Arc::new(Core {
            repos: self.repositories,
            sender: self.sender.unwrap_or_else(|| Arc::new(NoopChatMessageSender)),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            limiter: rate_limiter,
            manager: MessagingManager::new(options.policy()),
            settings_cache: TenantSettingsCache::new(options.tenant_settings_ttl),
            options,
            directory: self.directory.unwrap_or_else(|| Arc::new(NoUserDirectory)),
        });
        ChatModule {
            conversations: ConversationAppService::new(core.clone()),
            groups: GroupAppService::new(core.clone()),
            contacts: ContactAppService::new(core.clone()),
            settings: SettingsAppService::new(core.clone()),
            users: ChatUserAppService::new(core.clone()),
            sync: SyncAppService::new(core.clone()),
            attachments: AttachmentAppService::new(core.clone(), self.blobs),
            presence: PresenceAppService::new(
                core.clone(),
                self.presence.unwrap_or_else(|| Arc::new(InMemoryPresenceTracker::new())),
            ),
            core,
        }
    }
}
