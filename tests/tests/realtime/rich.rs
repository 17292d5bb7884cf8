//! Rich chat over Socket.IO: reaction events, delivery and read receipts, typing (membership and its rate
//! limit) and the events of my side's settings (issue #6).
//!
//! To show that something did NOT arrive, each test makes a later event that must arrive after it, waits
//! for that marker, and then checks that nothing else came first.

use std::time::Duration;

use chat_tests::{TestSocket, TestUser, spawn_app};
use serde_json::{Value, json};
use uuid::Uuid;

/// Asserts that no `name` event has been received so far (call it after waiting for a later marker).
async fn assert_none_yet(socket: &mut TestSocket, name: &str, why: &str) {
    let stray = socket.try_next(name, Duration::ZERO).await;
    assert!(stray.is_none(), "{why}: {stray:?}");
}

/// Asserts that `actual` has every field of `expected` with its value (events may gain fields).
fn assert_fields(actual: &Value, expected: Value) {
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&actual[key], value, "field {key} of {actual}");
    }
}

/// Asserts a stored envelope (it has an `eventSeq`) of `type` and returns its data.
fn stored(envelope: &Value, kind: &str) -> Value {
    assert_eq!(envelope["type"], kind, "{envelope}");
    assert!(envelope["eventSeq"].as_i64().is_some_and(|s| s > 0), "{envelope}");
    envelope["data"].clone()
}

#[tokio::test]
async fn reactions_reach_the_other_member_once_per_change() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    let eve = TestUser::new("eve");
    app.touch(&bob).await;
    app.touch(&eve).await;
    let mut a = app.socket(&alice).await;
    let message = app.send_to(&alice, &bob, "react").await;
    let id = message["id"].as_str().unwrap().to_owned();
    let conversation = message["conversationId"].as_str().unwrap().to_owned();
    let _ = a.next("message.created").await;

    // Twice 👍 from Bob: one event.
    for _ in 0..2 {
        let (status, _) = app.put(&bob, &format!("/api/chat/messages/{id}/reactions/%F0%9F%91%8D"), json!(null)).await;
        assert_eq!(status, 204);
    }
    let added = stored(&a.next("message.reaction").await, "message.reaction");
    assert_fields(
        &added,
        json!({ "conversationId": conversation, "messageId": id, "userId": bob.id, "emoji": "👍", "added": true }),
    );

    // A stranger's attempt is refused and announces nothing.
    let (status, _) = app.put(&eve, &format!("/api/chat/messages/{id}/reactions/%F0%9F%98%88"), json!(null)).await;
    assert_eq!(status, 404);

    // Twice removed: one event, and it is the next reaction event (no second `added`, nothing from Eve).
    for _ in 0..2 {
        let (status, _) = app.delete(&bob, &format!("/api/chat/messages/{id}/reactions/%F0%9F%91%8D")).await;
        assert_eq!(status, 204);
    }
    let removed = stored(&a.next("message.reaction").await, "message.reaction");
    assert_fields(
        &removed,
        json!({ "conversationId": conversation, "messageId": id, "userId": bob.id, "emoji": "👍", "added": false }),
    );

    // Marker: a new reaction is the next event, so the repeated removal announced nothing.
    let (status, _) = app.put(&bob, &format!("/api/chat/messages/{id}/reactions/%F0%9F%8E%89"), json!(null)).await;
    assert_eq!(status, 204);
    let marker = stored(&a.next("message.reaction").await, "message.reaction");
    assert_eq!((&marker["emoji"], &marker["added"]), (&json!("🎉"), &json!(true)), "{marker}");
    assert_none_yet(&mut a, "message.reaction", "an unchanged reaction was announced").await;
    a.close().await;
}

