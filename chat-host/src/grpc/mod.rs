//! The gRPC host: the contract of `proto/chat.proto` (package `chat`) served with tonic on its own
//! listener, over the same application services as REST and Socket.IO.
//!
//! Layout: [`proto`] (the generated messages, servers and clients), `caller` (bearer token from the
//! metadata, legacy `user_id` checks), [`status`] (the one mapping from `AppError` to gRPC statuses),
//! `mapping` (DTOs to messages), one module per service (`conversations`, `messages`, `groups`,
//! `events`), and [`subscribers`] (the node's event subscribers, fed by its local delivery point).
//!
//! Enabled by `CHAT_GRPC_LISTEN` ([`Config::grpc_listen`](crate::config::Config::grpc_listen)); see
//! `docs/grpc.md`.

mod caller;
mod conversations;
mod events;
mod groups;
mod mapping;
mod messages;
pub mod proto;
pub mod status;
pub mod subscribers;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

pub use subscribers::{FanOutChatMessageSender, GrpcSubscribers, Refused};

use crate::state::ChatState;
use proto::conversation_service_server::ConversationServiceServer;
use proto::event_service_server::EventServiceServer;
use proto::group_service_server::GroupServiceServer;
use proto::message_service_server::MessageServiceServer;

/// How often an idle connection is pinged.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// How long a ping may go unanswered before the connection is closed.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The handlers of every service: the shared state and this node's event subscribers.
#[derive(Clone)]
pub(crate) struct GrpcApi {
    state: ChatState,
    subscribers: GrpcSubscribers,
}

/// Every service of the contract, ready to serve (or to add to an embedder's tonic server). Requests
/// are limited to the REST body limit.
pub fn grpc_routes(state: ChatState, subscribers: GrpcSubscribers) -> Routes {
    let max = state.limits().max_body_bytes;
    let api = GrpcApi { state, subscribers };
    Routes::new(ConversationServiceServer::new(api.clone()).max_decoding_message_size(max))
        .add_service(MessageServiceServer::new(api.clone()).max_decoding_message_size(max))
        .add_service(GroupServiceServer::new(api.clone()).max_decoding_message_size(max))
        .add_service(EventServiceServer::new(api).max_decoding_message_size(max))
}

/// The gRPC server of the reference host: bound, ready to serve.
pub struct GrpcServer {
    listener: TcpListener,
    addr: SocketAddr,
    routes: Routes,
    subscribers: GrpcSubscribers,
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl GrpcServer {
    /// Binds `addr` (port 0 picks a free port) for the services over `state`.
    pub async fn bind(addr: SocketAddr, state: ChatState, subscribers: GrpcSubscribers) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let routes = grpc_routes(state, subscribers.clone());
        Ok(Self { listener, addr, routes, subscribers })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then ends the event streams and lets calls in flight finish.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), tonic::transport::Error> {
        let Self { listener, routes, subscribers, .. } = self;
        let signal = async move {
            shutdown.await;
            // Open `Subscribe` streams would otherwise hold the graceful drain until the grace period ends.
            subscribers.close();
        };
        Server::builder()
            // Pings find clients that vanished without closing their connection, so that their idle
            // `Subscribe` streams end and unregister.
            .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
            .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
            .add_routes(routes)
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), signal)
            .await
    }
}
