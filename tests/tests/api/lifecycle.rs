//! Start-up, shutdown, restart, key configurations and other stores.

use chat_host::config::{Config, JwtKeyConfig};
use chat_infrastructure::persistence::testing::fresh_postgres_schema;
use chat_tests::{TestUser, claims_for, send, spawn_app, spawn_app_in, spawn_app_with, temp_dir, test_config};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

const ES256_PRIVATE: &str = include_str!("../../fixtures/es256-private.pem");
const ES256_PUBLIC: &str = include_str!("../../fixtures/es256-public.pem");

#[tokio::test]
async fn a_graceful_stop_finishes_and_the_port_is_released() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    app.send_to(&alice, &bob, "before stop").await;
    let addr = app.addr;
    app.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the server still accepts connections");
}

#[tokio::test]
async fn acknowledged_messages_survive_a_restart() {
    let dir = temp_dir();
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    let app = spawn_app_in(&dir, |_| {}).await;
    app.touch(&bob).await;
    let message = app.send_to(&alice, &bob, "kept").await;
    app.stop().await;

    let app = spawn_app_in(&dir, |_| {}).await;
    let (status, read) = app.get(&bob, &format!("/api/chat/messages/{}", message["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["text"], "kept");
    let (_, unread) = app.get(&bob, "/api/chat/contacts/unread-count").await;
    assert_eq!(unread["count"], 1);
    app.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_unsupported_bus_url_stops_the_start_with_a_clear_error() {
    let dir = temp_dir();
    let mut config: Config = test_config(&dir);
    config.bus_url = Some("amqp://user:secret@127.0.0.1:5672".into());
    let error = chat_host::Application::build(config).await.expect_err("the server started");
    let text = error.to_string();
    assert!(text.contains("CHAT_BUS_URL"), "{text}");
    assert!(!text.contains("secret"), "the password leaked into the error: {text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_public_key_server_accepts_es256_and_refuses_algorithm_confusion() {
    let app = spawn_app_with(|c| c.jwt = JwtKeyConfig::PublicKeyPem(ES256_PUBLIC.to_owned())).await;
    let user = TestUser::new("alice");
    let claims = claims_for(&user);

    let es256 = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &claims,
        &EncodingKey::from_ec_pem(ES256_PRIVATE.as_bytes()).unwrap(),
    )
    .unwrap();
    let (status, body) = send(app.http.get(app.url("/api/chat/contacts/unread-count")).bearer_auth(&es256)).await;
    assert_eq!(status, 200, "{body}");

    // HS256 "signed" with the public key as the secret: the classic confusion attack.
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(ES256_PUBLIC.as_bytes()),
    )
    .unwrap();
    let (status, body) = send(app.http.get(app.url("/api/chat/contacts/unread-count")).bearer_auth(&confused)).await;
    assert_eq!(status, 401, "{body}");

    // No development login with a configured key.
    let (status, _) = send(app.http.post(app.url("/api/dev/login")).json(&json!({ "userName": "x" }))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_in_memory_store_serves_the_same_api() {
    let app = spawn_app_with(|c| c.database.url = "memory:".into()).await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    app.send_to(&alice, &bob, "in memory").await;
    let (_, unread) = app.get(&bob, "/api/chat/contacts/unread-count").await;
    assert_eq!(unread["count"], 1);
}

/// Runs against PostgreSQL when `CHAT_TEST_DATABASE_URL` names one; skipped (with a printed reason) otherwise.
#[tokio::test]
async fn the_flow_works_on_postgresql() {
    let Some(url) = std::env::var("CHAT_TEST_DATABASE_URL").ok().filter(|u| u.starts_with("postgres")) else {
        println!("skipped: set CHAT_TEST_DATABASE_URL=postgres://… to run the black-box flow on PostgreSQL");
        return;
    };
    // A schema of its own: never the shared database's public schema, which other runs migrate too.
    let url = fresh_postgres_schema(&url).await.unwrap();
    let app = spawn_app_with(|c| c.database.url = url).await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let message = app.send_to(&alice, &bob, "on postgres").await;
    let conversation = message["conversationId"].as_str().unwrap();
    let (_, unread) = app.get(&bob, "/api/chat/contacts/unread-count").await;
    assert_eq!(unread["count"], 1);
    let (status, _) = app.post(&bob, &format!("/api/chat/conversations/{conversation}/read"), json!({})).await;
    assert_eq!(status, 204);
    let (_, unread) = app.get(&bob, "/api/chat/contacts/unread-count").await;
    assert_eq!(unread["count"], 0);
    let (status, ready) = send(app.http.get(app.url("/health/ready"))).await;
    assert_eq!(status, 200, "{ready}");
}
