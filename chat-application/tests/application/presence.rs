//! Presence: sockets opening and closing become `presence` events for the user's contacts only.

use std::collections::HashSet;
use std::sync::Arc;

use chat_application::presence::{ExpiredPresence, PresenceChange, PresenceError, PresenceStatus};
use chat_application::realtime::RealtimeEvent;
use chat_application::{ConnectionId, InMemoryPresenceTracker, PresenceTracker};
use chat_domain::{TenantId, UserId};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::support::{app, app_over, app_with, code, tenant};

fn socket(id: &str) -> ConnectionId {
    ConnectionId::new(id)
}

fn recipients(event: &RealtimeEvent) -> HashSet<UserId> {
    event.users().collect()
}

#[tokio::test]
async fn the_first_socket_announces_online_and_the_last_one_offline_with_the_last_seen_time() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    app.send(&alice, &bob, "hi").await;
    app.sender.clear();

    app.chat.presence().connected(&bob, &socket("b1")).await.unwrap();
    let events = app.sender.take();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].name, "presence");
    assert!(events[0].is_ephemeral(), "presence is never stored");
    assert_eq!(recipients(&events[0]), HashSet::from([alice.user]));
    assert_eq!(*events[0].data, json!({ "userId": bob.user, "online": true }));

    // More sockets of the same user, and closing all but one, announce nothing.
    app.chat.presence().connected(&bob, &socket("b2")).await.unwrap();
    app.chat.presence().connected(&bob, &socket("b3")).await.unwrap();
    app.chat.presence().disconnected(&bob, &socket("b1")).await.unwrap();
    app.chat.presence().disconnected(&bob, &socket("b3")).await.unwrap();
    assert!(app.sender.take().is_empty());

    app.tick();
    let left_at = app.clock_now();
    app.chat.presence().disconnected(&bob, &socket("b2")).await.unwrap();
    let events = app.sender.take();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(*events[0].data, json!({ "userId": bob.user, "online": false, "lastSeenAt": left_at }));
    assert_eq!(recipients(&events[0]), HashSet::from([alice.user]));

    // Closing again (a repeated disconnect) changes nothing.
    app.chat.presence().disconnected(&bob, &socket("b2")).await.unwrap();
    assert!(app.sender.take().is_empty());
    let seen = app.chat.presence().get_presence(&alice, bob.user.as_uuid()).await.unwrap();
    assert!(!seen.online);
    assert_eq!(seen.last_seen_at, Some(left_at));
}

#[tokio::test]
async fn direct_peers_and_group_co_members_receive_presence_but_strangers_and_other_tenants_do_not() {
    let app = app();
    let (alice, peer, mate, owner) =
        (app.user("alice").await, app.user("peer").await, app.user("mate").await, app.user("owner").await);
    let stranger = app.user("stranger").await;
    let outsider = app.user_in(tenant(), "outsider").await;
    app.send(&peer, &alice, "hi").await;
    app.group(&owner, &[&alice, &mate]).await;
    // The stranger talks with the peer, not with Alice; the outsider (another tenant) talks with no one here.
    app.send(&stranger, &peer, "hello").await;
    app.sender.clear();

    app.chat.presence().connected(&alice, &socket("a1")).await.unwrap();
    let events = app.sender.named("presence");
    assert_eq!(events.len(), 1);
    assert_eq!(recipients(&events[0]), HashSet::from([peer.user, mate.user, owner.user]));
    assert_eq!(events[0].tenant, alice.tenant);

    // Who may read it follows the same rule; anyone else is told that no such user exists.
    assert!(app.chat.presence().get_presence(&mate, alice.user.as_uuid()).await.unwrap().online);
    assert!(app.chat.presence().get_presence(&alice, alice.user.as_uuid()).await.unwrap().online);
    assert_eq!(code(app.chat.presence().get_presence(&stranger, alice.user.as_uuid()).await), "chat.not_found");
    assert_eq!(code(app.chat.presence().get_presence(&outsider, alice.user.as_uuid()).await), "chat.not_found");
    let all = app.chat.presence().get_contacts_presence(&alice).await.unwrap();
    let users: HashSet<_> = all.iter().map(|p| p.user_id).collect();
    assert_eq!(users, HashSet::from([peer.user.as_uuid(), mate.user.as_uuid(), owner.user.as_uuid()]));
    assert!(all.iter().all(|p| !p.online && p.last_seen_at.is_none()));
}

