//! Presence: who is connected right now, and when they were last seen.
//!
//! The [`PresenceTracker`] port counts a user's live connections (one per socket) and reports the
//! *transitions*: the first connection brings the user online, the last one to close takes them offline.
//! [`PresenceAppService`](crate::PresenceAppService) turns transitions into ephemeral `presence` events for
//! the user's contacts; it never looks at how the tracker keeps its counts.
//!
//! [`InMemoryPresenceTracker`] serves one node. A cluster needs a tracker shared by every node (for
//! example a Redis set of connection ids per user, each with an expiry refreshed while the socket lives, so
//! that a crashed node's connections age out, and a periodic [sweep](PresenceTracker::sweep_expired) that
//! reports the users this took offline); it plugs in through
//! [`ChatModuleBuilder::presence_tracker`](crate::ChatModuleBuilder::presence_tracker) without any change
//! to the service.

mod memory;

use async_trait::async_trait;
use chat_domain::{RepositoryError, TenantId, UserId};
use chrono::{DateTime, Utc};

use crate::error::AppError;

pub use memory::InMemoryPresenceTracker;

/// One live connection of a user (a Socket.IO socket id, or any id the host gives it). Opaque to the
/// application; it only has to be unique among the user's live connections, so that closing the same
/// connection twice, or closing one that was never opened, changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(String);

impl ConnectionId {
    /// Wraps the host's id for a connection.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The host's id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What opening or closing one connection did to the user's presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceChange {
    /// The user was already online (another connection is open), or still is.
    Unchanged,
    /// The user's first connection opened.
    Online,
    /// The user's last connection closed at `last_seen_at`.
    Offline {
        /// When the last connection closed.
        last_seen_at: DateTime<Utc>,
    },
}

/// One user's presence as the tracker knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceStatus {
    /// The user.
    pub user: UserId,
    /// Whether at least one connection is open.
    pub online: bool,
    /// When the user's last connection closed, while they are offline; `None` while online, or when the
    /// tracker has not seen them since it started (or has forgotten them).
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// A user whose connections all expired without being closed (the node that held them stopped renewing
/// them: it crashed or was cut off), found by [`PresenceTracker::sweep_expired`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiredPresence {
    /// The user's tenant.
    pub tenant: TenantId,
    /// The user, now offline.
    pub user: UserId,
    /// When the user was last known connected (their connections' last renewal).
    pub last_seen_at: DateTime<Utc>,
}

/// Why the tracker could not answer (a cluster tracker's store is unreachable, …).
#[derive(Debug, thiserror::Error)]
#[error("presence tracking failed: {0}")]
pub struct PresenceError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl PresenceError {
    /// Wraps any error.
    pub fn new<E: Into<Box<dyn std::error::Error + Send + Sync>>>(error: E) -> Self {
        Self(error.into())
    }
}

impl From<PresenceError> for AppError {
    fn from(error: PresenceError) -> Self {
        AppError::Internal { source: RepositoryError::Storage(error.0) }
    }
}

/// Counts each user's live connections and reports when a user comes online or goes offline.
///
/// Every call is scoped by tenant. Implementations must make `connect` and `disconnect` of one user
/// linearizable (each sees the other's effect), and both idempotent per [`ConnectionId`]: opening a
/// connection twice counts it once, closing an unknown one is [`PresenceChange::Unchanged`].
#[async_trait]
pub trait PresenceTracker: Send + Sync {
    /// Records that `connection` of `user` opened at `at`; [`PresenceChange::Online`] if it is the user's
    /// only open connection.
    async fn connect(
        &self,
        tenant: TenantId,
        user: UserId,
        connection: &ConnectionId,
        at: DateTime<Utc>,
    ) -> Result<PresenceChange, PresenceError>;

    /// Records that `connection` of `user` closed at `at`; [`PresenceChange::Offline`] if it was the
    /// user's last open connection.
    async fn disconnect(
        &self,
        tenant: TenantId,
        user: UserId,
        connection: &ConnectionId,
        at: DateTime<Utc>,
    ) -> Result<PresenceChange, PresenceError>;

    /// The presence of each of `users`, in the same order (an unknown user is offline, never seen).
    async fn statuses(&self, tenant: TenantId, users: &[UserId]) -> Result<Vec<PresenceStatus>, PresenceError>;

    /// Finds the users whose connections all expired without being closed (their node died) and returns
    /// them, so that their going offline is announced like a last close. Across every node sharing the
    /// tracker, each such transition is returned by exactly one call, however many nodes sweep at once.
    /// A tracker whose connections cannot outlive the process that opened them (the in-memory one)
    /// finds none.
    async fn sweep_expired(&self) -> Result<Vec<ExpiredPresence>, PresenceError>;

    /// How often hosts should call [`sweep_expired`](Self::sweep_expired): `None` (the default) when
    /// connections never expire, so there is nothing to sweep.
    fn sweep_interval(&self) -> Option<std::time::Duration> {
        None
    }
}
