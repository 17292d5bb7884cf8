//! The application services (after ABP's `*AppService`s): one per area, each a cheap clone sharing the
//! module's state.

mod attachment;
mod contact;
mod conversation;
mod group;
mod presence;
mod settings;
mod sync;
mod user;

pub use attachment::{AttachmentAppService, UPLOAD_FIELD};
pub use contact::{ContactAppService, MAX_FILTER};
pub use conversation::{ConversationAppService, MAX_DELIVERED_IDS, MAX_SEARCH_TEXT};
pub use group::GroupAppService;
pub use presence::{MAX_PRESENCE_AUDIENCE, MAX_PRESENCE_CONVERSATIONS, PresenceAppService};
pub use settings::SettingsAppService;
pub use sync::SyncAppService;
pub use user::ChatUserAppService;
