//! Tenant and user settings, after ABP's chat settings.

mod repository;
mod values;

pub use repository::SettingsRepository;
pub use values::{ConversationDeletion, MessageDeletion, TenantSettings, UserSettings};
