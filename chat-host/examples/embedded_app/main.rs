//! An existing axum application that embeds the chat module (see `docs/embedding.md`).
//!
//! The application has its own pages (`/`, `/me`), its own login (`POST /login` sets a session cookie
//! from its own user table) and its own users. It mounts the chat's REST API under `/chat` and the chat's
//! Socket.IO endpoint at `/chat/socket.io`, and gives the chat:
//!
//! - its identity: an [`Authenticator`](chat_host::auth::Authenticator) that turns the session cookie into
//!   the chat's caller (`accounts.rs`), on REST calls and on the socket handshake;
//! - its user directory: a [`UserDirectory`](chat_application::users::UserDirectory), so that users can
//!   write to colleagues who have never opened the chat (`accounts.rs`);
//! - its choice of store (a SQLite file, or memory) and the Socket.IO real-time sender (`app.rs`).
//!
//! Run: `cargo run -p chat-host --example embedded_app [ADDRESS]`. Environment: `EMBEDDED_APP_LISTEN`
//! (default `127.0.0.1:3000`; port 0 picks a free one; an argument wins), `EMBEDDED_APP_CHAT_DB` (default
//! `sqlite://embedded-app-chat.db?mode=rwc`; `memory` keeps the chat in memory). It prints the address it
//! listens on. Demo accounts: `alice`, `bob`, `carol`, password `secret`.

mod accounts;
mod app;

use std::sync::Arc;

use accounts::Accounts;
use app::ChatStorage;
use uuid::Uuid;

/// The demo accounts: login, display name, password.
const PEOPLE: &[(&str, &str, &str)] =
    &[("alice", "Alice Liddell", "secret"), ("bob", "Bob Builder", "secret"), ("carol", "Carol Danvers", "secret")];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let listen = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("EMBEDDED_APP_LISTEN").ok())
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let storage = match std::env::var("EMBEDDED_APP_CHAT_DB") {
        Ok(url) if url == "memory" => ChatStorage::Memory,
        Ok(url) => ChatStorage::Database(url),
        Err(_) => ChatStorage::Database("sqlite://embedded-app-chat.db?mode=rwc".to_owned()),
    };
    let accounts = Arc::new(Accounts::seeded(Uuid::new_v4(), PEOPLE));
    let router = app::build(accounts, storage).await?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router).with_graceful_shutdown(chat_host::startup::shutdown_signal()).await?;
    Ok(())
}

#[cfg(test)]
mod tests;
