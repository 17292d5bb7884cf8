//! The OpenAPI 3.1 document, generated from the route handlers and the application's DTO schemas.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use chat_application::dto::DeleteScopeDto;

use super::problem::Problem;
use super::routes::api_routes;
use crate::state::ChatState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chat API",
        description = "REST API of the real-time chat module. Every call needs `Authorization: Bearer <JWT>`. \
Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code`. Real-time events \
travel over Socket.IO (see the events reference)."
    ),
    modifiers(&BearerAuth),
    // `DeleteScopeDto` is only referenced from query parameters, which do not collect their schemas.
    components(schemas(Problem, DeleteScopeDto)),
    tags(
        (name = "messages", description = "Send, read, edit, delete, react, search"),
        (name = "conversations", description = "Conversation list, history, read, mute, archive"),
        (name = "groups", description = "Group conversations and their members"),
        (name = "contacts", description = "Contacts and unread count"),
        (name = "settings", description = "User and tenant settings"),
        (name = "attachments", description = "Uploaded files"),
        (name = "realtime", description = "Catch-up over REST")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The document for the REST API mounted under `base_path` (e.g. `/api/chat`).
pub fn openapi(base_path: &str) -> utoipa::openapi::OpenApi {
    let base = base_path.trim_end_matches('/');
    let router: OpenApiRouter<ChatState> = OpenApiRouter::with_openapi(ApiDoc::openapi());
    let router = if base.is_empty() { router.merge(api_routes()) } else { router.nest(base, api_routes()) };
    router.into_openapi()
}
