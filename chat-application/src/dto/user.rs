use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A user as the chat knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChatUserDto {
    /// Id.
    pub id: Uuid,
    /// Login name.
    pub user_name: String,
    /// Given name.
    pub name: Option<String>,
    /// Family name.
    pub surname: Option<String>,
    /// Whether the user can be messaged.
    pub active: bool,
}

/// A user's data, pushed by an embedding application that syncs its users itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UpsertChatUserInput {
    /// Tenant; `None` is the host tenant.
    pub tenant_id: Option<Uuid>,
    /// Id (the token's `sub`).
    pub user_id: Uuid,
    /// Login name.
    pub user_name: String,
    /// Given name.
    pub name: Option<String>,
    /// Family name.
    pub surname: Option<String>,
    /// Whether the user can be messaged (default true).
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}
