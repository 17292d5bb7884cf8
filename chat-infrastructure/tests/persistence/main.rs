//! Persistence tests: the repository contract suite on SQLite (memory and file) and PostgreSQL, plus the
//! store's own guarantees (atomicity, group commit isolation, cross-process seqs, search, integrity).
//!
//! PostgreSQL runs when `CHAT_TEST_DATABASE_URL` is set (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! each store gets a fresh schema. Without it the PostgreSQL cases print that they are skipped and pass.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod contract;
mod outbox;
mod store;
mod support;
