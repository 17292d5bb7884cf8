//! Messages: the `Message` aggregate, its value types, reactions, and each user's view of a message.

mod aggregate;
mod reaction;
mod repository;
mod values;

pub use aggregate::{AttachmentRef, DeleteScope, Message, MessageParts, NewMessage};
pub use reaction::{Emoji, Reaction};
pub use repository::{MessagePageQuery, MessageRepository, MessageSearchQuery, PageOrder};
pub use values::{ClientMessageId, MessageText};
