use axum::extract::State;
use chat_application::dto::{SyncInput, SyncResultDto};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ErrorResponses;
use crate::http::caller::Caller;
use crate::http::extract::Query;
use crate::http::problem::ApiError;
use crate::state::ChatState;

pub(super) fn routes() -> OpenApiRouter<ChatState> {
    OpenApiRouter::new().routes(routes!(sync))
}

/// Catch-up position and page size.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct SyncQuery {
    /// The last `eventSeq` seen (0 for none).
    #[serde(default)]
    after_event_seq: i64,
    /// Most events returned, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// The caller's stored events after a position (the same as the socket's `sync`), or `resyncRequired`.
#[utoipa::path(get, path = "/sync", tag = "realtime", params(SyncQuery),
    responses((status = 200, description = "Events after the position", body = SyncResultDto), ErrorResponses),
    security(("bearer" = [])))]
async fn sync(
    State(state): State<ChatState>,
    Caller(caller): Caller,
    Query(query): Query<SyncQuery>,
) -> Result<axum::Json<SyncResultDto>, ApiError> {
    let input = SyncInput { after_event_seq: query.after_event_seq, limit: query.limit };
    Ok(axum::Json(state.sync().sync(&caller, input).await?))
}
