//! The bare socketioxide baseline: the chat's socket layout with nothing behind it.
//!
//! Same handshake (`auth: { token }`, an HS256 JWT checked with `BENCH_JWT_SECRET`), same room per user,
//! same event names and envelopes as the chat server, but no domain, no storage and no rate limits:
//! - `message.send { targetUserId | conversationId, text, clientMessageId }`: emits `message.created`
//!   `{ eventSeq, type, data }` to the target user's and the sender's rooms (or to the group's room), then
//!   acknowledges `{ ok: true, data }`;
//! - `group.join { groupId }`: joins the group's room (membership, for the fan-out benchmark).
//!
//! Listens on `BENCH_LISTEN` (default `127.0.0.1:0`) and prints `bare-relay listening on http://ADDR`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use jsonwebtoken::{DecodingKey, Validation, decode};
use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;

/// The same allocator as `chat-host`, so that memory (B4) and CPU compare the socket layer and what the chat
/// adds to it, not two allocators.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
}

#[derive(Debug, Clone)]
struct UserRoom(String);

#[derive(Clone)]
struct Relay {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
    event_seq: Arc<AtomicU64>,
}

async fn authenticate(s: SocketRef, State(relay): State<Relay>, TryData(auth): TryData<Value>) -> Result<(), String> {
    let auth = auth.unwrap_or_default();
    let token = auth.get("token").and_then(Value::as_str).ok_or("unauthorized: no token")?;
    let claims = decode::<Claims>(token, &relay.key, &relay.validation).map_err(|e| format!("unauthorized: {e}"))?;
    s.extensions.insert(UserRoom(format!("u:{}", claims.claims.sub)));
    Ok(())
}

async fn on_connect(s: SocketRef) {
    let Some(UserRoom(room)) = s.extensions.get::<UserRoom>() else {
        let _ = s.disconnect();
        return;
    };
    s.on("message.send", on_send);
    s.on("group.join", async |s: SocketRef, Data(body): Data<Value>, ack: AckSender| {
        if let Some(group) = body.get("groupId").and_then(Value::as_str) {
            s.join(format!("g:{group}"));
        }
        let _ = ack.send(&json!({ "ok": true, "data": null }));
    });
    s.join(room.clone());
    let _ = s.emit("ready", &json!({ "userId": room.trim_start_matches("u:"), "eventSeq": 0 }));
}

async fn on_send(s: SocketRef, io: SocketIo, State(relay): State<Relay>, Data(body): Data<Value>, ack: AckSender) {
    let text = body.get("text").and_then(Value::as_str).unwrap_or_default();
    if text.is_empty() {
        let _ =
            ack.send(&json!({ "ok": false, "error": { "code": "chat.validation", "message": "text is required" } }));
        return;
    }
    let sender = s.extensions.get::<UserRoom>().map(|r| r.0).unwrap_or_default();
    let event_seq = relay.event_seq.fetch_add(1, Ordering::Relaxed) + 1;
    let message = json!({
        "id": uuid::Uuid::now_v7(),
        "senderId": sender.trim_start_matches("u:"),
        "text": text,
        "clientMessageId": body.get("clientMessageId"),
    });
    let envelope = json!({ "eventSeq": event_seq, "type": "message.created", "data": message });
    let rooms =
        match (body.get("conversationId").and_then(Value::as_str), body.get("targetUserId").and_then(Value::as_str)) {
            (Some(group), _) => vec![format!("g:{group}")],
            (None, Some(target)) => vec![format!("u:{target}"), sender],
            (None, None) => {
                let _ =
                    ack.send(&json!({ "ok": false, "error": { "code": "chat.validation", "message": "no target" } }));
                return;
            }
        };
    let _ = io.to(rooms).emit("message.created", &envelope).await;
    let _ = ack.send(&json!({ "ok": true, "data": message }));
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secret = std::env::var("BENCH_JWT_SECRET").context("BENCH_JWT_SECRET is required")?;
    let listen = std::env::var("BENCH_LISTEN").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    let relay = Relay {
        key: Arc::new(DecodingKey::from_secret(secret.as_bytes())),
        validation: Arc::new(validation),
        event_seq: Arc::new(AtomicU64::new(0)),
    };
    let (layer, io) = SocketIo::builder().with_state(relay).max_payload(64 * 1024).build_layer();
    io.ns("/", on_connect.with(authenticate));
    let app = axum::Router::new().layer(layer);
    let listener = tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("binding {listen}"))?;
    println!("bare-relay listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
