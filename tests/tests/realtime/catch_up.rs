//! Catch-up after a reconnect: `auth.afterEventSeq` replays, `sync` pages; nothing is missed.

use chat_tests::{TestSocket, TestUser, spawn_app, token_for};
use serde_json::{Value, json};

#[tokio::test]
async fn a_reconnecting_client_replays_what_it_missed_with_after_event_seq() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&alice).await;

    let mut b = app.socket(&bob).await;
    app.send_to(&alice, &bob, "while online").await;
    let seen = b.next("message.created").await;
    let last_seen = seen["eventSeq"].as_i64().unwrap();
    b.close().await;

    // Offline: three messages and an edit.
    let mut ids = Vec::new();
    for text in ["missed 1", "missed 2", "missed 3"] {
        ids.push(app.send_to(&alice, &bob, text).await["id"].clone());
    }
    let (status, _) = app
        .patch(
            &alice,
            &format!("/api/chat/messages/{}", ids[0].as_str().unwrap()),
            json!({ "text": "missed 1 (edited)" }),
        )
        .await;
    assert_eq!(status, 200);

    // Reconnect with the last position: the missed events come before `ready`, in order.
    let mut b = TestSocket::connect(&app.base, json!({ "token": token_for(&bob), "afterEventSeq": last_seen }), None)
        .await
        .unwrap();
    let mut texts = Vec::new();
    for _ in 0..3 {
        let event = b.next("message.created").await;
        assert!(event["eventSeq"].as_i64().unwrap() > last_seen);
        texts.push(event["data"]["text"].as_str().unwrap().to_owned());
    }
    assert_eq!(texts, ["missed 1", "missed 2", "missed 3"]);
    let updated = b.next("message.updated").await;
    assert_eq!(updated["data"]["text"], "missed 1 (edited)");
    assert!(b.ready["eventSeq"].as_i64().unwrap() >= updated["eventSeq"].as_i64().unwrap());

    // Live events keep flowing after the replay.
    app.send_to(&alice, &bob, "live again").await;
    assert_eq!(b.next("message.created").await["data"]["text"], "live again");
}

#[tokio::test]
async fn sync_returns_missed_events_in_pages() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let b = app.socket(&bob).await;
    let start = b.ready["eventSeq"].as_i64().unwrap();
    b.close().await;

    for i in 0..5 {
        app.send_to(&alice, &bob, &format!("m{i}")).await;
    }

    let b = app.socket(&bob).await;
    let mut after = start;
    let mut texts = Vec::new();
    loop {
        let ack = b.ack("sync", json!({ "afterEventSeq": after, "limit": 2 })).await;
        assert_eq!(ack["ok"], true, "{ack}");
        let data = &ack["data"];
        assert_eq!(data["resyncRequired"], false);
        let events = data["events"].as_array().unwrap();
        for event in events {
            let seq = event["eventSeq"].as_i64().unwrap();
            assert!(seq > after, "eventSeq only grows");
            after = seq;
            if event["type"] == "message.created" {
                texts.push(event["data"]["text"].as_str().unwrap().to_owned());
            }
        }
        if data["hasMore"] == false {
            break;
        }
    }
    assert_eq!(texts, ["m0", "m1", "m2", "m3", "m4"]);

    // The same through REST.
    let (status, page) = app.get(&bob, &format!("/api/chat/sync?afterEventSeq={start}&limit=100")).await;
    assert_eq!(status, 200, "{page}");
    let created: Vec<&Value> =
        page["events"].as_array().unwrap().iter().filter(|e| e["type"] == "message.created").collect();
    assert_eq!(created.len(), 5);
}

#[tokio::test]
async fn a_position_ahead_of_the_stream_requires_a_resync_or_returns_nothing() {
    let app = spawn_app().await;
    let bob = TestUser::new("bob");
    let b = app.socket(&bob).await;
    let ack = b.ack("sync", json!({ "afterEventSeq": 1_000_000 })).await;
    assert_eq!(ack["ok"], true, "{ack}");
    let data = &ack["data"];
    assert!(data["resyncRequired"] == true || data["events"].as_array().is_some_and(Vec::is_empty), "{ack}");
}
