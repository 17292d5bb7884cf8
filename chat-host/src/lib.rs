//! # chat-host
//!
//! The reference server of the chat module and its embedding API: axum REST routes (SPEC §5) with RFC 9457
//! problem details and an OpenAPI 3.1 document, the Socket.IO layer (SPEC §6), JWT authentication,
//! configuration, health and Prometheus metrics.
//!
//! Layout: [`config`] (parsed configuration), [`auth`] (JWT, development mode, the [`Authenticator`]
//! port), [`http`] (problem details, extractors, routes, OpenAPI, middleware), [`socket`] (connect
//! middleware, client events), [`grpc`] (the gRPC host of `proto/chat.proto`, with `CHAT_GRPC_LISTEN`),
//! [`health`], [`metrics`], [`storage`] (opening the store), [`state`] (what
//! handlers share), [`web`] (the small web chat page) and [`startup`] ([`Application`]).
//!
//! Standalone: `Application::build(config).await?.run_until_stopped().await`. Embedded: build a
//! [`ChatModule`](chat_application::ChatModule) from your own store and sender, wrap it in a
//! [`ChatState`] with your [`Authenticator`], and nest [`chat_router`] and the [`socket_layer`] into your
//! router:
//!
//! ```no_run
//! # async fn demo(chat: chat_application::ChatModule, auth: std::sync::Arc<dyn chat_host::auth::Authenticator>) {
//! use chat_host::{ChatState, chat_router, socket_layer};
//! let state = ChatState::builder(chat, auth).build();
//! let (layer, _io) = socket_layer(state.clone());
//! let app: axum::Router = axum::Router::new().nest("/api/chat", chat_router(state)).layer(layer);
//! # let _ = app; }
//! ```
//!
//! [`Authenticator`]: auth::Authenticator

pub mod auth;
pub mod config;
pub mod grpc;
pub mod health;
pub mod http;
pub mod metrics;
pub mod socket;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod web;

pub use http::chat_router;
pub use http::openapi::openapi;
pub use socket::socket_layer;
pub use startup::{Application, StartupError, migrate, server_router};
pub use state::ChatState;
