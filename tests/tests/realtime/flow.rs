//! Real-time flow: messages, receipts, edits, deletes, reactions, typing and groups reach the right sockets.

use chat_tests::{TestUser, spawn_app};
use serde_json::json;

#[tokio::test]
async fn two_users_chat_over_sockets_with_events_for_every_change() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    let mut a = app.socket(&alice).await;
    let mut b = app.socket(&bob).await;

    // Alice sends through the socket; the ack carries the stored message.
    let ack = a
        .ack("message.send", json!({ "targetUserId": bob.id, "text": "hi over socket", "clientMessageId": "k1" }))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    let message = ack["data"].clone();
    assert_eq!(message["seq"], 1);
    let id = message["id"].as_str().unwrap().to_owned();
    let conversation = message["conversationId"].as_str().unwrap().to_owned();

    // Bob receives the envelope under the event's name; Alice (the sender) too.
    let created = b.next("message.created").await;
    assert_eq!(created["type"], "message.created");
    assert!(created["eventSeq"].as_i64().unwrap() > 0);
    assert_eq!(created["data"]["id"], id.as_str());
    assert_eq!(created["data"]["text"], "hi over socket");
    let own = a.next("message.created").await;
    assert_eq!(own["data"]["id"], id.as_str());

    // A repeat with the same clientMessageId returns the same message.
    let again = a
        .ack("message.send", json!({ "targetUserId": bob.id, "text": "hi over socket", "clientMessageId": "k1" }))
        .await;
    assert_eq!(again["data"]["id"], id.as_str());

    // Bob's device confirms delivery, then Bob reads: Alice gets both receipts in real time.
    let delivered = b.ack("message.delivered", json!({ "messageIds": [id] })).await;
    assert_eq!(delivered["ok"], true, "{delivered}");
    let receipt = a.next("message.delivered").await;
    assert_eq!(receipt["data"]["userId"], bob.id.to_string());
    assert_eq!(receipt["data"]["upToSeq"], 1);
    let read = b.ack("conversation.read", json!({ "conversationId": conversation })).await;
    assert_eq!(read["ok"], true, "{read}");
    let receipt = a.next("message.read").await;
    assert_eq!(receipt["data"]["conversationId"], conversation.as_str());
    assert_eq!(receipt["data"]["userId"], bob.id.to_string());
    assert_eq!(receipt["data"]["upToSeq"], 1);

    // A REST send reaches the socket as well.
    let reply = app.send_to(&bob, &alice, "reply over REST").await;
    let created = a.next("message.created").await;
    assert_eq!(created["data"]["id"], reply["id"]);

    // Edit, reaction and delete each produce their event.
    let (status, _) = app.patch(&alice, &format!("/api/chat/messages/{id}"), json!({ "text": "edited" })).await;
    assert_eq!(status, 200);
    let updated = b.next("message.updated").await;
    assert_eq!(updated["data"]["text"], "edited");

    let (status, _) = app.put(&bob, &format!("/api/chat/messages/{id}/reactions/%E2%9D%A4"), json!(null)).await;
    assert_eq!(status, 204);
    let reaction = a.next("message.reaction").await;
    assert_eq!(reaction["data"]["messageId"], id.as_str());
    assert_eq!(reaction["data"]["userId"], bob.id.to_string());
    assert_eq!(reaction["data"]["added"], true);

    let (status, _) = app.delete(&alice, &format!("/api/chat/messages/{id}?scope=everyone")).await;
    assert_eq!(status, 204);
    let deleted = b.next("message.deleted").await;
    assert_eq!(deleted["data"]["messageId"], id.as_str());
    assert_eq!(deleted["data"]["scope"], "everyone");

    // Typing is ephemeral: no eventSeq.
    let typing = a.ack("typing", json!({ "conversationId": conversation, "isTyping": true })).await;
    assert_eq!(typing["ok"], true, "{typing}");
    let typing = b.next("typing").await;
    assert_eq!(typing["data"]["userId"], alice.id.to_string());
    assert_eq!(typing["data"]["isTyping"], true);
    assert!(typing.get("eventSeq").is_none_or(|v| v.is_null()), "{typing}");

    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn group_events_reach_members_and_stop_for_removed_members() {
    let app = spawn_app().await;
    let owner = TestUser::new("owner");
    let ann = TestUser::new("ann");
    let ben = TestUser::new("ben");
    app.touch(&ann).await;
    app.touch(&ben).await;
    let mut a = app.socket(&ann).await;
    let mut b = app.socket(&ben).await;

    let (_, group) = app.post(&owner, "/api/chat/groups", json!({ "name": "G", "memberIds": [ann.id, ben.id] })).await;
    let id = group["id"].as_str().unwrap().to_owned();
    let added = a.next("group.member_added").await;
    assert_eq!(
        added["data"]["groupId"].as_str().or(added["data"]["conversationId"].as_str()),
        Some(id.as_str()),
        "{added}"
    );

    let (status, _) = app.post(&owner, "/api/chat/messages", json!({ "conversationId": id, "text": "to all" })).await;
    assert_eq!(status, 201);
    assert_eq!(a.next("message.created").await["data"]["text"], "to all");
    assert_eq!(b.next("message.created").await["data"]["text"], "to all");

    let (status, _) = app.delete(&owner, &format!("/api/chat/groups/{id}/members/{}", ben.id)).await;
    assert_eq!(status, 204);
    let _ = b.next("group.member_removed").await;
    a.clear();
    b.clear();
    let (status, _) =
        app.post(&owner, "/api/chat/messages", json!({ "conversationId": id, "text": "without ben" })).await;
    assert_eq!(status, 201);
    assert_eq!(a.next("message.created").await["data"]["text"], "without ben");
    // A marker committed after the group message: events go out in commit order, so a copy of the group
    // message for Ben would reach him before it.
    app.send_to(&owner, &ben, "marker").await;
    assert_eq!(b.next("message.created").await["data"]["text"], "marker", "a removed member still receives");
}

