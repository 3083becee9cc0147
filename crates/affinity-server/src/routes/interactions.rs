//! The interaction catalog: built-in and custom interaction types (admin key).

use affinity_core::catalog::{check_definition, parse_param_type};
use affinity_core::{InteractionType, Parameter, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::auth::ProjectAdmin;
use crate::body::JsonBody;
use crate::error::{ApiError, Code};
use crate::state::AppState;
use affinity_core::ProblemKind;
use affinity_ingest::ProjectEntry;

/// A custom interaction type as submitted.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionDef {
    /// `[a-z0-9_]{1,64}`; required on create, optional (and equal to the path's) on update.
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub parameters: Vec<ParamDef>,
}

/// A parameter as submitted.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamDef {
    pub id: String,
    /// `text`, `number`, `date`, `boolean` or `item`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
}

/// An interaction type with its number of stored events.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InteractionInfo {
    #[serde(flatten)]
    pub interaction: InteractionType,
    pub events: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InteractionList {
    pub interactions: Vec<InteractionInfo>,
}

fn to_type(id: String, def: InteractionDef, archived: bool) -> Result<InteractionType, Problem> {
    let mut parameters = Vec::with_capacity(def.parameters.len());
    for (i, p) in def.parameters.into_iter().enumerate() {
        let kind = parse_param_type(&p.kind, &format!("parameters[{i}].type"))?;
        parameters.push(Parameter { id: p.id, kind, required: p.required });
    }
    let ty = InteractionType { id, name: def.name, parameters, builtin: false, archived };
    check_definition(&ty)?;
    Ok(ty)
}

fn info(state: &AppState, project: &str, interaction: InteractionType) -> InteractionInfo {
    let events = state.views.project(project).read().unwrap_or_else(|p| p.into_inner()).events_of_type(&interaction.id);
    InteractionInfo { interaction, events }
}

fn find(entry: &ProjectEntry, id: &str) -> Result<InteractionType, ApiError> {
    Ok(entry.snapshot().interaction(id)?.clone())
}

/// Creates a custom interaction type.
#[utoipa::path(post, path = "/v1/projects/{project}/interactions", tag = "interactions", request_body = InteractionDef,
    params(("project" = String, Path)),
    responses((status = 201, body = InteractionInfo), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    JsonBody(def): JsonBody<InteractionDef>,
) -> Result<(StatusCode, Json<InteractionInfo>), ApiError> {
    let entry = state.project(&project)?;
    let id = def.id.clone().ok_or_else(|| affinity_core::Problem::missing("id", "id"))?;
    let ty = entry.create_type(&state.store, to_type(id, def, false)?).await?;
    Ok((StatusCode::CREATED, Json(info(&state, &project, ty))))
}

/// Lists built-in and custom interaction types with their event counts.
#[utoipa::path(get, path = "/v1/projects/{project}/interactions", tag = "interactions", params(("project" = String, Path)),
    responses((status = 200, body = InteractionList), (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
) -> Result<Json<InteractionList>, ApiError> {
    let entry = state.project(&project)?;
    let interactions = entry.types().iter().map(|t| info(&state, &project, t.clone())).collect();
    Ok(Json(InteractionList { interactions }))
}

/// Shows one interaction type.
#[utoipa::path(get, path = "/v1/projects/{project}/interactions/{id}", tag = "interactions",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = InteractionInfo), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<InteractionInfo>, ApiError> {
    let ty = find(&*state.project(&project)?, &id)?;
    Ok(Json(info(&state, &project, ty)))
}

/// Renames a custom type or adds optional parameters. Removing a parameter, changing its type, or making one
/// required answers 409 while events of the type exist.
#[utoipa::path(put, path = "/v1/projects/{project}/interactions/{id}", tag = "interactions", request_body = InteractionDef,
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = InteractionInfo), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn update(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
    JsonBody(def): JsonBody<InteractionDef>,
) -> Result<Json<InteractionInfo>, ApiError> {
    let entry = state.project(&project)?;
    if def.id.as_ref().is_some_and(|given| *given != id) {
        return Err(ApiError::field(
            Code::Problem(ProblemKind::InvalidId),
            "id",
            "The id in the body differs from the id in the path",
        ));
    }
    let view = state.views.project(&project);
    // Stored events, and events of the type on their way to the store.
    let has_events = || {
        let v = view.read().unwrap_or_else(|p| p.into_inner());
        v.events_of_type(&id) + v.pending_of_type(&id) > 0
    };
    let change = |old: &InteractionType| to_type(id.clone(), def, old.archived).map_err(Into::into);
    let ty = entry.update_type(&state.store, &id, change, has_events).await?;
    Ok(Json(info(&state, &project, ty)))
}

/// Archives a custom type: it accepts no new events; its stored events stay. Built-ins answer 400.
#[utoipa::path(delete, path = "/v1/projects/{project}/interactions/{id}", tag = "interactions",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = InteractionInfo), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn archive(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<InteractionInfo>, ApiError> {
    let entry = state.project(&project)?;
    let archived = |old: &InteractionType| Ok(InteractionType { archived: true, ..old.clone() });
    let ty = entry.update_type(&state.store, &id, archived, || false).await?;
    Ok(Json(info(&state, &project, ty)))
}
