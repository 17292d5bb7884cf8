//! Bad input on every route gets a 4xx problem document, and the server stays healthy.

use chat_tests::{TestApp, TestUser, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// Every route with a JSON body, with ids filled in.
fn body_routes(id: Uuid, user: Uuid) -> Vec<(Method, String)> {
    vec![
        (Method::POST, "/api/chat/messages".into()),
        (Method::POST, "/api/chat/conversations".into()),
        (Method::POST, format!("/api/chat/conversations/{id}/read")),
        (Method::POST, format!("/api/chat/conversations/{id}/mute")),
        (Method::POST, format!("/api/chat/conversations/{id}/archive")),
        (Method::PATCH, format!("/api/chat/messages/{id}")),
        (Method::POST, "/api/chat/groups".into()),
        (Method::PATCH, format!("/api/chat/groups/{id}")),
        (Method::POST, format!("/api/chat/groups/{id}/members")),
        (Method::PUT, format!("/api/chat/groups/{id}/members/{user}/role")),
        (Method::POST, format!("/api/chat/groups/{id}/owner")),
        (Method::PUT, "/api/chat/settings".into()),
    ]
}

/// Every route with an id in its path, the id replaced by `bad`.
fn id_routes(bad: &str) -> Vec<(Method, String)> {
    let ok = Uuid::new_v4();
    vec![
        (Method::GET, format!("/api/chat/conversations/{bad}")),
        (Method::DELETE, format!("/api/chat/conversations/{bad}")),
        (Method::GET, format!("/api/chat/conversations/{bad}/messages")),
        (Method::POST, format!("/api/chat/conversations/{bad}/read")),
        (Method::POST, format!("/api/chat/conversations/{bad}/mute")),
        (Method::POST, format!("/api/chat/conversations/{bad}/archive")),
        (Method::GET, format!("/api/chat/users/{bad}/conversation")),
        (Method::GET, format!("/api/chat/messages/{bad}")),
        (Method::PATCH, format!("/api/chat/messages/{bad}")),
        (Method::DELETE, format!("/api/chat/messages/{bad}")),
        (Method::PUT, format!("/api/chat/messages/{bad}/reactions/x")),
        (Method::DELETE, format!("/api/chat/messages/{bad}/reactions/x")),
        (Method::GET, format!("/api/chat/messages/{bad}/receipts")),
        (Method::GET, format!("/api/chat/groups/{bad}")),
        (Method::PATCH, format!("/api/chat/groups/{bad}")),
        (Method::DELETE, format!("/api/chat/groups/{bad}")),
        (Method::GET, format!("/api/chat/groups/{bad}/members")),
        (Method::POST, format!("/api/chat/groups/{bad}/members")),
        (Method::DELETE, format!("/api/chat/groups/{bad}/members/{ok}")),
        (Method::DELETE, format!("/api/chat/groups/{ok}/members/{bad}")),
        (Method::PUT, format!("/api/chat/groups/{bad}/members/{ok}/role")),
        (Method::POST, format!("/api/chat/groups/{bad}/owner")),
        (Method::POST, format!("/api/chat/groups/{bad}/leave")),
    ]
}

async fn raw(
    app: &TestApp,
    user: &TestUser,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, String, Value) {
    let mut request = app.req(method, path, user).body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let ct = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body = response.text().await.unwrap();
    (status, ct, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn assert_problem(what: &str, status: u16, ct: &str, body: &Value, expected: u16) {
    assert_eq!(status, expected, "{what}: {body}");
    assert_eq!(ct, "application/problem+json", "{what}");
    assert_eq!(body["status"], expected, "{what}");
    assert!(body["code"].as_str().is_some_and(|c| c.starts_with("chat.")), "{what}: {body}");
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(), "{what}: {body}");
}

#[tokio::test]
async fn malformed_json_wrong_types_and_missing_content_type_are_4xx_on_every_body_route() {
    let app = spawn_app().await;
    let user = TestUser::new("fuzzer");
    for (method, path) in body_routes(Uuid::new_v4(), Uuid::new_v4()) {
        let what = format!("{method} {path}");
        for bad in [&b"{\"text\": "[..], b"{not json}", b"\xff\xfe\x00", b"{\"a\":1} trailing"] {
            let (status, ct, body) =
                raw(&app, &user, method.clone(), &path, Some("application/json"), bad.to_vec()).await;
            assert_problem(&format!("{what} with {:?}", String::from_utf8_lossy(bad)), status, &ct, &body, 400);
            assert_eq!(body["code"], "chat.bad_request", "{what}");
        }
        for wrong in [json!([1, 2]), json!("text"), json!(42)] {
            let (status, ct, body) =
                raw(&app, &user, method.clone(), &path, Some("application/json"), wrong.to_string().into_bytes()).await;
            assert_problem(&format!("{what} with {wrong}"), status, &ct, &body, 400);
            assert_eq!(body["code"], "chat.validation", "{what}");
            assert!(body["errors"][0]["field"].is_string(), "{what}: {body}");
        }
        let (status, ct, body) = raw(&app, &user, method.clone(), &path, Some("text/plain"), b"{}".to_vec()).await;
        assert_problem(&format!("{what} as text/plain"), status, &ct, &body, 415);
    }
    assert!(app.is_healthy().await);
}

#[tokio::test]
async fn fields_of_the_wrong_type_are_named() {
    let app = spawn_app().await;
    let user = TestUser::new("fuzzer");
    let cases = [
        ("/api/chat/messages", json!({ "targetUserId": "nope", "text": "x" }), "targetUserId"),
        ("/api/chat/messages", json!({ "targetUserId": Uuid::new_v4(), "text": 5 }), "text"),
        (
            "/api/chat/messages",
            json!({ "targetUserId": Uuid::new_v4(), "text": "x", "attachmentIds": "a" }),
            "attachmentIds",
        ),
        ("/api/chat/groups", json!({ "name": "g", "memberIds": [1] }), "memberIds[0]"),
        ("/api/chat/conversations", json!({}), "body"),
    ];
    for (path, body, field) in cases {
        let (status, problem) = app.post(&user, path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body}: {problem}");
        assert_eq!(problem["code"], "chat.validation");
        let errors = problem["errors"].as_array().unwrap();
        assert!(
            errors.iter().any(|e| e["field"] == field || (field == "body" && e["field"].is_string())),
            "{path} {body}: expected field {field} in {problem}"
        );
    }
}

#[tokio::test]
async fn invalid_values_are_validation_problems() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let long = "x".repeat(4001);
    for (body, field) in [
        (json!({ "targetUserId": bob.id, "text": "   " }), "text"),
        (json!({ "targetUserId": bob.id, "text": long }), "text"),
        (json!({ "targetUserId": alice.id, "text": "me" }), "targetUserId"),
        (json!({ "text": "no target" }), ""),
    ] {
        let (status, problem) = app.post(&alice, "/api/chat/messages", body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(problem["code"], "chat.validation");
        if !field.is_empty() {
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
    }
    // Nothing was stored.
    let (_, list) = app.get(&alice, "/api/chat/conversations").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
}

#[tokio::test]
async fn bad_uuids_in_paths_are_400_on_every_route() {
    let app = spawn_app().await;
    let user = TestUser::new("fuzzer");
    for bad in ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"] {
        for (method, path) in id_routes(bad) {
            let body = if method == Method::GET || method == Method::DELETE { Vec::new() } else { b"{}".to_vec() };
            let (status, ct, problem) = raw(&app, &user, method.clone(), &path, Some("application/json"), body).await;
            assert_problem(&format!("{method} {path}"), status, &ct, &problem, 400);
            assert_eq!(problem["code"], "chat.validation", "{method} {path}");
        }
    }
    assert!(app.is_healthy().await);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = spawn_app().await;
    let user = TestUser::new("fuzzer");
    let huge = json!({ "targetUserId": Uuid::new_v4(), "text": "x".repeat(70 * 1024) }).to_string().into_bytes();
    for (method, path) in body_routes(Uuid::new_v4(), Uuid::new_v4()) {
        let (status, ct, body) = raw(&app, &user, method.clone(), &path, Some("application/json"), huge.clone()).await;
        assert_problem(&format!("{method} {path}"), status, &ct, &body, 413);
        assert_eq!(body["code"], "chat.payload_too_large");
    }
    assert!(app.is_healthy().await);
}

#[tokio::test]
async fn bad_cursors_limits_and_query_values_are_4xx() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let message = app.send_to(&alice, &bob, "hi").await;
    let conversation = message["conversationId"].as_str().unwrap();
    let group = Uuid::new_v4();
    let paths = [
        "/api/chat/conversations?cursor=garbage".to_owned(),
        "/api/chat/conversations?limit=100000".to_owned(),
        "/api/chat/conversations?limit=-1".to_owned(),
        "/api/chat/conversations?limit=abc".to_owned(),
        "/api/chat/conversations?includeArchived=maybe".to_owned(),
        format!("/api/chat/conversations/{conversation}/messages?before=garbage"),
        format!("/api/chat/conversations/{conversation}/messages?after=-5x"),
        format!("/api/chat/conversations/{conversation}/messages?limit=100000"),
        format!("/api/chat/conversations/{conversation}/messages?limit=0"),
        format!("/api/chat/conversations/{conversation}/messages?from=yesterday"),
        "/api/chat/messages/search?q=hi&cursor=%%%".to_owned(),
        "/api/chat/messages/search?q=hi&limit=100000".to_owned(),
        "/api/chat/messages/search".to_owned(),
        "/api/chat/messages/search?q=hi&conversationId=nope".to_owned(),
        format!("/api/chat/groups/{group}/members?limit=100000"),
        "/api/chat/contacts?limit=100000".to_owned(),
        "/api/chat/sync?afterEventSeq=abc".to_owned(),
        format!("/api/chat/messages/{}?scope=sideways", message["id"].as_str().unwrap()),
    ];
    for path in paths {
        let method = if path.contains("scope=") { Method::DELETE } else { Method::GET };
        let (status, ct, body) = raw(&app, &alice, method, &path, None, Vec::new()).await;
        assert!((400..500).contains(&status), "{path}: {status} {body}");
        assert_eq!(ct, "application/problem+json", "{path}");
        assert!(body["code"].as_str().is_some_and(|c| c.starts_with("chat.")), "{path}: {body}");
    }
    // The good message is intact and the server healthy.
    let (status, still) = app.get(&bob, &format!("/api/chat/messages/{}", message["id"].as_str().unwrap())).await;
    assert_eq!(status, 200);
    assert_eq!(still["text"], "hi");
    assert!(app.is_healthy().await);
}

#[tokio::test]
async fn text_is_stored_and_returned_byte_for_byte() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let text = "<script>alert('x')</script> & \"quotes\" \u{1F600} \\n";
    let message = app.send_to(&alice, &bob, text).await;
    let (_, read) = app.get(&bob, &format!("/api/chat/messages/{}", message["id"].as_str().unwrap())).await;
    assert_eq!(read["text"], text);
}
