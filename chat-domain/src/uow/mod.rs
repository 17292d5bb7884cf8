//! The write path: units of work that change several aggregates all-or-nothing.
//!
//! A use case hands the store a closure that reads and writes through a [`Transaction`]. The store runs it
//! inside one database transaction (possibly batched with other units of work: group commit) and returns the
//! closure's value together with the events it recorded, only after the commit succeeded. See
//! `docs/adr/0001-write-path.md`.

mod order;
mod transaction;
mod unit_of_work;

pub use order::{CommitOrder, DeliveryTurn, PreviousPassed};

pub use transaction::Transaction;
pub use unit_of_work::{BoxFuture, Committed, UnitOfWork, Work, WorkOutput};
