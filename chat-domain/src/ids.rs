//! Typed identifiers and sequence numbers.
//!
//! Every id is a newtype over a UUID so that a `UserId` can never be passed where a `MessageId` is expected.
//! New ids are UUID v7: time-ordered, so keyset pagination by id follows creation order.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID (from storage, a token or a request).
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// A new time-ordered (v7) id stamped with `now`.
            pub fn new_at(now: DateTime<Utc>) -> Self {
                let secs = u64::try_from(now.timestamp()).unwrap_or(0);
                let nanos = now.timestamp_subsec_nanos();
                Self(Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, nanos)))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

uuid_id!(
    /// A tenant. The host tenant (no `tenant_id` claim) is the nil UUID, so that every key can start with
    /// the tenant without nullable columns.
    TenantId
);
uuid_id!(
    /// A user, as identified by the host application's identity (the token's `sub`).
    UserId
);
uuid_id!(
    /// A message (UUID v7).
    MessageId
);
uuid_id!(
    /// A conversation, direct or group. A group's id is its conversation's id.
    ConversationId
);
uuid_id!(
    /// An uploaded attachment.
    AttachmentId
);

impl TenantId {
    /// The host tenant: callers whose token carries no `tenant_id`.
    pub const HOST: TenantId = TenantId(Uuid::nil());

    /// Whether this is the host tenant.
    pub fn is_host(&self) -> bool {
        self.0.is_nil()
    }
}

/// A message's position in its conversation: 1, 2, 3 … without gaps, assigned when it is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Seq(i64);

impl Seq {
    /// Before the first message.
    pub const ZERO: Seq = Seq(0);

    /// Wraps a stored value.
    pub const fn new(value: i64) -> Self {
        Self(value)
    }

    /// The raw value.
    pub const fn value(&self) -> i64 {
        self.0
    }

    /// The following position.
    pub const fn next(&self) -> Seq {
        Seq(self.0 + 1)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A position in one user's stored event stream. It only grows; it is not a message's [`Seq`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct EventSeq(i64);

impl EventSeq {
    /// Before the first event.
    pub const ZERO: EventSeq = EventSeq(0);

    /// Wraps a stored value.
    pub const fn new(value: i64) -> Self {
        Self(value)
    }

    /// The raw value.
    pub const fn value(&self) -> i64 {
        self.0
    }

    /// The following position.
    pub const fn next(&self) -> EventSeq {
        EventSeq(self.0 + 1)
    }
}

impl fmt::Display for EventSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ids_made_later_sort_later() {
        let t1 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap_or_default();
        let t2 = t1 + chrono::Duration::milliseconds(5);
        let a = MessageId::new_at(t1);
        let b = MessageId::new_at(t2);
        assert!(a < b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn host_tenant_is_nil() {
        assert!(TenantId::HOST.is_host());
        assert!(!TenantId::from_uuid(Uuid::new_v4()).is_host());
    }
}
