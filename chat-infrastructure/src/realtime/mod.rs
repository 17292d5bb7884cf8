//! Real-time senders: deliver committed events to users' sockets.
//!
//! [`SocketIoChatMessageSender`] emits to one Socket.IO room per user (`{tenant}:{user}`, see
//! [`user_room`]); every socket of that user joins the room when it connects, so "send to a user" is "emit to
//! a room", on this node or, with a cluster adapter, on every node.

mod socketio;

pub use socketio::{SocketIoChatMessageSender, user_room};
