//! Audiences (issue 5): rules over interactions, checked at save, with membership computed on demand from the views
//! at the current time, so it is always fresh and always exact.

use affinity_core::date::{format_ms, now_ms};
use affinity_core::{Audience, Problem};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::{ProjectAdmin, ProjectIngest};
use crate::body::{JsonBytes, parse};
use crate::error::ApiError;
use crate::state::AppState;
use affinity_ingest::{ProjectEntry, SavedAudience};

/// Customers shown by a preview.
const SAMPLE: usize = 10;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceBody {
    /// `[a-z0-9_]{1,64}` (ignored by `PUT`, which takes the path's).
    pub id: Option<String>,
    pub name: Option<String>,
    /// The rule: `{"all":[…]}`, `{"any":[…]}`, `{"not":…}`, an interaction leaf or `{"audience":"id"}`.
    #[schema(value_type = Object)]
    pub rule: Option<Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AudienceInfo {
    pub id: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub rule: Value,
    /// Members now.
    pub size: usize,
    /// When the size was computed (now), RFC 3339 UTC.
    pub computed_at: String,
    pub created_at: String,
    pub updated_at: String,
}

/// `s` with its size now.
async fn info(state: &AppState, project: &str, s: &SavedAudience) -> Result<AudienceInfo, ApiError> {
    let members = state.members(project, s.rule.clone()).await?;
    Ok(AudienceInfo {
        id: s.audience.id.clone(),
        name: s.audience.name.clone(),
        rule: s.audience.rule.clone(),
        size: members.customers.len(),
        computed_at: format_ms(members.computed_at),
        created_at: format_ms(s.audience.created_at),
        updated_at: format_ms(s.audience.updated_at),
    })
}

fn saved_or_404(entry: &ProjectEntry, id: &str) -> Result<SavedAudience, ApiError> {
    Ok(entry.snapshot().audience(id)?.clone())
}

/// Creates an audience; the rule is type-checked against the interaction catalog and the saved audiences.
#[utoipa::path(post, path = "/v1/projects/{project}/audiences", tag = "audiences", params(("project" = String, Path)),
    request_body = AudienceBody,
    responses((status = 201, body = AudienceInfo), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    JsonBytes(body): JsonBytes,
) -> Result<(StatusCode, Json<AudienceInfo>), ApiError> {
    let entry = state.project(&project)?;
    let body: AudienceBody = parse(&body)?;
    let id = body.id.ok_or_else(|| Problem::missing("id", "id"))?;
    Audience::check_id(&id)?;
    let name = body.name.ok_or_else(|| Problem::missing("name", "name"))?;
    Audience::check_name(&name)?;
    let rule = body.rule.ok_or_else(|| Problem::missing("rule", "rule"))?;
    let now = now_ms();
    let audience = Audience { id, name, rule, created_at: now, updated_at: now };
    let saved = entry.create_audience(&state.store, audience).await?;
    Ok((StatusCode::CREATED, Json(info(&state, &project, &saved).await?)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AudienceList {
    pub audiences: Vec<AudienceInfo>,
}

/// Every audience of the project, with its size now.
#[utoipa::path(get, path = "/v1/projects/{project}/audiences", tag = "audiences", params(("project" = String, Path)),
    responses((status = 200, body = AudienceList), (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
) -> Result<Json<AudienceList>, ApiError> {
    let entry = state.project(&project)?;
    let mut audiences = Vec::new();
    for saved in entry.audiences().values() {
        audiences.push(info(&state, &project, saved).await?);
    }
    Ok(Json(AudienceList { audiences }))
}

/// One audience with its size now.
#[utoipa::path(get, path = "/v1/projects/{project}/audiences/{id}", tag = "audiences",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = AudienceInfo), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<AudienceInfo>, ApiError> {
    let entry = state.project(&project)?;
    let saved = saved_or_404(&entry, &id)?;
    Ok(Json(info(&state, &project, &saved).await?))
}

/// Replaces an audience's name and rule; membership follows the new rule at once.
#[utoipa::path(put, path = "/v1/projects/{project}/audiences/{id}", tag = "audiences",
    params(("project" = String, Path), ("id" = String, Path)), request_body = AudienceBody,
    responses((status = 200, body = AudienceInfo), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn update(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
    JsonBytes(body): JsonBytes,
) -> Result<Json<AudienceInfo>, ApiError> {
    let entry = state.project(&project)?;
    let body: AudienceBody = parse(&body)?;
    saved_or_404(&entry, &id)?;
    if let Some(name) = &body.name {
        Audience::check_name(name)?;
    }
    let rule = body.rule.ok_or_else(|| Problem::missing("rule", "rule"))?;
    let saved = entry.update_audience(&state.store, &id, body.name, rule, now_ms()).await?;
    Ok(Json(info(&state, &project, &saved).await?))
}

/// Deletes an audience; 409 `audience_in_use` while another audience refers to it.
#[utoipa::path(delete, path = "/v1/projects/{project}/audiences/{id}", tag = "audiences",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.project(&project)?.delete_audience(&state.store, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct MembersQuery {
    /// Members per page, 1–10,000 (default 100).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberPage {
    pub members: Vec<String>,
    pub size: usize,
    pub computed_at: String,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The members now, a page at a time (in the project's order of first sight).
#[utoipa::path(get, path = "/v1/projects/{project}/audiences/{id}/members", tag = "audiences",
    params(("project" = String, Path), ("id" = String, Path), MembersQuery),
    responses((status = 200, body = MemberPage), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn members_page(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<MembersQuery>,
) -> Result<Json<MemberPage>, ApiError> {
    let saved = saved_or_404(&*state.project(&project)?, &id)?;
    let all = state.members(&project, saved.rule).await?;
    let page = all.page(q.cursor.as_deref(), q.limit)?;
    let next_cursor = page.next.map(|n| n.to_string());
    let (members, size, computed_at) = (page.members.to_vec(), all.customers.len(), format_ms(all.computed_at));
    Ok(Json(MemberPage { members, size, computed_at, next_cursor }))
}

/// The members now as CSV (`customer` column).
#[utoipa::path(get, path = "/v1/projects/{project}/audiences/{id}/members.csv", tag = "audiences",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn members_csv(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let saved = saved_or_404(&*state.project(&project)?, &id)?;
    let bytes = state.members(&project, saved.rule).await?.to_csv();
    let disposition = format!("attachment; filename=\"{id}-members.csv\"");
    Ok(([(header::CONTENT_TYPE, "text/csv".to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Membership {
    pub member: bool,
}

/// Whether one customer is a member now (ingest or admin key: what targeting asks).
#[utoipa::path(get, path = "/v1/projects/{project}/audiences/{id}/members/{customer}", tag = "audiences",
    params(("project" = String, Path), ("id" = String, Path), ("customer" = String, Path)),
    responses((status = 200, body = Membership), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn member(
    State(state): State<AppState>,
    ProjectIngest(project): ProjectIngest,
    Path((_, id, customer)): Path<(String, String, String)>,
) -> Result<Json<Membership>, ApiError> {
    let member = state.is_member(&project, &id, &customer)?;
    Ok(Json(Membership { member }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CustomerAudiences {
    /// Ids of the audiences the customer is in now.
    pub audiences: Vec<String>,
}

/// The audiences a customer is in now (ingest or admin key).
#[utoipa::path(get, path = "/v1/projects/{project}/customers/{customer}/audiences", tag = "audiences",
    params(("project" = String, Path), ("customer" = String, Path)),
    responses((status = 200, body = CustomerAudiences), (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn of_customer(
    State(state): State<AppState>,
    ProjectIngest(project): ProjectIngest,
    Path((_, customer)): Path<(String, String)>,
) -> Result<Json<CustomerAudiences>, ApiError> {
    let audiences = state.audiences_of(&project, &customer)?;
    Ok(Json(CustomerAudiences { audiences }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    #[schema(value_type = Object)]
    pub rule: Value,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub size: usize,
    /// Up to 10 members.
    pub sample: Vec<String>,
}

/// The size and a sample of a rule's members, without saving it (for rule builders).
#[utoipa::path(post, path = "/v1/projects/{project}/audiences/preview", tag = "audiences", params(("project" = String, Path)),
    request_body = PreviewBody,
    responses((status = 200, body = Preview), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn preview(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Preview>, ApiError> {
    let entry = state.project(&project)?;
    let body: PreviewBody = parse(&body)?;
    let rule = entry.check_rule(&body.rule, None)?;
    let all = state.members(&project, rule).await?.customers;
    Ok(Json(Preview { size: all.len(), sample: all.into_iter().take(SAMPLE).collect() }))
}
