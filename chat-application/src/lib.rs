//! # chat-application
//!
//! The application layer of the chat module, after ABP's Volo.Chat application services: use cases over
//! the domain of `chat-domain`, spoken in DTOs, with permission checks, input validation, rate limits and
//! real-time delivery of what changed. Hosts (REST, Socket.IO, embedding code) call these services and
//! never touch repositories or aggregates.
//!
//! Layout:
//! - [`ChatModule`] (`module`): the composition root, built from a store's [`Repositories`], a
//!   [`RealTimeChatMessageSender`], a [`Clock`](chat_domain::clock::Clock), a [`RateLimiter`] and
//!   [`ChatOptions`];
//! - `services`: [`ConversationAppService`], [`GroupAppService`], [`ContactAppService`],
//!   [`SettingsAppService`], [`ChatUserAppService`] (user sync), [`SyncAppService`] (catch-up),
//!   [`AttachmentAppService`] (uploads and downloads) and [`PresenceAppService`] (who is online);
//! - [`presence`]: the [`PresenceTracker`] port counting users' open connections, with the single-node
//!   [`InMemoryPresenceTracker`];
//! - [`blob`]: the [`BlobStore`] port for attachments' bytes, streamed as [`ByteStream`]s; feature
//!   `testing` adds `blob::InMemoryBlobStore`; [`sniff`]: content type detection;
//! - [`users`]: the [`UserDirectory`] port, through which the chat learns about the embedding
//!   application's users it has never seen (default [`NoUserDirectory`]);
//! - [`dto`]: inputs and outputs (camelCase JSON; feature `openapi` derives their schemas);
//! - [`realtime`]: the sender port, the events it carries and the one mapping from domain events to
//!   client payloads; feature `testing` adds [`RecordingChatMessageSender`](realtime::RecordingChatMessageSender);
//! - [`AppError`] with stable codes (`chat.not_found`, `chat.forbidden`, …), [`CallerContext`].
//!
//! Every method takes the [`CallerContext`] explicitly. Changes run in one unit of work; their events are
//! handed to the sender only after it commits, and a delivery failure never fails the call (clients catch
//! up with [`SyncAppService::sync`]).
//!
//! ## The module in an application's unit tests
//!
//! No database and no socket are needed: build the module over `chat-domain`'s `InMemoryChatStore`
//! (feature `memory`) with a [`RecordingChatMessageSender`](realtime::RecordingChatMessageSender) (feature
//! `testing` of this crate, for dev-dependencies), call the services as the application's code would, and
//! check both what was stored and what would have reached users in real time:
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # {
//! use std::sync::Arc;
//! use chat_application::dto::{GetMessagesInput, SendMessageInput};
//! use chat_application::realtime::RecordingChatMessageSender;
//! use chat_application::{CallerContext, ChatModule};
//! use chat_domain::memory::InMemoryChatStore;
//! use chat_domain::{ConversationId, Repositories, TenantId, UserId};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let sender = Arc::new(RecordingChatMessageSender::new());
//! let chat = ChatModule::builder(Repositories::from_store(Arc::new(InMemoryChatStore::new())))
//!     .sender(sender.clone())
//!     .build();
//!
//! // Callers as the application's authentication would describe them.
//! let alice = CallerContext::new(TenantId::HOST, UserId::from_uuid(uuid::Uuid::new_v4())).with_names("alice", None, None);
//! let bob = CallerContext::new(TenantId::HOST, UserId::from_uuid(uuid::Uuid::new_v4())).with_names("bob", None, None);
//! chat.users().sync_caller(&alice).await?;
//! chat.users().sync_caller(&bob).await?;
//!
//! let input = SendMessageInput {
//!     target_user_id: Some(bob.user.as_uuid()),
//!     text: "hello".into(),
//!     ..Default::default()
//! };
//! let message = chat.conversations().send_message(&alice, input).await?;
//! assert_eq!(message.seq, 1);
//!
//! // Stored: Bob reads it in the conversation's history.
//! let conversation = ConversationId::from_uuid(message.conversation_id);
//! let history = chat.conversations().get_messages(&bob, conversation, GetMessagesInput::default()).await?;
//! assert_eq!(history.items.len(), 1);
//! assert_eq!((history.items[0].id, history.items[0].text.as_deref()), (message.id, Some("hello")));
//!
//! // Delivered in real time, once committed: both sides get `message.created` in their event stream.
//! assert_eq!(sender.names(), ["message.created"]);
//! let to_bob = sender.envelopes_for(bob.user);
//! assert_eq!(to_bob.len(), 1);
//! assert_eq!(to_bob[0].kind, "message.created");
//! assert_eq!(to_bob[0].data["text"], "hello");
//! assert!(to_bob[0].event_seq.is_some(), "stored events carry their position in Bob's stream");
//! assert_eq!(sender.envelopes_for(alice.user).len(), 1, "the sender's other devices are told too");
//! # Ok::<(), chat_application::AppError>(())
//! # }).unwrap();
//! # }
//! ```

pub mod blob;
mod caller;
mod core;
pub mod dto;
mod error;
mod mapping;
mod module;
mod options;
pub mod pagination;
pub mod presence;
mod rate_limit;
pub mod realtime;
mod services;
pub mod sniff;
mod tenant_settings;
pub mod users;

pub use blob::{BlobError, BlobKey, BlobStore, ByteStream};
pub use caller::CallerContext;
pub use chat_domain::Repositories;
pub use error::{AppError, FieldError};
pub use module::{ChatModule, ChatModuleBuilder};
pub use options::{ChatOptions, DEFAULT_TENANT_SETTINGS_TTL, RateLimit, RateLimitOptions};
pub use presence::{ConnectionId, InMemoryPresenceTracker, PresenceTracker};
pub use rate_limit::{GovernorRateLimiter, RateLimitKind, RateLimiter, UnlimitedRateLimiter};
pub use realtime::{NoopChatMessageSender, RealTimeChatMessageSender, RealtimeEvent, SenderError};
pub use services::{
    AttachmentAppService, ChatUserAppService, ContactAppService, ConversationAppService, GroupAppService,
    MAX_DELIVERED_IDS, MAX_FILTER, MAX_PRESENCE_AUDIENCE, MAX_PRESENCE_CONVERSATIONS, MAX_SEARCH_TEXT,
    PresenceAppService, SettingsAppService, SyncAppService, UPLOAD_FIELD,
};
pub use users::{DirectoryUser, NoUserDirectory, UserDirectory};
