//! The whole REST flow between two users.

use chat_tests::{TestUser, spawn_app};
use serde_json::json;

#[tokio::test]
async fn two_users_chat_with_unread_counts_receipts_edit_delete_reply_and_reactions() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;

    // Alice writes to Bob; the direct conversation is created on first use.
    let first = app.send_to(&alice, &bob, "hello bob").await;
    assert_eq!(first["seq"], 1);
    assert_eq!(first["text"], "hello bob");
    let conversation = first["conversationId"].as_str().unwrap().to_owned();

    // Bob sees one unread message, in the conversation list and in the total.
    let (status, unread) = app.get(&bob, "/api/chat/contacts/unread-count").await;
    assert_eq!(status, 200);
    assert_eq!(unread["count"], 1);
    let (_, list) = app.get(&bob, "/api/chat/conversations").await;
    assert_eq!(list["items"][0]["id"], conversation.as_str());
    assert_eq!(list["items"][0]["unreadCount"], 1);
    assert_eq!(list["items"][0]["type"], "direct");
    assert_eq!(list["hasMore"], false);

    // Bob reads; his unread count drops to zero and the receipt shows Bob read Alice's message.
    let (status, _) = app.post(&bob, &format!("/api/chat/conversations/{conversation}/read"), json!({})).await;
    assert_eq!(status, 204);
    let (_, unread) = app.get(&bob, "/api/chat/contacts/unread-count").await;
    assert_eq!(unread["count"], 0);
    let (status, receipts) =
        app.get(&alice, &format!("/api/chat/messages/{}/receipts", first["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "{receipts}");
    let bob_receipt =
        receipts["members"].as_array().unwrap().iter().find(|m| m["userId"] == bob.id.to_string()).cloned();
    assert!(bob_receipt.is_some_and(|r| !r["readAt"].is_null()), "{receipts}");

    // Bob replies; the reply points at Alice's message.
    let (status, reply) = app
        .post(
            &bob,
            "/api/chat/messages",
            json!({ "conversationId": conversation, "text": "hi alice", "replyToId": first["id"] }),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["replyToId"], first["id"]);
    assert_eq!(reply["seq"], 2);

    // Alice edits her message.
    let id = first["id"].as_str().unwrap();
    let (status, edited) =
        app.patch(&alice, &format!("/api/chat/messages/{id}"), json!({ "text": "hello, Bob" })).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["text"], "hello, Bob");
    assert!(!edited["editedAt"].is_null());
    // Bob may not edit it.
    let (status, problem) = app.patch(&bob, &format!("/api/chat/messages/{id}"), json!({ "text": "hacked" })).await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(problem["code"], "chat.forbidden");

    // Bob reacts, then the reaction shows on the message.
    let (status, _) = app.put(&bob, &format!("/api/chat/messages/{id}/reactions/%F0%9F%91%8D"), json!(null)).await;
    assert_eq!(status, 204);
    let (_, message) = app.get(&alice, &format!("/api/chat/messages/{id}")).await;
    assert_eq!(message["reactions"][0]["emoji"], "👍");
    assert_eq!(message["reactions"][0]["count"], 1);
    let (status, _) = app.delete(&bob, &format!("/api/chat/messages/{id}/reactions/%F0%9F%91%8D")).await;
    assert_eq!(status, 204);
    let (_, message) = app.get(&alice, &format!("/api/chat/messages/{id}")).await;
    assert_eq!(message["reactions"].as_array().map(Vec::len), Some(0));

    // History in ascending seq.
    let (status, history) = app.get(&alice, &format!("/api/chat/conversations/{conversation}/messages")).await;
    assert_eq!(status, 200);
    let seqs: Vec<i64> = history["items"].as_array().unwrap().iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, vec![1, 2]);

    // Alice deletes her message for everyone; Bob sees it as deleted, without text.
    let (status, _) = app.delete(&alice, &format!("/api/chat/messages/{id}?scope=everyone")).await;
    assert_eq!(status, 204);
    let (_, gone) = app.get(&bob, &format!("/api/chat/messages/{id}")).await;
    assert_eq!(gone["deleted"], true);
    assert!(gone["text"].is_null());

    // Bob deletes Bob's reply for himself only; Alice still sees it.
    let reply_id = reply["id"].as_str().unwrap();
    let (status, _) = app.delete(&bob, &format!("/api/chat/messages/{reply_id}?scope=me")).await;
    assert_eq!(status, 204);
    let (_, still) = app.get(&alice, &format!("/api/chat/messages/{reply_id}")).await;
    assert_eq!(still["text"], "hi alice");
}