#[tokio::test]
async fn a_user_of_another_tenant_with_the_same_id_is_tracked_apart() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    app.send(&alice, &bob, "hi").await;
    // Bob's id in another tenant: a different person who shares nothing with Alice.
    let twin = chat_application::CallerContext::new(tenant(), bob.user).with_names("twin", None, None);
    app.chat.users().sync_caller(&twin).await.unwrap();
    app.sender.clear();

    app.chat.presence().connected(&twin, &socket("t1")).await.unwrap();
    assert!(app.sender.named("presence").is_empty(), "the twin has no contacts");
    assert!(!app.chat.presence().get_presence(&alice, bob.user.as_uuid()).await.unwrap().online);
}

#[tokio::test]
async fn connecting_returns_the_contacts_who_are_online_now() {
    let app = app();
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    app.send(&alice, &bob, "hi").await;
    app.send(&carol, &bob, "hi").await;
    app.chat.presence().connected(&alice, &socket("a1")).await.unwrap();
    app.chat.presence().connected(&carol, &socket("c1")).await.unwrap();
    app.chat.presence().disconnected(&carol, &socket("c1")).await.unwrap();

    let online = app.chat.presence().connected(&bob, &socket("b1")).await.unwrap();
    assert_eq!(online.len(), 1, "{online:?}");
    assert_eq!((online[0].user_id, online[0].online), (alice.user.as_uuid(), true));
}

#[tokio::test]
async fn a_quick_reconnect_ends_online() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    app.send(&alice, &bob, "hi").await;
    app.chat.presence().connected(&bob, &socket("b1")).await.unwrap();
    app.sender.clear();

    app.chat.presence().disconnected(&bob, &socket("b1")).await.unwrap();
    app.chat.presence().connected(&bob, &socket("b2")).await.unwrap();
    let last = app.sender.named("presence").pop().unwrap();
    assert_eq!(last.data["online"], true);
    assert!(app.chat.presence().get_presence(&alice, bob.user.as_uuid()).await.unwrap().online);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_connects_and_disconnects_leave_the_last_announcement_equal_to_the_state() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    app.send(&alice, &bob, "hi").await;
    let presence = app.chat.presence().clone();
    presence.connected(&bob, &socket("s0")).await.unwrap();
    // Each round closes the previous socket while the next one opens, concurrently.
    for round in 1..=40 {
        let (closing, opening) = (socket(&format!("s{}", round - 1)), socket(&format!("s{round}")));
        let (p1, p2, b1, b2) = (presence.clone(), presence.clone(), bob.clone(), bob.clone());
        let close = tokio::spawn(async move { p1.disconnected(&b1, &closing).await });
        let open = tokio::spawn(async move { p2.connected(&b2, &opening).await.map(|_| ()) });
        close.await.unwrap().unwrap();
        open.await.unwrap().unwrap();
        let last = app.sender.named("presence").pop().unwrap();
        assert_eq!(last.data["online"], true, "round {round}: Bob is connected");
    }
    presence.disconnected(&bob, &socket("s40")).await.unwrap();
    let last = app.sender.named("presence").pop().unwrap();
    assert_eq!(last.data["online"], false);
}

#[tokio::test]
async fn modules_sharing_a_tracker_count_a_users_sockets_across_them() {
    // Two nodes of a cluster: one store, one shared tracker, a sender each.
    let first = app();
    let tracker: Arc<dyn PresenceTracker> = Arc::new(InMemoryPresenceTracker::new());
    let first = app_over(first.repos.clone(), |b| {
        b.rate_limiter(Arc::new(chat_application::UnlimitedRateLimiter)).presence_tracker(tracker.clone())
    });
    let second = app_over(first.repos.clone(), |b| {
        b.rate_limiter(Arc::new(chat_application::UnlimitedRateLimiter)).presence_tracker(tracker.clone())
    });
    let (alice, bob) = (first.user("alice").await, first.user("bob").await);
    first.send(&alice, &bob, "hi").await;
    first.sender.clear();

    first.chat.presence().connected(&bob, &socket("node1-b")).await.unwrap();
    second.chat.presence().connected(&bob, &socket("node2-b")).await.unwrap();
    assert_eq!(first.sender.named("presence").len(), 1);
    assert!(second.sender.named("presence").is_empty(), "Bob was already online");
    first.chat.presence().disconnected(&bob, &socket("node1-b")).await.unwrap();
    assert_eq!(first.sender.named("presence").len(), 1, "Bob is still online on the other node");
    second.chat.presence().disconnected(&bob, &socket("node2-b")).await.unwrap();
    assert_eq!(second.sender.named("presence")[0].data["online"], false);
}

