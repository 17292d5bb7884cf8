//! Middleware: problem documents for every error, metrics, the socket transport's origin guard.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::origin::origin_allowed;
use super::problem::{PROBLEM_JSON, Problem};
use crate::config::AllowedOrigins;
use crate::metrics::Metrics;

/// The fallback for unknown routes: a `404` problem document.
pub async fn not_found(method: Method, uri: Uri) -> Problem {
    Problem::not_found(format!("no route for {method} {}", uri.path()))
}

/// The fallback for a known route with another method: a `405` problem document.
pub async fn method_not_allowed(method: Method, uri: Uri) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "chat.method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// Turns any error response that is not already a problem document (axum's own rejections, a layer's
/// plain-text error) into one with the same status, keeping headers such as `Allow` and `Retry-After`.
pub async fn problem_responses(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let problem = Problem::for_status(status).into_response();
    let (problem_parts, body) = problem.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(ct) = problem_parts.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, ct.clone());
    }
    Response::from_parts(parts, body)
}

/// Adds `X-Content-Type-Options: nosniff` to every response: bodies carry user text (messages are stored
/// as sent, `<script>` included), and a browser must never guess them to be HTML.
pub async fn nosniff(mut response: Response) -> Response {
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Counts requests by method, matched route and status, with their latency.
pub async fn track_metrics(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    metrics.record_request(&method, &route, response.status().as_u16(), started.elapsed());
    response
}

/// Refuses any request of the Socket.IO transport (`/socket.io/…`: handshake, long-polling and WebSocket
/// upgrade alike) whose browser `Origin` is not allowed, before socketioxide sees it.
pub async fn origin_guard(State(allowed): State<Arc<AllowedOrigins>>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/socket.io") && !origin_allowed(request.headers(), &allowed) {
        return Problem::new(StatusCode::FORBIDDEN, "chat.origin_not_allowed", "this origin may not open sockets")
            .into_response();
    }
    next.run(request).await
}

/// The response for a panicking handler: a generic `500` problem (the panic is logged).
pub(crate) fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = %detail, "a request handler panicked");
    Problem::internal().into_response()
}
