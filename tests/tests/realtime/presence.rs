//! Presence over sockets: a user's first socket announces them online to their contacts, their last one
//! offline; nobody else hears of it.

use std::time::Duration;

use chat_tests::{TestSocket, TestUser, send, spawn_app};
use serde_json::Value;
use uuid::Uuid;

/// Waits for the next `presence` envelope and returns its data, checking that it is ephemeral.
async fn next_presence(socket: &mut TestSocket) -> Value {
    let envelope = socket.next("presence").await;
    assert_eq!(envelope["type"], "presence", "{envelope}");
    assert!(envelope.get("eventSeq").is_none(), "presence is ephemeral: {envelope}");
    envelope["data"].clone()
}

#[tokio::test]
async fn contacts_see_a_user_come_online_once_across_sockets_and_go_offline_with_the_last() {
    let app = spawn_app().await;
    let (alice, bob) = (TestUser::new("alice"), TestUser::new("bob"));
    app.touch(&bob).await;
    app.send_to(&alice, &bob, "hi").await;
    let mut a = app.socket(&alice).await;

    // Bob's first socket: Alice hears that he is online; Bob's `ready` lists Alice as online.
    let b1 = app.socket(&bob).await;
    let seen = next_presence(&mut a).await;
    assert_eq!(seen["userId"], bob.id.to_string());
    assert_eq!(seen["online"], true);
    assert!(seen.get("lastSeenAt").is_none(), "{seen}");
    let online: Vec<&Value> = b1.ready["presence"].as_array().unwrap().iter().collect();
    assert_eq!(online.len(), 1, "{}", b1.ready);
    assert_eq!((&online[0]["userId"], &online[0]["online"]), (&Value::from(alice.id.to_string()), &Value::Bool(true)));

    // A second socket of Bob announces nothing: the message sent afterwards is the next thing Alice sees.
    let b2 = app.socket(&bob).await;
    let message = app.send_to(&bob, &alice, "from my phone").await;
    let created = a.next("message.created").await;
    assert_eq!(created["data"]["id"], message["id"]);
    assert!(a.try_next("presence", Duration::ZERO).await.is_none(), "a second socket is not a new presence");
    let (status, body) = app.get(&alice, &format!("/api/chat/users/{}/presence", bob.id)).await;
    assert_eq!((status, &body["online"]), (200, &Value::Bool(true)), "{body}");

    // Closing both: one `offline`, with the time Bob was last seen.
    b1.close().await;
    b2.close().await;
    let gone = next_presence(&mut a).await;
    assert_eq!(gone["userId"], bob.id.to_string());
    assert_eq!(gone["online"], false);
    let last_seen = gone["lastSeenAt"].as_str().expect("lastSeenAt").to_owned();
    let (status, body) = app.get(&alice, &format!("/api/chat/users/{}/presence", bob.id)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((&body["online"], body["lastSeenAt"].as_str()), (&Value::Bool(false), Some(last_seen.as_str())));

    // Back again: the next presence Alice sees is `online` (no stray second `offline` in between).
    let _b3 = app.socket(&bob).await;
    let back = next_presence(&mut a).await;
    assert_eq!((&back["userId"], &back["online"]), (&Value::from(bob.id.to_string()), &Value::Bool(true)));
    let (status, body) = app.get(&alice, "/api/chat/contacts/presence").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(body[0]["online"], true);
}

#[tokio::test]
async fn strangers_and_users_of_other_tenants_hear_nothing_and_cannot_read_presence() {
    let app = spawn_app().await;
    let (alice, bob, stranger) = (TestUser::new("alice"), TestUser::new("bob"), TestUser::new("stranger"));
    let tenant = Uuid::new_v4();
    // Bob's id in another tenant, and a contact of that user there.
    let twin = TestUser { tenant: Some(tenant), ..bob.clone() };
    let carol = TestUser::in_tenant("carol", tenant);
    for user in [&bob, &carol, &stranger] {
        app.touch(user).await;
    }
    app.send_to(&alice, &bob, "hi").await;
    app.send_to(&twin, &carol, "hi").await;
    let mut s = app.socket(&stranger).await;
    let mut c = app.socket(&carol).await;
    let mut a = app.socket(&alice).await;

    let _b = app.socket(&bob).await;
    assert_eq!(next_presence(&mut a).await["userId"], bob.id.to_string());

    // Carol's own contact (Bob's twin in her tenant) coming online is the first presence she sees.
    let _t = app.socket(&twin).await;
    let first = next_presence(&mut c).await;
    assert_eq!(first["userId"], twin.id.to_string());
    assert_eq!(first["online"], true);
    assert!(c.try_next("presence", Duration::ZERO).await.is_none(), "only her contact's presence");
    // The twin's presence stays in its tenant: Alice saw Bob once, and nothing more arrives before her
    // next contact's news.
    let message = app.send_to(&bob, &alice, "marker").await;
    assert_eq!(a.next("message.created").await["data"]["id"], message["id"]);
    assert!(a.try_next("presence", Duration::ZERO).await.is_none(), "nothing from another tenant");

    // The stranger shares no conversation with Bob: nothing arrives, and reading is 404 as for no one.
    let message = app.send_to(&alice, &stranger, "marker").await;
    assert_eq!(s.next("message.created").await["data"]["id"], message["id"]);
    let mut seen = Vec::new();
    while let Some(p) = s.try_next("presence", Duration::ZERO).await {
        seen.push(p["data"]["userId"].clone());
    }
    assert!(!seen.contains(&Value::from(bob.id.to_string())), "{seen:?}");
    let (status, body) = app.get(&stranger, &format!("/api/chat/users/{}/presence", bob.id)).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = app.get(&carol, &format!("/api/chat/users/{}/presence", alice.id)).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn the_presence_routes_are_in_the_openapi_document() {
    let app = spawn_app().await;
    let (status, doc) = send(app.http.get(app.url("/api/openapi.json"))).await;
    assert_eq!(status, 200);
    for path in ["/api/chat/users/{userId}/presence", "/api/chat/contacts/presence"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["PresenceDto"].is_object());
}
