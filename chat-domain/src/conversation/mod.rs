//! Conversations, as each member sees them: one `Conversation` per member side.

mod repository;
mod side;

pub use repository::{ConversationListQuery, ConversationRepository, MemberReceipt};
pub use side::{Conversation, ConversationKind, ConversationParts, LastMessage, ReceiptKind};
