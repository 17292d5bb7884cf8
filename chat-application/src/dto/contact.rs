use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::conversation::MessageSideDto;
use super::message::MessageDto;

/// A person the caller talks with (or, with `includeOtherContacts`, could talk with), after ABP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ContactDto {
    /// The person.
    pub user_id: Uuid,
    /// Login name.
    pub user_name: String,
    /// Given name.
    pub name: Option<String>,
    /// Family name.
    pub surname: Option<String>,
    /// The direct conversation, if the two have one.
    pub conversation_id: Option<Uuid>,
    /// The latest message between them.
    pub last_message: Option<MessageDto>,
    /// Whether the caller sent or received it.
    pub last_message_side: Option<MessageSideDto>,
    /// When it was sent.
    pub last_message_date: Option<DateTime<Utc>>,
    /// Their messages the caller has not read.
    pub unread_message_count: i64,
}

/// Which contacts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase")]
pub struct GetContactsInput {
    /// Case-insensitive part of a user name, name or surname.
    pub filter: Option<String>,
    /// Also list other users of the tenant (when the tenant allows finding them).
    #[serde(default)]
    pub include_other_contacts: bool,
    /// Most contacts returned, 1 to 100 (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 100))]
    pub limit: Option<u32>,
}

/// Total unread messages across the caller's conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UnreadCountDto {
    /// The total.
    pub count: i64,
}
