//! JSON request bodies of the REST routes, decoded into the application's inputs exactly as the host
//! decodes them (`chat_host::http::extract::parse_json`), then the domain's validation of their texts.
//! The first byte picks the input type; the rest is the body. Must never panic.
#![no_main]

use chat_application::dto::{
    AddGroupMembersInput, ArchiveConversationInput, ChangeMemberRoleInput, CreateGroupInput, EditMessageInput,
    MarkReadInput, MuteConversationInput, OpenDirectConversationInput, SendMessageInput, TransferOwnershipInput,
    UpdateChatSettingsInput, UpdateGroupInput,
};
use chat_domain::group::GroupDetails;
use chat_domain::message::{ClientMessageId, MessageText};
use chat_host::http::extract::parse_json;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

fn decode<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    parse_json::<T>(body).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    match which % 12 {
        0 => {
            if let Some(input) = decode::<SendMessageInput>(body) {
                let _ = MessageText::parse(&input.text, MessageText::DEFAULT_MAX);
                if let Some(key) = &input.client_message_id {
                    let _ = ClientMessageId::parse(key);
                }
            }
        }
        1 => {
            if let Some(input) = decode::<EditMessageInput>(body) {
                let _ = MessageText::parse(&input.text, MessageText::DEFAULT_MAX);
            }
        }
        2 => {
            if let Some(input) = decode::<CreateGroupInput>(body) {
                let _ = GroupDetails::parse(&input.name, input.description.as_deref(), input.avatar_url.as_deref());
            }
        }
        3 => {
            if let Some(input) = decode::<UpdateGroupInput>(body) {
                let _ = GroupDetails::parse(&input.name, input.description.as_deref(), input.avatar_url.as_deref());
            }
        }
        4 => drop(decode::<OpenDirectConversationInput>(body)),
        5 => drop(decode::<MarkReadInput>(body)),
        6 => drop(decode::<MuteConversationInput>(body)),
        7 => drop(decode::<ArchiveConversationInput>(body)),
        8 => drop(decode::<AddGroupMembersInput>(body)),
        9 => drop(decode::<ChangeMemberRoleInput>(body)),
        10 => drop(decode::<TransferOwnershipInput>(body)),
        _ => drop(decode::<UpdateChatSettingsInput>(body)),
    }
});
