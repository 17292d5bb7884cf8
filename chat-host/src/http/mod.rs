//! The HTTP side: problem details, extractors, the REST routes, OpenAPI, and the middleware stack.

pub mod caller;
pub mod extract;
mod layers;
pub mod openapi;
pub mod origin;
pub mod problem;
pub mod routes;

pub(crate) use layers::panic_response as layers_panic_response;
pub use layers::{method_not_allowed, nosniff, not_found, origin_guard, problem_responses, track_metrics};

use axum::Router;
use axum::extract::DefaultBodyLimit;

use crate::state::ChatState;

/// The REST API of SPEC §5 without a prefix, for embedders to nest (`Router::new().nest("/api/chat",
/// chat_router(state))`): every route, `404`/`405` problem documents, the body limit, and problem
/// documents for any plain error response. Authentication is the state's
/// [`Authenticator`](crate::auth::Authenticator).
pub fn chat_router(state: ChatState) -> Router {
    let max_body = state.limits().max_body_bytes;
    let (router, _) = routes::api_routes().split_for_parts();
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::map_response(problem_responses))
        .layer(axum::middleware::map_response(nosniff))
        .with_state(state)
}