#[tokio::test]
async fn a_repeated_client_message_id_returns_the_first_message() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let body = json!({ "targetUserId": bob.id, "text": "once", "clientMessageId": "c-1" });
    let (s1, m1) = app.post(&alice, "/api/chat/messages", body.clone()).await;
    let (s2, m2) = app.post(&alice, "/api/chat/messages", body).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(m1["id"], m2["id"]);
    let (_, history) =
        app.get(&alice, &format!("/api/chat/conversations/{}/messages", m1["conversationId"].as_str().unwrap())).await;
    assert_eq!(history["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn conversations_can_be_opened_muted_archived_searched_and_deleted() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;

    let (status, opened) = app.post(&alice, "/api/chat/conversations", json!({ "targetUserId": bob.id })).await;
    assert_eq!(status, 200, "{opened}");
    let (_, again) = app.post(&alice, "/api/chat/conversations", json!({ "targetUserId": bob.id })).await;
    assert_eq!(opened["id"], again["id"], "opening is idempotent");
    let id = opened["id"].as_str().unwrap().to_owned();

    app.send_to(&alice, &bob, "the quick brown fox").await;
    app.send_to(&alice, &bob, "something else").await;

    let (status, one) = app.get(&alice, &format!("/api/chat/conversations/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(one["memberCount"], 2);

    let (status, direct) = app.get(&alice, &format!("/api/chat/users/{}/conversation", bob.id)).await;
    assert_eq!(status, 200, "{direct}");
    assert_eq!(direct["messages"].as_array().map(Vec::len), Some(2));

    let (status, muted) =
        app.post(&alice, &format!("/api/chat/conversations/{id}/mute"), json!({ "muted": true })).await;
    assert_eq!(status, 200);
    assert_eq!(muted["muted"], true);
    let (status, archived) =
        app.post(&alice, &format!("/api/chat/conversations/{id}/archive"), json!({ "archived": true })).await;
    assert_eq!(status, 200);
    assert_eq!(archived["archived"], true);
    let (_, list) = app.get(&alice, "/api/chat/conversations").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "archived conversations are hidden by default");
    let (_, list) = app.get(&alice, "/api/chat/conversations?includeArchived=true").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));

    let (status, found) = app.get(&alice, "/api/chat/messages/search?q=fox").await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(found["items"][0]["text"], "the quick brown fox");

    let (status, contacts) = app.get(&alice, "/api/chat/contacts").await;
    assert_eq!(status, 200);
    assert!(contacts.as_array().unwrap().iter().any(|c| c["userId"] == bob.id.to_string()), "{contacts}");

    let (status, _) = app.delete(&alice, &format!("/api/chat/conversations/{id}")).await;
    assert_eq!(status, 204);
    let (_, list) = app.get(&alice, "/api/chat/conversations?includeArchived=true").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn history_is_cursor_paginated() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let mut conversation = String::new();
    for i in 0..5 {
        let m = app.send_to(&alice, &bob, &format!("m{i}")).await;
        conversation = m["conversationId"].as_str().unwrap().to_owned();
    }
    let (_, page1) = app.get(&alice, &format!("/api/chat/conversations/{conversation}/messages?limit=2")).await;
    assert_eq!(page1["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(page1["hasMore"], true);
    assert_eq!(page1["items"][1]["text"], "m4");
    let cursor = page1["nextCursor"].as_str().unwrap();
    let (_, page2) =
        app.get(&alice, &format!("/api/chat/conversations/{conversation}/messages?limit=2&before={cursor}")).await;
    assert_eq!(page2["items"][1]["text"], "m2");
}

#[tokio::test]
async fn settings_are_read_and_changed_and_tenant_settings_need_an_admin() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let (status, settings) = app.get(&alice, "/api/chat/settings").await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["sendOnEnter"], true);

    let (status, changed) = app.put(&alice, "/api/chat/settings", json!({ "sendOnEnter": false })).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["sendOnEnter"], false);

    let (status, problem) =
        app.put(&alice, "/api/chat/settings", json!({ "tenant": { "searchOtherContacts": false } })).await;
    assert_eq!(status, 403, "{problem}");

    let admin = TestUser::new("admin").admin();
    let (status, changed) =
        app.put(&admin, "/api/chat/settings", json!({ "tenant": { "searchOtherContacts": false } })).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["tenant"]["searchOtherContacts"], false);
}
