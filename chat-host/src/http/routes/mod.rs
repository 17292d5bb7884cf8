//! The REST API of SPEC §5, one module per area. Handlers authenticate the caller, call one application
//! service method and return its DTO; every error is a problem document.

mod attachments;
mod contacts;
mod conversations;
mod dev;
mod groups;
mod messages;
mod presence;
mod settings;
mod sync;

use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use super::problem::Problem;
use crate::state::ChatState;

pub use dev::dev_router;

/// Every route under the chat's base path (`/api/chat` in the reference server), with its OpenAPI
/// description.
pub fn api_routes() -> OpenApiRouter<ChatState> {
    OpenApiRouter::new()
        .merge(messages::routes())
        .merge(conversations::routes())
        .merge(groups::routes())
        .merge(contacts::routes())
        .merge(presence::routes())
        .merge(settings::routes())
        .merge(attachments::routes())
        .merge(sync::routes())
}

/// `{id}` in a path.
#[derive(Debug, Deserialize)]
pub(crate) struct IdPath {
    pub id: Uuid,
}

/// `{userId}` in a path.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserPath {
    pub user_id: Uuid,
}

/// `{id}` and `{userId}` in a path.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MemberPath {
    pub id: Uuid,
    pub user_id: Uuid,
}

/// `{id}` and `{emoji}` in a path.
#[derive(Debug, Deserialize)]
pub(crate) struct ReactionPath {
    pub id: Uuid,
    pub emoji: String,
}

/// The error answers every authenticated route may give. It only describes responses for the OpenAPI
/// document (handlers answer with [`ApiError`](crate::http::problem::ApiError)), so it is never built.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub(crate) enum ErrorResponses {
    /// Invalid input (`chat.validation`, with the bad fields) or an unreadable request (`chat.bad_request`).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No valid token (`chat.unauthorized`).
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The caller's role does not allow the action (`chat.forbidden`).
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such resource for the caller (also another tenant's, or a conversation the caller is not in).
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// The request conflicts with the current state (`chat.conflict`).
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// The body is not of the media type the route takes (`chat.unsupported_media_type`).
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// The body is larger than 64 KiB (`chat.payload_too_large`).
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// Rate limit exceeded (`chat.rate_limited`); see `Retry-After`.
    #[response(status = 429, content_type = "application/problem+json")]
    RateLimited(Problem),
}
