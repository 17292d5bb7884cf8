use std::time::Duration;

use chat_application::dto::{PresenceDto, ReadyDto, SyncInput};
use chat_application::{AppError, CallerContext, ConnectionId};
use chat_infrastructure::realtime::{SocketStream, close_lagging, user_room};
use serde::{Deserialize, Serialize};
use serde_json::json;
use socketioxide::extract::SocketRef;
use socketioxide::socket::DisconnectReason;
use socketioxide::{SendError, SocketError, SocketIo};
use tokio::time::Instant;

use super::{events, expiry};
use crate::auth::{AuthError, Credentials};
use crate::http::origin::origin_allowed;
use crate::http::problem::retry_after_ms;
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
    #[error("server overloaded; retry after {0} ms")]
    Overloaded(u64),
    #[error("internal error")]
    Internal,
}

impl ConnectRefused {
    /// Why refreshing the user at connect failed, as the client is told: an overloaded store is a reason
    /// to come back later (logged as a warning), anything else an internal error (logged as one).
    fn of_user_refresh(error: &AppError) -> Self {
        match error {
            AppError::Overloaded { retry_after } => {
                tracing::warn!(error = %error, "socket refused at connect: the store is overloaded");
                Self::Overloaded(retry_after_ms(*retry_after))
            }
            other => {
                tracing::error!(error = %other, "could not refresh the user at socket connect");
                Self::Internal
            }
        }
    }
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
    state.sync_caller(&caller).await.map_err(|e| ConnectRefused::of_user_refresh(&e))?;
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
    // The stream state goes in before the join, so that the first live event already finds it (see
    // `SocketStream`: while replaying, live stored events are left to the replay).
    let stream = if session.after_event_seq.is_some() { SocketStream::replaying() } else { SocketStream::live() };
    s.extensions.insert(stream.clone());
    // Join before reading the stream: whatever commits from now on is delivered live (see the module docs).
    s.join(user_room(caller.tenant, caller.user));

    if let Some(after) = session.after_event_seq
        && let Err(e) = replay(&s, &state, caller, &stream, after).await
    {
        // No `ready`: the client's position stays at the last event it received, and it resumes from there.
        tracing::warn!(error = %e, "the replay at connect could not finish; closing the socket");
        state.metrics().error();
        stream.give_up();
        close_lagging(s);
        return;
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
    if let Err(e) = emit_waiting(&s, "ready", &ReadyDto::new(caller, event_seq, presence)).await {
        tracing::debug!(error = %e, "could not emit ready");
    }
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

/// Why a connect replay stopped before it reached the end of the stream.
#[derive(Debug, thiserror::Error)]
enum ReplayStopped {
    #[error("reading the stream failed: {0}")]
    Read(String),
    #[error("could not emit: {0}")]
    Emit(#[from] SendError),
    #[error("more than {0} pages behind")]
    TooFarBehind(usize),
}

/// Emits the caller's stored events after `after`, oldest first, each under its own name, until the stream
/// holds nothing newer and no live event was held meanwhile (then the socket is live); announces
/// `resync.required` when the position is no longer kept.
async fn replay(
    s: &SocketRef,
    state: &ChatState,
    caller: &CallerContext,
    stream: &SocketStream,
    mut after: i64,
) -> Result<(), ReplayStopped> {
    // Bounded per connect: a client further behind is closed after this many pages and resumes from the
    // last event it received, so one connect never holds a socket for an unbounded replay.
    const MAX_PAGES: usize = 100;
    for _ in 0..MAX_PAGES {
        let input = SyncInput { after_event_seq: after, limit: Some(100) };
        let page = state.sync().sync(caller, input).await.map_err(|e| ReplayStopped::Read(e.to_string()))?;
        if page.resync_required {
            emit_waiting(s, "resync.required", &json!({ "eventSeq": page.event_seq })).await?;
            // The client starts over from the current state; what was held meanwhile is part of it.
            stream.go_live();
            return Ok(());
        }
        for envelope in &page.events {
            emit_waiting(s, envelope.kind.as_str(), envelope).await?;
            if let Some(seq) = envelope.event_seq {
                after = after.max(seq);
            }
        }
        let more = page.has_more && !page.events.is_empty();
        if !more && stream.finish_replay() {
            return Ok(());
        }
    }
    Err(ReplayStopped::TooFarBehind(MAX_PAGES))
}

/// Emits to one socket, waiting while its send buffer is full (a replay sends faster than a client reads).
/// Gives up when the buffer stays full for [`STALL_LIMIT`] or the socket closes.
async fn emit_waiting(s: &SocketRef, name: &str, payload: &(impl Serialize + ?Sized)) -> Result<(), SendError> {
    const STALL_LIMIT: Duration = Duration::from_secs(10);
    let deadline = Instant::now() + STALL_LIMIT;
    let mut pause = Duration::from_millis(1);
    loop {
        match s.emit(name, payload) {
            Err(SendError::Socket(SocketError::InternalChannelFull)) if Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use chat_domain::RepositoryError;

    use super::*;

    #[test]
    fn an_overloaded_store_at_connect_says_when_to_retry() {
        let overloaded = AppError::from(RepositoryError::Overloaded { retry_after: Duration::from_millis(750) });
        let refused = ConnectRefused::of_user_refresh(&overloaded);
        assert_eq!(refused.to_string(), "server overloaded; retry after 750 ms");
        let broken = AppError::from(RepositoryError::storage_msg("disk /var/db full"));
        assert_eq!(ConnectRefused::of_user_refresh(&broken).to_string(), "internal error");
    }
}
