use std::path::Path;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use uuid::Uuid;

use super::{Audience, Claims, Identity, RoleClaim, load_or_create_dev_secret};
use crate::config::{Config, JwtKeyConfig};

/// Why a caller is not authenticated, or why tokens cannot be checked or issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No token was presented.
    #[error("authentication required: send `Authorization: Bearer <token>`")]
    Missing,
    /// The token has expired.
    #[error("the token has expired")]
    Expired,
    /// The token is malformed, badly signed, uses a refused algorithm, or lacks a required claim.
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    /// The configured key cannot be used.
    #[error("bad token key configuration: {0}")]
    KeyConfig(String),
    /// Tokens can only be issued with a shared secret (or in development mode), not with a public key.
    #[error("tokens can only be issued with CHAT_JWT_SECRET or in development mode, not with a public key")]
    CannotIssue,
}

/// How tokens are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// A generated secret; development login enabled.
    Development,
    /// HS256 with a configured secret.
    Secret,
    /// RS256 or ES256 with a configured public key.
    PublicKey,
}

/// What a token issued by [`JwtAuth::issue`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The user id.
    pub user: Uuid,
    /// The tenant; `None` = the host tenant.
    pub tenant: Option<Uuid>,
    /// The login name (`preferred_username`).
    pub user_name: Option<String>,
    /// The display name (`name`).
    pub name: Option<String>,
    /// Whether the token makes its holder a tenant admin (`roles: ["admin"]`).
    pub admin: bool,
    /// How long the token is valid.
    pub ttl: Duration,
}

/// Verifies (and, with a secret, issues) tokens.
#[derive(Clone)]
pub struct JwtAuth {
    mode: AuthMode,
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    validation: Validation,
    // Put into issued tokens, so that they pass the server's own checks.
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuth").field("mode", &self.mode).field("algorithms", &self.validation.algorithms).finish()
    }
}

impl JwtAuth {
    /// Tolerated clock difference between the token issuer and this server.
    pub const LEEWAY_SECONDS: u64 = 30;

