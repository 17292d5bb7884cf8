//! The embedding API: a host application builds the chat from its own store and identity and nests the
//! routes under its own prefix.

use std::sync::Arc;

use async_trait::async_trait;
use chat_application::{CallerContext, ChatModule};
use chat_domain::memory::InMemoryChatStore;
use chat_domain::{Repositories, TenantId, UserId};
use chat_host::auth::{AuthError, Authenticator, Credentials};
use chat_host::{ChatState, chat_router, socket_layer};
use chat_tests::send;
use serde_json::json;
use uuid::Uuid;

/// The host's own identity: a trusted `x-user-id` header set by its gateway.
struct GatewayIdentity;

#[async_trait]
impl Authenticator for GatewayIdentity {
    async fn authenticate(&self, credentials: Credentials<'_>) -> Result<CallerContext, AuthError> {
        let id = credentials
            .headers
            .get("x-user-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v).ok())
            .ok_or(AuthError::Missing)?;
        Ok(CallerContext::new(TenantId::HOST, UserId::from_uuid(id)).with_names(format!("user-{id}"), None, None))
    }
}

#[tokio::test]
async fn a_host_nests_the_chat_routes_with_its_own_store_and_identity() {
    let chat = ChatModule::builder(Repositories::from_store(Arc::new(InMemoryChatStore::new()))).build();
    let state = ChatState::builder(chat, Arc::new(GatewayIdentity)).build();
    let (layer, _io) = socket_layer(state.clone());
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "the host's own page" }))
        .nest("/chat/v1", chat_router(state))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();

    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let (status, _) =
        send(http.get(format!("{base}/chat/v1/contacts/unread-count")).header("x-user-id", bob.to_string())).await;
    assert_eq!(status, 200);
    let (status, message) = send(
        http.post(format!("{base}/chat/v1/messages"))
            .header("x-user-id", alice.to_string())
            .json(&json!({ "targetUserId": bob, "text": "from an embedding host" })),
    )
    .await;
    assert_eq!(status, 201, "{message}");
    let (_, unread) =
        send(http.get(format!("{base}/chat/v1/contacts/unread-count")).header("x-user-id", bob.to_string())).await;
    assert_eq!(unread["count"], 1);

    // The host's identity refuses, as a problem document.
    let (status, problem) = send(http.get(format!("{base}/chat/v1/conversations"))).await;
    assert_eq!(status, 401);
    assert_eq!(problem["code"], "chat.unauthorized");
    // Unknown chat paths are problems; the host's own routes are untouched.
    let (status, problem) = send(http.get(format!("{base}/chat/v1/nope"))).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("chat.not_found")));
    let page = http.get(format!("{base}/")).send().await.unwrap().text().await.unwrap();
    assert_eq!(page, "the host's own page");

    // Built without a blob store, attachments are "not implemented" rather than failing.
    let (status, problem) = send(
        http.post(format!("{base}/chat/v1/attachments"))
            .header("x-user-id", alice.to_string())
            .multipart(reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(vec![1, 2, 3]))),
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (501, Some("chat.not_implemented")));

    // The document can be generated for the host's prefix.
    let doc = chat_host::openapi("/chat/v1");
    assert!(doc.paths.paths.contains_key("/chat/v1/messages"));
}
