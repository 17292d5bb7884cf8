use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoredEvent;
use crate::error::RepositoryError;
use crate::ids::{EventSeq, TenantId, UserId};

/// What part of a user's stream is kept: every event after `pruned_through` up to `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventWindow {
    /// Events at or before this position were pruned; a client behind it must resynchronise.
    pub pruned_through: EventSeq,
    /// The latest position.
    pub latest: EventSeq,
}

/// Reads users' event streams (events are written by units of work).
#[async_trait]
pub trait EventRepository: Send + Sync {
    /// A user's events after a position, oldest first.
    async fn after(
        &self,
        tenant: TenantId,
        user: UserId,
        after: EventSeq,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, RepositoryError>;
    /// What part of a user's stream is kept.
    async fn window(&self, tenant: TenantId, user: UserId) -> Result<EventWindow, RepositoryError>;
    /// Drops events recorded before `older_than`, remembering per user how far the stream was pruned.
    /// Returns how many were dropped.
    async fn prune(&self, older_than: DateTime<Utc>) -> Result<u64, RepositoryError>;
}
