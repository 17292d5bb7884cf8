//! Sockets live only as long as the credentials they connected with.
//!
//! A REST call is checked when it is made, but a socket outlives its handshake: without this, a socket
//! opened with a token valid for an hour would keep receiving events for days. At connect, a timer is armed
//! for the moment the token stops being accepted (its `exp` plus the tolerated clock skew). When it fires,
//! the socket receives `session.expired { reason, expiredAt }` and is disconnected; the client reconnects
//! with a fresh token and catches up with `afterEventSeq`. A live socket may instead hand over a fresh
//! token of the same user with `session.refresh { token }`, which re-arms the timer.
//!
//! One tokio timer per socket, owned by the socket (in its extensions): it is cancelled when the socket
//! disconnects or is dropped, and replaced on refresh. Nothing polls.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use chat_application::CallerContext;
use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::socket::Sid;

use super::events::{AckFailure, AckReply};
use crate::auth::Credentials;
use crate::http::problem::Problem;
use crate::state::ChatState;

/// The server event a socket receives right before it is closed because its token expired.
pub const SESSION_EXPIRED: &str = "session.expired";

/// The client event that hands a live socket a fresh token (`{ token }`), re-arming its expiry.
pub const SESSION_REFRESH: &str = "session.refresh";

/// The socket's armed timer, kept in its extensions as `Arc<ExpiryTimer>`. Dropping the last clone aborts
/// it: when the socket is dropped with its extensions, when it disconnects ([`disarm`]), or when a refresh
/// replaces it.
struct ExpiryTimer(tokio::task::AbortHandle);

impl Drop for ExpiryTimer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Arms (or re-arms) the socket's expiry for `valid_until`; `None` = the credentials never expire, and any
/// armed timer is cancelled.
pub(crate) fn arm(s: &SocketRef, io: &SocketIo, valid_until: Option<SystemTime>) {
    let deadline = valid_until.and_then(|until| {
        let wait = until.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
        // Beyond what the clock can represent: it will not expire while this process runs.
        tokio::time::Instant::now().checked_add(wait).map(|deadline| (until, deadline))
    });
    let Some((until, deadline)) = deadline else {
        disarm(s);
        return;
    };
    // The timer looks the socket up when it fires instead of holding it, so that it never keeps a closed
    // socket alive.
    let (io, ns, sid) = (io.clone(), s.ns().to_owned(), s.id);
    let task = tokio::spawn(async move {
        tokio::time::sleep_until(deadline).await;
        expire(&io, &ns, sid, until);
    });
    // The previous timer, if any, is dropped here, which cancels it.
    s.extensions.insert(Arc::new(ExpiryTimer(task.abort_handle())));
}

/// Cancels the socket's timer (on disconnect).
pub(crate) fn disarm(s: &SocketRef) {
    s.extensions.remove::<Arc<ExpiryTimer>>();
}

fn expire(io: &SocketIo, ns: &str, sid: Sid, expired_at: SystemTime) {
    let Some(s) = io.of(ns).and_then(|ns| ns.get_socket(sid)) else {
        return;
    };
    let notice = json!({
        "reason": "token_expired",
        "expiredAt": chrono::DateTime::<chrono::Utc>::from(expired_at),
    });
    if let Err(e) = s.emit(SESSION_EXPIRED, &notice) {
        tracing::debug!(error = %e, "could not announce an expired session");
    }
    tracing::debug!(socket = %sid, "socket closed: its token expired");
    if let Err(e) = s.disconnect() {
        tracing::debug!(error = %e, "could not close a socket whose token expired");
    }
}

/// `session.refresh`'s payload.
#[derive(Debug, Deserialize)]
struct RefreshInput {
    token: String,
}

/// Registers `session.refresh` on a connected socket of `caller`: a fresh token of the same user and tenant
/// re-arms the expiry (`{ ok: true, data: { expiresAt } }`); anything else is refused and leaves the
/// current expiry in force.
pub(crate) fn register(s: &SocketRef, state: &ChatState, caller: &CallerContext) {
    let state = state.clone();
    let caller = caller.clone();
    s.on(SESSION_REFRESH, move |s: SocketRef, io: SocketIo, TryData(data): TryData<Value>, ack: AckSender| {
        let state = state.clone();
        let caller = caller.clone();
        async move {
            let outcome = refresh(&s, &io, &state, &caller, data.ok()).await;
            state.metrics().socket_event(SESSION_REFRESH, outcome.is_ok());
            let sent = match outcome {
                Ok(expires_at) => ack.send(&AckReply { ok: true, data: json!({ "expiresAt": expires_at }) }),
                Err(problem) => ack.send(&AckFailure { ok: false, error: problem.into() }),
            };
            if let Err(e) = sent {
                tracing::debug!(error = %e, "session.refresh acknowledgement not sent");
            }
        }
    });
}

async fn refresh(
    s: &SocketRef,
    io: &SocketIo,
    state: &ChatState,
    caller: &CallerContext,
    data: Option<Value>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, Problem> {
    let input: RefreshInput = data
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| Problem::invalid_field("token", "a token (string) is required"))?;
    // Only the token given here counts, never the handshake's `Authorization` header.
    let headers = HeaderMap::new();
    let session = state
        .authenticator()
        .authenticate_session(Credentials { token: Some(&input.token), headers: &headers })
        .await
        .map_err(Problem::from)?;
    if session.caller.tenant != caller.tenant || session.caller.user != caller.user {
        return Err(Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            "chat.forbidden",
            "the token belongs to another user; open a new socket instead",
        ));
    }
    arm(s, io, session.valid_until);
    Ok(session.valid_until.map(chrono::DateTime::<chrono::Utc>::from))
}
