//! Presence over REST: who of my contacts is online, and when they were last seen. Changes arrive live
//! as the socket's ephemeral `presence` event; these routes give the state at any moment.

use axum::extract::State;
use chat_application::dto::PresenceDto;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ErrorResponses, UserPath};
use crate::http::caller::Caller;
use crate::http::extract::Path;
use crate::http::problem::ApiError;
use crate::state::ChatState;

pub(super) fn routes() -> OpenApiRouter<ChatState> {
    OpenApiRouter::new().routes(routes!(get_user_presence)).routes(routes!(get_contacts_presence))
}

/// Whether a contact (someone I share a conversation with) or I am online, and when they were last
/// seen. Anyone else is answered 404.
#[utoipa::path(get, path = "/users/{userId}/presence", tag = "contacts",
    params(("userId" = Uuid, Path, description = "The user")),
    responses((status = 200, description = "`{ userId, online, lastSeenAt? }`", body = PresenceDto), ErrorResponses),
    security(("bearer" = [])))]
async fn get_user_presence(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Path(path): Path<UserPath>,
) -> Result<axum::Json<PresenceDto>, ApiError> {
    Ok(axum::Json(state.chat().presence().get_presence(&caller, path.user_id).await?))
}

/// The presence of each of my contacts (people I share a conversation with; at most 1,000).
#[utoipa::path(get, path = "/contacts/presence", tag = "contacts",
    responses((status = 200, description = "One `{ userId, online, lastSeenAt? }` per contact", body = Vec<PresenceDto>), ErrorResponses),
    security(("bearer" = [])))]
async fn get_contacts_presence(
    State(state): State<ChatState>,
    Caller(caller): Caller,
) -> Result<axum::Json<Vec<PresenceDto>>, ApiError> {
    Ok(axum::Json(state.chat().presence().get_contacts_presence(&caller).await?))
}
