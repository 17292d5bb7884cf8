use serde::{Deserialize, Serialize};

/// Whether members may delete messages for everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum MessageDeletionDto {
    /// Always.
    Enabled,
    /// Never.
    Disabled,
    /// Within `messageDeletionPeriod` seconds of sending.
    EnabledWithDeletionPeriod,
}

/// Whether members may delete their side of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum ConversationDeletionDto {
    /// Allowed.
    Enabled,
    /// Not allowed.
    Disabled,
}

/// A tenant's chat settings, after ABP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TenantSettingsDto {
    /// Chat is on; when off, sends are refused (`chat.disabled`).
    pub chat_enabled: bool,
    /// Message deletion policy.
    pub deleting_messages: MessageDeletionDto,
    /// Seconds after sending during which deletion is allowed (with `enabledWithDeletionPeriod`).
    pub message_deletion_period: i64,
    /// Conversation deletion policy.
    pub deleting_conversations: ConversationDeletionDto,
    /// Whether users may find people of their tenant they have not talked to.
    pub search_other_contacts: bool,
    /// Seconds after sending during which the author may edit; 0 = no limit.
    pub edit_window: i64,
}

/// The caller's settings and their tenant's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChatSettingsDto {
    /// Enter sends the message.
    pub send_on_enter: bool,
    /// The tenant's settings. Every user may read them (clients need the edit window and deletion rules);
    /// only tenant administrators may change them.
    pub tenant: TenantSettingsDto,
    /// Whether the caller may change the tenant's settings.
    pub can_manage_tenant: bool,
}

/// Changes to the tenant's settings (administrators only); absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UpdateTenantSettingsInput {
    /// Chat on or off.
    pub chat_enabled: Option<bool>,
    /// Message deletion policy.
    pub deleting_messages: Option<MessageDeletionDto>,
    /// Deletion period in seconds (not negative).
    pub message_deletion_period: Option<i64>,
    /// Conversation deletion policy.
    pub deleting_conversations: Option<ConversationDeletionDto>,
    /// Whether users may find people they have not talked to.
    pub search_other_contacts: Option<bool>,
    /// Edit window in seconds (not negative; 0 = no limit).
    pub edit_window: Option<i64>,
}

/// Changes to the caller's settings and, for tenant administrators, the tenant's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UpdateChatSettingsInput {
    /// Enter sends the message.
    pub send_on_enter: Option<bool>,
    /// Tenant settings; from anyone but a tenant administrator this is `chat.forbidden`.
    pub tenant: Option<UpdateTenantSettingsInput>,
}
