//! The single-node [`PresenceTracker`]: connection sets and last-seen times in this process's memory.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use chat_domain::{TenantId, UserId};
use chrono::{DateTime, Utc};

use super::{ConnectionId, ExpiredPresence, PresenceChange, PresenceError, PresenceStatus, PresenceTracker};

/// Keeps each user's open connections and last-seen time in memory, for one node.
///
/// A user counts as online while the set of their open connections is not empty, so several sockets of
/// one user (tabs, devices) are one presence. Offline users' last-seen times are kept for at most
/// `max_remembered` users in all (online users are never forgotten); past that, the oldest quarter of
/// last-seen times is dropped and those users read as "never seen". Everything is lost on restart, and
/// with several nodes each node knows only its own sockets: a cluster needs a shared tracker.
#[derive(Debug)]
pub struct InMemoryPresenceTracker {
    users: Mutex<HashMap<(TenantId, UserId), Entry>>,
    max_remembered: usize,
}

#[derive(Debug, Default)]
struct Entry {
    connections: HashSet<ConnectionId>,
    last_seen_at: Option<DateTime<Utc>>,
}

impl InMemoryPresenceTracker {
    /// Users whose last-seen time is remembered by default.
    pub const DEFAULT_MAX_REMEMBERED: usize = 100_000;

