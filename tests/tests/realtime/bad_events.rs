//! Malformed and unknown client events are acknowledged with errors and never crash the server.

use chat_tests::{TestUser, spawn_app};
use serde_json::json;

#[tokio::test]
async fn malformed_payloads_are_acknowledged_as_errors() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let a = app.socket(&alice).await;
    let cases = [
        ("message.send", json!({ "text": 5 })),
        ("message.send", json!("not an object")),
        ("message.send", json!({ "targetUserId": "nope", "text": "x" })),
        ("message.send", json!({ "text": "no target" })),
        ("conversation.read", json!({})),
        ("conversation.read", json!({ "conversationId": "bad" })),
        ("typing", json!({ "conversationId": uuid::Uuid::new_v4() })),
        ("message.delivered", json!({ "messageIds": "x" })),
        ("sync", json!({ "afterEventSeq": "abc" })),
    ];
    for (event, payload) in cases {
        let ack = a.ack(event, payload.clone()).await;
        assert_eq!(ack["ok"], false, "{event} {payload}: {ack}");
        let code = ack["error"]["code"].as_str().unwrap_or_default();
        assert!(code.starts_with("chat."), "{event} {payload}: {ack}");
        assert!(ack["error"]["message"].is_string(), "{ack}");
    }
    // The socket still works.
    let ok = a.ack("sync", json!({ "afterEventSeq": 0 })).await;
    assert_eq!(ok["ok"], true, "{ok}");
    assert!(app.is_healthy().await);
}

#[tokio::test]
async fn unknown_events_are_acknowledged_as_errors() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let a = app.socket(&alice).await;
    let ack = a.ack("no.such.event", json!({ "x": 1 })).await;
    assert_eq!(ack["ok"], false);
    assert_eq!(ack["error"]["code"], "chat.unknown_event");
    // Without an ack requested, nothing happens and the socket lives on.
    a.emit("no.such.event", json!(1)).await;
    let ack = a.ack("message.send", serde_json::Value::Null).await;
    assert_eq!(ack["ok"], false);
    let ok = a.ack("sync", json!({})).await;
    assert_eq!(ok["ok"], true, "{ok}");
}

#[tokio::test]
async fn an_oversized_socket_payload_does_not_harm_the_server() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    let a = app.socket(&alice).await;
    let big = "x".repeat(100 * 1024);
    a.emit("message.send", json!({ "targetUserId": bob.id, "text": big })).await;
    // The oversized frame is refused (the connection may be dropped); the server stays healthy and other
    // clients are served.
    let b = app.socket(&bob).await;
    let ok = b.ack("sync", json!({})).await;
    assert_eq!(ok["ok"], true);
    assert!(app.is_healthy().await);
    let (_, list) = app.get(&bob, "/api/chat/conversations").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "the oversized message was not stored");
}
