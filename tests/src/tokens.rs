//! Token setups and the tokens each must refuse, shared by the REST and the socket security tests so that
//! both transports are held to the same table.

use chat_host::config::{Config, JwtKeyConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{TEST_SECRET, TestUser, b64url, claims_for, sign};

/// A P-256 key pair generated for these tests only (see `fixtures/README.md`).
pub const ES256_PRIVATE: &str = include_str!("../fixtures/es256-private.pem");
/// The public half of [`ES256_PRIVATE`].
pub const ES256_PUBLIC: &str = include_str!("../fixtures/es256-public.pem");
/// An RSA key pair generated for these tests only.
pub const RS256_PRIVATE: &str = include_str!("../fixtures/rs256-private.pem");
/// The public half of [`RS256_PRIVATE`].
pub const RS256_PUBLIC: &str = include_str!("../fixtures/rs256-public.pem");

/// The issuer and audience of [`KeySetup::SecretWithIssuerAndAudience`].
pub const ISSUER: &str = "https://id.example";
/// See [`ISSUER`].
pub const AUDIENCE: &str = "chat";

/// How a test server checks tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySetup {
    /// HS256 with the test secret (the harness default).
    Secret,
    /// HS256, and `iss` / `aud` required.
    SecretWithIssuerAndAudience,
    /// RS256 with a public key.
    Rs256PublicKey,
    /// ES256 with a public key.
    Es256PublicKey,
}

/// One token a server must refuse, and what it tries.
#[derive(Debug, Clone)]
pub struct BadToken {
    /// What the token tries (for failure messages).
    pub name: &'static str,
    /// The token.
    pub token: String,
}

impl KeySetup {
    /// Every setup.
    pub const ALL: [KeySetup; 4] =
        [Self::Secret, Self::SecretWithIssuerAndAudience, Self::Rs256PublicKey, Self::Es256PublicKey];

    /// Applies the setup to a server configuration.
    pub fn configure(self, config: &mut Config) {
        match self {
            Self::Secret => {}
            Self::SecretWithIssuerAndAudience => {
                config.jwt_issuer = Some(ISSUER.to_owned());
                config.jwt_audience = Some(AUDIENCE.to_owned());
            }
            Self::Rs256PublicKey => config.jwt = JwtKeyConfig::PublicKeyPem(RS256_PUBLIC.to_owned()),
            Self::Es256PublicKey => config.jwt = JwtKeyConfig::PublicKeyPem(ES256_PUBLIC.to_owned()),
        }
    }

    /// Claims the setup accepts for `user`.
    pub fn claims(self, user: &TestUser) -> Value {
        let mut claims = claims_for(user);
        if self == Self::SecretWithIssuerAndAudience {
            claims["iss"] = json!(ISSUER);
            claims["aud"] = json!(["other-service", AUDIENCE]);
        }
        claims
    }

    /// Signs claims the way the setup expects.
    pub fn sign(self, claims: &Value) -> String {
        match self {
            Self::Secret | Self::SecretWithIssuerAndAudience => sign(claims),
            Self::Rs256PublicKey => encode(Algorithm::RS256, claims, &rsa_key()),
            Self::Es256PublicKey => encode(Algorithm::ES256, claims, &ec_key()),
        }
    }

    /// A token the setup accepts.
    pub fn valid_token(self, user: &TestUser) -> String {
        self.sign(&self.claims(user))
    }

