//! The authenticated caller of a REST handler.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chat_application::CallerContext;

use super::problem::ApiError;
use crate::auth::Credentials;
use crate::state::ChatState;

/// The caller, authenticated from `Authorization: Bearer <token>`; the chat's copy of the user is refreshed
/// from the token's claims. A request without valid credentials is answered `401` before the handler runs.
#[derive(Debug, Clone)]
pub struct Caller(pub CallerContext);

impl FromRequestParts<ChatState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ChatState) -> Result<Self, Self::Rejection> {
        let credentials = Credentials { token: None, headers: &parts.headers };
        let caller = state.authenticator().authenticate(credentials).await.map_err(IntoResponse::into_response)?;
        state.sync_caller(&caller).await.map_err(|e| ApiError(e).into_response())?;
        Ok(Caller(caller))
    }
}
