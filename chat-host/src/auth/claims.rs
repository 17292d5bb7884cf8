use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use chat_domain::{TenantId, UserId};

use super::AuthError;

/// A role claim: one role as a string, or several as an array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RoleClaim {
    /// `"role": "admin"`.
    One(String),
    /// `"roles": ["admin", "user"]`.
    Many(Vec<String>),
}

impl RoleClaim {
    fn contains(&self, role: &str) -> bool {
        match self {
            Self::One(r) => r.eq_ignore_ascii_case(role),
            Self::Many(rs) => rs.iter().any(|r| r.eq_ignore_ascii_case(role)),
        }
    }
}

/// An `aud` claim: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// `"aud": "chat"`.
    One(String),
    /// `"aud": ["chat", "files"]`.
    Many(Vec<String>),
}

/// The claims the chat reads from a token. Unknown claims are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id (a UUID).
    pub sub: String,
    /// The tenant (a UUID); absent = the host tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Login name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Issuer; checked when `CHAT_JWT_ISSUER` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience; checked when `CHAT_JWT_AUDIENCE` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// A role or roles; `admin` makes the caller a tenant admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleClaim>,
    /// Roles; `admin` makes the caller a tenant admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<RoleClaim>,
}

/// Who a verified token says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Tenant (the host tenant when the token has no `tenant_id`).
    pub tenant: TenantId,
    /// User.
    pub user: UserId,
    /// Login name: `preferred_username`, else `name`, else the user id.
    pub user_name: String,
    /// Display name, if the token has one.
    pub name: Option<String>,
    /// Whether the caller administers their tenant (`role`/`roles` contains `admin`).
    pub is_admin: bool,
    /// The token's `exp` (`None` when it is too far in the future to be represented): sockets opened with
    /// the token are closed once it passes (see
    /// [`Authenticator::authenticate_session`](super::Authenticator::authenticate_session)).
    pub expires_at: Option<SystemTime>,
}

impl Identity {
    /// Reads the identity out of verified claims.
    pub fn from_claims(claims: &Claims) -> Result<Self, AuthError> {
        let user = Uuid::parse_str(claims.sub.trim()).map_err(|_| AuthError::Invalid("`sub` must be a UUID"))?;
        let tenant = match claims.tenant_id.as_deref().map(str::trim) {
            None | Some("") => TenantId::HOST,
            Some(t) => {
                TenantId::from_uuid(Uuid::parse_str(t).map_err(|_| AuthError::Invalid("`tenant_id` must be a UUID"))?)
            }
        };
        let non_empty = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let name = non_empty(&claims.name);
        let user_name =
            non_empty(&claims.preferred_username).or_else(|| name.clone()).unwrap_or_else(|| user.to_string());
        let is_admin = [&claims.role, &claims.roles].into_iter().flatten().any(|r| r.contains("admin"));
        let expires_at = UNIX_EPOCH.checked_add(Duration::from_secs(claims.exp));
        Ok(Self { tenant, user: UserId::from_uuid(user), user_name, name, is_admin, expires_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(sub: &str) -> Claims {
        Claims {
            sub: sub.into(),
            tenant_id: None,
            name: None,
            preferred_username: None,
            exp: 0,
            iss: None,
            aud: None,
            iat: None,
            role: None,
            roles: None,
        }
    }

    #[test]
    fn a_token_without_tenant_belongs_to_the_host() {
        let id = Identity::from_claims(&claims(&Uuid::new_v4().to_string())).unwrap();
        assert!(id.tenant.is_host());
        assert!(!id.is_admin);
    }

    #[test]
    fn a_non_uuid_subject_is_refused() {
        assert!(Identity::from_claims(&claims("alice")).is_err());
    }

    #[test]
    fn admin_role_is_recognised_in_either_claim() {
        let mut c = claims(&Uuid::new_v4().to_string());
        c.roles = Some(RoleClaim::Many(vec!["user".into(), "Admin".into()]));
        assert!(Identity::from_claims(&c).unwrap().is_admin);
        c.roles = None;
        c.role = Some(RoleClaim::One("admin".into()));
        assert!(Identity::from_claims(&c).unwrap().is_admin);
    }
}
