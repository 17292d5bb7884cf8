use chat_application::dto::{MarkReadInput, SyncInput};
use chat_domain::ConversationId;

use crate::support::{app, field};

#[tokio::test]
async fn sync_replays_my_stream_in_order_as_live_delivery_sent_it() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let start = app.chat.sync().get_position(&bob).await.unwrap().event_seq;
    let m1 = app.send(&alice, &bob, "one").await;
    app.send(&alice, &bob, "two").await;
    app.chat
        .conversations()
        .mark_read(&bob, ConversationId::from_uuid(m1.conversation_id), MarkReadInput::default())
        .await
        .unwrap();
    let live = app.sender.envelopes_for(bob.user);
    let all = app.chat.sync().sync(&bob, SyncInput { after_event_seq: start, limit: None }).await.unwrap();
    assert!(!all.resync_required && !all.has_more);
    assert_eq!(all.events, live, "catch-up shows exactly what was delivered live");
    let types: Vec<_> = all.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(types, ["message.created", "message.created", "message.read"]);
    let seqs: Vec<_> = all.events.iter().map(|e| e.event_seq.unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(all.event_seq, *seqs.last().unwrap());
    assert_eq!(app.chat.sync().get_position(&bob).await.unwrap().event_seq, all.event_seq);
    // Paging.
    let first = app.chat.sync().sync(&bob, SyncInput { after_event_seq: start, limit: Some(2) }).await.unwrap();
    assert_eq!(first.events.len(), 2);
    assert!(first.has_more);
    let rest = app
        .chat
        .sync()
        .sync(&bob, SyncInput { after_event_seq: first.events[1].event_seq.unwrap(), limit: Some(2) })
        .await
        .unwrap();
    assert_eq!(rest.events.len(), 1);
    assert!(!rest.has_more);
    let envelope = serde_json::to_value(&rest.events[0]).unwrap();
    assert!(envelope.get("eventSeq").is_some() && envelope["type"] == "message.read");
    assert_eq!(envelope["data"]["upToSeq"], 2);
}

#[tokio::test]
async fn streams_are_per_user() {
    let app = app();
    let (alice, bob, carol) = (app.user("alice").await, app.user("bob").await, app.user("carol").await);
    app.send(&alice, &bob, "private").await;
    let carols = app.chat.sync().sync(&carol, SyncInput::default()).await.unwrap();
    assert!(carols.events.is_empty());
    assert_eq!(app.chat.sync().get_position(&carol).await.unwrap().event_seq, 0);
    let stranger = app.user_in(crate::support::tenant(), "bob").await;
    assert!(app.chat.sync().sync(&stranger, SyncInput::default()).await.unwrap().events.is_empty());
}

#[tokio::test]
async fn a_position_older_than_what_is_kept_requires_a_resync() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    app.send(&alice, &bob, "old").await;
    app.send(&alice, &bob, "old too").await;
    app.clock.advance(chrono::Duration::days(2));
    let pruned = app.repos.events.prune(app.clock_now() - chrono::Duration::days(1)).await.unwrap();
    assert!(pruned > 0);
    app.send(&alice, &bob, "new").await;
    let behind = app.chat.sync().sync(&bob, SyncInput { after_event_seq: 0, limit: None }).await.unwrap();
    assert!(behind.resync_required && behind.events.is_empty());
    let latest = app.chat.sync().get_position(&bob).await.unwrap().event_seq;
    assert_eq!(behind.event_seq, latest);
    let json = serde_json::to_value(&behind).unwrap();
    assert_eq!(json["resyncRequired"], true);
    // From the pruned point on, catch-up works again.
    let window = app.repos.events.window(bob.tenant, bob.user).await.unwrap();
    let ok = app
        .chat
        .sync()
        .sync(&bob, SyncInput { after_event_seq: window.pruned_through.value(), limit: None })
        .await
        .unwrap();
    assert!(!ok.resync_required);
    assert_eq!(ok.events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["message.created"]);
    // A position from the future (say, another server's) also asks for a resync.
    let ahead = app.chat.sync().sync(&bob, SyncInput { after_event_seq: latest + 10, limit: None }).await.unwrap();
    assert!(ahead.resync_required);
    assert_eq!(
        field(app.chat.sync().sync(&bob, SyncInput { after_event_seq: -1, limit: None }).await),
        "afterEventSeq"
    );
}

#[tokio::test]
async fn message_events_in_sync_carry_current_reactions() {
    let app = app();
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let m = app.send(&alice, &bob, "react to me").await;
    app.chat.conversations().add_reaction(&bob, chat_domain::MessageId::from_uuid(m.id), "🎉").await.unwrap();
    let events = app.chat.sync().sync(&alice, SyncInput::default()).await.unwrap().events;
    let created = events.iter().find(|e| e.kind == "message.created").unwrap();
    assert_eq!(created.data["reactions"][0]["emoji"], "🎉");
    assert_eq!(created.data["reactions"][0]["me"], false);
    assert!(events.iter().any(|e| e.kind == "message.reaction"));
}
