//! HS256 tokens for the benchmark's users, signed with the secret the servers under test are started with.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
use serde::Serialize;
use uuid::Uuid;

#[derive(Serialize)]
struct Claims<'a> {
    sub: String,
    preferred_username: &'a str,
    exp: u64,
}

/// One benchmark user: an id and a token for it.
#[derive(Debug, Clone)]
pub struct BenchUser {
    /// The user id (`sub`).
    pub id: Uuid,
    /// A signed token valid for a day.
    pub token: String,
}

/// `count` fresh users (random ids, names `bench-<i>`) with tokens signed by `secret`.
pub fn users(secret: &str, count: usize) -> anyhow::Result<Vec<BenchUser>> {
    let key = EncodingKey::from_secret(secret.as_bytes());
    let header = Header::default();
    let exp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() + 24 * 3600;
    (0..count)
        .map(|i| {
            let id = Uuid::new_v4();
            let name = format!("bench-{i}");
            let token = encode(&header, &Claims { sub: id.to_string(), preferred_username: &name, exp }, &key)?;
            Ok(BenchUser { id, token })
        })
        .collect()
}

/// A random secret, long enough for every server under test.
pub fn random_secret() -> String {
    format!("bench-{}-{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}
