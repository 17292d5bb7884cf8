use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// Whether members may delete messages for everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MessageDeletion {
    /// Always.
    Enabled,
    /// Never.
    Disabled,
    /// Within `message_deletion_period` seconds of sending.
    EnabledWithDeletionPeriod,
}

/// Whether members may delete their side of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConversationDeletion {
    /// Allowed.
    Enabled,
    /// Not allowed.
    Disabled,
}

/// A tenant's chat settings. Defaults follow ABP: chat on, deletion allowed, others searchable, no edit limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSettings {
    /// Chat is on for the tenant.
    pub chat_enabled: bool,
    /// Message deletion policy.
    pub deleting_messages: MessageDeletion,
    /// Seconds after sending during which deletion is allowed (with `EnabledWithDeletionPeriod`).
    pub message_deletion_period: i64,
    /// Conversation deletion policy.
    pub deleting_conversations: ConversationDeletion,
    /// Whether users may find people of their tenant they have not talked to.
    pub search_other_contacts: bool,
    /// Seconds after sending during which the author may edit; 0 = no limit.
    pub edit_window: i64,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            chat_enabled: true,
            deleting_messages: MessageDeletion::Enabled,
            message_deletion_period: 0,
            deleting_conversations: ConversationDeletion::Enabled,
            search_other_contacts: true,
            edit_window: 0,
        }
    }
}

impl TenantSettings {
    /// Checks the values (no negative periods).
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.message_deletion_period < 0 {
            return Err(DomainError::InvalidText { field: "messageDeletionPeriod", max: 0 });
        }
        if self.edit_window < 0 {
            return Err(DomainError::InvalidText { field: "editWindow", max: 0 });
        }
        Ok(())
    }

    /// The edit window, `None` when unlimited.
    pub fn edit_window_seconds(&self) -> Option<i64> {
        (self.edit_window > 0).then_some(self.edit_window)
    }

    /// Whether a message sent at `sent_at` may be deleted for everyone at `now`.
    pub fn ensure_message_deletable(&self, sent_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), DomainError> {
        match self.deleting_messages {
            MessageDeletion::Enabled => Ok(()),
            MessageDeletion::Disabled => {
                Err(DomainError::DeletionNotAllowed { reason: "deleting messages is disabled" })
            }
            MessageDeletion::EnabledWithDeletionPeriod => {
                if now - sent_at <= chrono::Duration::seconds(self.message_deletion_period) {
                    Ok(())
                } else {
                    Err(DomainError::DeletionNotAllowed { reason: "the deletion period has passed" })
                }
            }
        }
    }

    /// Whether members may delete their side of a conversation.
    pub fn ensure_conversation_deletable(&self) -> Result<(), DomainError> {
        match self.deleting_conversations {
            ConversationDeletion::Enabled => Ok(()),
            ConversationDeletion::Disabled => Err(DomainError::ConversationDeletionNotAllowed),
        }
    }
}

/// One user's chat preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSettings {
    /// Enter sends (otherwise Enter is a new line).
    pub send_on_enter: bool,
}

impl Default for UserSettings {
    fn default() -> Self {
        Self { send_on_enter: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn deletion_period_is_enforced() {
        let sent = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap_or_default();
        let s = TenantSettings {
            deleting_messages: MessageDeletion::EnabledWithDeletionPeriod,
            message_deletion_period: 60,
            ..TenantSettings::default()
        };
        assert!(s.ensure_message_deletable(sent, sent + chrono::Duration::seconds(60)).is_ok());
        assert!(s.ensure_message_deletable(sent, sent + chrono::Duration::seconds(61)).is_err());
        let off = TenantSettings { deleting_messages: MessageDeletion::Disabled, ..TenantSettings::default() };
        assert!(off.ensure_message_deletable(sent, sent).is_err());
    }
}
