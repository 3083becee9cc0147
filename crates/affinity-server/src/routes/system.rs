//! Health and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::OpenApi;

/// `{"status":"ok","store":"sqlite"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    /// The store this node runs on: `sqlite` (embedded) or `postgres` (shared by every node).
    pub store: &'static str,
}

/// Liveness: answers 200 without a key.
#[utoipa::path(get, path = "/health", tag = "system", responses((status = 200, body = Health)))]
pub async fn health(State(state): State<crate::state::AppState>) -> Json<Health> {
    Json(Health { status: "ok", store: state.store.backend() })
}

/// The OpenAPI 3 document of this server, generated from the code.
#[utoipa::path(get, path = "/openapi.json", tag = "system", responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn openapi() -> impl IntoResponse {
    Json(super::ApiDoc::openapi())
}
