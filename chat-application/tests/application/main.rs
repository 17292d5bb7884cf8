//! Application tests: every use case through the services, over the in-memory store and the recording
//! sender. One binary, one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod attachments;
mod contacts;
mod failures;
mod groups;
mod messaging;
mod permissions;
mod presence;
mod rate_limits;
mod settings;
mod support;
mod sync;
mod tenancy;
mod unread;
mod users;
