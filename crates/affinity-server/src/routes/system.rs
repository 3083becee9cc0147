//! Health, readiness, metrics and the OpenAPI document.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::OpenApi;

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// `{"status":"ok","store":"sqlite"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    /// The store this node runs on: `sqlite` (embedded) or `postgres` (shared by every node).
    pub store: &'static str,
}

/// Liveness: answers 200 without a key.
#[utoipa::path(get, path = "/health", tag = "system", responses((status = 200, body = Health)))]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health { status: "ok", store: state.store.backend() })
}

/// The OpenAPI 3 document of this server, generated from the code.
#[utoipa::path(get, path = "/openapi.json", tag = "system", responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn openapi() -> impl IntoResponse {
    Json(super::ApiDoc::openapi())
}

/// Whether this node has finished starting (views rebuilt from the log, models loaded): set once by
/// [`crate::run`], shared with the router as an `Extension`. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Ready(Arc<AtomicBool>);

impl Ready {
    /// Marks the node started.
    pub fn set(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`Ready::set`] was called.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// `{"status":"ready"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub status: &'static str,
}

/// Readiness: 200 once the node has started (views rebuilt) and its store answers a query (one indexed read);
/// 503 `unavailable` before, or while the store does not answer. No key.
#[utoipa::path(get, path = "/ready", tag = "system", responses(
    (status = 200, body = Readiness),
    (status = 503, description = "Starting, or the store does not answer", body = crate::error::ErrorBody)))]
pub async fn ready(
    State(state): State<AppState>,
    started: Option<Extension<Ready>>,
) -> Result<Json<Readiness>, ApiError> {
    // A router built without the flag belongs to a state whose engine was opened, hence whose views are rebuilt.
    if started.is_some_and(|Extension(r)| !r.is_set()) {
        return Err(ApiError::new(Code::Unavailable, "Starting: the views are being rebuilt from the event log"));
    }
    // Any cheap query that reaches the database: the all-zero hash is no key's.
    match state.blocking(|store| store.active_key(&[0; 32])).await {
        Ok(_) => Ok(Json(Readiness { status: "ready" })),
        Err(e) => {
            tracing::warn!(error = %e.message, "readiness: the store does not answer");
            Err(ApiError::new(Code::Unavailable, "The store does not answer"))
        }
    }
}

/// Metrics in the Prometheus text format (see [`crate::metrics`] for the names). No key.
#[utoipa::path(get, path = "/metrics", tag = "system", responses(
    (status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    crate::metrics::set_scrape_gauges(&state.views);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], crate::metrics::render())
}
