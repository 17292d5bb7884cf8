use chat_application::dto::{PresenceDto, SyncInput};
use chat_application::{CallerContext, ConnectionId};
use chat_infrastructure::realtime::user_room;
use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::SocketRef;
use socketioxide::socket::DisconnectReason;

use super::{events, expiry};
use crate::auth::{AuthError, Credentials};
use crate::http::origin::origin_allowed;
use crate::state::ChatState;

/// The handshake's `auth` object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandshakeAuth {
    /// The bearer token (else the `Authorization` header is used).
    #[serde(default)]
    pub token: Option<String>,
    /// Replay stored events after this position before live ones.
    #[serde(default)]
    pub after_event_seq: Option<i64>,
}

/// Who a socket belongs to, stored in the socket's extensions by the middleware.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub caller: CallerContext,
    pub after_event_seq: Option<i64>,
    /// When the credentials stop being accepted (the socket is closed then).
    pub valid_until: Option<std::time::SystemTime>,
}

/// Why a handshake is refused; the client receives `CONNECT_ERROR { message }`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectRefused {
    #[error("origin not allowed")]
    Origin,
    #[error("unauthorized: {0}")]
    Unauthorized(AuthError),
    #[error("too many sockets for this user (at most {0})")]
    TooManySockets(usize),
    #[error("internal error")]
    Internal,
}

/// The connect middleware: origin, authentication, user refresh, socket limit.
pub(crate) async fn authenticate(
    s: SocketRef,
    io: SocketIo,
    state: ChatState,
    auth: serde_json::Value,
) -> Result<(), ConnectRefused> {
    let result = check(&s, &io, &state, auth).await;
    if let Err(e) = &result {
        state.metrics().socket_refused();
        tracing::debug!(reason = %e, "socket refused at connect");
    }
    result
}

async fn check(s: &SocketRef, io: &SocketIo, state: &ChatState, auth: serde_json::Value) -> Result<(), ConnectRefused> {
    let headers = &s.req_parts().headers;
    if !origin_allowed(headers, state.allowed_origins()) {
        return Err(ConnectRefused::Origin);
    }
    // A malformed `auth` object is treated as no credentials, never as a crash.
    let auth: HandshakeAuth = serde_json::from_value(auth).unwrap_or_default();
    let credentials = Credentials { token: auth.token.as_deref(), headers };
    let session =
        state.authenticator().authenticate_session(credentials).await.map_err(ConnectRefused::Unauthorized)?;
    let caller = session.caller;
    state.sync_caller(&caller).await.map_err(|e| {
        tracing::error!(error = %e, "could not refresh the user at socket connect");
        ConnectRefused::Internal
    })?;
    let max = state.limits().max_sockets_per_user;
    if let Some(ns) = io.of("/")
        && ns.to(user_room(caller.tenant, caller.user)).sockets().len() >= max
    {
        return Err(ConnectRefused::TooManySockets(max));
    }
    s.extensions.insert(Session {
        caller,
        after_event_seq: auth.after_event_seq.filter(|seq| *seq >= 0),
        valid_until: session.valid_until,
    });
    Ok(())
}

/// The connect handler: handlers first, then the room, the replay, presence and `ready`.
pub(crate) async fn on_connect(s: SocketRef, io: SocketIo, state: ChatState) {
    let Some(session) = s.extensions.get::<Session>() else {
        // Only reachable if the middleware did not run; refuse rather than serve an anonymous socket.
        let _ = s.disconnect();
        return;
    };
    events::register(&s, &state, &session.caller);
    expiry::register(&s, &state, &session.caller);
    // Armed here, not in the middleware: the socket is in its namespace now, where the timer finds it.
    expiry::arm(&s, &io, session.valid_until);
    let connection = ConnectionId::new(s.id.to_string());
    state.metrics().socket_connected();
    // Registered before presence is recorded, so that a close at any later point is reported (see
    // `presence_on_connect` for a close that races with the connect).
    let disconnect_state = state.clone();
    let disconnect_caller = session.caller.clone();
    let disconnect_connection = connection.clone();
    s.on_disconnect(move |s: SocketRef, _reason: DisconnectReason| {
        expiry::disarm(&s);
        let state = disconnect_state.clone();
        let caller = disconnect_caller.clone();
        let connection = disconnect_connection.clone();
        async move {
            state.metrics().socket_disconnected();
            if let Err(e) = state.chat().presence().disconnected(&caller, &connection).await {
                tracing::warn!(error = %e, "could not record a socket's close for presence");
            }
        }
    });

    let caller = &session.caller;
    // Join before reading the stream: whatever commits from now on is delivered live (see the module docs).
    s.join(user_room(caller.tenant, caller.user));

    if let Some(after) = session.after_event_seq {
        replay(&s, &state, caller, after).await;
    }
    let event_seq = match state.sync().get_position(caller).await {
        Ok(position) => position.event_seq,
        Err(e) => {
            tracing::error!(error = %e, "could not read the event position at socket connect");
            state.metrics().error();
            0
        }
    };
    // Read last, right before `ready`, so that `presence` events after `ready` are newer than the snapshot.
    let presence = presence_on_connect(&s, &state, caller, &connection).await;
    if let Err(e) = s.emit("ready", &ready_payload(caller, event_seq, &presence)) {
        tracing::debug!(error = %e, "could not emit ready");
    }
}

/// `ready`'s payload, the same for a socket and a gRPC event stream: who is connected, the event
/// position, and the contacts online now.
pub(crate) fn ready_payload(caller: &CallerContext, event_seq: i64, presence: &[PresenceDto]) -> Value {
    json!({
        "userId": caller.user,
        "tenantId": caller.tenant,
        "eventSeq": event_seq,
        "presence": presence,
    })
}

/// Records the socket for presence (announcing the user to their contacts if it is their first socket)
/// and returns the contacts who are online, for `ready`. A failure leaves the socket working without
/// presence.
async fn presence_on_connect(
    s: &SocketRef,
    state: &ChatState,
    caller: &CallerContext,
    connection: &ConnectionId,
) -> Vec<PresenceDto> {
    let presence = state.chat().presence();
    let online = match presence.connected(caller, connection).await {
        Ok(online) => online,
        Err(e) => {
            tracing::warn!(error = %e, "could not record a socket for presence");
            Vec::new()
        }
    };
    // The socket may have closed while presence was being recorded, and its disconnect handler may have
    // run before the connection was counted: report the close again (closing is idempotent), or the
    // user would stay online for good.
    if !s.connected()
        && let Err(e) = presence.disconnected(caller, connection).await
    {
        tracing::warn!(error = %e, "could not record a socket's close for presence");
    }
    online
}

/// Emits the caller's stored events after `after`, oldest first, each under its own name; announces
/// `resync.required` when the position is no longer kept.
async fn replay(s: &SocketRef, state: &ChatState, caller: &CallerContext, mut after: i64) {
    // Bounded: at most this many pages per connect; a client further behind continues with `sync`.
    const MAX_PAGES: usize = 100;
    for _ in 0..MAX_PAGES {
        let page = match state.sync().sync(caller, SyncInput { after_event_seq: after, limit: Some(100) }).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "replay after connect failed; the client can call `sync`");
                return;
            }
        };
        if page.resync_required {
            let _ = s.emit("resync.required", &json!({ "eventSeq": page.event_seq }));
            return;
        }
        for envelope in &page.events {
            if let Some(seq) = envelope.event_seq {
                after = after.max(seq);
            }
            if s.emit(envelope.kind.as_str(), envelope).is_err() {
                return;
            }
        }
        if !page.has_more || page.events.is_empty() {
            return;
        }
    }
}
