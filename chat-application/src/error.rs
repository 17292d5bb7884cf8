//! Application errors: what a use case answers when it cannot do what was asked.
//!
//! Domain and repository errors are mapped here, once. A resource of another tenant and a conversation the
//! caller is not in are answered exactly as a resource that does not exist.

use std::time::Duration;

use chat_domain::{DomainError, RepositoryError, WorkError};
use serde::Serialize;

/// One invalid input field, with why it is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    /// The field, as named in the input (camelCase).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Why a use case failed. Hosts turn it into a problem-details response or a socket acknowledgement
/// error using [`AppError::code`] and [`AppError::status`].
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The resource does not exist for the caller (or belongs to another tenant, or is a conversation the
    /// caller is not in).
    #[error("{resource} not found")]
    NotFound {
        /// What was looked for.
        resource: &'static str,
    },
    /// The caller is known to the resource but lacks the right to this action.
    #[error("forbidden: {reason}")]
    Forbidden {
        /// Why.
        reason: String,
    },
    /// Chat is turned off for the caller's tenant.
    #[error("chat is disabled for this tenant")]
    ChatDisabled,
    /// The input is invalid; each bad field is listed.
    #[error("invalid input: {}", describe(.errors))]
    Validation {
        /// The bad fields.
        errors: Vec<FieldError>,
    },
    /// The caller exceeded a rate limit; nothing was done.
    #[error("rate limit exceeded; retry after {} ms", .retry_after.as_millis())]
    RateLimited {
        /// How long to wait before the call can succeed.
        retry_after: Duration,
    },
    /// The request conflicts with the current state (for example a deleted message).
    #[error("conflict: {message}")]
    Conflict {
        /// What conflicts.
        message: String,
    },
    /// The server is over its write capacity and refused the call before doing anything; the same call
    /// (with the same `clientMessageId`, for a send) may succeed after `retry_after`.
    #[error("the server is overloaded; retry after {} ms", .retry_after.as_millis())]
    Overloaded {
        /// How long to wait before trying again.
        retry_after: Duration,
    },
    /// Storage failed. The message is for logs only; clients get a generic answer.
    #[error("internal error: {source}")]
    Internal {
        /// The underlying failure.
        #[source]
        source: RepositoryError,
    },
}

fn describe(errors: &[FieldError]) -> String {
    errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
}

impl AppError {
    /// A validation error on one field.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation { errors: vec![FieldError::new(field, message)] }
    }

    /// A forbidden action.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::Forbidden { reason: reason.into() }
    }

    /// A missing resource.
    pub fn not_found(resource: &'static str) -> Self {
        Self::NotFound { resource }
    }

    /// The stable machine-readable code (`chat.not_found`, `chat.forbidden`, `chat.disabled`,
    /// `chat.validation`, `chat.rate_limited`, `chat.conflict`, `chat.overloaded`, `chat.internal`).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound { .. } => "chat.not_found",
            AppError::Forbidden { .. } => "chat.forbidden",
            AppError::ChatDisabled => "chat.disabled",
            AppError::Validation { .. } => "chat.validation",
            AppError::RateLimited { .. } => "chat.rate_limited",
            AppError::Conflict { .. } => "chat.conflict",
            AppError::Overloaded { .. } => "chat.overloaded",
            AppError::Internal { .. } => "chat.internal",
        }
    }

    /// The HTTP status that matches the error (a hint for hosts; this crate does not speak HTTP).
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotFound { .. } => 404,
            AppError::Forbidden { .. } | AppError::ChatDisabled => 403,
            AppError::Validation { .. } => 400,
            AppError::RateLimited { .. } => 429,
            AppError::Conflict { .. } => 409,
            AppError::Overloaded { .. } => 503,
            AppError::Internal { .. } => 500,
        }
    }

    /// How long the caller should wait before the same call can succeed (rate limited, overloaded).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AppError::RateLimited { retry_after } | AppError::Overloaded { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// The bad fields of a validation error (empty for other errors).
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            AppError::Validation { errors } => errors,
            _ => &[],
        }
    }

    /// Renames the field of a validation error (the domain names a field one way, an input another).
    pub(crate) fn on_field(self, from: &str, to: &str) -> Self {
        match self {
            AppError::Validation { errors } => AppError::Validation {
                errors: errors
                    .into_iter()
                    .map(|e| if e.field == from { FieldError::new(to, e.message) } else { e })
                    .collect(),
            },
            other => other,
        }
    }
}

