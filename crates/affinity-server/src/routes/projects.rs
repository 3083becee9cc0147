//! Projects (master key) and their API keys (admin key of the project, or master).

use affinity_core::date::{format_ms, now_ms};
use affinity_core::ids::is_project_id;
use affinity_core::{Project, Scope};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::auth::{Master, ProjectAdmin};
use crate::body::JsonBody;
use crate::error::{ApiError, Code};
use crate::state::AppState;
use affinity_core::ProblemKind;

/// `POST /v1/projects` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    /// `[A-Za-z0-9_-]{1,64}`.
    pub id: String,
    /// Display name; defaults to the id.
    pub name: Option<String>,
}

/// The secrets of a new project's first two keys, shown only in this answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProjectKeys {
    pub ingest: String,
    pub admin: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedProject {
    pub id: String,
    pub name: String,
    pub keys: ProjectKeys,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProjectInfo {
    pub id: String,
    pub name: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProjectList {
    pub projects: Vec<ProjectInfo>,
}

/// Creates a project with an `ingest` and an `admin` key.
#[utoipa::path(post, path = "/v1/projects", tag = "projects", request_body = CreateProject,
    responses((status = 201, body = CreatedProject), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    _master: Master,
    JsonBody(body): JsonBody<CreateProject>,
) -> Result<(StatusCode, Json<CreatedProject>), ApiError> {
    if !is_project_id(&body.id) {
        return Err(ApiError::field(
            Code::Problem(ProblemKind::InvalidId),
            "id",
            "Invalid id: must match [A-Za-z0-9_-]{1,64}",
        ));
    }
    let name = body.name.unwrap_or_else(|| body.id.clone());
    affinity_core::catalog::check_name(&name)?;
    let now = now_ms();
    let project = Project { id: body.id.clone(), name, created_at: now };
    let first = state.create_project_with_keys(project.clone()).await?;
    let keys = ProjectKeys { ingest: first.ingest, admin: first.admin };
    Ok((StatusCode::CREATED, Json(CreatedProject { id: project.id, name: project.name, keys })))
}

/// Lists projects (master key).
#[utoipa::path(get, path = "/v1/projects", tag = "projects",
    responses((status = 200, body = ProjectList), (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn list(State(state): State<AppState>, _master: Master) -> Result<Json<ProjectList>, ApiError> {
    let projects = state
        .catalog
        .list()
        .into_iter()
        .map(|p| ProjectInfo { id: p.id, name: p.name, created_at: format_ms(p.created_at) })
        .collect();
    Ok(Json(ProjectList { projects }))
}

/// `POST …/keys` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    pub scope: Scope,
}

/// A new key; `key` is the secret, shown only here.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    pub id: String,
    pub scope: Scope,
    pub key: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: String,
    pub scope: Scope,
    /// RFC 3339 UTC.
    pub created_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyInfo>,
}

/// Creates a key of the project (admin).
#[utoipa::path(post, path = "/v1/projects/{project}/keys", tag = "keys", request_body = CreateKey,
    params(("project" = String, Path)),
    responses((status = 201, body = CreatedKey), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    JsonBody(body): JsonBody<CreateKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    state.project(&project)?;
    let (key, secret) = state.create_key(&project, body.scope, now_ms()).await?;
    Ok((StatusCode::CREATED, Json(CreatedKey { id: key.id, scope: key.scope, key: secret })))
}

/// Lists the project's active keys: ids and scopes, never secrets (admin).
#[utoipa::path(get, path = "/v1/projects/{project}/keys", tag = "keys", params(("project" = String, Path)),
    responses((status = 200, body = KeyList), (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn list_keys(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
) -> Result<Json<KeyList>, ApiError> {
    state.project(&project)?;
    let keys = state.blocking(|s| s.active_keys()).await?;
    let keys = keys
        .into_iter()
        .filter(|k| k.project == project)
        .map(|k| KeyInfo { id: k.id, scope: k.scope, created_at: format_ms(k.created_at) })
        .collect();
    Ok(Json(KeyList { keys }))
}

/// Revokes a key, effective immediately (admin).
#[utoipa::path(delete, path = "/v1/projects/{project}/keys/{id}", tag = "keys",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn revoke_key(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.project(&project)?;
    state.revoke_key(&project, &id, now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}
