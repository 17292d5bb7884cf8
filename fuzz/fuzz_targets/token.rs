//! JWT verification with arbitrary tokens: once as raw text, once as a correctly HS256-signed token whose
//! header and claims are the fuzzer's bytes (so claim parsing and the identity mapping are reached). Every
//! token must be accepted or refused with an error, never panic.
#![no_main]

use base64::Engine as _;
use chat_host::auth::JwtAuth;
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzz-secret-0123456789abcdef-0123456789";

fuzz_target!(|data: &[u8]| {
    let auth = JwtAuth::hs256(SECRET);
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = auth.verify(token);
    }
    // `header.claims` split at the first 0xFF byte (never part of UTF-8 JSON); each part base64url-encoded.
    let (header, claims) = match data.iter().position(|b| *b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&br#"{"alg":"HS256","typ":"JWT"}"#[..], data),
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let message = format!("{}.{}", b64.encode(header), b64.encode(claims));
    if let Ok(signature) =
        jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(SECRET), Algorithm::HS256)
    {
        let _ = auth.verify(&format!("{message}.{signature}"));
    }
});
