//! Serving recommendations (ingest or admin key); training and evaluation are in [`super::models`]. The answers
//! are [`affinity_reco::serve`]'s: each handler reads the project's view and model in service and calls it.

use affinity_reco::serve::{self, RecommendQuery, Recommendations};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use crate::auth::ProjectPublic;
use crate::body::{JsonBytes, parse};
use crate::error::ApiError;
use crate::state::AppState;

/// Personalized recommendations for a customer, from their history as it is now.
#[utoipa::path(get, path = "/v1/projects/{project}/recommendations/users/{customer}", tag = "recommendations",
    params(("project" = String, Path), ("customer" = String, Path), RecommendQuery),
    responses((status = 200, body = Recommendations), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn for_user(
    State(state): State<AppState>,
    ProjectPublic(project): ProjectPublic,
    Path((_, customer)): Path<(String, String)>,
    Query(q): Query<RecommendQuery>,
) -> Result<Json<Recommendations>, ApiError> {
    let answer = state.with_view(&project, |v, m, s| serve::for_customer(v, m, s, &customer, &q))??;
    Ok(Json(served(&state, &project, serve::stamp(answer, q.placement.as_deref())?)))
}

/// Items like one item: `kind=similar` (customers who interacted with it also …) or `kind=bought_together`.
#[utoipa::path(get, path = "/v1/projects/{project}/recommendations/items/{item}", tag = "recommendations",
    params(("project" = String, Path), ("item" = String, Path), RecommendQuery),
    responses((status = 200, body = Recommendations), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn for_item(
    State(state): State<AppState>,
    ProjectPublic(project): ProjectPublic,
    Path((_, item)): Path<(String, String)>,
    Query(q): Query<RecommendQuery>,
) -> Result<Json<Recommendations>, ApiError> {
    let answer = state.with_view(&project, |v, m, _| serve::for_item(v, m, &item, &q))??;
    Ok(Json(served(&state, &project, serve::stamp(answer, q.placement.as_deref())?)))
}

/// The most popular items, weighted by interaction type and decayed, optionally over a window.
#[utoipa::path(get, path = "/v1/projects/{project}/recommendations/popular", tag = "recommendations",
    params(("project" = String, Path), RecommendQuery),
    responses((status = 200, body = Recommendations), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn popular(
    State(state): State<AppState>,
    ProjectPublic(project): ProjectPublic,
    Query(q): Query<RecommendQuery>,
) -> Result<Json<Recommendations>, ApiError> {
    let answer = state.with_view(&project, |v, m, _| serve::popular(v, m, &q))??;
    Ok(Json(served(&state, &project, serve::stamp(answer, q.placement.as_deref())?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// Items of the visitor's session or cart.
    pub items: Vec<String>,
    /// How many items, 1–1000 (default 10).
    pub n: Option<usize>,
    pub category: Option<String>,
    /// Where the answer will be shown (see `placement` of the `GET` routes).
    pub placement: Option<String>,
}

/// Recommendations for an anonymous visitor from the items of their session or cart.
#[utoipa::path(post, path = "/v1/projects/{project}/recommendations/session", tag = "recommendations",
    params(("project" = String, Path)), request_body = SessionRequest,
    responses((status = 200, body = Recommendations), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn for_session(
    State(state): State<AppState>,
    ProjectPublic(project): ProjectPublic,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Recommendations>, ApiError> {
    state.project(&project)?;
    let req: SessionRequest = parse(&body)?;
    let q = RecommendQuery { n: req.n, category: req.category, placement: req.placement, ..RecommendQuery::default() };
    let answer = state.with_view(&project, |v, m, _| serve::for_session(v, m, &req.items, &q))??;
    Ok(Json(served(&state, &project, serve::stamp(answer, q.placement.as_deref())?)))
}

/// Counts an answer for the recommendations report (per placement, model and day) and hands it back.
fn served(state: &AppState, project: &str, answer: Recommendations) -> Recommendations {
    let now = affinity_core::date::now_ms();
    state.engine.served.count(project, answer.placement.as_deref(), answer.model.as_deref(), now);
    answer
}
