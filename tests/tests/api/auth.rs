//! Authentication: every route requires a token, and development mode. Which tokens are refused, for
//! every key setup, is tested in `security`.

use chat_host::config::JwtKeyConfig;
use chat_tests::{send, spawn_app, spawn_app_with};
use serde_json::json;

#[tokio::test]
async fn every_api_route_requires_a_token() {
    let app = spawn_app().await;
    let id = uuid::Uuid::new_v4();
    let routes = [
        ("POST", "/api/chat/messages".to_owned()),
        ("GET", "/api/chat/conversations".to_owned()),
        ("GET", format!("/api/chat/conversations/{id}/messages")),
        ("GET", format!("/api/chat/messages/{id}")),
        ("DELETE", format!("/api/chat/messages/{id}")),
        ("PUT", format!("/api/chat/messages/{id}/reactions/x")),
        ("GET", "/api/chat/messages/search?q=a".to_owned()),
        ("GET", "/api/chat/contacts".to_owned()),
        ("POST", "/api/chat/groups".to_owned()),
        ("GET", "/api/chat/settings".to_owned()),
        ("POST", "/api/chat/attachments".to_owned()),
        ("GET", "/api/chat/sync".to_owned()),
    ];
    for (method, path) in routes {
        let request = app
            .http
            .request(method.parse().unwrap(), app.url(&path))
            .header("content-type", "application/json")
            .body("{}");
        let (status, problem) = send(request).await;
        assert_eq!(status, 401, "{method} {path}: {problem}");
    }
}

#[tokio::test]
async fn development_login_exists_only_in_development_mode() {
    let app = spawn_app().await;
    let (status, problem) = send(app.http.post(app.url("/api/dev/login")).json(&json!({ "userName": "alice" }))).await;
    assert_eq!(status, 404, "{problem}");

    let dev = spawn_app_with(|c| c.jwt = JwtKeyConfig::Development).await;
    let (status, login) = send(dev.http.post(dev.url("/api/dev/login")).json(&json!({ "userName": "alice" }))).await;
    assert_eq!(status, 200, "{login}");
    let token = login["token"].as_str().unwrap();
    let (again_status, again) =
        send(dev.http.post(dev.url("/api/dev/login")).json(&json!({ "userName": "alice" }))).await;
    assert_eq!(again_status, 200);
    assert_eq!(login["userId"], again["userId"], "a name maps to a stable id");
    let (status, _) = send(dev.http.get(dev.url("/api/chat/contacts/unread-count")).bearer_auth(token)).await;
    assert_eq!(status, 200);
    // A token of the development server is worthless on the other one.
    let (status, _) = send(app.http.get(app.url("/api/chat/contacts/unread-count")).bearer_auth(token)).await;
    assert_eq!(status, 401);
}