    /// Tokens the setup must refuse: forged, expired, not yet valid, unsigned, signed with another
    /// algorithm or key type (key confusion), and with missing or garbled claims.
    pub fn refused_tokens(self, user: &TestUser) -> Vec<BadToken> {
        let now = chrono::Utc::now().timestamp();
        let claims = self.claims(user);
        let changed = |f: &dyn Fn(&mut Value)| {
            let mut c = claims.clone();
            f(&mut c);
            self.sign(&c)
        };
        let valid = self.sign(&claims);
        let (head, rest) = valid.split_once('.').unwrap_or_default();
        let (_, signature) = rest.split_once('.').unwrap_or_default();
        let b64 = |v: &Value| b64url(v.to_string().as_bytes());
        let mut cases = vec![
            bad("signature replaced", format!("{head}.{}.{}", b64(&claims), b64url(&[7u8; 64]))),
            bad("claims changed after signing", {
                let mut other = claims.clone();
                other["sub"] = json!(Uuid::new_v4().to_string());
                format!("{head}.{}.{signature}", b64(&other))
            }),
            bad("expired an hour ago", changed(&|c| c["exp"] = json!(now - 3600))),
            bad("expired beyond the tolerated skew", changed(&|c| c["exp"] = json!(now - 45))),
            bad("not valid yet (nbf)", changed(&|c| c["nbf"] = json!(now + 3600))),
            bad("alg none, unsigned", format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "JWT" })), b64(&claims))),
            bad(
                "alg None, signature kept",
                format!("{}.{}.{signature}", b64(&json!({ "alg": "None", "typ": "JWT" })), b64(&claims)),
            ),
            bad("no sub", changed(&|c| remove(c, "sub"))),
            bad("no exp", changed(&|c| remove(c, "exp"))),
            bad("exp not a number", changed(&|c| c["exp"] = json!("tomorrow"))),
            bad("sub not a UUID", changed(&|c| c["sub"] = json!("alice"))),
            bad("empty sub", changed(&|c| c["sub"] = json!(""))),
            bad("tenant_id not a UUID", changed(&|c| c["tenant_id"] = json!("acme"))),
            bad("tenant_id a number", changed(&|c| c["tenant_id"] = json!(42))),
            bad("not a JWT", "abc".to_owned()),
            bad("two segments", format!("{head}.{}", b64(&claims))),
            bad("four segments", format!("{valid}.{signature}")),
            bad("empty segments", "..".to_owned()),
            bad("header not JSON", format!("{}.{}.{signature}", b64url(b"{not json"), b64(&claims))),
            bad("claims not base64", format!("{head}.%%%%.{signature}")),
            bad("claims not JSON", format!("{head}.{}.{signature}", b64url(b"[1,2"))),
        ];
        match self {
            Self::Secret | Self::SecretWithIssuerAndAudience => {
                let other = EncodingKey::from_secret(b"another-secret-another-secret-xx");
                cases.extend([
                    bad("signed with another secret", encode(Algorithm::HS256, &claims, &other)),
                    bad("HS384 with the right secret", encode(Algorithm::HS384, &claims, &secret_key())),
                    bad("HS512 with the right secret", encode(Algorithm::HS512, &claims, &secret_key())),
                    bad("RS256 (another key type)", encode(Algorithm::RS256, &claims, &rsa_key())),
                    bad("ES256 (another key type)", encode(Algorithm::ES256, &claims, &ec_key())),
                ]);
            }
            Self::Rs256PublicKey => cases.extend([
                bad(
                    "HS256 signed with the public key (key confusion)",
                    encode(Algorithm::HS256, &claims, &EncodingKey::from_secret(RS256_PUBLIC.as_bytes())),
                ),
                bad("HS256 with the test secret", encode(Algorithm::HS256, &claims, &secret_key())),
                bad("ES256 (another key type)", encode(Algorithm::ES256, &claims, &ec_key())),
                bad("RS512 with the right key", encode(Algorithm::RS512, &claims, &rsa_key())),
                bad("PS256 with the right key", encode(Algorithm::PS256, &claims, &rsa_key())),
            ]),
            Self::Es256PublicKey => cases.extend([
                bad(
                    "HS256 signed with the public key (key confusion)",
                    encode(Algorithm::HS256, &claims, &EncodingKey::from_secret(ES256_PUBLIC.as_bytes())),
                ),
                bad("HS256 with the test secret", encode(Algorithm::HS256, &claims, &secret_key())),
                bad("RS256 (another key type)", encode(Algorithm::RS256, &claims, &rsa_key())),
            ]),
        }
        if self == Self::SecretWithIssuerAndAudience {
            cases.extend([
                bad("no iss", changed(&|c| remove(c, "iss"))),
                bad("wrong iss", changed(&|c| c["iss"] = json!("https://evil.example"))),
                bad("no aud", changed(&|c| remove(c, "aud"))),
                bad("wrong aud", changed(&|c| c["aud"] = json!("other-service"))),
            ]);
        }
        cases
    }
}

fn bad(name: &'static str, token: String) -> BadToken {
    BadToken { name, token }
}

fn remove(claims: &mut Value, name: &str) {
    if let Some(map) = claims.as_object_mut() {
        map.remove(name);
    }
}

fn encode(alg: Algorithm, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, key).unwrap()
}

fn secret_key() -> EncodingKey {
    EncodingKey::from_secret(TEST_SECRET.as_bytes())
}

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(RS256_PRIVATE.as_bytes()).unwrap()
}

fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(ES256_PRIVATE.as_bytes()).unwrap()
}
