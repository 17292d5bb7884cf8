use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Whether a contact is connected, and when they were last seen: the payload of the ephemeral `presence`
/// event, of `GET /users/{userId}/presence` and of `ready.presence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PresenceDto {
    /// The person.
    pub user_id: Uuid,
    /// Whether at least one of their sockets is connected.
    pub online: bool,
    /// While offline: when their last socket closed. Absent while online, and for someone the server has
    /// not seen since it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<DateTime<Utc>>,
}