#[tokio::test]
async fn delivery_and_read_receipts_reach_the_sender_and_show_in_the_receipts() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    let eve = TestUser::new("eve");
    app.touch(&eve).await;
    let mut a = app.socket(&alice).await;
    let mut b = app.socket(&bob).await;
    let e = app.socket(&eve).await;

    let ack = a.ack("message.send", json!({ "targetUserId": bob.id, "text": "did you get it?" })).await;
    assert_eq!(ack["ok"], true, "{ack}");
    let id = ack["data"]["id"].as_str().unwrap().to_owned();
    let conversation = ack["data"]["conversationId"].as_str().unwrap().to_owned();
    let seq = ack["data"]["seq"].clone();
    let _ = b.next("message.created").await;
    let receipts_path = format!("/api/chat/messages/{id}/receipts");
    let bob_receipt = |receipts: &Value| {
        receipts["members"]
            .as_array()
            .and_then(|m| m.iter().find(|r| r["userId"] == bob.id.to_string()).cloned())
            .unwrap_or_else(|| panic!("no receipt for bob in {receipts}"))
    };

    // A stranger acknowledging the message, or reading the conversation, moves nothing.
    let _ = e.ack("message.delivered", json!({ "messageIds": [id] })).await;
    let refused = e.ack("conversation.read", json!({ "conversationId": conversation })).await;
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(refused["error"]["code"], "chat.not_found", "{refused}");

    // Bob's device confirms delivery: Alice hears it from Bob (the first receipt she gets).
    let ok = b.ack("message.delivered", json!({ "messageIds": [id] })).await;
    assert_eq!(ok["ok"], true, "{ok}");
    let delivered = stored(&a.next("message.delivered").await, "message.delivered");
    assert_eq!(delivered["conversationId"], conversation.as_str(), "{delivered}");
    assert_eq!(delivered["userId"], bob.id.to_string(), "{delivered}");
    assert_eq!(delivered["upToSeq"], seq, "{delivered}");
    assert!(delivered["at"].is_string(), "{delivered}");
    let (status, receipts) = app.get(&alice, &receipts_path).await;
    assert_eq!(status, 200, "{receipts}");
    assert!(bob_receipt(&receipts)["deliveredAt"].is_string(), "{receipts}");
    assert!(bob_receipt(&receipts)["readAt"].is_null(), "{receipts}");

    // Bob reads.
    let ok = b.ack("conversation.read", json!({ "conversationId": conversation })).await;
    assert_eq!(ok["ok"], true, "{ok}");
    let read = stored(&a.next("message.read").await, "message.read");
    assert_eq!(read["conversationId"], conversation.as_str(), "{read}");
    assert_eq!(read["userId"], bob.id.to_string(), "{read}");
    assert_eq!(read["upToSeq"], seq, "{read}");
    assert!(read["at"].is_string(), "{read}");
    let (_, receipts) = app.get(&bob, &receipts_path).await;
    assert!(bob_receipt(&receipts)["readAt"].is_string(), "{receipts}");
    assert!(bob_receipt(&receipts)["deliveredAt"].is_string(), "{receipts}");

    // Nothing came from Eve before these.
    assert_none_yet(&mut a, "message.delivered", "a stranger's delivery was announced").await;
    assert_none_yet(&mut a, "message.read", "a stranger's read was announced").await;
    let (status, problem) = app.get(&eve, &receipts_path).await;
    assert_eq!(status, 404, "{problem}");
    assert_eq!(problem["code"], "chat.not_found");
}

