//! [`PresenceSweeper`]: runs the presence sweep periodically on a node.

use std::time::Duration;

use chat_application::PresenceAppService;

/// Calls [`PresenceAppService::sweep_expired`] every [`PresenceAppService::sweep_interval`], so that
/// users whose node died are announced offline. Every node of a cluster runs one (the tracker makes sure
/// each user is announced once); the task stops when the sweeper is dropped.
#[derive(Debug)]
pub struct PresenceSweeper(tokio::task::JoinHandle<()>);

impl PresenceSweeper {
    /// Starts sweeping, or returns `None` when the module's tracker has nothing to sweep (one node). Must
    /// be called from within a Tokio runtime.
    pub fn start(presence: PresenceAppService) -> Option<Self> {
        let interval = presence.sweep_interval()?.max(Duration::from_millis(10));
        Some(Self(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match presence.sweep_expired().await {
                    Ok(0) => {}
                    Ok(count) => tracing::info!(count, "announced users whose connections expired as offline"),
                    Err(error) => tracing::warn!(%error, "presence sweep failed; the next one retries"),
                }
            }
        })))
    }
}

impl Drop for PresenceSweeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chat_application::dto::SendMessageInput;
    use chat_application::realtime::RecordingChatMessageSender;
    use chat_application::{CallerContext, ChatModule, ConnectionId, UnlimitedRateLimiter};
    use chat_domain::memory::InMemoryChatStore;
    use chat_domain::{Repositories, TenantId, UserId};
    use uuid::Uuid;

    use super::*;
    use crate::presence::{RedisPresenceOptions, RedisPresenceTracker};

    /// A node: a module over the shared store, with its own Redis tracker (short lifetimes), delivering
    /// into `sockets`. All nodes share one recorder: in a cluster the event bus carries every node's
    /// events to the sockets on every node, so a contact hears an announcement whichever node makes it.
    fn node(url: &str, prefix: &str, repos: &Repositories, sockets: &Arc<RecordingChatMessageSender>) -> ChatModule {
        let options = RedisPresenceOptions {
            prefix: prefix.to_owned(),
            connection_ttl: Duration::from_millis(600),
            refresh_interval: Duration::from_millis(100),
            ..RedisPresenceOptions::default()
        };
        let tracker = RedisPresenceTracker::open(url, options).unwrap_or_else(|e| panic!("{e}"));
        ChatModule::builder(repos.clone())
            .sender(sockets.clone())
            .rate_limiter(Arc::new(UnlimitedRateLimiter))
            .presence_tracker(Arc::new(tracker))
            .build()
    }

    #[tokio::test]
    async fn a_surviving_node_announces_the_users_of_a_dead_node_offline_once() {
        let Ok(url) = std::env::var("CHAT_TEST_REDIS_URL") else {
            println!("skipped: set CHAT_TEST_REDIS_URL=redis://127.0.0.1:6379 to run the presence sweep test");
            return;
        };
        let prefix = format!("chat-test-{}", Uuid::new_v4().simple());
        let repos = Repositories::from_store(Arc::new(InMemoryChatStore::new()));
        let sockets = Arc::new(RecordingChatMessageSender::new());
        let a = node(&url, &prefix, &repos, &sockets);
        let b = node(&url, &prefix, &repos, &sockets);
        let c = node(&url, &prefix, &repos, &sockets);
        let caller = |name: &str| {
            CallerContext::new(TenantId::HOST, UserId::from_uuid(Uuid::new_v4())).with_names(name, None, None)
        };
        let (alice, bob) = (caller("alice"), caller("bob"));
        b.users().sync_caller(&alice).await.unwrap();
        b.users().sync_caller(&bob).await.unwrap();
        let hi = SendMessageInput { target_user_id: Some(bob.user.as_uuid()), text: "hi".into(), ..Default::default() };
        b.conversations().send_message(&alice, hi).await.unwrap();

        // Bob is connected to node A, Alice to node B; both survivors sweep, and either may be the one
        // that announces Bob offline.
        a.presence().connected(&bob, &ConnectionId::new("a-bob")).await.unwrap();
        b.presence().connected(&alice, &ConnectionId::new("b-alice")).await.unwrap();
        let sweepers = [PresenceSweeper::start(b.presence().clone()), PresenceSweeper::start(c.presence().clone())];
        assert!(sweepers.iter().all(Option::is_some), "a Redis tracker is swept");
        sockets.clear();

        // Node A dies without closing Bob's socket: its renewals stop.
        drop(a);
        let offline = |e: &chat_application::RealtimeEvent| e.name == "presence" && e.data["online"] == false;
        let announced = sockets.wait_for(Duration::from_secs(10), offline).await;
        let event = announced.unwrap_or_else(|| panic!("no offline presence within 10 s: {:?}", sockets.names()));
        assert_eq!(event.data["userId"], serde_json::json!(bob.user));
        assert!(event.data["lastSeenAt"].is_string(), "{}", event.data);
        assert_eq!(event.users().collect::<Vec<_>>(), [alice.user], "to Bob's contacts");

        // Exactly once across the sweeping nodes: one more sweep on each finds nothing, and the shared
        // recorder holds a single presence event.
        let quiet = b.presence().sweep_expired().await.unwrap() + c.presence().sweep_expired().await.unwrap();
        assert_eq!(quiet, 0);
        assert_eq!(sockets.named("presence").len(), 1, "{:?}", sockets.names());
        let seen = b.presence().get_presence(&alice, bob.user.as_uuid()).await.unwrap();
        assert!(!seen.online);
    }
}
