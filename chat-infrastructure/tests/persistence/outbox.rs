//! The outbox relay on PostgreSQL: committed events that were not published are published once, with the
//! positions the commit gave them; published (marked) ones are not; claims keep two relays apart; rolled
//! back changes are never announced. Time is passed to each pass, so nothing here sleeps.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chat_application::realtime::{RecordingChatMessageSender, realtime_event};
use chat_application::{RealTimeChatMessageSender, RealtimeEvent};
use chat_domain::event::CommittedEvent;
use chat_domain::messaging::{MessagingManager, SendTarget};
use chat_domain::testing::fixtures::{commit, refused, seed_user, send, send_cmd};
use chat_domain::{DomainError, EventSeq, Repositories, TenantId, UserId, WorkError};
use chat_infrastructure::persistence::{SeaOrmChatStore, SeaOrmOutbox, StoreOptions};
use chat_infrastructure::realtime::{OutboxRelay, OutboxRelayOptions, OutboxStats, PublishedLog};
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use crate::support;

/// A store and an outbox on one fresh PostgreSQL schema, or `None` (printed) without the database.
async fn pg() -> Option<(String, SeaOrmChatStore, Repositories, SeaOrmOutbox)> {
    let Some(url) = support::postgres_url().await else {
        println!("skipped: {} is not set; the outbox relay needs PostgreSQL", support::PG_ENV);
        return None;
    };
    let store = SeaOrmChatStore::connect(StoreOptions::new(url.clone())).await.expect("PostgreSQL store");
    let repos = Repositories::from_store(Arc::new(store.clone()));
    let outbox = SeaOrmOutbox::connect(&url).await.expect("outbox");
    Some((url, store, repos, outbox))
}

fn options() -> OutboxRelayOptions {
    OutboxRelayOptions { grace: Duration::from_secs(2), ..OutboxRelayOptions::default() }
}

fn relay(outbox: &SeaOrmOutbox, publisher: Arc<dyn RealTimeChatMessageSender>) -> OutboxRelay {
    OutboxRelay::new(outbox.clone(), publisher, options(), Arc::new(OutboxStats::default()))
}

/// Sends `n` direct messages from `a` to `b` at `now`; returns the events each commit handed back.
async fn sends(
    repos: &Repositories,
    tenant: TenantId,
    a: UserId,
    b: UserId,
    n: usize,
    now: DateTime<Utc>,
) -> Vec<CommittedEvent> {
    let mut events = Vec::new();
    for i in 0..n {
        events.extend(send(repos, send_cmd(tenant, a, SendTarget::User(b), &format!("m{i}"), now)).await.events);
    }
    events
}

/// An event as a sender is given it, with recipients in a fixed order (so relayed and inline compare).
fn normalized(mut event: RealtimeEvent) -> RealtimeEvent {
    event.recipients.sort();
    event
}

fn expected(committed: &[CommittedEvent]) -> Vec<RealtimeEvent> {
    committed.iter().map(|c| normalized(realtime_event(c))).collect()
}