#[tokio::test]
async fn the_audience_is_capped() {
    use chat_application::MAX_PRESENCE_AUDIENCE;
    let app = app();
    let alice = app.user("alice").await;
    let mut groups = Vec::new();
    for g in 0..2 {
        let mut members = Vec::new();
        for i in 0..600 {
            members.push(app.user(&format!("u{g}-{i}")).await);
        }
        groups.push(members);
    }
    for members in &groups {
        let refs: Vec<_> = members.iter().collect();
        app.group(&alice, &refs).await;
    }
    app.sender.clear();
    app.chat.presence().connected(&alice, &socket("a1")).await.unwrap();
    let events = app.sender.named("presence");
    assert_eq!(events[0].recipients.len(), MAX_PRESENCE_AUDIENCE);
    assert!(!recipients(&events[0]).contains(&alice.user));
}

/// A connection whose node died: whose, which, and its last renewal.
type Expiry = (TenantId, UserId, ConnectionId, DateTime<Utc>);

/// A tracker whose connections can expire: the in-memory one, plus users marked as expired (their node
/// died), handed out once by the sweep as a shared tracker does.
struct ExpiringTracker {
    inner: InMemoryPresenceTracker,
    expired: std::sync::Mutex<Vec<Expiry>>,
}

#[async_trait::async_trait]
impl PresenceTracker for ExpiringTracker {
    async fn connect(
        &self,
        tenant: TenantId,
        user: UserId,
        connection: &ConnectionId,
        at: DateTime<Utc>,
    ) -> Result<PresenceChange, PresenceError> {
        self.inner.connect(tenant, user, connection, at).await
    }

    async fn disconnect(
        &self,
        tenant: TenantId,
        user: UserId,
        connection: &ConnectionId,
        at: DateTime<Utc>,
    ) -> Result<PresenceChange, PresenceError> {
        self.inner.disconnect(tenant, user, connection, at).await
    }

    async fn statuses(&self, tenant: TenantId, users: &[UserId]) -> Result<Vec<PresenceStatus>, PresenceError> {
        self.inner.statuses(tenant, users).await
    }

    async fn sweep_expired(&self) -> Result<Vec<ExpiredPresence>, PresenceError> {
        let expired = std::mem::take(&mut *self.expired.lock().unwrap());
        let mut gone = Vec::new();
        for (tenant, user, connection, at) in expired {
            if let PresenceChange::Offline { last_seen_at } =
                self.inner.disconnect(tenant, user, &connection, at).await?
            {
                gone.push(ExpiredPresence { tenant, user, last_seen_at });
            }
        }
        Ok(gone)
    }

    fn sweep_interval(&self) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_secs(1))
    }
}

#[tokio::test]
async fn users_whose_connections_expired_are_announced_offline_once_by_the_sweep() {
    let tracker = Arc::new(ExpiringTracker { inner: InMemoryPresenceTracker::new(), expired: Default::default() });
    let app = app_with(|b| {
        b.rate_limiter(Arc::new(chat_application::UnlimitedRateLimiter)).presence_tracker(tracker.clone())
    });
    assert_eq!(app.chat.presence().sweep_interval(), Some(std::time::Duration::from_secs(1)));
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    app.send(&alice, &bob, "hi").await;
    app.chat.presence().connected(&bob, &socket("b1")).await.unwrap();
    app.sender.clear();

    // Nothing expired: the sweep announces nothing.
    assert_eq!(app.chat.presence().sweep_expired().await.unwrap(), 0);
    assert!(app.sender.take().is_empty());

    // Bob's node dies; the sweep finds his connection expired and tells his contacts, as a close would.
    let last_renewal = app.clock_now();
    tracker.expired.lock().unwrap().push((bob.tenant, bob.user, socket("b1"), last_renewal));
    assert_eq!(app.chat.presence().sweep_expired().await.unwrap(), 1);
    let events = app.sender.take();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].name, "presence");
    assert_eq!(*events[0].data, json!({ "userId": bob.user, "online": false, "lastSeenAt": last_renewal }));
    assert_eq!(recipients(&events[0]), HashSet::from([alice.user]));
    assert_eq!(app.chat.presence().sweep_expired().await.unwrap(), 0, "announced once");
    assert!(app.sender.take().is_empty());
}

#[tokio::test]
async fn the_in_memory_tracker_has_nothing_to_sweep() {
    let app = app();
    let bob = app.user("bob").await;
    app.chat.presence().connected(&bob, &socket("b1")).await.unwrap();
    assert_eq!(app.chat.presence().sweep_interval(), None);
    assert_eq!(app.chat.presence().sweep_expired().await.unwrap(), 0);
    assert!(app.chat.presence().get_presence(&bob, bob.user.as_uuid()).await.unwrap().online);
}
