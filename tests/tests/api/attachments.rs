//! Attachments: upload (type from the content), send, fetch by members only.

use chat_tests::{TestUser, png, send, spawn_app};
use reqwest::multipart::{Form, Part};
use serde_json::json;

#[tokio::test]
async fn an_uploaded_file_is_sent_and_only_members_can_fetch_it() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    let eve = TestUser::new("eve");
    app.touch(&bob).await;

    // 200 KB: larger than the 64 KiB JSON limit, which does not apply to uploads.
    let bytes = png(200 * 1024);
    let (status, uploaded) = app.upload(&alice, "photo.png", bytes.clone()).await;
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(uploaded["mimeType"], "image/png");
    assert_eq!(uploaded["kind"], "image");
    assert_eq!(uploaded["size"], bytes.len());
    let id = uploaded["id"].as_str().unwrap().to_owned();

    // Before it is sent, only the uploader sees it.
    let response = app.req(reqwest::Method::GET, &format!("/api/chat/attachments/{id}"), &bob).send().await.unwrap();
    assert_eq!(response.status(), 404);

    let (status, message) = app
        .post(&alice, "/api/chat/messages", json!({ "targetUserId": bob.id, "text": "a photo", "attachmentIds": [id] }))
        .await;
    assert_eq!(status, 201, "{message}");
    assert_eq!(message["attachments"][0]["id"], id.as_str());
    assert_eq!(message["attachments"][0]["fileName"], "photo.png");

    let response = app.req(reqwest::Method::GET, &format!("/api/chat/attachments/{id}"), &bob).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);

    let response = app.req(reqwest::Method::GET, &format!("/api/chat/attachments/{id}"), &eve).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let other_tenant = TestUser { tenant: Some(uuid::Uuid::new_v4()), ..bob.clone() };
    let response =
        app.req(reqwest::Method::GET, &format!("/api/chat/attachments/{id}"), &other_tenant).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn the_type_comes_from_the_content_not_the_name() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let form = Form::new().part(
        "file",
        Part::bytes(b"<html><script>alert(1)</script></html>".to_vec())
            .file_name("innocent.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let (status, problem) = send(app.req(reqwest::Method::POST, "/api/chat/attachments", &alice).multipart(form)).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["code"], "chat.validation");
    assert_eq!(problem["errors"][0]["field"], "file");
}

#[tokio::test]
async fn malformed_uploads_are_4xx_problems() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    // Not multipart at all.
    let (status, problem) = app.post(&alice, "/api/chat/attachments", json!({ "file": "x" })).await;
    assert!((400..500).contains(&status), "{status} {problem}");
    assert_eq!(problem["status"], status);
    // Multipart without a `file` field.
    let form = Form::new().text("other", "value");
    let (status, problem) = send(app.req(reqwest::Method::POST, "/api/chat/attachments", &alice).multipart(form)).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "file");
    // An empty file.
    let form = Form::new().part("file", Part::bytes(Vec::new()).file_name("empty.png"));
    let (status, _) = send(app.req(reqwest::Method::POST, "/api/chat/attachments", &alice).multipart(form)).await;
    assert_eq!(status, 400);
    // Bad ids.
    let (status, problem) = app.get(&alice, "/api/chat/attachments/not-a-uuid").await;
    assert_eq!(status, 400, "{problem}");
    assert!(app.is_healthy().await);
}

/// A file smaller than what type detection reads first ends inside that first read; the upload must
/// still complete (a finished body is never read again).
#[tokio::test]
async fn a_file_smaller_than_the_detection_window_uploads() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bytes = png(100);
    let (status, uploaded) = app.upload(&alice, "tiny.png", bytes.clone()).await;
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(uploaded["size"], bytes.len());
    let id = uploaded["id"].as_str().unwrap().to_owned();
    let response = app.req(reqwest::Method::GET, &format!("/api/chat/attachments/{id}"), &alice).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);
}