#[tokio::test]
async fn typing_reaches_members_only_and_starting_again_within_the_period_is_rate_limited() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    let eve = TestUser::new("eve");
    let twin = TestUser { tenant: Some(Uuid::new_v4()), ..bob.clone() };
    app.touch(&bob).await;
    let conversation = app.send_to(&alice, &bob, "hi").await["conversationId"].as_str().unwrap().to_owned();
    let a = app.socket(&alice).await;
    let mut b = app.socket(&bob).await;
    let e = app.socket(&eve).await;
    let mut t = app.socket(&twin).await;

    // A stranger (and Bob's namesake in another tenant) cannot type into the conversation.
    for (who, socket) in [("stranger", &e), ("other tenant", &t)] {
        let ack = socket.ack("typing", json!({ "conversationId": conversation, "isTyping": true })).await;
        assert_eq!(ack["ok"], false, "{who}: {ack}");
        assert_eq!(ack["error"]["code"], "chat.not_found", "{who}: {ack}");
    }

    // Alice types: Bob gets it, ephemeral, and it is the first `typing` he gets (nothing from Eve).
    let ack = a.ack("typing", json!({ "conversationId": conversation, "isTyping": true })).await;
    assert_eq!(ack, json!({ "ok": true, "data": null }));
    let typing = b.next("typing").await;
    assert_eq!(typing["type"], "typing", "{typing}");
    assert!(typing.get("eventSeq").is_none_or(Value::is_null), "typing is ephemeral: {typing}");
    assert_fields(&typing["data"], json!({ "conversationId": conversation, "userId": alice.id, "isTyping": true }));

    // Starting again at once is over the default limit (1 per 3 s).
    let limited = a.ack("typing", json!({ "conversationId": conversation, "isTyping": true })).await;
    assert_eq!(limited["ok"], false, "{limited}");
    assert_eq!(limited["error"]["code"], "chat.rate_limited", "{limited}");
    let retry = limited["error"]["retryAfterMs"].as_u64().unwrap_or_else(|| panic!("no retryAfterMs: {limited}"));
    assert!(retry > 0 && retry <= 3000, "{limited}");

    // Stopping is never limited, and it is the next thing Bob sees (the refused start never reached him).
    let ack = a.ack("typing", json!({ "conversationId": conversation, "isTyping": false })).await;
    assert_eq!(ack["ok"], true, "{ack}");
    let stopped = b.next("typing").await;
    assert_fields(&stopped["data"], json!({ "conversationId": conversation, "userId": alice.id, "isTyping": false }));

    // The namesake in the other tenant heard none of it: a message to them is the first thing they get.
    let carol = TestUser { tenant: twin.tenant, ..TestUser::new("carol") };
    app.send_to(&carol, &twin, "marker").await;
    let _ = t.next("message.created").await;
    assert_none_yet(&mut t, "typing", "typing crossed tenants").await;
    assert_none_yet(&mut b, "typing", "a refused typing was delivered").await;
}

#[tokio::test]
async fn my_other_devices_hear_about_mute_archive_and_delete_and_the_peer_does_not() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let conversation = app.send_to(&alice, &bob, "hi").await["conversationId"].as_str().unwrap().to_owned();
    let mut phone = app.socket(&alice).await;
    let mut b = app.socket(&bob).await;

    let (status, _) =
        app.post(&alice, &format!("/api/chat/conversations/{conversation}/mute"), json!({ "muted": true })).await;
    assert_eq!(status, 200);
    let updated = stored(&phone.next("conversation.updated").await, "conversation.updated");
    assert_eq!(updated["conversationId"], conversation.as_str(), "{updated}");

    let (status, _) =
        app.post(&alice, &format!("/api/chat/conversations/{conversation}/archive"), json!({ "archived": true })).await;
    assert_eq!(status, 200);
    let updated = stored(&phone.next("conversation.updated").await, "conversation.updated");
    assert_eq!(updated["conversationId"], conversation.as_str(), "{updated}");

    let (status, _) = app.delete(&alice, &format!("/api/chat/conversations/{conversation}")).await;
    assert_eq!(status, 204);
    let deleted = stored(&phone.next("conversation.deleted").await, "conversation.deleted");
    assert_eq!(deleted["conversationId"], conversation.as_str(), "{deleted}");

    // Marker: a message from Alice reaches Bob after all of the above; none of it reached him.
    app.send_to(&alice, &bob, "marker").await;
    assert_eq!(b.next("message.created").await["data"]["text"], "marker");
    assert_none_yet(&mut b, "conversation.updated", "my mute/archive reached the peer").await;
    assert_none_yet(&mut b, "conversation.deleted", "my deletion reached the peer").await;
}
