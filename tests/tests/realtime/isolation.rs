//! Real-time isolation (SPEC §3, §9): a removed member stops receiving at once, and neither a non-member
//! nor a user of another tenant ever receives an event of the conversation, live or through `sync`.
//!
//! Proof of "nothing arrived": the remaining members first receive a final control message (so every
//! earlier event has been fanned out), then each watcher makes an acknowledged call on its own socket.
//! Socket.IO keeps one socket's packets in order, so anything emitted to the watcher before that call
//! arrives before its acknowledgement; the watcher's queue is then checked.

use chat_tests::{TestSocket, TestUser, spawn_app};
use serde_json::{Value, json};
use uuid::Uuid;

/// Sends through a socket and returns the stored message.
async fn send(socket: &TestSocket, body: Value) -> Value {
    let ack = socket.ack("message.send", body.clone()).await;
    assert_eq!(ack["ok"], true, "{body}: {ack}");
    ack["data"].clone()
}

#[tokio::test]
async fn removed_members_outsiders_and_other_tenants_receive_nothing_of_the_group() {
    let app = spawn_app().await;
    let tenant = Uuid::new_v4();
    let owner = TestUser::in_tenant("owner", tenant);
    let member = TestUser::in_tenant("member", tenant);
    let removed = TestUser::in_tenant("removed", tenant);
    let outsider = TestUser::in_tenant("outsider", tenant);
    let newcomer = TestUser::in_tenant("newcomer", tenant);
    let stranger = TestUser::in_tenant("stranger", Uuid::new_v4());
    for u in [&member, &removed, &outsider, &newcomer, &stranger] {
        app.touch(u).await;
    }
    let (status, group) =
        app.post(&owner, "/api/chat/groups", json!({ "name": "watched", "memberIds": [member.id, removed.id] })).await;
    assert_eq!(status, 201, "{group}");
    let g = group["id"].as_str().unwrap().to_owned();

    let mut o = app.socket(&owner).await;
    let mut m = app.socket(&member).await;
    let mut r = app.socket(&removed).await;
    let mut n = app.socket(&outsider).await;
    let mut x = app.socket(&stranger).await;

    // Before the removal the soon-removed member receives the group's messages.
    let before = send(&m, json!({ "conversationId": g, "text": "before" })).await;
    assert_eq!(r.next("message.created").await["data"]["id"], before["id"]);

    let (status, body) = app.delete(&owner, &format!("/api/chat/groups/{g}/members/{}", removed.id)).await;
    assert_eq!(status, 204, "{body}");
    let removal = r.next("group.member_removed").await;
    assert_eq!(removal["data"]["userId"], removed.id.to_string());
    m.next("group.member_removed").await;
    let removed_position = r.ack("sync", json!({ "afterEventSeq": 0 })).await["data"]["eventSeq"].clone();
    let mut watchers = [("removed", &mut r), ("outsider", &mut n), ("other tenant", &mut x)];
    for (_, socket) in watchers.iter_mut() {
        socket.drain();
    }
    o.drain();
    m.drain();

    // Every kind of group event, each awaited at a remaining member.
    let secret = send(&m, json!({ "conversationId": g, "text": "after the removal" })).await;
    let secret_id = secret["id"].as_str().unwrap().to_owned();
    assert_eq!(o.next("message.created").await["data"]["id"], secret["id"]);
    let (status, _) = app.patch(&member, &format!("/api/chat/messages/{secret_id}"), json!({ "text": "edited" })).await;
    assert_eq!(status, 200);
    o.next("message.updated").await;
    let (status, _) =
        app.put(&owner, &format!("/api/chat/messages/{secret_id}/reactions/%F0%9F%91%8D"), json!(null)).await;
    assert_eq!(status, 204);
    m.next("message.reaction").await;
    assert_eq!(o.ack("message.delivered", json!({ "messageIds": [secret_id] })).await["ok"], true);
    m.next("message.delivered").await;
    assert_eq!(o.ack("conversation.read", json!({ "conversationId": g })).await["ok"], true);
    m.next("message.read").await;
    assert_eq!(m.ack("typing", json!({ "conversationId": g, "isTyping": true })).await["ok"], true);
    o.next("typing").await;
    let (status, _) = app.patch(&owner, &format!("/api/chat/groups/{g}"), json!({ "name": "renamed" })).await;
    assert_eq!(status, 200);
    m.next("group.updated").await;
    let (status, _) =
        app.post(&owner, &format!("/api/chat/groups/{g}/members"), json!({ "userIds": [newcomer.id] })).await;
    assert_eq!(status, 200);
    m.next("group.member_added").await;
    let (status, _) =
        app.put(&owner, &format!("/api/chat/groups/{g}/members/{}/role", member.id), json!({ "role": "admin" })).await;
    assert_eq!(status, 204);
    m.next("group.member_updated").await;
    let (status, _) = app.delete(&member, &format!("/api/chat/messages/{secret_id}?scope=everyone")).await;
    assert_eq!(status, 204);
    o.next("message.deleted").await;
    let control = send(&o, json!({ "conversationId": g, "text": "control" })).await;
    // The member's own earlier messages come back to them too: wait for the control message itself.
    while m.next("message.created").await["data"]["id"] != control["id"] {}

    let hidden = [g.as_str(), secret_id.as_str(), "after the removal", "renamed", "control"];
    for (who, socket) in watchers.iter_mut() {
        // The acknowledged call flushes whatever was emitted to this socket before it.
        let after = if *who == "removed" { removed_position.clone() } else { json!(0) };
        let synced = socket.ack("sync", json!({ "afterEventSeq": after })).await;
        assert_eq!(synced["ok"], true, "{who}: {synced}");
        let received = socket.drain();
        for text in hidden {
            for (name, payload) in &received {
                assert!(!payload.to_string().contains(text), "{who} received {name}: {payload}");
            }
            assert!(!synced["data"].to_string().contains(text), "{who}'s sync returned {text}: {synced}");
        }
    }
    assert!(app.is_healthy().await);
}
