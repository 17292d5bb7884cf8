//! The gRPC side of the harness: a server with gRPC on, clients, and requests carrying a user's token.

use std::time::Duration;

use chat_host::grpc::proto;
use chat_host::grpc::proto::conversation_service_client::ConversationServiceClient;
use chat_host::grpc::proto::event_service_client::EventServiceClient;
use chat_host::grpc::proto::group_service_client::GroupServiceClient;
use chat_host::grpc::proto::message_service_client::MessageServiceClient;
use chat_tests::{TestApp, TestUser, WAIT, spawn_app_with, token_for};
use serde_json::Value;
use tonic::transport::Channel;
use tonic::{Code, Request, Status, Streaming};

/// A server with gRPC on a free port, and a channel to it.
pub struct GrpcApp {
    /// The server (REST too).
    pub app: TestApp,
    channel: Channel,
}

/// Starts a server with `CHAT_GRPC_LISTEN=127.0.0.1:0`.
pub async fn spawn_grpc() -> GrpcApp {
    spawn_grpc_with(|_| {}).await
}

/// Starts a server with gRPC on after `adjust` changed the test configuration.
pub async fn spawn_grpc_with(adjust: impl FnOnce(&mut chat_host::config::Config)) -> GrpcApp {
    let app = spawn_app_with(|c| {
        c.grpc_listen = Some(([127, 0, 0, 1], 0).into());
        adjust(c);
    })
    .await;
    connect(app).await
}

/// Connects to a started server's gRPC address.
pub async fn connect(app: TestApp) -> GrpcApp {
    let addr = app.grpc_addr.expect("gRPC is on");
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .timeout(WAIT)
        .connect()
        .await
        .unwrap();
    GrpcApp { app, channel }
}

impl GrpcApp {
    /// `chat.ConversationService`.
    pub fn conversations(&self) -> ConversationServiceClient<Channel> {
        ConversationServiceClient::new(self.channel.clone())
    }

    /// `chat.MessageService`.
    pub fn messages(&self) -> MessageServiceClient<Channel> {
        MessageServiceClient::new(self.channel.clone())
    }

    /// `chat.GroupService`.
    pub fn groups(&self) -> GroupServiceClient<Channel> {
        GroupServiceClient::new(self.channel.clone())
    }

    /// `chat.EventService`.
    pub fn events(&self) -> EventServiceClient<Channel> {
        EventServiceClient::new(self.channel.clone())
    }

    /// Sends `text` to a conversation as `user` over gRPC.
    pub async fn send(&self, user: &TestUser, conversation: &str, text: &str) -> proto::MessageData {
        let input = proto::CreateMessageInput {
            conversation_id: conversation.to_owned(),
            data: Some(proto::MessageInput { text: text.to_owned() }),
            ..Default::default()
        };
        self.messages().send(as_user(user, input)).await.unwrap().into_inner()
    }

    /// Opens the direct conversation of `user` with `other` over gRPC; returns its id.
    pub async fn direct(&self, user: &TestUser, other: &TestUser) -> String {
        let input = proto::CreateConversationInput { recipient_id: other.id.to_string(), ..Default::default() };
        self.conversations().create(as_user(user, input)).await.unwrap().into_inner().id
    }

    /// Whether gRPC `Health` and REST `/health/live` both answer.
    pub async fn healthy(&self) -> bool {
        let grpc = self.conversations().health(Request::new(())).await.map(|r| r.into_inner().success);
        matches!(grpc, Ok(true)) && self.app.is_healthy().await
    }
}

/// A request carrying `user`'s token.
pub fn as_user<T>(user: &TestUser, message: T) -> Request<T> {
    with_token(&token_for(user), message)
}

/// A request carrying this bearer token.
pub fn with_token<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// Asserts that a call failed with `code`; returns the status.
#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, what: &str) -> Status {
    match result {
        Ok(value) => panic!("{what}: expected {code:?}, got {value:?}"),
        Err(status) => {
            assert_eq!(status.code(), code, "{what}: {status:?}");
            status
        }
    }
}

/// One event of a `Subscribe` stream, its data parsed.
#[derive(Debug, Clone)]
pub struct Event {
    /// `event_seq`.
    pub seq: Option<i64>,
    /// `type`.
    pub kind: String,
    /// `data_json`, parsed.
    pub data: Value,
}

/// Waits for the next event of a stream (failing the test after [`WAIT`]).
pub async fn next_event(stream: &mut Streaming<proto::Event>) -> Event {
    try_next_event(stream, WAIT).await.unwrap_or_else(|| panic!("no event within {WAIT:?}"))
}

/// Waits up to `timeout` for the next event; `None` when none came.
pub async fn try_next_event(stream: &mut Streaming<proto::Event>, timeout: Duration) -> Option<Event> {
    let event = tokio::time::timeout(timeout, stream.message()).await.ok()?.unwrap()?;
    Some(Event { seq: event.event_seq, kind: event.r#type, data: serde_json::from_str(&event.data_json).unwrap() })
}

/// Waits for the next event named `kind`, skipping others; returns it.
pub async fn next_named(stream: &mut Streaming<proto::Event>, kind: &str) -> Event {
    loop {
        let event = next_event(stream).await;
        if event.kind == kind {
            return event;
        }
    }
}
