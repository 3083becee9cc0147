//! Models of a project (admin key): training now, what serves, and offline evaluation (Recall@K, NDCG@K,
//! coverage) against a test file or a split of the project's own events ([`affinity_reco::protocol`]).

use affinity_reco::protocol::{self, EvaluateQuery, Evaluation, EvaluationSummary};
use affinity_reco::serve::ServingModels;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::ProjectAdmin;
use crate::error::ApiError;
use crate::state::AppState;

pub use affinity_reco::protocol::MAX_TEST_BYTES;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct TrainQuery {
    /// Answer when training is done (200) instead of at once (202).
    pub wait: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ModelsStatus {
    /// Whether a training runs now.
    pub training: bool,
    /// The models serving now, null before the first training.
    pub models: Option<ServingModels>,
    /// The last `POST …/models/evaluate`: when, how the test set was made, and its results; null before any.
    pub last_evaluation: Option<EvaluationSummary>,
}

fn status(state: &AppState, project: &str) -> ModelsStatus {
    let models = state.models.project(project);
    ModelsStatus {
        training: models.is_training(),
        models: models.current().map(|m| m.describe()),
        last_evaluation: models.last_evaluation(),
    }
}

/// Trains every model of the project now.
#[utoipa::path(post, path = "/v1/projects/{project}/models/train", tag = "recommendations",
    params(("project" = String, Path), TrainQuery),
    responses((status = 200, body = ModelsStatus), (status = 202, body = ModelsStatus),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn train_now(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Query(q): Query<TrainQuery>,
) -> Result<Response, ApiError> {
    state.project(&project)?;
    if q.wait.unwrap_or(false) {
        state.train(&project).await?;
        return Ok(Json(status(&state, &project)).into_response());
    }
    let (s, p) = (state.clone(), project.clone());
    tokio::spawn(async move {
        if let Err(e) = s.train(&p).await {
            tracing::warn!(project = %p, error = %e, "training failed");
        }
    });
    let mut now = status(&state, &project);
    now.training = true;
    Ok((StatusCode::ACCEPTED, Json(now)).into_response())
}

/// The models serving now and whether a training runs.
#[utoipa::path(get, path = "/v1/projects/{project}/models", tag = "recommendations", params(("project" = String, Path)),
    responses((status = 200, body = ModelsStatus), (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn models(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
) -> Result<Json<ModelsStatus>, ApiError> {
    state.project(&project)?;
    Ok(Json(status(&state, &project)))
}

/// Scores the current models against held-out interactions: the body is a CSV with `user_id` and `item_id`
/// columns (or `customer`, `item`), like an upload. Every item is ranked for each test customer, their training
/// items left out; Recall@K (normalised by min(K, held-out items)) and NDCG@K are averaged over customers. With
/// `split`, the test set is held out of the project's own events instead, and fresh models are scored.
#[utoipa::path(post, path = "/v1/projects/{project}/models/evaluate", tag = "recommendations",
    params(("project" = String, Path), EvaluateQuery), request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = Evaluation), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn evaluate(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Query(q): Query<EvaluateQuery>,
    body: axum::body::Bytes,
) -> Result<Json<Evaluation>, ApiError> {
    let settings = state.project(&project)?.settings();
    let ks = q.ks()?;
    let view = state.views.project(&project);
    let evaluation = if q.next_basket() {
        let now = affinity_core::date::now_ms();
        tokio::task::spawn_blocking(move || protocol::evaluate_baskets(&view, &settings, &ks, now)).await
    } else if let Some(split) = q.split()? {
        let now = affinity_core::date::now_ms();
        tokio::task::spawn_blocking(move || protocol::evaluate_split(&view, &settings, split, &ks, now)).await
    } else {
        // Parsing up to 256 MiB of CSV is blocking work.
        let pairs = tokio::task::spawn_blocking(move || protocol::read_test_file(&body))
            .await
            .map_err(ApiError::internal)??;
        let model = match state.models.project(&project).current() {
            Some(m) => m,
            None => state.train(&project).await?,
        };
        tokio::task::spawn_blocking(move || protocol::evaluate_test_file(&view, &model, &settings, &pairs, &ks)).await
    }
    .map_err(ApiError::internal)?;
    state.record_evaluation(&project, evaluation.summary(&q.describe(), affinity_core::date::now_ms())).await;
    Ok(Json(evaluation))
}
