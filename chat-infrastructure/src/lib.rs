//! # chat-infrastructure
//!
//! Infrastructure of the chat module: persistence on SQLite and PostgreSQL through sea-orm
//! ([`persistence::SeaOrmChatStore`], which implements every repository port of `chat-domain` and its
//! unit of work with group commit), the distributed event bus between cluster nodes ([`bus`]: in-process
//! and Redis pub/sub), the real-time senders ([`realtime`]: Socket.IO rooms, and the event-bus sender that
//! carries events to every node), presence shared by the nodes of a cluster ([`presence`]: Redis) and blob
//! storage.
//!
//! ```no_run
//! # async fn demo() -> Result<(), chat_domain::RepositoryError> {
//! use std::sync::Arc;
//! use chat_infrastructure::persistence::{DatabaseConfig, Durability, SeaOrmChatStore, StoreOptions};
//!
//! let config = DatabaseConfig { durability: Durability::Strict, ..DatabaseConfig::new("sqlite://chat.db?mode=rwc") };
//! let store = SeaOrmChatStore::connect(StoreOptions::from_config(config)).await?;
//! for (name, value) in store.effective_settings() {
//!     println!("{name} = {value}");
//! }
//! let repositories = chat_domain::Repositories::from_store(Arc::new(store));
//! # let _ = repositories; Ok(()) }
//! ```

pub mod blob;
pub mod bus;
pub mod persistence;
pub mod presence;
pub mod realtime;
