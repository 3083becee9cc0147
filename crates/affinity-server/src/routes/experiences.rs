//! Experiences and targeting (issue 8): what a storefront shows to whom, decided per request by a targeting rule
//! over the customer's interactions, audiences, the request's context, its local time and the current session;
//! exposures, and a report of what each variant did.

use affinity_core::date::now_ms;
use affinity_core::{Experience, Problem, ProblemKind};
use affinity_rules::{Decision, ExperimentReport, Exposed, Visit};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::auth::{ProjectAdmin, ProjectPublic};
use crate::body::{JsonBytes, parse};
use crate::error::{ApiError, Code};
use crate::state::AppState;
use affinity_ingest::{ProjectEntry, SavedExperience};

#[derive(Serialize, utoipa::ToSchema)]
pub struct ExperienceList {
    pub experiences: Vec<Experience>,
}

/// Reads and checks an experience body (its rule is checked by the catalog edit); `path_id` (for `PUT`) wins over
/// the body's id.
fn checked(body: &[u8], path_id: Option<&str>) -> Result<Experience, ApiError> {
    let mut raw: Value = parse(body)?;
    if let (Some(id), Value::Object(o)) = (path_id, &mut raw) {
        o.insert("id".into(), Value::from(id));
    }
    for field in ["id", "name", "rule", "variants"] {
        if raw.get(field).is_none() {
            return Err(Problem::missing(field, field).into());
        }
    }
    let experience: Experience = serde_json::from_value(raw).map_err(|e| {
        ApiError::field(Code::Problem(ProblemKind::InvalidField), "experience", format!("Invalid experience: {e}"))
    })?;
    experience.check()?;
    Ok(experience)
}

/// Creates an experience; its targeting rule is type-checked like an audience's, with context, time and session
/// conditions allowed.
#[utoipa::path(post, path = "/v1/projects/{project}/experiences", tag = "targeting", params(("project" = String, Path)),
    request_body(content = Experience, description = "An experience: id, name, status, priority, schedule, rule, variants"),
    responses((status = 201, body = Experience), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    JsonBytes(body): JsonBytes,
) -> Result<(StatusCode, Json<Experience>), ApiError> {
    let entry = state.project(&project)?;
    let mut experience = checked(&body, None)?;
    let now = now_ms();
    (experience.created_at, experience.updated_at) = (now, now);
    let saved = entry.create_experience(&state.store, experience).await?;
    Ok((StatusCode::CREATED, Json(saved.experience)))
}

/// The project's experiences, by id.
#[utoipa::path(get, path = "/v1/projects/{project}/experiences", tag = "targeting", params(("project" = String, Path)),
    responses((status = 200, body = ExperienceList), (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
) -> Result<Json<ExperienceList>, ApiError> {
    let entry = state.project(&project)?;
    Ok(Json(ExperienceList { experiences: entry.experiences().values().map(|s| s.experience.clone()).collect() }))
}

fn saved_or_404(entry: &ProjectEntry, id: &str) -> Result<SavedExperience, ApiError> {
    Ok(entry.snapshot().experience(id)?.clone())
}

/// One experience.
#[utoipa::path(get, path = "/v1/projects/{project}/experiences/{id}", tag = "targeting",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Experience), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Experience>, ApiError> {
    let entry = state.project(&project)?;
    Ok(Json(saved_or_404(&entry, &id)?.experience))
}

/// Replaces an experience (the path's id wins).
#[utoipa::path(put, path = "/v1/projects/{project}/experiences/{id}", tag = "targeting",
    params(("project" = String, Path), ("id" = String, Path)),
    request_body(content = Experience, description = "The whole experience"),
    responses((status = 200, body = Experience), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn update(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Experience>, ApiError> {
    let entry = state.project(&project)?;
    let mut experience = checked(&body, Some(&id))?;
    experience.updated_at = now_ms();
    Ok(Json(entry.update_experience(&state.store, experience).await?.experience))
}

/// Deletes an experience (its exposures stay for its report).
#[utoipa::path(delete, path = "/v1/projects/{project}/experiences/{id}", tag = "targeting",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.project(&project)?.delete_experience(&state.store, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    /// The customer id; absent for an anonymous visitor (decided on context and time).
    pub customer: Option<String>,
    /// What the storefront knows of the request: `page`, `item`, `category`, `device`, `country`… Typed values.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub context: Map<String, Value>,
    /// Most experiences to answer, 1–100 (default 10).
    pub n: Option<usize>,
    /// Record an exposure for each experience answered (default false), for the customer or, for an anonymous
    /// visitor, `context.anonymous_id` (none without either).
    #[serde(default)]
    pub expose: bool,
}

/// Decides which experiences a request shows: each active experience in its schedule whose targeting rule holds,
/// highest priority first, with the visitor's variant (the same on every request) and its payload. A payload's
/// `recommendations` object (`{"for":"customer"|"item"|"popular","n":…,"item":…,"category":…}`) is answered
/// with its `items` inlined.
#[utoipa::path(post, path = "/v1/projects/{project}/experiences/decide", tag = "targeting",
    params(("project" = String, Path)), request_body = DecideBody,
    responses((status = 200, body = Decision), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn decide(
    State(state): State<AppState>,
    ProjectPublic(project): ProjectPublic,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Decision>, ApiError> {
    let mut body: DecideBody = parse(&body)?;
    // An anonymous id with an alias is decided as its customer: the same variants before and after login.
    if let Some(c) = &body.customer {
        body.customer = Some(state.engine.identity_of(&project, c));
    }
    let visit = Visit { customer: body.customer.as_deref(), context: &body.context, n: body.n, now: now_ms() };
    Ok(Json(state.decide(&project, &visit, body.expose).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExposureBody {
    pub customer: String,
    /// The variant shown; default: the customer's variant.
    pub variant: Option<String>,
}

/// Records that a customer was shown an experience (when `decide` was not asked to).
#[utoipa::path(post, path = "/v1/projects/{project}/experiences/{id}/exposures", tag = "targeting",
    params(("project" = String, Path), ("id" = String, Path)), request_body = ExposureBody,
    responses((status = 200, body = Exposed), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn expose(
    State(state): State<AppState>,
    ProjectPublic(project): ProjectPublic,
    Path((_, id)): Path<(String, String)>,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Exposed>, ApiError> {
    saved_or_404(&*state.project(&project)?, &id)?;
    let body: ExposureBody = parse(&body)?;
    let customer = state.engine.identity_of(&project, &body.customer);
    Ok(Json(state.expose(&project, &id, customer, body.variant, now_ms()).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ReportQuery {
    /// Days after a customer's first exposure in which a purchase counts, 1–365 (default 7).
    pub window_days: Option<String>,
}

/// Per variant: customers exposed, customers who purchased within the window after their first exposure,
/// conversion rate, revenue (price × quantity of those purchases), and for each variant after the first, the
/// two-sided p-value of a two-proportion z-test of its conversion rate against the first variant's.
#[utoipa::path(get, path = "/v1/projects/{project}/experiences/{id}/report", tag = "targeting",
    params(("project" = String, Path), ("id" = String, Path), ReportQuery),
    responses((status = 200, body = ExperimentReport), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn report(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<ReportQuery>,
) -> Result<Json<ExperimentReport>, ApiError> {
    saved_or_404(&*state.project(&project)?, &id)?;
    let days = super::query_number(q.window_days.as_deref(), "window_days", 1..=365, 7)?;
    Ok(Json(state.experiment_report(&project, &id, days, now_ms()).await?))
}
