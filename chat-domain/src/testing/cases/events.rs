//! Event streams: per-recipient positions, reading after a position, the kept window and pruning.

use crate::Repositories;
use crate::error::WorkError;
use crate::event::{CommittedEvent, DomainEvent, EventWindow};
use crate::ids::{ConversationId, EventSeq, TenantId, UserId};

use super::super::fixtures::{at, commit, conversation_id, tenant, user_id};

fn updated(conversation: ConversationId) -> DomainEvent {
    DomainEvent::ConversationUpdated { conversation }
}

async fn record(
    repos: &Repositories,
    t: TenantId,
    recipients: &[UserId],
    event: DomainEvent,
    secs: i64,
) -> CommittedEvent {
    let recipients = recipients.to_vec();
    let mut events = commit(repos, move |tx| {
        Box::pin(async move { Ok::<_, WorkError>(tx.record_event(t, &recipients, event, at(secs)).await?) })
    })
    .await
    .events;
    assert_eq!(events.len(), 1, "one recorded event, returned once committed");
    events.remove(0)
}

fn position(event: &CommittedEvent, user: UserId) -> EventSeq {
    event.recipients.iter().find(|(u, _)| *u == user).map(|(_, seq)| *seq).expect("the user is a recipient")
}

/// Each recipient gets the event at a new position of their own stream (growing); `after` returns a
/// stream oldest first from a position, up to a limit, with the positions the commit reported.
pub async fn events_get_growing_positions_per_recipient(repos: &Repositories) {
    let t = tenant();
    let (a, b, c) = (user_id(), user_id(), user_id());
    let (c1, c2, c3) = (conversation_id(), conversation_id(), conversation_id());
    assert_eq!(repos.events.window(t, a).await.unwrap(), EventWindow::default());
    let e1 = record(repos, t, &[a, b], updated(c1), 1).await;
    let e2 = record(repos, t, &[b], updated(c2), 2).await;
    let e3 = record(repos, t, &[a, b, c], updated(c3), 3).await;
    assert_eq!(e1.tenant, t);
    assert_eq!(e1.recipients.iter().map(|(u, _)| *u).collect::<Vec<_>>(), vec![a, b]);
    assert_eq!((e3.at, e3.event.as_ref()), (at(3), &updated(c3)));
    assert!(position(&e1, a) > EventSeq::ZERO && position(&e3, a) > position(&e1, a));
    assert!(position(&e1, b) < position(&e2, b) && position(&e2, b) < position(&e3, b));

    let for_a = repos.events.after(t, a, EventSeq::ZERO, 10).await.unwrap();
    assert_eq!(for_a.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![position(&e1, a), position(&e3, a)]);
    assert_eq!(for_a.iter().map(|e| e.event.as_ref().clone()).collect::<Vec<_>>(), vec![updated(c1), updated(c3)]);
    assert!(for_a.iter().all(|e| e.tenant == t && e.user == a));
    assert_eq!(for_a[0].at, at(1));

    let for_b = repos.events.after(t, b, position(&e1, b), 10).await.unwrap();
    assert_eq!(for_b.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![position(&e2, b), position(&e3, b)]);
    let limited = repos.events.after(t, b, EventSeq::ZERO, 2).await.unwrap();
    assert_eq!(limited.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![position(&e1, b), position(&e2, b)]);
    assert!(repos.events.after(t, b, position(&e3, b), 10).await.unwrap().is_empty());
    let for_c = repos.events.after(t, c, EventSeq::ZERO, 10).await.unwrap();
    assert_eq!(for_c.len(), 1);

    let window = repos.events.window(t, b).await.unwrap();
    assert_eq!(window, EventWindow { pruned_through: EventSeq::ZERO, latest: position(&e3, b) });
}

/// Pruning drops events recorded before a time, says how many, and remembers per user how far their
/// stream was pruned; later events still get later positions.
pub async fn pruned_events_move_the_window(repos: &Repositories) {
    let t = tenant();
    let (a, b) = (user_id(), user_id());
    let e1 = record(repos, t, &[a, b], updated(conversation_id()), 1).await;
    let e2 = record(repos, t, &[a], updated(conversation_id()), 2).await;
    let e3 = record(repos, t, &[a, b], updated(conversation_id()), 3).await;
    assert_eq!(repos.events.prune(at(3)).await.unwrap(), 3, "e1 twice and e2 once were older");
    let kept = repos.events.after(t, a, EventSeq::ZERO, 10).await.unwrap();
    assert_eq!(kept.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![position(&e3, a)]);
    assert_eq!(
        repos.events.window(t, a).await.unwrap(),
        EventWindow { pruned_through: position(&e2, a), latest: position(&e3, a) }
    );
    assert_eq!(
        repos.events.window(t, b).await.unwrap(),
        EventWindow { pruned_through: position(&e1, b), latest: position(&e3, b) }
    );
    assert_eq!(repos.events.prune(at(3)).await.unwrap(), 0);
    let e4 = record(repos, t, &[a], updated(conversation_id()), 4).await;
    assert!(position(&e4, a) > position(&e3, a));
    assert_eq!(repos.events.window(t, a).await.unwrap().latest, position(&e4, a));
    assert_eq!(repos.events.prune(at(100)).await.unwrap(), 3);
    assert!(repos.events.after(t, a, EventSeq::ZERO, 10).await.unwrap().is_empty());
    assert_eq!(
        repos.events.window(t, a).await.unwrap(),
        EventWindow { pruned_through: position(&e4, a), latest: position(&e4, a) }
    );
}
