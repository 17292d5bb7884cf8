//! The one mapping from the application's errors to gRPC statuses.
//!
//! The message is the problem document's `detail` (REST and gRPC say the same thing), and the
//! `chat-code` metadata carries the same stable code (`chat.validation`, …) as the problem's `code`.

use chat_application::AppError;
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};

use crate::auth::AuthError;
use crate::http::problem::{problem_of, retry_after_ms};

/// The metadata key (sent as a trailer) carrying the stable error code.
pub const CODE_KEY: &str = "chat-code";
/// The metadata key carrying how long a rate-limited or refused caller should wait, in milliseconds.
pub const RETRY_AFTER_MS_KEY: &str = "retry-after-ms";

/// The gRPC code of an application error: validation -> INVALID_ARGUMENT, forbidden (and chat disabled)
/// -> PERMISSION_DENIED, not found -> NOT_FOUND, rate limited -> RESOURCE_EXHAUSTED, conflict ->
/// FAILED_PRECONDITION, overloaded -> UNAVAILABLE (retryable), internal -> INTERNAL.
pub fn code_of(error: &AppError) -> Code {
    match error {
        AppError::Validation { .. } => Code::InvalidArgument,
        AppError::Forbidden { .. } | AppError::ChatDisabled => Code::PermissionDenied,
        AppError::NotFound { .. } => Code::NotFound,
        AppError::RateLimited { .. } => Code::ResourceExhausted,
        // Every conflict the services report is a state that forbids the action (a deleted message, an
        // existing member), not a create that found its resource already there.
        AppError::Conflict { .. } => Code::FailedPrecondition,
        AppError::Overloaded { .. } => Code::Unavailable,
        AppError::Internal { .. } => Code::Internal,
    }
}

/// The status for an application error. Internal errors are logged here, once, with their cause; the
/// caller only learns that something failed.
pub fn status_of(error: AppError) -> Status {
    if let AppError::Internal { source } = &error {
        tracing::error!(error = %source, details = ?source, "gRPC call failed with an internal error");
    }
    let problem = problem_of(&error);
    let mut status = Status::new(code_of(&error), problem.detail);
    status.metadata_mut().insert(CODE_KEY, MetadataValue::from_static(problem.code));
    if let Some(retry_after) = error.retry_after() {
        status.metadata_mut().insert(RETRY_AFTER_MS_KEY, MetadataValue::from(retry_after_ms(retry_after)));
    }
    status
}

/// UNAUTHENTICATED, saying why the token was refused.
pub fn unauthenticated(error: &AuthError) -> Status {
    let message = match error {
        AuthError::Missing => "authentication required: send the metadata `authorization: Bearer <token>`".to_owned(),
        other => other.to_string(),
    };
    let mut status = Status::unauthenticated(message);
    status.metadata_mut().insert(CODE_KEY, MetadataValue::from_static("chat.unauthorized"));
    status
}

/// INVALID_ARGUMENT on one field of the request, as the application reports bad fields.
pub fn invalid_field(field: &str, message: impl Into<String>) -> Status {
    status_of(AppError::validation(field, message))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chat_domain::RepositoryError;

    use super::*;

    #[test]
    fn each_application_error_has_its_code() {
        let cases = [
            (AppError::validation("text", "empty"), Code::InvalidArgument, "chat.validation"),
            (AppError::forbidden("admins only"), Code::PermissionDenied, "chat.forbidden"),
            (AppError::ChatDisabled, Code::PermissionDenied, "chat.disabled"),
            (AppError::not_found("message"), Code::NotFound, "chat.not_found"),
            (
                AppError::RateLimited { retry_after: Duration::from_millis(1500) },
                Code::ResourceExhausted,
                "chat.rate_limited",
            ),
            (AppError::Conflict { message: "deleted".into() }, Code::FailedPrecondition, "chat.conflict"),
            (AppError::Overloaded { retry_after: Duration::from_millis(800) }, Code::Unavailable, "chat.overloaded"),
        ];
        for (error, code, chat_code) in cases {
            let status = status_of(error);
            assert_eq!(status.code(), code);
            assert_eq!(status.metadata().get(CODE_KEY).and_then(|v| v.to_str().ok()), Some(chat_code));
        }
    }

    #[test]
    fn internal_errors_say_nothing_internal() {
        let status = status_of(AppError::from(RepositoryError::storage_msg("disk /var/db full")));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("disk"), "{}", status.message());
    }

    #[test]
    fn rate_limits_and_overload_say_when_to_retry() {
        let status = status_of(AppError::RateLimited { retry_after: Duration::from_millis(1500) });
        assert_eq!(status.metadata().get(RETRY_AFTER_MS_KEY).and_then(|v| v.to_str().ok()), Some("1500"));
        let status = status_of(AppError::from(RepositoryError::Overloaded { retry_after: Duration::from_millis(800) }));
        assert_eq!(status.metadata().get(RETRY_AFTER_MS_KEY).and_then(|v| v.to_str().ok()), Some("800"));
    }
}
