//! The set of ports a chat store provides, handed around as one value.

use std::sync::Arc;

use crate::attachment::AttachmentRepository;
use crate::conversation::ConversationRepository;
use crate::event::EventRepository;
use crate::group::ChatGroupRepository;
use crate::message::MessageRepository;
use crate::settings::SettingsRepository;
use crate::uow::UnitOfWork;
use crate::user::ChatUserRepository;

/// Every repository and the unit of work of one store. Hosts build it from their choice of store (in-memory,
/// SQLite, PostgreSQL, or their own), and the application services take it.
#[derive(Clone)]
pub struct Repositories {
    /// Users.
    pub users: Arc<dyn ChatUserRepository>,
    /// Conversation sides.
    pub conversations: Arc<dyn ConversationRepository>,
    /// Messages and reactions.
    pub messages: Arc<dyn MessageRepository>,
    /// Groups.
    pub groups: Arc<dyn ChatGroupRepository>,
    /// Settings.
    pub settings: Arc<dyn SettingsRepository>,
    /// Event streams.
    pub events: Arc<dyn EventRepository>,
    /// Attachments' metadata.
    pub attachments: Arc<dyn AttachmentRepository>,
    /// The write path.
    pub uow: Arc<dyn UnitOfWork>,
}

/// A store that provides every port (the usual case): `Repositories::from_store(Arc::new(store))`.
pub trait ChatStore:
    ChatUserRepository
    + ConversationRepository
    + MessageRepository
    + ChatGroupRepository
    + SettingsRepository
    + EventRepository
    + AttachmentRepository
    + UnitOfWork
    + 'static
{
}

impl<T> ChatStore for T where
    T: ChatUserRepository
        + ConversationRepository
        + MessageRepository
        + ChatGroupRepository
        + SettingsRepository
        + EventRepository
        + AttachmentRepository
        + UnitOfWork
        + 'static
{
}

impl Repositories {
    /// Every port from one store.
    pub fn from_store<S: ChatStore>(store: Arc<S>) -> Self {
        Self {
            users: store.clone(),
            conversations: store.clone(),
            messages: store.clone(),
            groups: store.clone(),
            settings: store.clone(),
            events: store.clone(),
            attachments: store.clone(),
            uow: store,
        }
    }
}

impl std::fmt::Debug for Repositories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repositories").finish_non_exhaustive()
    }
}
