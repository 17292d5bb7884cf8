//! The `MessagingManager` domain service: the rules that span several aggregates.

mod commands;
mod manager;

pub use commands::{Actor, GroupChange, MessagingPolicy, SendMessage, SendTarget, Sent};
pub use manager::MessagingManager;