    /// A tracker remembering up to [`Self::DEFAULT_MAX_REMEMBERED`] users.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_MAX_REMEMBERED)
    }

    /// A tracker remembering the last-seen time of up to `max_remembered` users (at least one).
    pub fn with_capacity(max_remembered: usize) -> Self {
        Self { users: Mutex::new(HashMap::new()), max_remembered: max_remembered.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(TenantId, UserId), Entry>> {
        // Every critical section leaves the map consistent, so a poisoned lock is still usable.
        self.users.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drops the oldest quarter of offline users' last-seen times when the map is over its bound.
    fn evict(&self, users: &mut HashMap<(TenantId, UserId), Entry>) {
        if users.len() <= self.max_remembered {
            return;
        }
        let mut seen: Vec<DateTime<Utc>> =
            users.values().filter(|e| e.connections.is_empty()).filter_map(|e| e.last_seen_at).collect();
        if seen.is_empty() {
            return;
        }
        let index = (seen.len() / 4).min(seen.len() - 1);
        let (_, cutoff, _) = seen.select_nth_unstable(index);
        let cutoff = *cutoff;
        users.retain(|_, e| !e.connections.is_empty() || e.last_seen_at.is_some_and(|at| at > cutoff));
    }
}

impl Default for InMemoryPresenceTracker {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl PresenceTracker for InMemoryPresenceTracker {
    async fn connect(
        &self,
        tenant: TenantId,
        user: UserId,
        connection: &ConnectionId,
        _at: DateTime<Utc>,
    ) -> Result<PresenceChange, PresenceError> {
        let mut users = self.lock();
        let entry = users.entry((tenant, user)).or_default();
        let was_online = !entry.connections.is_empty();
        entry.connections.insert(connection.clone());
        entry.last_seen_at = None;
        Ok(if was_online { PresenceChange::Unchanged } else { PresenceChange::Online })
    }

    async fn disconnect(
        &self,
        tenant: TenantId,
        user: UserId,
        connection: &ConnectionId,
        at: DateTime<Utc>,
    ) -> Result<PresenceChange, PresenceError> {
        let mut users = self.lock();
        let Some(entry) = users.get_mut(&(tenant, user)) else { return Ok(PresenceChange::Unchanged) };
        if !entry.connections.remove(connection) || !entry.connections.is_empty() {
            return Ok(PresenceChange::Unchanged);
        }
        entry.connections.shrink_to_fit();
        entry.last_seen_at = Some(at);
        self.evict(&mut users);
        Ok(PresenceChange::Offline { last_seen_at: at })
    }

    async fn statuses(&self, tenant: TenantId, users: &[UserId]) -> Result<Vec<PresenceStatus>, PresenceError> {
        let known = self.lock();
        Ok(users
            .iter()
            .map(|&user| match known.get(&(tenant, user)) {
                Some(entry) if !entry.connections.is_empty() => {
                    PresenceStatus { user, online: true, last_seen_at: None }
                }
                Some(entry) => PresenceStatus { user, online: false, last_seen_at: entry.last_seen_at },
                None => PresenceStatus { user, online: false, last_seen_at: None },
            })
            .collect())
    }

    /// Connections here live and die with this process and are always closed explicitly, so none ever
    /// expires.
    async fn sweep_expired(&self) -> Result<Vec<ExpiredPresence>, PresenceError> {
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn user() -> UserId {
        UserId::from_uuid(Uuid::new_v4())
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(seconds)
    }

    #[tokio::test]
    async fn the_first_connection_brings_a_user_online_and_the_last_takes_them_offline() {
        let tracker = InMemoryPresenceTracker::new();
        let (u, one, two) = (user(), ConnectionId::new("one"), ConnectionId::new("two"));
        let t = TenantId::HOST;
        assert_eq!(tracker.connect(t, u, &one, at(1)).await.ok(), Some(PresenceChange::Online));
        assert_eq!(tracker.connect(t, u, &two, at(2)).await.ok(), Some(PresenceChange::Unchanged));
        assert_eq!(tracker.disconnect(t, u, &one, at(3)).await.ok(), Some(PresenceChange::Unchanged));
        assert_eq!(
            tracker.disconnect(t, u, &two, at(4)).await.ok(),
            Some(PresenceChange::Offline { last_seen_at: at(4) })
        );
        let status = tracker.statuses(t, &[u]).await.ok();
        assert_eq!(status, Some(vec![PresenceStatus { user: u, online: false, last_seen_at: Some(at(4)) }]));
    }

    #[tokio::test]
    async fn closing_a_connection_twice_or_one_never_opened_changes_nothing() {
        let tracker = InMemoryPresenceTracker::new();
        let (u, one) = (user(), ConnectionId::new("one"));
        let t = TenantId::HOST;
        assert_eq!(tracker.disconnect(t, u, &one, at(1)).await.ok(), Some(PresenceChange::Unchanged));
        assert_eq!(tracker.connect(t, u, &one, at(2)).await.ok(), Some(PresenceChange::Online));
        assert_eq!(tracker.connect(t, u, &one, at(2)).await.ok(), Some(PresenceChange::Unchanged));
        assert!(matches!(tracker.disconnect(t, u, &one, at(3)).await, Ok(PresenceChange::Offline { .. })));
        assert_eq!(tracker.disconnect(t, u, &one, at(4)).await.ok(), Some(PresenceChange::Unchanged));
    }

    #[tokio::test]
    async fn tenants_are_tracked_apart() {
        let tracker = InMemoryPresenceTracker::new();
        let (u, one) = (user(), ConnectionId::new("one"));
        let other = TenantId::from_uuid(Uuid::new_v4());
        assert_eq!(tracker.connect(TenantId::HOST, u, &one, at(1)).await.ok(), Some(PresenceChange::Online));
        let status = tracker.statuses(other, &[u]).await.ok();
        assert_eq!(status, Some(vec![PresenceStatus { user: u, online: false, last_seen_at: None }]));
    }

    #[tokio::test]
    async fn the_oldest_last_seen_times_are_forgotten_past_the_bound_but_online_users_never() {
        let tracker = InMemoryPresenceTracker::with_capacity(4);
        let t = TenantId::HOST;
        let online = user();
        assert!(tracker.connect(t, online, &ConnectionId::new("live"), at(0)).await.is_ok());
        let offline: Vec<UserId> = (0..8).map(|_| user()).collect();
        for (i, u) in offline.iter().enumerate() {
            let c = ConnectionId::new(format!("c{i}"));
            let seconds = i64::try_from(i).unwrap_or_default() + 1;
            assert!(tracker.connect(t, *u, &c, at(seconds)).await.is_ok());
            assert!(tracker.disconnect(t, *u, &c, at(seconds)).await.is_ok());
        }
        let statuses = tracker.statuses(t, &offline).await.unwrap_or_default();
        assert!(statuses[0].last_seen_at.is_none(), "the oldest is forgotten");
        assert_eq!(statuses[7].last_seen_at, Some(at(8)), "the newest is kept");
        let status = tracker.statuses(t, &[online]).await.unwrap_or_default();
        assert!(status[0].online);
    }
}
