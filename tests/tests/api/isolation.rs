//! Tenant isolation: another tenant's resources answer exactly like missing ones.

use chat_tests::{TestUser, spawn_app};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn another_tenants_conversation_and_message_are_not_found() {
    let app = spawn_app().await;
    let tenant_a = Uuid::new_v4();
    let tenant_b = Uuid::new_v4();
    let alice = TestUser::in_tenant("alice", tenant_a);
    let bob = TestUser::in_tenant("bob", tenant_a);
    let mallory = TestUser::in_tenant("mallory", tenant_b);
    app.touch(&bob).await;
    app.touch(&mallory).await;

    let message = app.send_to(&alice, &bob, "tenant A only").await;
    let id = message["id"].as_str().unwrap();
    let conversation = message["conversationId"].as_str().unwrap();

    for path in [
        format!("/api/chat/messages/{id}"),
        format!("/api/chat/messages/{id}/receipts"),
        format!("/api/chat/conversations/{conversation}"),
        format!("/api/chat/conversations/{conversation}/messages"),
    ] {
        let (status, problem) = app.get(&mallory, &path).await;
        assert_eq!(status, 404, "{path}: {problem}");
        assert_eq!(problem["code"], "chat.not_found");
    }
    let (status, _) = app.patch(&mallory, &format!("/api/chat/messages/{id}"), json!({ "text": "x" })).await;
    assert_eq!(status, 404);
    let (status, _) =
        app.post(&mallory, "/api/chat/messages", json!({ "conversationId": conversation, "text": "x" })).await;
    assert_eq!(status, 404);
    // A user of another tenant cannot be written to either.
    let (status, _) = app.post(&mallory, "/api/chat/messages", json!({ "targetUserId": alice.id, "text": "x" })).await;
    assert_eq!(status, 404);

    // Nothing leaks into counts, lists or search.
    let (_, unread) = app.get(&mallory, "/api/chat/contacts/unread-count").await;
    assert_eq!(unread["count"], 0);
    let (_, list) = app.get(&mallory, "/api/chat/conversations").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0));
    let (_, found) = app.get(&mallory, "/api/chat/messages/search?q=tenant").await;
    assert_eq!(found["items"].as_array().map(Vec::len), Some(0));
    let (_, contacts) = app.get(&mallory, "/api/chat/contacts?includeOtherContacts=true").await;
    assert!(!contacts.to_string().contains(&alice.id.to_string()), "{contacts}");

    // The same user id in another tenant is another user.
    let alice_elsewhere = TestUser { tenant: Some(tenant_b), ..alice.clone() };
    let (status, _) = app.get(&alice_elsewhere, &format!("/api/chat/messages/{id}")).await;
    assert_eq!(status, 404);
}
