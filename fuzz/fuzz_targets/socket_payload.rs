//! Socket.IO client event payloads: the bytes become a JSON value as socketioxide hands it over, then the
//! host decodes it into each client event's input (`chat_host::socket::decode_payload`), and the decoded
//! texts go through the domain's validation. Must never panic.
#![no_main]

use chat_application::dto::{MarkDeliveredInput, SendMessageInput, SyncInput, TypingInput};
use chat_domain::message::MessageText;
use chat_host::socket::{CLIENT_EVENTS, ConversationReadInput, decode_payload};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<Value>(data) else { return };
    for event in CLIENT_EVENTS {
        match event {
            "message.send" => {
                if let Ok(input) = decode_payload::<SendMessageInput>(&payload) {
                    let _ = MessageText::parse(&input.text, MessageText::DEFAULT_MAX);
                }
            }
            "conversation.read" => drop(decode_payload::<ConversationReadInput>(&payload)),
            "typing" => drop(decode_payload::<TypingInput>(&payload)),
            "message.delivered" => drop(decode_payload::<MarkDeliveredInput>(&payload)),
            "sync" => drop(decode_payload::<SyncInput>(&payload)),
            // A new event must get its decoder here: fail loudly rather than skip it.
            other => panic!("the socket payload target does not decode `{other}`"),
        }
    }
});
