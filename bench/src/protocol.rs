//! Engine.IO v4 / Socket.IO v5 framing over WebSocket, the subset a chat client speaks.
//!
//! Every WebSocket text frame is one Engine.IO packet: a type digit, then its data. Socket.IO packets ride
//! in Engine.IO `4` (message) packets, so a Socket.IO packet on the wire starts with `4` and its own digit:
//!
//! | wire | meaning |
//! |---|---|
//! | `0{"sid":..,"pingInterval":..}` | Engine.IO open |
//! | `2` / `3` | ping (from the server) / pong (our answer) |
//! | `40{"token":..}` | Socket.IO connect to `/` with auth; the answer is `40{"sid":..}` or `44{"message":..}` |
//! | `42["ev",data]` | event; `42N["ev",data]` asks for an acknowledgement with id N |
//! | `43N[data]` | acknowledgement N |
//! | `41` | disconnect |
//!
//! Only the default namespace is used, so no `/nsp,` prefix appears.

use serde_json::Value;

/// One decoded packet, borrowing from the frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// Engine.IO open, with its JSON.
    Open(&'a str),
    /// Engine.IO ping: answer with [`PONG`].
    Ping,
    /// Socket.IO connect accepted.
    Connected,
    /// Socket.IO connect refused, with the error JSON.
    ConnectError(&'a str),
    /// An event: the JSON array `["name", data...]` and the ack id it asks for.
    Event {
        /// The raw JSON array.
        payload: &'a str,
        /// Acknowledgement id, if the sender wants one.
        ack: Option<u64>,
    },
    /// An acknowledgement of our packet `id`, with its JSON array of arguments.
    Ack {
        /// The id we sent.
        id: u64,
        /// The raw JSON array.
        payload: &'a str,
    },
    /// Socket.IO disconnect or Engine.IO close.
    Disconnect,
    /// Anything else (noop, upgrade probes, binary placeholders).
    Other,
}

/// Our answer to a ping.
pub const PONG: &str = "3";

/// The WebSocket path and query of an Engine.IO v4 WebSocket-only connection.
pub const WS_PATH: &str = "/socket.io/?EIO=4&transport=websocket";

fn split_id(s: &str) -> (Option<u64>, &str) {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return (None, s);
    }
    (s[..digits].parse().ok(), &s[digits..])
}

/// Decodes one text frame.
pub fn decode(frame: &str) -> Packet<'_> {
    let bytes = frame.as_bytes();
    match bytes.first() {
        Some(b'0') => Packet::Open(&frame[1..]),
        Some(b'1') => Packet::Disconnect,
        Some(b'2') => Packet::Ping,
        Some(b'4') => match bytes.get(1) {
            Some(b'0') => Packet::Connected,
            Some(b'1') => Packet::Disconnect,
            Some(b'4') => Packet::ConnectError(&frame[2..]),
            Some(b'2') => {
                let (ack, payload) = split_id(&frame[2..]);
                Packet::Event { payload, ack }
            }
            Some(b'3') => match split_id(&frame[2..]) {
                (Some(id), payload) => Packet::Ack { id, payload },
                (None, _) => Packet::Other,
            },
            _ => Packet::Other,
        },
        _ => Packet::Other,
    }
}

/// The name of an event payload (`["name", ...]`) without parsing the rest.
pub fn event_name(payload: &str) -> Option<&str> {
    let rest = payload.strip_prefix("[\"")?;
    let end = rest.find('"')?;
    Some(&rest[..end])
}

/// `40{auth}`: connect to the default namespace with an auth object.
pub fn connect(auth: &Value) -> String {
    format!("40{auth}")
}

/// `42["event",data]` or `42N["event",data]`.
pub fn event(name: &str, data: &Value, ack: Option<u64>) -> String {
    let array = Value::Array(vec![Value::String(name.to_owned()), data.clone()]);
    match ack {
        Some(id) => format!("42{id}{array}"),
        None => format!("42{array}"),
    }
}

/// `43N[data]`: acknowledges the server's event `id`.
pub fn ack(id: u64, data: &Value) -> String {
    format!("43{id}{}", Value::Array(vec![data.clone()]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_decode_to_their_packets() {
        assert_eq!(decode("0{\"sid\":\"a\"}"), Packet::Open("{\"sid\":\"a\"}"));
        assert_eq!(decode("2"), Packet::Ping);
        assert_eq!(decode("40{\"sid\":\"x\"}"), Packet::Connected);
        assert_eq!(decode("44{\"message\":\"no\"}"), Packet::ConnectError("{\"message\":\"no\"}"));
        assert_eq!(decode("42[\"ready\",{}]"), Packet::Event { payload: "[\"ready\",{}]", ack: None });
        assert_eq!(decode("4212[\"x\",1]"), Packet::Event { payload: "[\"x\",1]", ack: Some(12) });
        assert_eq!(decode("437[{\"ok\":true}]"), Packet::Ack { id: 7, payload: "[{\"ok\":true}]" });
        assert_eq!(decode("41"), Packet::Disconnect);
    }

    #[test]
    fn packets_encode_as_socket_io_v5() {
        assert_eq!(connect(&json!({"token": "t"})), "40{\"token\":\"t\"}");
        assert_eq!(event("a.b", &json!({"x": 1}), Some(3)), "423[\"a.b\",{\"x\":1}]");
        assert_eq!(event("a", &json!(null), None), "42[\"a\",null]");
        assert_eq!(ack(5, &json!({"ok": true})), "435[{\"ok\":true}]");
    }

    #[test]
    fn event_names_are_read_without_parsing_the_data() {
        assert_eq!(event_name("[\"message.created\",{\"a\":1}]"), Some("message.created"));
        assert_eq!(event_name("{}"), None);
    }
}