fn positions(events: &[RealtimeEvent]) -> BTreeSet<(UserId, EventSeq)> {
    events.iter().flat_map(|e| e.recipients.iter().filter_map(|(u, s)| s.map(|s| (*u, s)))).collect()
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// Waits (at most 10 s) until `n` markers are stored: the marker writer works in the background.
async fn wait_for_markers(store: &SeaOrmChatStore, n: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let row = store
            .connection()
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT count(*) AS n FROM outbox_published",
            ))
            .await
            .unwrap();
        if row.and_then(|r| r.try_get::<i64>("", "n").ok()) == Some(n) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the markers were not written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A first pass at `at`, which only sees the unpublished events (their grace period starts at that
/// sighting), and a second one when that grace period is over; returns how many the second published.
async fn sight_then_publish(relay: &OutboxRelay, at: DateTime<Utc>) -> usize {
    assert_eq!(relay.run_once(at).await.unwrap(), 0, "a first sighting publishes nothing");
    relay.run_once(at + chrono::Duration::milliseconds(2500)).await.unwrap()
}

#[tokio::test]
async fn committed_but_unpublished_events_are_published_once_after_the_grace_period() {
    let Some((_, _store, repos, outbox)) = pg().await else { return };
    let tenant = TenantId::HOST;
    let (a, b) = (seed_user(&repos, tenant, "a").await, seed_user(&repos, tenant, "b").await);
    let t0 = Utc::now();
    let committed = sends(&repos, tenant, a, b, 3, t0).await;
    assert_eq!(committed.len(), 3);

    let recorder = Arc::new(RecordingChatMessageSender::new());
    let relay = relay(&outbox, recorder.clone());
    // Within the grace period the inline publisher still has time: nothing is relayed.
    assert_eq!(relay.run_once(t0 + chrono::Duration::milliseconds(500)).await.unwrap(), 0);
    assert!(recorder.events().is_empty());

    // After it, and after the relay has itself seen them unmarked for a grace period, exactly the committed
    // events go out, with the positions their commit gave them.
    assert_eq!(sight_then_publish(&relay, t0 + secs(3)).await, 3);
    let relayed: Vec<RealtimeEvent> = recorder.events().into_iter().map(normalized).collect();
    assert_eq!(relayed, expected(&committed));

    // They are marked now: later passes (of this relay or a fresh one) publish nothing more.
    assert_eq!(relay.run_once(t0 + secs(7)).await.unwrap(), 0);
    let fresh_recorder = Arc::new(RecordingChatMessageSender::new());
    let fresh = self::relay(&outbox, fresh_recorder.clone());
    assert_eq!(fresh.run_once(t0 + secs(8)).await.unwrap(), 0);
    assert_eq!(fresh.run_once(t0 + secs(11)).await.unwrap(), 0);
    assert_eq!(recorder.events().len(), 3);
    assert!(fresh_recorder.events().is_empty());
}

#[tokio::test]
async fn events_published_inline_are_not_republished() {
    let Some((_, store, repos, outbox)) = pg().await else { return };
    let tenant = TenantId::HOST;
    let (a, b) = (seed_user(&repos, tenant, "a").await, seed_user(&repos, tenant, "b").await);
    let t0 = Utc::now();
    let published = sends(&repos, tenant, a, b, 2, t0).await;
    let lost = sends(&repos, tenant, b, a, 1, t0).await;

    // The inline path records what it published; the marker writer stores it in the background.
    let (log, _writer) = PublishedLog::start(outbox.clone(), Arc::new(OutboxStats::default()));
    log.record(&published.iter().map(realtime_event).collect::<Vec<_>>());
    wait_for_markers(&store, 2).await;

    let recorder = Arc::new(RecordingChatMessageSender::new());
    let n = sight_then_publish(&relay(&outbox, recorder.clone()), t0 + secs(3)).await;
    let relayed: Vec<RealtimeEvent> = recorder.events().into_iter().map(normalized).collect();
    // (Replying also moved b's read watermark: that commit recorded two events.)
    assert_eq!(n, lost.len());
    assert_eq!(relayed, expected(&lost), "only the event whose publication was lost");
}

/// A reply records two events (the message and the replier's read receipt) in one stored row (ADR 0004):
/// publishing both inline marks that row, so the relay publishes neither again.
#[tokio::test]
async fn events_sharing_a_row_published_inline_are_not_republished() {
    let Some((_, store, repos, outbox)) = pg().await else { return };
    let tenant = TenantId::HOST;
    let (a, b) = (seed_user(&repos, tenant, "a").await, seed_user(&repos, tenant, "b").await);
    let t0 = Utc::now();
    let opened = sends(&repos, tenant, a, b, 1, t0).await;
    let reply = sends(&repos, tenant, b, a, 1, t0).await;
    assert_eq!(reply.len(), 2, "the reply records the message and the receipt: {reply:?}");

    let (log, _writer) = PublishedLog::start(outbox.clone(), Arc::new(OutboxStats::default()));
    log.record(&opened.iter().chain(&reply).map(realtime_event).collect::<Vec<_>>());
    wait_for_markers(&store, 2).await;

    let recorder = Arc::new(RecordingChatMessageSender::new());
    assert_eq!(sight_then_publish(&relay(&outbox, recorder.clone()), t0 + secs(3)).await, 0);
    assert!(recorder.events().is_empty());
}

#[tokio::test]
async fn rolled_back_changes_are_never_announced() {
    let Some((_, _store, repos, outbox)) = pg().await else { return };
    let tenant = TenantId::HOST;
    let (a, b) = (seed_user(&repos, tenant, "a").await, seed_user(&repos, tenant, "b").await);
    let t0 = Utc::now();
    // A unit that records a message and its event, then fails: rolled back as a whole.
    let error = refused(&repos, move |tx| {
        Box::pin(async move {
            MessagingManager::default().send(tx, send_cmd(tenant, a, SendTarget::User(b), "never", t0)).await?;
            Err::<(), WorkError>(DomainError::NotFound("a later step").into())
        })
    })
    .await;
    assert!(matches!(error, WorkError::Domain(DomainError::NotFound(_))), "{error}");
    let kept = commit(&repos, move |tx| {
        Box::pin(async move {
            MessagingManager::default().send(tx, send_cmd(tenant, a, SendTarget::User(b), "kept", t0)).await
        })
    })
    .await;

    let recorder = Arc::new(RecordingChatMessageSender::new());
    assert_eq!(sight_then_publish(&relay(&outbox, recorder.clone()), t0 + secs(3)).await, 1);
    let relayed: Vec<RealtimeEvent> = recorder.events().into_iter().map(normalized).collect();
    assert_eq!(relayed, expected(&kept.events));
    assert_eq!(relayed[0].data["text"], "kept");
}

#[tokio::test]
async fn a_failed_publish_leaves_the_events_for_the_next_pass() {
    let Some((_, _store, repos, outbox)) = pg().await else { return };
    let tenant = TenantId::HOST;
    let (a, b) = (seed_user(&repos, tenant, "a").await, seed_user(&repos, tenant, "b").await);
    let t0 = Utc::now();
    let committed = sends(&repos, tenant, a, b, 2, t0).await;
    let recorder = Arc::new(RecordingChatMessageSender::new());
    let relay = relay(&outbox, recorder.clone());
    assert_eq!(relay.run_once(t0 + secs(3)).await.unwrap(), 0, "first sighting");
    recorder.set_failing(true);
    assert!(relay.run_once(t0 + secs(6)).await.is_err(), "the broker did not take them");
    recorder.set_failing(false);
    assert_eq!(relay.run_once(t0 + secs(7)).await.unwrap(), 2);
    let relayed: Vec<RealtimeEvent> = recorder.events().into_iter().map(normalized).collect();
    assert_eq!(relayed, expected(&committed));
}

#[tokio::test]
async fn a_claimed_batch_is_invisible_to_another_relay_until_released() {
    let Some((url, _store, repos, outbox)) = pg().await else { return };
    let other = SeaOrmOutbox::connect(&url).await.unwrap();
    let tenant = TenantId::HOST;
    let (a, b) = (seed_user(&repos, tenant, "a").await, seed_user(&repos, tenant, "b").await);
    let t0 = Utc::now();
    sends(&repos, tenant, a, b, 3, t0).await;
    let (from, to) = (t0 - secs(60), t0 + secs(1));

    let mut first = outbox.claim(from, to, None, 10).await.unwrap();
    assert_eq!(first.scanned(), 3);
    assert_eq!(first.take(|_| true, t0).await.unwrap().len(), 3);
    // Another node's relay skips the locked rows instead of waiting for them or taking them too.
    let second = other.claim(from, to, None, 10).await.unwrap();
    assert_eq!(second.scanned(), 0);
    second.release().await.unwrap();
    // Released (the publish failed): they are up for grabs again.
    first.release().await.unwrap();
    let mut third = other.claim(from, to, None, 10).await.unwrap();
    assert_eq!(third.take(|_| true, t0).await.unwrap().len(), 3);
    third.commit().await.unwrap();
    // Committed: published for good.
    let fourth = outbox.claim(from, to, None, 10).await.unwrap();
    assert_eq!(fourth.scanned(), 0);
    fourth.release().await.unwrap();
}

#[tokio::test]
async fn two_relays_racing_over_one_backlog_publish_each_event_exactly_once() {
    let Some((url, _store, repos, outbox)) = pg().await else { return };
    let tenant = TenantId::HOST;
    let users: Vec<UserId> = {
        let mut v = Vec::new();
        for i in 0..4 {
            v.push(seed_user(&repos, tenant, &format!("u{i}")).await);
        }
        v
    };
    let t0 = Utc::now();
    let mut committed = Vec::new();
    for i in 0..120 {
        let (from, to) = (users[i % 4], users[(i + 1) % 4]);
        committed.extend(send(&repos, send_cmd(tenant, from, SendTarget::User(to), &format!("m{i}"), t0)).await.events);
    }
    let small = OutboxRelayOptions { batch: 8, ..options() };
    let (rec_a, rec_b) = (Arc::new(RecordingChatMessageSender::new()), Arc::new(RecordingChatMessageSender::new()));
    let relay_a = OutboxRelay::new(outbox.clone(), rec_a.clone(), small, Arc::new(OutboxStats::default()));
    let other = SeaOrmOutbox::connect(&url).await.unwrap();
    let relay_b = OutboxRelay::new(other, rec_b.clone(), small, Arc::new(OutboxStats::default()));
    // A pass ends when a claim comes back short, which a locked batch of the other relay can cause, and
    // each relay publishes only what it has itself seen for a grace period: a few rounds, three seconds
    // apart, drain the backlog.
    let (mut on_a_total, mut on_b_total) = (0, 0);
    for round in 0..6 {
        let now = t0 + secs(3 + 3 * round);
        let (ra, rb) = tokio::join!(relay_a.run_once(now), relay_b.run_once(now));
        on_a_total += ra.unwrap();
        on_b_total += rb.unwrap();
    }
    println!("relay A published {on_a_total}, relay B {on_b_total}");
    assert_eq!(on_a_total + on_b_total, committed.len(), "every event once, none twice");
    let (on_a, on_b) = (positions(&rec_a.events()), positions(&rec_b.events()));
    assert!(on_a.is_disjoint(&on_b), "an event was published by both relays");
    let all: BTreeSet<_> = on_a.union(&on_b).copied().collect();
    assert_eq!(all, positions(&expected(&committed)));
}

#[tokio::test]
async fn an_event_committed_long_after_its_timestamp_is_found_by_the_look_back() {
    let Some((_, _store, repos, outbox)) = pg().await else { return };
    let tenant = TenantId::HOST;
    let (a, b) = (seed_user(&repos, tenant, "a").await, seed_user(&repos, tenant, "b").await);
    let t0 = Utc::now();
    let recorder = Arc::new(RecordingChatMessageSender::new());
    let relay = relay(&outbox, recorder.clone());
    assert_eq!(relay.run_once(t0 + secs(3)).await.unwrap(), 0, "nothing yet");
    // A unit stamped before the window the relay has already covered commits only now (it waited in the
    // writer's queue), and its publication is lost.
    let late = sends(&repos, tenant, a, b, 1, t0 - secs(1)).await;
    // Passes go on; within a few seconds one looks back over the late-commit margin and finds it.
    let mut relayed = 0;
    for step in 4..=14 {
        relayed += relay.run_once(t0 + secs(step)).await.unwrap();
    }
    assert_eq!(relayed, 1);
    let published: Vec<RealtimeEvent> = recorder.events().into_iter().map(normalized).collect();
    assert_eq!(published, expected(&late));
}

#[tokio::test]
async fn the_bus_sender_marks_what_the_broker_took_and_nothing_else() {
    use async_trait::async_trait;
    use chat_infrastructure::bus::{BusError, BusSubscription, DistributedEventBus, InProcessEventBus};
    use chat_infrastructure::realtime::EventBusChatMessageSender;

    /// A broker that refuses every publication.
    struct Unreachable;
    #[async_trait]
    impl DistributedEventBus for Unreachable {
        async fn publish(&self, _: &str, _: Vec<u8>) -> Result<(), BusError> {
            Err(BusError::Unavailable("unreachable".into()))
        }
        async fn subscribe(&self, _: &str) -> Result<BusSubscription, BusError> {
            Err(BusError::Unavailable("unreachable".into()))
        }
        async fn check(&self) -> Result<(), BusError> {
            Err(BusError::Unavailable("unreachable".into()))
        }
        fn kind(&self) -> &'static str {
            "unreachable"
        }
    }

    let Some((_, store, repos, outbox)) = pg().await else { return };
    let tenant = TenantId::HOST;
    let (a, b) = (seed_user(&repos, tenant, "a").await, seed_user(&repos, tenant, "b").await);
    let t0 = Utc::now();
    let taken = sends(&repos, tenant, a, b, 2, t0).await;
    let refused = sends(&repos, tenant, a, b, 1, t0).await;
    let stats = Arc::new(OutboxStats::default());
    let (log, _writer) = PublishedLog::start(outbox.clone(), stats);
    let local = Arc::new(RecordingChatMessageSender::new());
    let up = EventBusChatMessageSender::new(Arc::new(InProcessEventBus::new()), local.clone())
        .with_published_log(log.clone());
    let down = EventBusChatMessageSender::new(Arc::new(Unreachable), local.clone()).with_published_log(log);
    up.deliver(&taken.iter().map(realtime_event).collect::<Vec<_>>()).await.unwrap();
    down.deliver(&refused.iter().map(realtime_event).collect::<Vec<_>>()).await.unwrap();
    assert_eq!(local.events().len(), 3, "local sockets get everything either way");

    // Once the writer has stored the two markers, the relay finds exactly the event the broker refused.
    wait_for_markers(&store, 2).await;
    let recorder = Arc::new(RecordingChatMessageSender::new());
    assert_eq!(sight_then_publish(&relay(&outbox, recorder.clone()), t0 + secs(3)).await, 1);
    let published: Vec<RealtimeEvent> = recorder.events().into_iter().map(normalized).collect();
    assert_eq!(published, expected(&refused));
}
