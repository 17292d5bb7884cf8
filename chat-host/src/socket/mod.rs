//! The Socket.IO side (SPEC §6): default namespace, one room per user, client events answered through
//! acknowledgements, server events as envelopes `{ eventSeq, type, data }`.
//!
//! Connect flow:
//! 1. a connect middleware checks the browser `Origin` (also checked on every HTTP request of the socket
//!    transport, see [`origin_guard`](crate::http::origin_guard)), authenticates the handshake (`auth.token` or
//!    the `Authorization` header), refreshes the user, and enforces the per-user socket limit;
//! 2. the connect handler registers the client event handlers first (an event that arrives before its
//!    handler is registered would be lost), joins the user's room `{tenant}:{user}`, replays stored events
//!    after `auth.afterEventSeq` when given, records the socket for presence (the user's first socket
//!    announces `presence { online: true }` to their contacts), then emits
//!    `ready { userId, tenantId, eventSeq, presence }`, where `presence` lists the contacts online now;
//! 3. on disconnect, the socket is reported closed; the user's last socket announces
//!    `presence { online: false, lastSeenAt }`;
//! 4. when the token the socket connected with expires, it receives `session.expired` and is disconnected,
//!    unless it handed over a fresh token with `session.refresh` first (see `expiry`).
//!
//! Replay race: the socket joins its room *before* reading the stream, so nothing committed afterwards is
//! missed. While the replay runs, live stored events are left to it (its `SocketStream` holds them and the
//! replay reads again), so none overtakes a replayed one; an event committed in between may still arrive
//! twice (replayed, then live). Clients therefore treat `eventSeq` as an idempotency key: an event whose
//! `eventSeq` was already applied is dropped. After `ready`, stored events arrive in commit order. A socket
//! whose send buffer fills, or whose replay cannot finish, is disconnected rather than skipped (see
//! `chat_infrastructure::realtime::SocketStream`).

mod connect;
mod events;
mod expiry;

use std::borrow::Cow;

use socketioxide::SocketIo;
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;

use crate::config::HostLimits;
use crate::state::ChatState;

pub use connect::HandshakeAuth;
pub use events::{AckError, AckReply, CLIENT_EVENTS, ConversationReadInput, decode_payload};
pub use expiry::{SESSION_EXPIRED, SESSION_REFRESH};

/// Where the Socket.IO endpoint is served unless an embedder picks another path.
pub const DEFAULT_SOCKET_PATH: &str = "/socket.io";

/// A Socket.IO server configured with the chat's limits (payload size, per-socket buffer), with no namespace
/// yet, at [`DEFAULT_SOCKET_PATH`].
///
/// The layer goes on the embedding router; `io` is what the [real-time
/// sender](chat_infrastructure::realtime::SocketIoChatMessageSender) emits through. Call
/// [`register_namespace`] once the chat state (which needs the sender) exists.
pub fn socket_io(limits: &HostLimits) -> (SocketIoLayer, SocketIo) {
    socket_io_at(DEFAULT_SOCKET_PATH, limits)
}

/// Like [`socket_io`], serving the endpoint at `path` (the full request path, e.g. `/chat/socket.io`), so
/// that an embedding application can keep every chat URL under its own prefix. Browser clients then pass
/// the same value as the socket.io client's `path` option.
pub fn socket_io_at(path: impl Into<Cow<'static, str>>, limits: &HostLimits) -> (SocketIoLayer, SocketIo) {
    let max = usize::try_from(limits.max_socket_payload_bytes).unwrap_or(usize::MAX);
    SocketIo::builder()
        .req_path(path)
        .max_payload(limits.max_socket_payload_bytes)
        .max_buffer_size(limits.socket_buffer_packets)
        .ws_max_message_size(max)
        .ws_max_frame_size(max)
        .build_layer()
}

/// Registers the chat's default namespace (`/`) on `io`: authentication middleware, connect handler and
/// client events.
pub fn register_namespace(io: &SocketIo, state: ChatState) {
    let mw_state = state.clone();
    let middleware =
        move |s: socketioxide::extract::SocketRef,
              io: SocketIo,
              socketioxide::extract::TryData(auth): socketioxide::extract::TryData<serde_json::Value>| {
            let state = mw_state.clone();
            async move { connect::authenticate(s, io, state, auth.unwrap_or_default()).await }
        };
    let handler = move |s: socketioxide::extract::SocketRef, io: SocketIo| {
        let state = state.clone();
        async move { connect::on_connect(s, io, state).await }
    };
    io.ns("/", handler.with(middleware));
}

/// The socket layer and server for a chat state: [`socket_io`] + [`register_namespace`], for embedders who
/// already built their state (with a sender over another `io`, or none).
pub fn socket_layer(state: ChatState) -> (SocketIoLayer, SocketIo) {
    let (layer, io) = socket_io(state.limits());
    register_namespace(&io, state);
    (layer, io)
}