    /// Builds the verifier from the server's configuration: the keys ([`from_keys`](Self::from_keys)), and
    /// the required issuer and audience when configured.
    pub fn from_config(config: &Config) -> Result<Self, AuthError> {
        let mut auth = Self::from_keys(&config.jwt, &config.dev_secret_path())?;
        if let Some(issuer) = config.jwt_issuer.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            auth = auth.with_issuer(issuer);
        }
        if let Some(audience) = config.jwt_audience.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            auth = auth.with_audience(audience);
        }
        Ok(auth)
    }

    /// Builds the verifier from the token keys; in development mode the secret is read from (or created at)
    /// `dev_secret_path`.
    pub fn from_keys(key: &JwtKeyConfig, dev_secret_path: &Path) -> Result<Self, AuthError> {
        match key {
            JwtKeyConfig::Development => {
                let secret = load_or_create_dev_secret(dev_secret_path).map_err(|e| {
                    AuthError::KeyConfig(format!(
                        "cannot read or create the development secret at {}: {e}",
                        dev_secret_path.display()
                    ))
                })?;
                Ok(Self::with_secret(secret.as_bytes(), AuthMode::Development))
            }
            JwtKeyConfig::Secret(secret) => {
                if secret.len() < 16 {
                    return Err(AuthError::KeyConfig("CHAT_JWT_SECRET must be at least 16 bytes".into()));
                }
                Ok(Self::with_secret(secret.as_bytes(), AuthMode::Secret))
            }
            JwtKeyConfig::PublicKeyPem(pem) => Self::with_public_key(pem.as_bytes()),
        }
    }

    /// HS256 with a shared secret.
    pub fn hs256(secret: &[u8]) -> Self {
        Self::with_secret(secret, AuthMode::Secret)
    }

    fn with_secret(secret: &[u8], mode: AuthMode) -> Self {
        Self {
            mode,
            decoding: DecodingKey::from_secret(secret),
            encoding: Some(EncodingKey::from_secret(secret)),
            validation: Self::validation(Algorithm::HS256),
            issuer: None,
            audience: None,
        }
    }

    /// RS256 (an RSA public key) or ES256 (a P-256 public key), from PEM.
    pub fn with_public_key(pem: &[u8]) -> Result<Self, AuthError> {
        let (decoding, alg) = match DecodingKey::from_rsa_pem(pem) {
            Ok(key) => (key, Algorithm::RS256),
            Err(_) => match DecodingKey::from_ec_pem(pem) {
                Ok(key) => (key, Algorithm::ES256),
                Err(e) => {
                    return Err(AuthError::KeyConfig(format!(
                        "CHAT_JWT_PUBLIC_KEY is neither an RSA nor an EC public key in PEM: {e}"
                    )));
                }
            },
        };
        Ok(Self {
            mode: AuthMode::PublicKey,
            decoding,
            encoding: None,
            validation: Self::validation(alg),
            issuer: None,
            audience: None,
        })
    }

    fn validation(alg: Algorithm) -> Validation {
        // One algorithm only: a token's `alg` header never chooses how it is checked.
        let mut validation = Validation::new(alg);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.validate_exp = true;
        // A token that says it is not valid yet (`nbf`) is refused until then.
        validation.validate_nbf = true;
        validation.leeway = Self::LEEWAY_SECONDS;
        // No audience is required unless one is configured (`with_audience`); tokens that carry one are still
        // accepted.
        validation.validate_aud = false;
        validation
    }

    /// Also requires the `iss` claim to be `issuer` (`CHAT_JWT_ISSUER`), so that tokens of another identity
    /// provider sharing the key are refused.
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.validation.set_issuer(&[issuer]);
        self.validation.required_spec_claims.insert("iss".to_owned());
        self.issuer = Some(issuer.to_owned());
        self
    }

    /// Also requires the `aud` claim to contain `audience` (`CHAT_JWT_AUDIENCE`), so that tokens issued for
    /// another service by the same identity provider are refused.
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.validation.set_audience(&[audience]);
        self.validation.validate_aud = true;
        self.validation.required_spec_claims.insert("aud".to_owned());
        self.audience = Some(audience.to_owned());
        self
    }

    /// How tokens are checked.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Whether this is development mode (generated secret, development login enabled).
    pub fn is_development(&self) -> bool {
        self.mode == AuthMode::Development
    }

    /// Checks a token and returns who it says the caller is.
    pub fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::ImmatureSignature => AuthError::Invalid("the token is not valid yet (`nbf`)"),
                ErrorKind::InvalidIssuer => AuthError::Invalid("wrong issuer"),
                ErrorKind::InvalidAudience => AuthError::Invalid("wrong audience"),
                ErrorKind::InvalidSignature => AuthError::Invalid("bad signature"),
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => {
                    AuthError::Invalid("algorithm not allowed")
                }
                ErrorKind::MissingRequiredClaim(_) => AuthError::Invalid("missing required claim"),
                _ => AuthError::Invalid("malformed token"),
            })?;
        Identity::from_claims(&data.claims)
    }

    /// Issues a token (HS256), for `chat-host token` and the development login.
    pub fn issue(&self, request: &TokenRequest) -> Result<String, AuthError> {
        let key = self.encoding.as_ref().ok_or(AuthError::CannotIssue)?;
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: request.user.to_string(),
            tenant_id: request.tenant.map(|t| t.to_string()),
            name: request.name.clone(),
            preferred_username: request.user_name.clone(),
            exp: now.saturating_add(request.ttl.as_secs()),
            iss: self.issuer.clone(),
            aud: self.audience.clone().map(Audience::One),
            iat: Some(now),
            role: None,
            roles: request.admin.then(|| RoleClaim::Many(vec!["admin".to_owned()])),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, key)
            .map_err(|_| AuthError::KeyConfig("cannot sign the token".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> TokenRequest {
        TokenRequest {
            user: Uuid::new_v4(),
            tenant: None,
            user_name: Some("alice".into()),
            name: None,
            admin: false,
            ttl: Duration::from_secs(60),
        }
    }

    #[test]
    fn an_issued_token_verifies() {
        let auth = JwtAuth::hs256(b"0123456789abcdef0123456789abcdef");
        let req = request();
        let id = auth.verify(&auth.issue(&req).unwrap()).unwrap();
        assert_eq!(id.user.as_uuid(), req.user);
        assert_eq!(id.user_name, "alice");
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let a = JwtAuth::hs256(b"0123456789abcdef0123456789abcdef");
        let b = JwtAuth::hs256(b"fedcba9876543210fedcba9876543210");
        assert_eq!(b.verify(&a.issue(&request()).unwrap()), Err(AuthError::Invalid("bad signature")));
    }

    #[test]
    fn issued_tokens_carry_the_required_issuer_and_audience() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let strict = JwtAuth::hs256(secret).with_issuer("https://id.example").with_audience("chat");
        let token = strict.issue(&request()).unwrap();
        let identity = strict.verify(&token).unwrap();
        assert!(identity.expires_at.is_some());
        // A token without them is refused by the strict verifier.
        let plain = JwtAuth::hs256(secret).issue(&request()).unwrap();
        assert!(matches!(strict.verify(&plain), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn alg_none_is_refused() {
        use base64_like::encode;
        let auth = JwtAuth::hs256(b"0123456789abcdef0123456789abcdef");
        let header = encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = encode(format!(r#"{{"sub":"{}","exp":99999999999}}"#, Uuid::new_v4()).as_bytes());
        assert!(auth.verify(&format!("{header}.{payload}.")).is_err());
    }

    /// Base64url without padding, to hand-craft a token.
    mod base64_like {
        use base64::Engine as _;

        pub fn encode(input: &[u8]) -> String {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(input)
        }
    }
}
