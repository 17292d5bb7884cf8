//! Authentication failures: every route answers 401 problem documents, and development mode.

use chat_host::config::JwtKeyConfig;
use chat_tests::{TestUser, b64url, claims_for, send, sign, spawn_app, spawn_app_with, token_for};
use serde_json::{Value, json};

async fn unread_with(app: &chat_tests::TestApp, authorization: Option<String>) -> (u16, Value) {
    let mut request = app.http.get(app.url("/api/chat/contacts/unread-count"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    send(request).await
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused_with_401() {
    let app = spawn_app().await;
    let user = TestUser::new("alice");

    let expired = {
        let mut claims = claims_for(&user);
        claims["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
        sign(&claims)
    };
    let bad_signature = {
        let token = token_for(&user);
        let (rest, _) = token.rsplit_once('.').unwrap();
        format!("{rest}.{}", b64url(b"not the signature at all, not at all"))
    };
    let alg_none =
        format!("{}.{}.", b64url(br#"{"alg":"none","typ":"JWT"}"#), b64url(claims_for(&user).to_string().as_bytes()));
    let other_secret = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims_for(&user),
        &jsonwebtoken::EncodingKey::from_secret(b"another-secret-another-secret-xx"),
    )
    .unwrap();
    let not_a_uuid_subject = {
        let mut claims = claims_for(&user);
        claims["sub"] = json!("alice");
        sign(&claims)
    };
    let no_exp = {
        let mut claims = claims_for(&user);
        claims.as_object_mut().unwrap().remove("exp");
        sign(&claims)
    };

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no header", None),
        ("empty bearer", Some("Bearer ".into())),
        ("basic scheme", Some("Basic YWxpY2U6cHc=".into())),
        ("garbage", Some("Bearer not.a.token".into())),
        ("expired", Some(format!("Bearer {expired}"))),
        ("bad signature", Some(format!("Bearer {bad_signature}"))),
        ("alg none", Some(format!("Bearer {alg_none}"))),
        ("other secret", Some(format!("Bearer {other_secret}"))),
        ("sub not a uuid", Some(format!("Bearer {not_a_uuid_subject}"))),
        ("no exp", Some(format!("Bearer {no_exp}"))),
    ];
    for (name, header) in cases {
        let (status, problem) = unread_with(&app, header).await;
        assert_eq!(status, 401, "{name}: {problem}");
        assert_eq!(problem["code"], "chat.unauthorized", "{name}");
        assert_eq!(problem["status"], 401, "{name}");
    }
    // And a valid token works.
    let (status, _) = unread_with(&app, Some(format!("Bearer {}", token_for(&user)))).await;
    assert_eq!(status, 200);
}

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
