//! # chat-domain
//!
//! The domain layer of the chat module, after ABP's Volo.Chat: aggregates (`Message`, `ChatUser`,
//! `Conversation`, `ChatGroup`), value types, the [`MessagingManager`](messaging::MessagingManager) domain
//! service, repository ports and the unit of work that makes a send atomic. It does no I/O: storage lives in
//! `chat-infrastructure`, use cases in `chat-application`.
//!
//! Layout: one module per aggregate (`user`, `message`, `conversation`, `group`, `settings`, `attachment`,
//! `event`), each holding the type and its repository trait; `uow` holds the write path; `messaging` the
//! rules that span aggregates. Feature `memory` adds in-memory implementations of every port; feature
//! `testing` adds the repository contract suite that every implementation must pass.
//!
//! ```
//! use chat_domain::message::MessageText;
//! assert!(MessageText::parse("hello", MessageText::DEFAULT_MAX).is_ok());
//! assert!(MessageText::parse("   ", MessageText::DEFAULT_MAX).is_err());
//! ```

pub mod attachment;
pub mod clock;
pub mod conversation;
pub mod error;
pub mod event;
pub mod group;
pub mod ids;
pub mod message;
pub mod messaging;
pub mod repositories;
pub mod settings;
pub mod text;
pub mod uow;
pub mod user;

#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{DomainError, RepositoryError, WorkError};
pub use ids::{AttachmentId, ConversationId, EventSeq, MessageId, Seq, TenantId, UserId};
pub use repositories::{ChatStore, Repositories};