impl From<DomainError> for AppError {
    fn from(error: DomainError) -> Self {
        let message = error.to_string();
        match error {
            DomainError::EmptyMessage | DomainError::MessageTooLong { .. } => AppError::validation("text", message),
            DomainError::InvalidText { field, .. } => AppError::validation(field, message),
            DomainError::InvalidEmoji => AppError::validation("emoji", message),
            DomainError::SelfConversation => AppError::validation("targetUserId", message),
            DomainError::GroupFull { .. } => AppError::validation("memberIds", message),
            DomainError::ReplyOutsideConversation => AppError::validation("replyToId", message),
            DomainError::NotAMember { .. } => AppError::not_found("conversation"),
            DomainError::NotFound(resource) => AppError::not_found(resource),
            DomainError::RoleRequired { .. }
            | DomainError::NotTheAuthor { .. }
            | DomainError::OwnerCannot { .. }
            | DomainError::DeletionNotAllowed { .. }
            | DomainError::ConversationDeletionNotAllowed
            | DomainError::EditWindowPassed { .. } => AppError::forbidden(message),
            DomainError::ChatDisabled => AppError::ChatDisabled,
            DomainError::AlreadyAMember { .. } | DomainError::MessageDeleted(_) => AppError::Conflict { message },
        }
    }
}

impl From<RepositoryError> for AppError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Conflict(message) => AppError::Conflict { message },
            RepositoryError::Overloaded { retry_after } => AppError::Overloaded { retry_after },
            source @ RepositoryError::Storage(_) => AppError::Internal { source },
        }
    }
}

impl From<WorkError> for AppError {
    fn from(error: WorkError) -> Self {
        match error {
            WorkError::Domain(e) => e.into(),
            WorkError::Repository(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_domain::{ConversationId, UserId};
    use uuid::Uuid;

    #[test]
    fn not_a_member_reads_as_not_found() {
        let e: AppError = DomainError::NotAMember {
            conversation: ConversationId::from_uuid(Uuid::nil()),
            user: UserId::from_uuid(Uuid::nil()),
        }
        .into();
        assert_eq!(e.code(), "chat.not_found");
        assert_eq!(e.status(), 404);
    }

    #[test]
    fn role_and_period_problems_are_forbidden() {
        for e in [
            DomainError::RoleRequired { action: "x" },
            DomainError::EditWindowPassed { seconds: 1 },
            DomainError::ConversationDeletionNotAllowed,
            DomainError::OwnerCannot { action: "leave" },
        ] {
            assert_eq!(AppError::from(e).code(), "chat.forbidden");
        }
    }

    #[test]
    fn text_problems_name_the_field() {
        let e = AppError::from(DomainError::MessageTooLong { max: 3 });
        assert_eq!(e.code(), "chat.validation");
        assert_eq!(e.field_errors()[0].field, "text");
        let e = AppError::from(DomainError::InvalidEmoji);
        assert_eq!(e.field_errors()[0].field, "emoji");
    }

    #[test]
    fn storage_failures_are_internal_and_conflicts_are_conflicts() {
        assert_eq!(AppError::from(RepositoryError::storage_msg("disk")).code(), "chat.internal");
        assert_eq!(AppError::from(RepositoryError::Conflict("dup".into())).code(), "chat.conflict");
    }
}
