//! Bad input over gRPC: every case gets the right status code, and the server stays healthy.

use chat_host::grpc::proto;
use chat_tests::{TestUser, b64url, claims_for, sign};
use serde_json::json;
use tonic::{Code, Request};

use crate::support::{as_user, assert_code, spawn_grpc, spawn_grpc_with, with_token};

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let grpc = spawn_grpc().await;
    let user = TestUser::new("alice");
    let expired = {
        let mut claims = claims_for(&user);
        claims["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
        sign(&claims)
    };
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims_for(&user),
        &jsonwebtoken::EncodingKey::from_secret(b"another-secret-another-secret-xx"),
    )
    .unwrap();
    let alg_none =
        format!("{}.{}.", b64url(br#"{"alg":"none","typ":"JWT"}"#), b64url(claims_for(&user).to_string().as_bytes()));

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no metadata", None),
        ("empty bearer", Some("Bearer ".into())),
        ("basic scheme", Some("Basic YWxpY2U6cHc=".into())),
        ("garbage", Some("Bearer not.a.token".into())),
        ("expired", Some(format!("Bearer {expired}"))),
        ("forged", Some(format!("Bearer {forged}"))),
        ("alg none", Some(format!("Bearer {alg_none}"))),
    ];
    for (name, authorization) in cases {
        let mut request = Request::new(proto::UserId::default());
        if let Some(value) = authorization {
            request.metadata_mut().insert("authorization", value.parse().unwrap());
        }
        let status = assert_code(grpc.conversations().list(request).await, Code::Unauthenticated, name);
        assert_eq!(
            status.metadata().get("chat-code").and_then(|v| v.to_str().ok()),
            Some("chat.unauthorized"),
            "{name}"
        );
    }
    let anonymous = Request::new(proto::SubscribeRequest::default());
    assert_code(grpc.events().subscribe(anonymous).await, Code::Unauthenticated, "subscribe without a token");
    let stale = with_token(&expired, proto::SubscribeRequest::default());
    assert_code(grpc.events().subscribe(stale).await, Code::Unauthenticated, "subscribe with an expired token");
    let message = assert_code(
        grpc.conversations().list(with_token(&expired, proto::UserId::default())).await,
        Code::Unauthenticated,
        "expired",
    );
    assert!(message.message().contains("expired"), "{message:?}");
    // And a valid token works.
    grpc.conversations().list(as_user(&user, proto::UserId::default())).await.unwrap();
    assert!(grpc.healthy().await);
}

#[tokio::test]
async fn a_user_id_that_is_not_the_tokens_user_is_denied() {
    let grpc = spawn_grpc().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    grpc.app.touch(&bob).await;
    let conversation = grpc.direct(&alice, &bob).await;

    // Alice's token claiming to be Bob, on reads and writes alike.
    let as_bob = bob.id.to_string();
    let list = proto::UserId { user_id: as_bob.clone(), ..Default::default() };
    let status = assert_code(grpc.conversations().list(as_user(&alice, list)).await, Code::PermissionDenied, "list");
    assert!(status.message().contains("user_id"), "{status:?}");
    let send = proto::CreateMessageInput {
        user_id: as_bob.clone(),
        conversation_id: conversation.clone(),
        data: Some(proto::MessageInput { text: "as bob".into() }),
        ..Default::default()
    };
    assert_code(grpc.messages().send(as_user(&alice, send)).await, Code::PermissionDenied, "send");
    let get = proto::GetConversation { user_id: as_bob, id: conversation.clone(), ..Default::default() };
    assert_code(grpc.conversations().messages(as_user(&alice, get)).await, Code::PermissionDenied, "messages");
    let not_uuid = proto::UserId { user_id: "bob".into(), ..Default::default() };
    assert_code(grpc.conversations().list(as_user(&alice, not_uuid)).await, Code::InvalidArgument, "not a uuid");

    // Nothing was sent in Bob's name.
    let (_, page) = grpc.app.get(&bob, &format!("/api/chat/conversations/{conversation}/messages")).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(0), "{page}");
}

