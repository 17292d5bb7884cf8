//! In-memory implementations of every repository port and of the unit of work.
//!
//! [`InMemoryChatStore`] is the reference store: applications swap it in for their tests, and the
//! repository contract suite (feature `testing`) holds every other store to the behaviour it shows.
//!
//! Layout: `state` is the whole store as one persistent value (cheap to snapshot), `queries` the reads
//! over it, `transaction` the writes a unit of work makes, `repositories` the read ports and single-row
//! writes, and `store` the store itself with its unit of work.
//!
//! ```
//! use std::sync::Arc;
//! use chat_domain::Repositories;
//! use chat_domain::memory::InMemoryChatStore;
//!
//! let repos = Repositories::from_store(Arc::new(InMemoryChatStore::new()));
//! # let _ = repos;
//! ```

mod queries;
mod repositories;
mod state;
mod store;
mod transaction;

pub use store::InMemoryChatStore;
