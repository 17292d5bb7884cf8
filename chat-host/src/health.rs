//! Liveness, readiness and metrics endpoints.

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chat_application::ChatModule;
use chat_domain::TenantId;
use chat_domain::settings::SettingsRepository;
use chat_infrastructure::bus::DistributedEventBus;
use serde_json::json;
use std::sync::Arc;

use crate::http::problem::Problem;
use crate::state::ChatState;

/// Whether the node can serve: its store (and, in a cluster, its bus) answers.
#[async_trait]
pub trait Readiness: Send + Sync + 'static {
    /// `Ok` when ready; `Err` says what is not (logged, not shown to the caller).
    async fn check(&self) -> Result<(), String>;
}

/// Readiness by a cheap read through the settings repository (every store has one).
pub struct SettingsProbe {
    settings: Arc<dyn SettingsRepository>,
}

impl SettingsProbe {
    /// A probe over the module's store.
    pub fn new(chat: &ChatModule) -> Self {
        Self { settings: chat.repositories().settings.clone() }
    }
}

#[async_trait]
impl Readiness for SettingsProbe {
    async fn check(&self) -> Result<(), String> {
        self.settings.tenant(TenantId::HOST).await.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Readiness of a cluster node: its store answers, and so does its event bus (the broker is reachable and
/// the node's subscription is connected).
pub struct BusReadiness {
    store: Arc<dyn Readiness>,
    bus: Arc<dyn DistributedEventBus>,
}

impl BusReadiness {
    /// A probe over the store's probe and the bus.
    pub fn new(store: Arc<dyn Readiness>, bus: Arc<dyn DistributedEventBus>) -> Self {
        Self { store, bus }
    }
}

#[async_trait]
impl Readiness for BusReadiness {
    async fn check(&self) -> Result<(), String> {
        self.store.check().await.map_err(|e| format!("store: {e}"))?;
        self.bus.check().await.map_err(|e| format!("{} event bus: {e}", self.bus.kind()))
    }
}

/// `/health/live`, `/health/ready` and `/metrics`.
pub fn health_router() -> Router<ChatState> {
    Router::new().route("/health/live", get(live)).route("/health/ready", get(ready)).route("/metrics", get(metrics))
}

async fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<ChatState>) -> Response {
    let check = tokio::time::timeout(std::time::Duration::from_secs(5), state.readiness().check()).await;
    match check {
        Ok(Ok(())) => Json(json!({ "status": "ok" })).into_response(),
        Ok(Err(reason)) => {
            tracing::warn!(%reason, "readiness check failed");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "chat.unavailable",
                "the store or the event bus is not reachable",
            )
            .into_response()
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "chat.unavailable",
                "the store or the event bus did not answer in time",
            )
            .into_response()
        }
    }
}

async fn metrics(State(state): State<ChatState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics().render()).into_response()
}
