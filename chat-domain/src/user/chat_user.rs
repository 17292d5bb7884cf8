use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{TenantId, UserId};
use crate::text::PersonName;

/// The chat's copy of a host user, refreshed from the host's identity (token claims or an explicit upsert).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatUser {
    tenant: TenantId,
    id: UserId,
    name: PersonName,
    active: bool,
    updated_at: DateTime<Utc>,
}

/// Every stored field of a [`ChatUser`]: the one door for rehydrating it from storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatUserParts {
    /// Tenant.
    pub tenant: TenantId,
    /// Id.
    pub id: UserId,
    /// Names.
    pub name: PersonName,
    /// Whether the host user is active; inactive users cannot be messaged.
    pub active: bool,
    /// When the copy was last refreshed.
    pub updated_at: DateTime<Utc>,
}

impl ChatUser {
    /// A new, active user.
    pub fn new(tenant: TenantId, id: UserId, name: PersonName, now: DateTime<Utc>) -> Self {
        Self { tenant, id, name, active: true, updated_at: now }
    }

    /// Rehydrates a stored user.
    pub fn from_parts(parts: ChatUserParts) -> Self {
        Self {
            tenant: parts.tenant,
            id: parts.id,
            name: parts.name,
            active: parts.active,
            updated_at: parts.updated_at,
        }
    }

    /// All fields, for storage.
    pub fn to_parts(&self) -> ChatUserParts {
        ChatUserParts {
            tenant: self.tenant,
            id: self.id,
            name: self.name.clone(),
            active: self.active,
            updated_at: self.updated_at,
        }
    }

    /// Tenant.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// Id.
    pub fn id(&self) -> UserId {
        self.id
    }

    /// Names.
    pub fn name(&self) -> &PersonName {
        &self.name
    }

    /// Whether the user can be messaged.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// When the copy was last refreshed.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }

    /// Applies the host's current data. Returns whether anything changed, so callers write only when needed.
    pub fn refresh(&mut self, name: PersonName, active: bool, now: DateTime<Utc>) -> bool {
        if self.name == name && self.active == active {
            return false;
        }
        self.name = name;
        self.active = active;
        self.updated_at = now;
        true
    }
}
