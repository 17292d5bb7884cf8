//! The repository contract suite: one set of cases that every store must pass (in-memory, SQLite,
//! PostgreSQL, or an application's own), so that they all behave the same.
//!
//! Each case is a `pub async fn case(repos: &Repositories)` in [`cases`] that expects a fresh, empty store.
//! Besides the ports taken one by one, scenario cases drive the
//! [`MessagingManager`](crate::messaging::MessagingManager) through units of work, so the domain rules are
//! proven on every store and not only in memory.
//!
//! A store's crate runs the whole suite with one line, given a factory (a closure or `async fn` whose
//! future yields [`Repositories`](crate::Repositories), `Option<Repositories>` or [`ContractSetup`]):
//!
//! ```no_run
//! use std::sync::Arc;
//! use chat_domain::Repositories;
//! use chat_domain::memory::InMemoryChatStore;
//!
//! chat_domain::repository_contract_tests!(in_memory => || async {
//!     Repositories::from_store(Arc::new(InMemoryChatStore::new()))
//! });
//! # fn main() {}
//! ```
//!
//! A factory that yields `None` or [`ContractSetup::Skip`] (for example when no PostgreSQL URL is set)
//! makes every case pass after printing why it was skipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod cases;
pub mod fixtures;
mod harness;

pub use harness::{ContractSetup, run_contract_case};
