use async_trait::async_trait;
use chat_application::{RealTimeChatMessageSender, RealtimeEvent, SenderError};
use chat_domain::{TenantId, UserId};
use serde::Serialize;
use socketioxide::SocketIo;
use socketioxide::adapter::{Adapter, LocalAdapter};
use socketioxide::extract::SocketRef;

use super::socket_stream::{LiveEmit, SocketStream, close_lagging};

/// The Socket.IO room of one user's sockets. The tenant is part of the name, so that no event can reach
/// another tenant's user even if user ids collided.
pub fn user_room(tenant: TenantId, user: UserId) -> String {
    format!("{tenant}:{user}")
}

/// Delivers events by emitting each recipient's envelope `{ eventSeq, type, data }` under the event's name
/// to the recipient's room.
///
/// Stored events carry a per-recipient `eventSeq`, so each recipient gets its own envelope, emitted to each of
/// the recipient's sockets through its [`SocketStream`]; ephemeral ones (`typing`, `presence`) are the same
/// for everyone and go out in one emit to all the rooms.
pub struct SocketIoChatMessageSender<A: Adapter = LocalAdapter> {
    io: SocketIo<A>,
}

impl<A: Adapter> SocketIoChatMessageSender<A> {
    /// A sender over the given Socket.IO server (its default namespace).
    pub fn new(io: SocketIo<A>) -> Self {
        Self { io }
    }
}

impl<A: Adapter> std::fmt::Debug for SocketIoChatMessageSender<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIoChatMessageSender").finish_non_exhaustive()
    }
}

#[async_trait]
impl<A: Adapter> RealTimeChatMessageSender for SocketIoChatMessageSender<A> {
    async fn deliver(&self, events: &[RealtimeEvent]) -> Result<(), SenderError> {
        // `of` rather than `to`: the latter panics when the namespace is not registered (yet, or any more
        // during shutdown).
        let Some(ns) = self.io.of("/") else {
            return Err(SenderError::new("the Socket.IO default namespace is not registered"));
        };
        let mut first_error: Option<SenderError> = None;
        for event in events {
            if event.is_ephemeral() {
                let rooms: Vec<String> = event.users().map(|u| user_room(event.tenant, u)).collect();
                if rooms.is_empty() {
                    continue;
                }
                let envelope = event.envelope(None);
                if let Err(e) = ns.clone().to(rooms).emit(event.name.as_ref(), &envelope).await {
                    tracing::debug!(event = %event.name, error = %e, "ephemeral event not delivered");
                }
                continue;
            }
            for (user, seq) in &event.recipients {
                let envelope = event.envelope(*seq);
                for socket in ns.clone().to(user_room(event.tenant, *user)).sockets() {
                    if let Err(e) = emit_stored(&socket, event.name.as_ref(), &envelope) {
                        // A closing socket is normal (the client catches up with `sync`); keep going for the
                        // other sockets and recipients and report the first failure.
                        tracing::debug!(event = %event.name, error = %e, "event not delivered to a socket");
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Emits a stored event to one socket, through its [`SocketStream`] when the socket has one (sockets of the
/// chat's connect handler do), so that a replay in progress or a full buffer never leaves a silent gap.
fn emit_stored<A: Adapter>(socket: &SocketRef<A>, name: &str, envelope: &impl Serialize) -> Result<(), SenderError> {
    let Some(stream) = socket.extensions.get::<SocketStream>() else {
        return socket.emit(name, envelope).map_err(|e| SenderError::new(e.to_string()));
    };
    match stream.emit_live(socket, name, envelope) {
        LiveEmit::Sent | LiveEmit::Held => Ok(()),
        LiveEmit::Lagged => {
            close_lagging(socket.clone());
            Err(SenderError::new("the socket's buffer is full; it is disconnected to catch up"))
        }
        LiveEmit::Closed => Err(SenderError::new("the socket is closed")),
        LiveEmit::Failed(e) => Err(SenderError::new(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn rooms_are_scoped_by_tenant() {
        let user = UserId::from_uuid(Uuid::new_v4());
        let a = user_room(TenantId::HOST, user);
        let b = user_room(TenantId::from_uuid(Uuid::new_v4()), user);
        assert_ne!(a, b);
        assert!(a.ends_with(&user.to_string()));
    }
}
