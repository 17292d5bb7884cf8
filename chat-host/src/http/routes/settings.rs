use axum::extract::State;
use chat_application::dto::{ChatSettingsDto, UpdateChatSettingsInput};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ErrorResponses;
use crate::http::caller::Caller;
use crate::http::extract::Json;
use crate::http::problem::ApiError;
use crate::state::ChatState;

pub(super) fn routes() -> OpenApiRouter<ChatState> {
    OpenApiRouter::new().routes(routes!(get_settings, update_settings))
}

/// My settings (`sendOnEnter`) and my tenant's chat settings.
#[utoipa::path(get, path = "/settings", tag = "settings",
    responses((status = 200, description = "Settings", body = ChatSettingsDto), ErrorResponses),
    security(("bearer" = [])))]
async fn get_settings(
    State(state): State<ChatState>,
    Caller(caller): Caller,
) -> Result<axum::Json<ChatSettingsDto>, ApiError> {
    Ok(axum::Json(state.settings().get_settings(&caller).await?))
}

/// Change my settings and, for tenant admins (a token whose `role`/`roles` claim contains `admin`), the
/// tenant's.
#[utoipa::path(put, path = "/settings", tag = "settings", request_body = UpdateChatSettingsInput,
    responses((status = 200, description = "Settings after the change", body = ChatSettingsDto), ErrorResponses),
    security(("bearer" = [])))]
async fn update_settings(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Json(input): Json<UpdateChatSettingsInput>,
) -> Result<axum::Json<ChatSettingsDto>, ApiError> {
    Ok(axum::Json(state.settings().update_settings(&caller, input).await?))
}