#[tokio::test]
async fn malformed_requests_are_invalid_arguments_naming_the_field() {
    let grpc = spawn_grpc().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    grpc.app.touch(&bob).await;
    let conversation = grpc.direct(&alice, &bob).await;
    let send = |conversation: &str, data: Option<&str>| proto::CreateMessageInput {
        conversation_id: conversation.to_owned(),
        data: data.map(|t| proto::MessageInput { text: t.to_owned() }),
        ..Default::default()
    };

    let cases: Vec<(&str, proto::CreateMessageInput, &str)> = vec![
        ("bad uuid", send("not-a-uuid", Some("hi")), "conversation_id"),
        ("empty id", send("", Some("hi")), "conversation_id"),
        ("no data", send(&conversation, None), "data"),
        ("empty text", send(&conversation, Some("")), "text"),
        ("blank text", send(&conversation, Some("   ")), "text"),
        ("too long", send(&conversation, Some(&"x".repeat(4001))), "text"),
    ];
    for (name, input, field) in cases {
        let status = assert_code(grpc.messages().send(as_user(&alice, input)).await, Code::InvalidArgument, name);
        assert!(status.message().contains(field), "{name}: {status:?}");
        assert_eq!(status.metadata().get("chat-code").and_then(|v| v.to_str().ok()), Some("chat.validation"));
    }
    let long_id = "z".repeat(10_000);
    let status = assert_code(
        grpc.conversations().get(as_user(&alice, proto::GetConversation { id: long_id, ..Default::default() })).await,
        Code::InvalidArgument,
        "long id",
    );
    assert!(status.message().len() < 200, "the message does not echo huge input: {}", status.message().len());
    let open = proto::CreateConversationInput { recipient_id: "bob".into(), ..Default::default() };
    assert_code(grpc.conversations().create(as_user(&alice, open)).await, Code::InvalidArgument, "recipient");
    let open_self = proto::CreateConversationInput { recipient_id: alice.id.to_string(), ..Default::default() };
    assert_code(grpc.conversations().create(as_user(&alice, open_self)).await, Code::InvalidArgument, "self");
    let add = proto::AddParticipantRequest {
        id: conversation.clone(),
        users: vec![bob.id.to_string(), "x".into()],
        ..Default::default()
    };
    assert_code(grpc.groups().add_members(as_user(&alice, add)).await, Code::InvalidArgument, "users");
    let bad_page = proto::GetConversation { id: conversation.clone(), limit: Some(0), ..Default::default() };
    assert_code(grpc.conversations().messages(as_user(&alice, bad_page)).await, Code::InvalidArgument, "limit 0");
    let bad_cursor =
        proto::GetConversation { id: conversation.clone(), before: Some("abc".into()), ..Default::default() };
    assert_code(grpc.conversations().messages(as_user(&alice, bad_cursor)).await, Code::InvalidArgument, "cursor");
    let no_group = proto::CreateGroupInput::default();
    assert_code(grpc.groups().create(as_user(&alice, no_group)).await, Code::InvalidArgument, "group data");
    let unnamed = proto::CreateGroupInput {
        data: Some(proto::GroupInput { name: " ".into(), description: None }),
        ..Default::default()
    };
    assert_code(grpc.groups().create(as_user(&alice, unnamed)).await, Code::InvalidArgument, "group name");
    let negative = proto::SubscribeRequest { after_event_seq: Some(-1) };
    assert_code(grpc.events().subscribe(as_user(&alice, negative)).await, Code::InvalidArgument, "after_event_seq");

    // A request larger than the body limit is refused before it is decoded.
    let huge = send(&conversation, Some(&"x".repeat(100 * 1024)));
    assert_code(grpc.messages().send(as_user(&alice, huge)).await, Code::OutOfRange, "oversized request");

    // Nothing was stored, and the server still serves.
    let history = proto::GetConversation { id: conversation.clone(), ..Default::default() };
    let page = grpc.conversations().messages(as_user(&bob, history)).await.unwrap().into_inner();
    assert!(page.messages.is_empty());
    assert!(grpc.healthy().await);
    grpc.send(&alice, &conversation, "still fine").await;
}

#[tokio::test]
async fn sends_past_the_rate_limit_are_resource_exhausted_with_a_retry_hint_and_store_nothing() {
    let grpc = spawn_grpc_with(|c| {
        c.rate_limits.send = chat_host::config::RateLimit { period: std::time::Duration::from_secs(60), burst: 2 };
    })
    .await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    grpc.app.touch(&bob).await;
    let conversation = grpc.direct(&alice, &bob).await;

    let mut refused = 0;
    for i in 0..5 {
        let input = proto::CreateMessageInput {
            conversation_id: conversation.clone(),
            data: Some(proto::MessageInput { text: format!("m{i}") }),
            ..Default::default()
        };
        match grpc.messages().send(as_user(&alice, input)).await {
            Ok(_) => assert!(i < 2, "send {i} passed the burst of 2"),
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "send {i}: {status:?}");
                let retry_ms: u64 = status
                    .metadata()
                    .get("retry-after-ms")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .expect("retry-after-ms metadata");
                assert!(retry_ms > 0 && retry_ms <= 60_000, "{retry_ms}");
                refused += 1;
            }
        }
    }
    assert_eq!(refused, 3);

    // Only the admitted sends were stored.
    let request = proto::GetConversation { id: conversation, ..Default::default() };
    let stored = grpc.conversations().messages(as_user(&bob, request)).await.unwrap().into_inner().messages;
    let texts: Vec<_> = stored.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts.contains(&"m0") && texts.contains(&"m1"), "{texts:?}");
}
