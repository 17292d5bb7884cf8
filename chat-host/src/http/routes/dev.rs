//! `POST /api/dev/login`: development mode's login, answering `404` in every other mode.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{TokenRequest, user_id_for};
use crate::http::extract::Json;
use crate::http::problem::Problem;
use crate::state::ChatState;

/// Who to log in as.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DevLoginInput {
    /// A user name (mapped to a stable user id) or a user id.
    user_name: String,
    /// Tenant; omitted = the host tenant.
    tenant_id: Option<Uuid>,
}

/// A token for the development login.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DevLoginDto {
    token: String,
    user_id: Uuid,
}

/// The development login route (not part of the OpenAPI document: it exists only in development mode).
pub fn dev_router() -> Router<ChatState> {
    Router::new().route("/api/dev/login", post(dev_login))
}

async fn dev_login(State(state): State<ChatState>, Json(input): Json<DevLoginInput>) -> Response {
    let Some(jwt) = state.dev_login() else {
        return Problem::not_found("no route for POST /api/dev/login").into_response();
    };
    let name = input.user_name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Problem::invalid_field("userName", "must be 1 to 64 characters").into_response();
    }
    let user_id = user_id_for(name);
    let user_name = (user_id.to_string() != name).then(|| name.to_owned());
    let request = TokenRequest {
        user: user_id,
        tenant: input.tenant_id,
        user_name,
        name: None,
        admin: false,
        ttl: Duration::from_secs(24 * 3600),
    };
    match jwt.issue(&request) {
        Ok(token) => axum::Json(DevLoginDto { token, user_id }).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "development login could not issue a token");
            Problem::internal().into_response()
        }
    }
}
