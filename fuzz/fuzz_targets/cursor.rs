//! The pagination cursor decoders and the page-size check, with arbitrary client strings. A cursor either
//! decodes or is a validation error; it must never panic.
#![no_main]

use chat_application::pagination::{page_limit, parse_activity, parse_offset, parse_seq, parse_user};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() >= 4 {
        let _ = page_limit(Some(u32::from_le_bytes([data[0], data[1], data[2], data[3]])));
    }
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let _ = parse_seq("before", raw);
    let _ = parse_activity("cursor", raw);
    let _ = parse_user("cursor", raw);
    let _ = parse_offset("cursor", raw);
});
