//! Real-time delivery: the sender port hosts implement (Socket.IO rooms, an event bus…), the events it
//! carries, and the one mapping from domain events to the client payloads.

mod mapping;
#[cfg(feature = "testing")]
mod recording;
mod sender;

pub use mapping::{envelope, realtime_event, realtime_event_with};
pub(crate) use mapping::{envelope_with, typing_event};
#[cfg(feature = "testing")]
pub use recording::RecordingChatMessageSender;
pub use sender::{EventEnvelopeRef, NoopChatMessageSender, RealTimeChatMessageSender, RealtimeEvent, SenderError};
