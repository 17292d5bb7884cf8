//! Health, metrics, OpenAPI, docs, request ids, unknown routes.

use chat_tests::{TestUser, send, spawn_app};
use serde_json::Value;

#[tokio::test]
async fn health_endpoints_answer() {
    let app = spawn_app().await;
    let (status, live) = send(app.http.get(app.url("/health/live"))).await;
    assert_eq!(status, 200);
    assert_eq!(live["status"], "ok");
    let (status, ready) = send(app.http.get(app.url("/health/ready"))).await;
    assert_eq!(status, 200, "{ready}");
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_requests_and_messages() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    app.send_to(&alice, &bob, "counted").await;
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"chat_http_requests_total{method="POST",route="/api/chat/messages",status="201"} 1"#),
        "{text}"
    );
    assert!(text.contains("chat_http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("chat_messages_sent_total 1"), "{text}");
    assert!(text.contains("chat_sockets_connected 0"), "{text}");
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app().await;
    let (status, doc) = send(app.http.get(app.url("/api/openapi.json"))).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("post", "/api/chat/messages"),
        ("get", "/api/chat/conversations"),
        ("post", "/api/chat/conversations"),
        ("get", "/api/chat/conversations/{id}"),
        ("delete", "/api/chat/conversations/{id}"),
        ("get", "/api/chat/messages/{id}"),
        ("patch", "/api/chat/messages/{id}"),
        ("delete", "/api/chat/messages/{id}"),
        ("get", "/api/chat/conversations/{id}/messages"),
        ("get", "/api/chat/users/{userId}/conversation"),
        ("post", "/api/chat/conversations/{id}/read"),
        ("post", "/api/chat/conversations/{id}/mute"),
        ("post", "/api/chat/conversations/{id}/archive"),
        ("put", "/api/chat/messages/{id}/reactions/{emoji}"),
        ("delete", "/api/chat/messages/{id}/reactions/{emoji}"),
        ("get", "/api/chat/messages/search"),
        ("get", "/api/chat/contacts"),
        ("get", "/api/chat/contacts/unread-count"),
        ("post", "/api/chat/groups"),
        ("patch", "/api/chat/groups/{id}"),
        ("delete", "/api/chat/groups/{id}"),
        ("get", "/api/chat/groups/{id}/members"),
        ("post", "/api/chat/groups/{id}/members"),
        ("delete", "/api/chat/groups/{id}/members/{userId}"),
        ("put", "/api/chat/groups/{id}/members/{userId}/role"),
        ("post", "/api/chat/groups/{id}/owner"),
        ("post", "/api/chat/groups/{id}/leave"),
        ("post", "/api/chat/attachments"),
        ("get", "/api/chat/attachments/{id}"),
        ("get", "/api/chat/settings"),
        ("put", "/api/chat/settings"),
        ("get", "/api/chat/messages/{id}/receipts"),
    ];
    for (method, path) in expected {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing from the document");
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in ["MessageDto", "ConversationDto", "GroupDto", "Problem", "SendMessageInput"] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn the_docs_page_is_served() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.to_lowercase().contains("swagger"), "{html}");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problem_documents_with_request_ids() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let response = app.req(reqwest::Method::GET, "/api/chat/nothing-here", &alice).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "chat.not_found");

    let response = app.req(reqwest::Method::PUT, "/api/chat/contacts", &alice).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "chat.method_not_allowed");

    let (status, body) = send(app.http.get(app.url("/definitely/not/here"))).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "chat.not_found");

    // A request id sent by the caller is echoed back.
    let response = app.http.get(app.url("/health/live")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn the_web_page_is_served_at_the_root() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
}

#[tokio::test]
async fn listed_origins_get_cors_headers_and_others_do_not() {
    let app = chat_tests::spawn_app_with(|c| {
        c.allowed_origins = chat_host::config::AllowedOrigins::parse("http://app.example")
    })
    .await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/chat/messages"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type")
            .send()
    };
    let allowed = preflight("http://app.example").await.unwrap();
    assert_eq!(allowed.headers().get("access-control-allow-origin").unwrap(), "http://app.example");
    let refused = preflight("http://evil.example").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());
}
