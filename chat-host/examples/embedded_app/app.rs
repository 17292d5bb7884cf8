//! The application's router: its own pages and login, with the chat mounted under `/chat`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chat_application::ChatModule;
use chat_domain::Repositories;
use chat_domain::memory::InMemoryChatStore;
use chat_host::config::AllowedOrigins;
use chat_host::{ChatState, chat_router, socket};
use chat_infrastructure::persistence::{SeaOrmChatStore, StoreOptions};
use chat_infrastructure::realtime::SocketIoChatMessageSender;
use serde::Deserialize;
use serde_json::json;

use crate::accounts::{Accounts, SESSION_COOKIE, session_token};

/// Where the chat lives in the application's URL space.
pub const CHAT_PREFIX: &str = "/chat";
/// The chat's Socket.IO endpoint, under the same prefix (clients pass it as the socket.io `path` option).
pub const CHAT_SOCKET_PATH: &str = "/chat/socket.io";

/// Which store the chat uses.
#[derive(Debug, Clone)]
pub enum ChatStorage {
    /// A SQLite (or PostgreSQL) database URL; the chat's migrations run at start.
    Database(String),
    /// In memory: nothing is kept across restarts.
    Memory,
}

/// The application's state: its accounts (the chat only sees them through two small adapters).
#[derive(Clone)]
struct AppState {
    accounts: Arc<Accounts>,
}

/// Builds the whole application: its routes, and the chat over `storage` with the application's identity
/// and user directory.
pub async fn build(accounts: Arc<Accounts>, storage: ChatStorage) -> anyhow::Result<Router> {
    // 1. The chat's store: the application picks it (the chat runs its migrations on connect).
    let repositories = match storage {
        ChatStorage::Database(url) => {
            Repositories::from_store(Arc::new(SeaOrmChatStore::connect(StoreOptions::new(url)).await?))
        }
        ChatStorage::Memory => Repositories::from_store(Arc::new(InMemoryChatStore::new())),
    };
    // 2. The Socket.IO server, under the chat's prefix; the real-time sender emits through it.
    let limits = chat_host::config::HostLimits::default();
    let (socket_layer, io) = socket::socket_io_at(CHAT_SOCKET_PATH, &limits);
    let chat = ChatModule::builder(repositories)
        .sender(Arc::new(SocketIoChatMessageSender::new(io.clone())))
        // 3. The application's users, for colleagues who have never opened the chat.
        .user_directory(accounts.clone())
        .build();
    // 4. The application's identity: its session cookie turns into the chat's caller.
    let chat_state =
        ChatState::builder(chat, accounts.clone()).allowed_origins(AllowedOrigins::SameOrigin).limits(limits).build();
    socket::register_namespace(&io, chat_state.clone());

    let app = Router::new()
        .route("/", get(home))
        .route("/me", get(me))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .with_state(AppState { accounts })
        .nest(CHAT_PREFIX, chat_router(chat_state))
        .layer(socket_layer);
    Ok(app)
}

async fn home() -> Html<&'static str> {
    Html("<h1>Acme intranet</h1><p>Log in with POST /login; the chat lives under /chat.</p>")
}

async fn me(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match state.accounts.signed_in(&headers) {
        Some(a) => Json(json!({ "id": a.id, "login": a.login, "displayName": a.display_name })).into_response(),
        None => (StatusCode::UNAUTHORIZED, "log in first").into_response(),
    }
}

/// The login form.
#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
}

async fn login(State(state): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    match state.accounts.log_in(&form.login, &form.password) {
        Some(token) => {
            // HttpOnly: scripts cannot read it; SameSite=Strict: other sites cannot make the browser send it
            // (cookie authentication needs that, or CSRF tokens). Add `Secure` behind HTTPS.
            let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
            (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
        }
        None => (StatusCode::UNAUTHORIZED, "wrong login or password").into_response(),
    }
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = session_token(&headers) {
        state.accounts.log_out(token);
    }
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
}
