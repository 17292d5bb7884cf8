use axum::extract::State;
use chat_application::dto::{ContactDto, GetContactsInput, UnreadCountDto};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ErrorResponses;
use crate::http::caller::Caller;
use crate::http::extract::Query;
use crate::http::problem::ApiError;
use crate::state::ChatState;

pub(super) fn routes() -> OpenApiRouter<ChatState> {
    OpenApiRouter::new().routes(routes!(get_contacts)).routes(routes!(get_unread_count))
}

/// People I talk with (and, with `includeOtherContacts`, other users of my tenant), filtered by `filter`.
#[utoipa::path(get, path = "/contacts", tag = "contacts", params(GetContactsInput),
    responses((status = 200, description = "Contacts", body = Vec<ContactDto>), ErrorResponses),
    security(("bearer" = [])))]
async fn get_contacts(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Query(input): Query<GetContactsInput>,
) -> Result<axum::Json<Vec<ContactDto>>, ApiError> {
    Ok(axum::Json(state.contacts().get_contacts(&caller, input).await?))
}

/// Total unread messages across my conversations.
#[utoipa::path(get, path = "/contacts/unread-count", tag = "contacts",
    responses((status = 200, description = "`{ count }`", body = UnreadCountDto), ErrorResponses),
    security(("bearer" = [])))]
async fn get_unread_count(
    State(state): State<ChatState>,
    Caller(caller): Caller,
) -> Result<axum::Json<UnreadCountDto>, ApiError> {
    Ok(axum::Json(state.contacts().get_total_unread_count(&caller).await?))
}
