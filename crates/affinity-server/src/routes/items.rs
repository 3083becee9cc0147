//! The item catalog and the project's recommendation settings (admin key).

use affinity_core::{Item, Problem, ProblemKind, Report, Settings};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::ProjectAdmin;
use crate::body::{JsonBytes, parse};
use crate::error::{ApiError, Code};
use crate::state::AppState;

/// Most items in one `PUT`.
pub const MAX_ITEMS_PER_REQUEST: usize = 10_000;
/// Largest `PUT …/items` body: 10,000 items of about 1.6 KB each (the general 1 MiB limit would cap a batch at a
/// few thousand items).
pub const MAX_ITEMS_BODY_BYTES: usize = 16 << 20;
/// Default and largest page of the item list.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

/// Inserts or replaces up to 10,000 items; answers the batch report (a row is a position in the array).
#[utoipa::path(put, path = "/v1/projects/{project}/items", tag = "items", params(("project" = String, Path)),
    request_body = Vec<Item>,
    responses((status = 200, body = Report), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn put(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Report>, ApiError> {
    let entry = state.project(&project)?;
    let rows: Vec<Value> = match parse::<Value>(&body)? {
        Value::Array(rows) => rows,
        _ => return Err(Problem::new(ProblemKind::InvalidJson, "items", "Expected a JSON array of items").into()),
    };
    if rows.len() > MAX_ITEMS_PER_REQUEST {
        return Err(ApiError::field(
            Code::BatchTooLarge,
            "items",
            format!("{} items; at most {MAX_ITEMS_PER_REQUEST} per request", rows.len()),
        ));
    }
    Ok(Json(state.put_item_rows(&entry, rows).await?))
}

/// One item.
#[utoipa::path(get, path = "/v1/projects/{project}/items/{id}", tag = "items",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Item), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Item>, ApiError> {
    let what = format!("item {id}");
    state.blocking(move |s| s.item(&project, &id)).await?.map(Json).ok_or_else(|| ApiError::not_found(what))
}

/// Deletes an item from the catalog (its events stay; it is no longer recommended while the catalog has items).
#[utoipa::path(delete, path = "/v1/projects/{project}/items/{id}", tag = "items",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.delete_item(&*state.project(&project)?, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ItemsQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1–1000 (default 100).
    pub limit: Option<usize>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ItemPage {
    /// By id.
    pub items: Vec<Item>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The catalog, a page at a time, by id.
#[utoipa::path(get, path = "/v1/projects/{project}/items", tag = "items", params(("project" = String, Path), ItemsQuery),
    responses((status = 200, body = ItemPage), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Query(q): Query<ItemsQuery>,
) -> Result<Json<ItemPage>, ApiError> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(
            Problem::new(ProblemKind::InvalidField, "limit", format!("Invalid limit: {limit} (1-{MAX_PAGE})")).into()
        );
    }
    let items = state.blocking(move |s| s.items(&project, q.cursor.as_deref(), limit)).await?;
    let next_cursor = (items.len() == limit).then(|| items.last().map(|i| i.id.clone())).flatten();
    Ok(Json(ItemPage { items, next_cursor }))
}

/// The project's recommendation settings (the defaults until set).
#[utoipa::path(get, path = "/v1/projects/{project}/settings", tag = "recommendations", params(("project" = String, Path)),
    responses((status = 200, body = Settings), (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn get_settings(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json((*state.project(&project)?.settings()).clone()))
}

/// Replaces the settings; fields left out take their defaults.
#[utoipa::path(put, path = "/v1/projects/{project}/settings", tag = "recommendations", params(("project" = String, Path)),
    request_body = Settings,
    responses((status = 200, body = Settings), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn put_settings(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Settings>, ApiError> {
    let entry = state.project(&project)?;
    let settings: Settings = parse(&body)?;
    Ok(Json(entry.put_settings(&state.store, settings).await?))
}
