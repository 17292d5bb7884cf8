//! RFC 9457 problem details: the one shape of every error response.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chat_application::{AppError, FieldError};
use serde::Serialize;

use crate::auth::AuthError;

/// The media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One problem document (`application/problem+json`).
///
/// `type` is `urn:chat:problem:<name>` (the code without its `chat.` prefix); `code` is the stable
/// machine-readable code that socket acknowledgements use too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: ProblemType,
    /// Short summary of the kind of problem (the HTTP reason phrase).
    #[schema(value_type = String)]
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time, for people.
    pub detail: String,
    /// Stable machine-readable code (`chat.not_found`, `chat.validation`, …).
    #[schema(value_type = String)]
    pub code: &'static str,
    /// The bad fields, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For `chat.rate_limited`: how long to wait, in milliseconds (also sent as `Retry-After`, in seconds).
    #[serde(rename = "retryAfterMs", skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

/// A problem's `type`: `urn:chat:problem:<name>`, derived from its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemType(&'static str);

impl Serialize for ProblemType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("urn:chat:problem:{}", self.0.trim_start_matches("chat.")))
    }
}

impl Problem {
    /// A problem with a status, code and detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind: ProblemType(code),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            errors: Vec::new(),
            retry_after_ms: None,
        }
    }

    /// `400 chat.bad_request`: the request cannot be read (malformed JSON, bad query string).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "chat.bad_request", detail)
    }

    /// `400 chat.validation` on one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        let mut p = Self::new(StatusCode::BAD_REQUEST, "chat.validation", format!("invalid input: {field}: {message}"));
        p.errors.push(FieldError::new(field, message));
        p
    }

    /// `404 chat.not_found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "chat.not_found", detail)
    }

    /// `500 chat.internal`: says nothing about the cause (which is logged where it happened).
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "chat.internal", "an internal error occurred")
    }

    /// `501 chat.not_implemented`.
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, "chat.not_implemented", detail)
    }

    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// A problem for any error status that has no more specific one (used to turn plain error responses
    /// from layers into problem documents).
    pub fn for_status(status: StatusCode) -> Self {
        let code = match status {
            StatusCode::BAD_REQUEST => "chat.bad_request",
            StatusCode::UNAUTHORIZED => "chat.unauthorized",
            StatusCode::FORBIDDEN => "chat.forbidden",
            StatusCode::NOT_FOUND => "chat.not_found",
            StatusCode::METHOD_NOT_ALLOWED => "chat.method_not_allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "chat.payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "chat.unsupported_media_type",
            StatusCode::REQUEST_TIMEOUT => "chat.timeout",
            StatusCode::TOO_MANY_REQUESTS => "chat.rate_limited",
            StatusCode::NOT_IMPLEMENTED => "chat.not_implemented",
            StatusCode::SERVICE_UNAVAILABLE => "chat.unavailable",
            s if s.is_server_error() => "chat.internal",
            _ => "chat.bad_request",
        };
        let detail = if status.is_server_error() {
            "an internal error occurred".to_owned()
        } else {
            status.canonical_reason().unwrap_or("request refused").to_lowercase()
        };
        Self::new(status, code, detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let retry_after = self.retry_after_ms.map(|ms| ms.div_ceil(1000).max(1));
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut response =
            (status, [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))], body).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// An application error on its way out of an HTTP handler.
///
/// Internal errors are logged here, once, with their cause; the client only learns that something failed.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        Self(error)
    }
}

impl ApiError {
    /// The problem document for an application error.
    pub fn to_problem(&self) -> Problem {
        problem_of(&self.0)
    }
}

/// The problem document for an application error (also used by socket acknowledgements, for the codes).
pub fn problem_of(error: &AppError) -> Problem {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut p = match error {
        AppError::Internal { .. } => Problem::internal(),
        AppError::Validation { errors } => {
            let mut p = Problem::new(status, error.code(), error.to_string());
            p.errors = errors.clone();
            p
        }
        AppError::RateLimited { .. } => Problem::new(status, error.code(), "too many requests; retry later"),
        AppError::Overloaded { .. } => {
            Problem::new(status, error.code(), "the server is over capacity; nothing was done, retry later")
        }
        _ => Problem::new(status, error.code(), error.to_string()),
    };
    p.retry_after_ms = error.retry_after().map(retry_after_ms);
    p
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let AppError::Internal { source } = &self.0 {
            // `{source:?}` names the storage failure for operators; the response stays generic.
            tracing::error!(error = %source, details = ?source, "request failed with an internal error");
        }
        self.to_problem().into_response()
    }
}

/// `401 chat.unauthorized`, saying why the credentials were refused (REST responses and socket acks).
impl From<AuthError> for Problem {
    fn from(error: AuthError) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "chat.unauthorized", error.to_string())
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let mut response = Problem::from(self).into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        response
    }
}

/// How long a rate-limited or refused caller should wait, rounded up to whole milliseconds.
pub fn retry_after_ms(retry_after: Duration) -> u64 {
    u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX).max(1)
}
