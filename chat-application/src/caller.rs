//! Who is calling: the authenticated user and their tenant, passed explicitly to every service method.

use chat_domain::text::PersonName;
use chat_domain::{DomainError, TenantId, UserId};

use crate::users::external_name;

/// The authenticated caller of a use case. Hosts build it from the token's claims (`sub`, `tenant_id`,
/// `preferred_username`, `name`, …) and pass it to every service method, so that no use case reads ambient
/// state and tenant isolation is visible in every signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerContext {
    /// The caller's tenant ([`TenantId::HOST`] when the token has no tenant).
    pub tenant: TenantId,
    /// The caller.
    pub user: UserId,
    /// Whether the caller may change the tenant's chat settings.
    pub is_tenant_admin: bool,
    /// Login name; `None` falls back to the user id when the chat's copy of the user is written.
    pub user_name: Option<String>,
    /// Given name, if the token has one.
    pub name: Option<String>,
    /// Family name, if the token has one.
    pub surname: Option<String>,
}

impl CallerContext {
    /// A plain (non-admin) caller with no names.
    pub fn new(tenant: TenantId, user: UserId) -> Self {
        Self { tenant, user, is_tenant_admin: false, user_name: None, name: None, surname: None }
    }

    /// The same caller with names from the token.
    pub fn with_names(mut self, user_name: impl Into<String>, name: Option<String>, surname: Option<String>) -> Self {
        self.user_name = Some(user_name.into());
        self.name = name;
        self.surname = surname;
        self
    }

    /// The same caller as a tenant administrator.
    pub fn as_tenant_admin(mut self) -> Self {
        self.is_tenant_admin = true;
        self
    }

    /// The caller's names, validated as names from outside the chat ([`external_name`]); a missing or
    /// blank user name becomes the user id.
    pub(crate) fn person_name(&self) -> Result<PersonName, DomainError> {
        let fallback = self.user.to_string();
        let user_name = match self.user_name.as_deref().map(|n| n.replace('\0', "")) {
            Some(n) if !n.trim().is_empty() => n,
            _ => fallback,
        };
        external_name(&user_name, self.name.as_deref(), self.surname.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn nul_characters_in_claimed_names_are_dropped() {
        let caller = CallerContext::new(TenantId::HOST, UserId::from_uuid(Uuid::new_v4())).with_names(
            "a\0b",
            Some("\0".into()),
            None,
        );
        let name = caller.person_name().ok();
        assert_eq!(name.map(|n| n.user_name().to_owned()), Some("ab".to_owned()));
    }

    #[test]
    fn a_caller_without_a_user_name_is_named_by_id() {
        let caller = CallerContext::new(TenantId::HOST, UserId::from_uuid(Uuid::new_v4()));
        let name = caller.person_name().ok();
        assert_eq!(name.map(|n| n.user_name().to_owned()), Some(caller.user.to_string()));
        let blank = caller.clone().with_names("   ", Some("Ann".into()), None);
        assert_eq!(blank.person_name().ok().map(|n| n.display()), Some("Ann".to_owned()));
    }

    #[test]
    fn callers_are_plain_users_unless_marked_admin() {
        let caller = CallerContext::new(TenantId::HOST, UserId::from_uuid(Uuid::new_v4()));
        assert!(!caller.is_tenant_admin);
        assert!(caller.as_tenant_admin().is_tenant_admin);
    }
}
