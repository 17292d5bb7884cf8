use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A group (it is a conversation: same id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GroupDto {
    /// Id (also the conversation's id).
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Avatar URL.
    pub avatar_url: Option<String>,
    /// The owner.
    pub owner_id: Option<Uuid>,
    /// Number of members.
    pub member_count: u64,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum GroupRoleDto {
    /// Full control; exactly one.
    Owner,
    /// Manages members and details.
    Admin,
    /// Reads and writes.
    Member,
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GroupMemberDto {
    /// The member.
    pub user_id: Uuid,
    /// Login name (`None` if the chat has no copy of the user).
    pub user_name: Option<String>,
    /// Display name ("name surname", else the user name).
    pub name: Option<String>,
    /// Role.
    pub role: GroupRoleDto,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
}

/// Create a group; the caller becomes its owner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreateGroupInput {
    /// Name (1 to 128 characters).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Avatar URL (`https://`, `http://` or root-relative).
    pub avatar_url: Option<String>,
    /// Other members: active users of the caller's tenant.
    #[serde(default)]
    pub member_ids: Vec<Uuid>,
}

/// Change a group's details (owner or admin). The fields replace the current ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UpdateGroupInput {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Avatar URL.
    pub avatar_url: Option<String>,
}

/// Which page of members, ordered by user id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct GetGroupMembersInput {
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 100))]
    pub limit: Option<u32>,
}

/// Add members (owner or admin).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AddGroupMembersInput {
    /// Users to add; members already in the group are skipped.
    pub user_ids: Vec<Uuid>,
}

/// Make a member an admin or a plain member (owner only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChangeMemberRoleInput {
    /// `admin` or `member` (ownership moves only by transfer).
    pub role: GroupRoleDto,
}

/// Hand ownership to another member (owner only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransferOwnershipInput {
    /// The new owner.
    pub user_id: Uuid,
}
