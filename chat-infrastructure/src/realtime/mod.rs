//! Real-time senders: deliver committed events to users' sockets.
//!
//! [`SocketIoChatMessageSender`] emits to one Socket.IO room per user (`{tenant}:{user}`, see
//! [`user_room`]); every socket of that user joins the room when it connects, so "send to a user" is "emit to
//! a room" on this node. In a cluster, [`EventBusChatMessageSender`] wraps it: it delivers to this node's
//! sockets and publishes the events on the [event bus](crate::bus), and its relay
//! ([`EventBusChatMessageSender::start`]) hands the other nodes' events to the local sender. The
//! [`OutboxRelay`] publishes committed events whose inline publication was lost. Each socket's
//! [`SocketStream`] keeps it from skipping a stored event silently (during its connect replay, or when its
//! buffer is full).

mod event_bus;
mod outbox_relay;
mod socket_stream;
mod socketio;

pub use event_bus::{EventBusChatMessageSender, EventRelay, REALTIME_CHANNEL};
pub use outbox_relay::{
    OutboxRelay, OutboxRelayOptions, OutboxRelayTask, OutboxStats, PublishedLog, PublishedLogTask, RelayError,
};
pub use socket_stream::{LiveEmit, SocketStream, close_lagging};
pub use socketio::{SocketIoChatMessageSender, user_room};