#[tokio::test]
async fn events_never_cross_tenants() {
    let app = spawn_app().await;
    let tenant_a = uuid::Uuid::new_v4();
    let tenant_b = uuid::Uuid::new_v4();
    let alice = TestUser::in_tenant("alice", tenant_a);
    let bob = TestUser::in_tenant("bob", tenant_a);
    // Same user id as Bob, other tenant.
    let bob_elsewhere = TestUser { tenant: Some(tenant_b), ..bob.clone() };
    let mut b = app.socket(&bob).await;
    let mut other = app.socket(&bob_elsewhere).await;
    app.send_to(&alice, &bob, "tenant A").await;
    assert_eq!(b.next("message.created").await["data"]["text"], "tenant A");
    // A marker for the other tenant's Bob, committed after: had "tenant A" leaked, it would arrive first.
    let carol_elsewhere = TestUser::in_tenant("carol", tenant_b);
    app.send_to(&carol_elsewhere, &bob_elsewhere, "tenant B").await;
    assert_eq!(other.next("message.created").await["data"]["text"], "tenant B", "an event crossed tenants");
}

#[tokio::test]
async fn a_rate_limited_send_is_acknowledged_with_retry_after() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let a = app.socket(&alice).await;
    let mut limited = None;
    for i in 0..30 {
        let ack = a.ack("message.send", json!({ "targetUserId": bob.id, "text": format!("burst {i}") })).await;
        if ack["ok"] == false {
            limited = Some(ack);
            break;
        }
    }
    let ack = limited.expect("30 sends in a burst were never rate limited");
    assert_eq!(ack["error"]["code"], "chat.rate_limited");
    assert!(ack["error"]["retryAfterMs"].as_u64().is_some_and(|ms| ms > 0), "{ack}");

    // REST answers 429 with Retry-After under the same budget.
    let response = app
        .req(reqwest::Method::POST, "/api/chat/messages", &alice)
        .json(&json!({ "targetUserId": bob.id, "text": "one more" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
}
