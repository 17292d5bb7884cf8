//! One socket's place in its user's stored event stream, so that no socket ever skips an event silently.
//!
//! Clients keep the highest `eventSeq` they saw and resume after it (SPEC §6), so a stored event that is not
//! delivered to a socket which then receives a later one is a silent gap: the client's position moves past
//! the missing event and no `sync` brings it back. Two things could cause that:
//!
//! - **Live events during the connect replay.** The socket joins its room before the replay reads the
//!   stream; a live event emitted meanwhile would move the client past events the replay has not sent
//!   yet. While [`Replaying`](SocketStream::replaying), live stored events are left to the replay, which
//!   reads the stream again when one was left ([`SocketStream::finish_replay`]).
//! - **A full send buffer.** Socket.IO drops an emit when the socket's packet buffer is full (a slow or
//!   stalled client). The first stored event that cannot be queued makes the socket
//!   [lagging](SocketStream::emit_live): it gets no further stored events and is disconnected
//!   ([`close_lagging`]); the client reconnects with `auth.afterEventSeq` and catches up from the stream.
//!
//! Ephemeral events (`typing`, `presence`) carry no position and are not affected.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::{SendError, SocketError};

/// How long [`close_lagging`] keeps trying to queue the disconnect packet. A client that reads nothing for
/// this long is closed by the Engine.IO heartbeat anyway (it stops answering pings).
const CLOSE_ATTEMPTS_FOR: Duration = Duration::from_secs(30);

/// A socket's delivery state for stored events, kept in the socket's extensions (cloning shares it).
#[derive(Debug, Clone)]
pub struct SocketStream(Arc<Mutex<Mode>>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The connect replay sends stored events; `missed` says a live one was left to it meanwhile.
    Replaying { missed: bool },
    /// Stored events are emitted as they commit.
    Live,
    /// A stored event could not be queued: nothing more is sent until the client reconnects.
    Lagging,
}

/// What [`SocketStream::emit_live`] did with an event.
#[derive(Debug)]
pub enum LiveEmit {
    /// Queued for the socket.
    Sent,
    /// Left to the replay in progress, or not sent to a lagging socket.
    Held,
    /// The socket's buffer was full: the socket is lagging now and must be closed ([`close_lagging`]).
    Lagged,
    /// The socket is closed.
    Closed,
    /// The envelope could not be encoded.
    Failed(SendError),
}

impl SocketStream {
    /// A socket that receives stored events live from the start (no replay at connect).
    pub fn live() -> Self {
        Self(Arc::new(Mutex::new(Mode::Live)))
    }

    /// A socket whose connect replay runs: live stored events are held for it until
    /// [`finish_replay`](Self::finish_replay).
    pub fn replaying() -> Self {
        Self(Arc::new(Mutex::new(Mode::Replaying { missed: false })))
    }

    fn mode(&self) -> std::sync::MutexGuard<'_, Mode> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Emits a stored event to `socket` as it commits, unless a replay will send it or the socket is
    /// lagging. The decision and the emit happen under one lock, so a replay that finishes concurrently
    /// either saw this event held or precedes its emit.
    pub fn emit_live<A: Adapter, T: ?Sized + Serialize>(
        &self,
        socket: &SocketRef<A>,
        name: &str,
        envelope: &T,
    ) -> LiveEmit {
        let mut mode = self.mode();
        match *mode {
            Mode::Replaying { .. } => {
                *mode = Mode::Replaying { missed: true };
                LiveEmit::Held
            }
            Mode::Lagging => LiveEmit::Held,
            Mode::Live => match socket.emit(name, envelope) {
                Ok(()) => LiveEmit::Sent,
                Err(SendError::Socket(SocketError::InternalChannelFull)) => {
                    *mode = Mode::Lagging;
                    LiveEmit::Lagged
                }
                Err(SendError::Socket(SocketError::Closed)) => LiveEmit::Closed,
                Err(e) => LiveEmit::Failed(e),
            },
        }
    }

    /// Ends a replay that has sent everything it read: `true` if the socket is live now; `false` if live
    /// events were held meanwhile, in which case the replay must read the stream again (after what it
    /// sent) before asking once more.
    pub fn finish_replay(&self) -> bool {
        let mut mode = self.mode();
        match *mode {
            Mode::Replaying { missed: true } => {
                *mode = Mode::Replaying { missed: false };
                false
            }
            Mode::Replaying { missed: false } => {
                *mode = Mode::Live;
                true
            }
            Mode::Live | Mode::Lagging => true,
        }
    }

    /// Ends a replay without reading again (the client was told to start over with `resync.required`).
    pub fn go_live(&self) {
        let mut mode = self.mode();
        if *mode != Mode::Lagging {
            *mode = Mode::Live;
        }
    }

    /// Stops stored events to this socket for good (its replay could not finish); close it with
    /// [`close_lagging`].
    pub fn give_up(&self) {
        *self.mode() = Mode::Lagging;
    }
}

/// Disconnects a lagging socket so that its client reconnects and catches up. The disconnect packet needs
/// room in the same full buffer, so this retries in the background until it is queued, the socket closes,
/// or [`CLOSE_ATTEMPTS_FOR`] passes.
pub fn close_lagging<A: Adapter>(socket: SocketRef<A>) {
    tracing::warn!(socket = %socket.id, "a socket could not keep up with its events; disconnecting it so that it catches up");
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + CLOSE_ATTEMPTS_FOR;
        let mut pause = Duration::from_millis(5);
        while socket.connected() && tokio::time::Instant::now() < deadline {
            match socket.clone().disconnect() {
                Err(SocketError::InternalChannelFull) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                Ok(()) | Err(_) => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(stream: &SocketStream) -> Mode {
        *stream.mode()
    }

    #[test]
    fn a_replay_without_held_events_goes_live_at_once() {
        let stream = SocketStream::replaying();
        assert!(stream.finish_replay());
        assert_eq!(mode(&stream), Mode::Live);
    }

    /// A live event held during the replay makes it read again: finishing fails once, then succeeds.
    #[test]
    fn a_held_event_sends_the_replay_back_to_the_stream() {
        let stream = SocketStream::replaying();
        *stream.mode() = Mode::Replaying { missed: true };
        assert!(!stream.finish_replay(), "a held event must be read again");
        assert_eq!(mode(&stream), Mode::Replaying { missed: false });
        assert!(stream.finish_replay());
        assert_eq!(mode(&stream), Mode::Live);
    }

    #[test]
    fn giving_up_stops_stored_events_for_good() {
        let stream = SocketStream::replaying();
        stream.give_up();
        assert_eq!(mode(&stream), Mode::Lagging);
        assert!(stream.finish_replay(), "nothing more to replay for a lagging socket");
        assert_eq!(mode(&stream), Mode::Lagging, "finishing does not revive a lagging socket");
    }

    #[test]
    fn clones_share_the_state() {
        let stream = SocketStream::live();
        let copy = stream.clone();
        copy.give_up();
        assert_eq!(mode(&stream), Mode::Lagging);
    }
}
