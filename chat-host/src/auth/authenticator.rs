use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use axum::http::{HeaderMap, header};
use chat_application::CallerContext;

use super::{AuthError, JwtAuth};

/// What a caller presented: the handshake's `auth.token` (sockets) and the request headers (both).
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    /// A token passed outside the headers (the Socket.IO handshake's `auth.token`).
    pub token: Option<&'a str>,
    /// The request (or handshake) headers.
    pub headers: &'a HeaderMap,
}

impl<'a> Credentials<'a> {
    /// The token: `auth.token` if given, else the `Authorization: Bearer` header.
    pub fn bearer(&self) -> Option<&'a str> {
        if let Some(token) = self.token.map(str::trim).filter(|t| !t.is_empty()) {
            return Some(token);
        }
        let value = self.headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
    }
}

/// A caller and the moment their credentials stop being accepted, for connections that outlive a request.
#[derive(Debug, Clone)]
pub struct AuthenticatedSession {
    /// Who is calling.
    pub caller: CallerContext,
    /// When the credentials stop being accepted (a token's `exp`, plus the tolerated clock skew); `None` =
    /// they do not expire. A socket is closed at this moment.
    pub valid_until: Option<SystemTime>,
}

/// Turns credentials into the caller of the application services.
///
/// The reference server checks JWTs ([`JwtAuthenticator`]); an embedding application may plug in its own
/// identity (session cookies, an API gateway's headers…) by implementing this trait.
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// Who is calling, or why the call is refused.
    async fn authenticate(&self, credentials: Credentials<'_>) -> Result<CallerContext, AuthError>;

    /// Like [`authenticate`](Self::authenticate), and also until when the credentials are good: sockets
    /// use it to close themselves when their token expires. The default says they never expire; an
    /// implementation whose credentials do expire overrides it.
    async fn authenticate_session(&self, credentials: Credentials<'_>) -> Result<AuthenticatedSession, AuthError> {
        Ok(AuthenticatedSession { caller: self.authenticate(credentials).await?, valid_until: None })
    }
}

/// Checks bearer JWTs.
#[derive(Debug, Clone)]
pub struct JwtAuthenticator {
    jwt: Arc<JwtAuth>,
}

impl JwtAuthenticator {
    /// Over a token verifier.
    pub fn new(jwt: Arc<JwtAuth>) -> Self {
        Self { jwt }
    }
}

impl JwtAuthenticator {
    fn session(&self, credentials: Credentials<'_>) -> Result<AuthenticatedSession, AuthError> {
        let token = credentials.bearer().ok_or(AuthError::Missing)?;
        let identity = self.jwt.verify(token)?;
        let mut caller =
            CallerContext::new(identity.tenant, identity.user).with_names(identity.user_name, identity.name, None);
        if identity.is_admin {
            caller = caller.as_tenant_admin();
        }
        // The token is accepted until `exp` plus the tolerated skew, so a socket lives exactly as long.
        let valid_until =
            identity.expires_at.and_then(|exp| exp.checked_add(Duration::from_secs(JwtAuth::LEEWAY_SECONDS)));
        Ok(AuthenticatedSession { caller, valid_until })
    }
}

#[async_trait]
impl Authenticator for JwtAuthenticator {
    async fn authenticate(&self, credentials: Credentials<'_>) -> Result<CallerContext, AuthError> {
        self.session(credentials).map(|session| session.caller)
    }

    async fn authenticate_session(&self, credentials: Credentials<'_>) -> Result<AuthenticatedSession, AuthError> {
        self.session(credentials)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(authorization: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(v) = authorization {
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_handshake_token_wins_over_the_header() {
        let h = headers(Some("Bearer from-header"));
        assert_eq!(Credentials { token: Some("from-auth"), headers: &h }.bearer(), Some("from-auth"));
        assert_eq!(Credentials { token: Some("  "), headers: &h }.bearer(), Some("from-header"));
    }

    #[test]
    fn only_bearer_headers_carry_a_token() {
        for (value, expected) in [
            (Some("Bearer abc"), Some("abc")),
            (Some("bearer   abc "), Some("abc")),
            (Some("Basic abc"), None),
            (Some("Bearer"), None),
            (Some("Bearer "), None),
            (None, None),
        ] {
            let h = headers(value);
            assert_eq!(Credentials { token: None, headers: &h }.bearer(), expected, "{value:?}");
        }
    }
}
