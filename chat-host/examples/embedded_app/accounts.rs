//! The application's own identity: its user table and its login sessions. Nothing here knows about the
//! chat except the two small adapters at the bottom, which hand the chat what it asks for.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use axum::http::{HeaderMap, header};
use chat_application::CallerContext;
use chat_application::users::{DirectoryError, DirectoryUser, UserDirectory};
use chat_domain::{TenantId, UserId};
use chat_host::auth::{AuthError, Authenticator, Credentials};
use uuid::Uuid;

/// The name of the application's session cookie.
pub const SESSION_COOKIE: &str = "sid";

/// One account of the application.
#[derive(Debug, Clone)]
pub struct Account {
    /// The account's id, also the chat's user id.
    pub id: Uuid,
    /// The organisation the account belongs to: the chat's tenant.
    pub organisation: Uuid,
    /// Login name.
    pub login: String,
    /// Full name shown to others.
    pub display_name: String,
    /// The demo password. (A real application stores a salted password hash, never the password.)
    password: String,
}

/// The application's user table and its sessions (both in memory: this is a demo application).
#[derive(Debug, Default)]
pub struct Accounts {
    users: Vec<Account>,
    sessions: Mutex<HashMap<String, Uuid>>,
}

impl Accounts {
    /// A table with the given accounts (login, display name, password), all in `organisation`.
    pub fn seeded(organisation: Uuid, people: &[(&str, &str, &str)]) -> Self {
        let users = people
            .iter()
            .map(|(login, display_name, password)| Account {
                id: Uuid::new_v4(),
                organisation,
                login: (*login).to_owned(),
                display_name: (*display_name).to_owned(),
                password: (*password).to_owned(),
            })
            .collect();
        Self { users, sessions: Mutex::default() }
    }

    /// The account with this login name.
    pub fn by_login(&self, login: &str) -> Option<&Account> {
        self.users.iter().find(|a| a.login == login)
    }

    fn by_id(&self, id: Uuid) -> Option<&Account> {
        self.users.iter().find(|a| a.id == id)
    }

    /// Checks a login and opens a session; returns the session token for the cookie.
    pub fn log_in(&self, login: &str, password: &str) -> Option<String> {
        let account = self.by_login(login).filter(|a| a.password == password)?;
        let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).insert(token.clone(), account.id);
        Some(token)
    }

    /// Closes a session.
    pub fn log_out(&self, token: &str) {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).remove(token);
    }

    /// The account behind the session cookie of a request, if any.
    pub fn signed_in(&self, headers: &HeaderMap) -> Option<&Account> {
        let token = session_token(headers)?;
        let id = *self.sessions.lock().unwrap_or_else(PoisonError::into_inner).get(token)?;
        self.by_id(id)
    }
}

/// The value of the session cookie in a request's `Cookie` headers.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// The chat's caller for an account: the organisation is the tenant, and the names travel with every
/// call, so the chat's copy of the user stays current.
pub fn caller_for(account: &Account) -> CallerContext {
    CallerContext::new(TenantId::from_uuid(account.organisation), UserId::from_uuid(account.id)).with_names(
        account.login.clone(),
        Some(account.display_name.clone()),
        None,
    )
}

/// Identity for the chat: the application's session cookie, on REST calls and on the Socket.IO handshake
/// alike (browsers send cookies with both).
#[async_trait]
impl Authenticator for Accounts {
    async fn authenticate(&self, credentials: Credentials<'_>) -> Result<CallerContext, AuthError> {
        if session_token(credentials.headers).is_none() {
            return Err(AuthError::Missing);
        }
        let account = self.signed_in(credentials.headers).ok_or(AuthError::Invalid("unknown or closed session"))?;
        Ok(caller_for(account))
    }
}

/// The user directory for the chat: lets users start a conversation with a colleague who has never opened
/// the chat.
#[async_trait]
impl UserDirectory for Accounts {
    async fn find_user(&self, tenant: TenantId, id: UserId) -> Result<Option<DirectoryUser>, DirectoryError> {
        Ok(self.by_id(id.as_uuid()).filter(|a| TenantId::from_uuid(a.organisation) == tenant).map(|a| DirectoryUser {
            user_name: a.login.clone(),
            name: Some(a.display_name.clone()),
            surname: None,
        }))
    }
}
