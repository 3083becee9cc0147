//! Reading back what was stored: a customer's interactions, the project's counters, and erasure (admin key).

use std::collections::BTreeMap;

use affinity_core::LogEntry;
use affinity_core::date::format_ms;
use affinity_core::ids::GENERATED_EVENT_ID_PREFIX;
use affinity_views::HistoryCursor;
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::ProjectAdmin;
use crate::error::{ApiError, Code};
use crate::state::AppState;
use affinity_core::ProblemKind;

/// Default and largest page size of a customer's interactions.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1000;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// Events per page, 1–1000 (default 50).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One stored event.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StoredInteraction {
    /// The client's event id, or the generated `evt_…`.
    pub id: String,
    pub event: String,
    pub item: Option<String>,
    /// When it happened, RFC 3339 UTC.
    pub date: String,
    pub quantity: Option<f64>,
    pub price: Option<f64>,
    /// The order the line belongs to (`cart`, `purchase`), or null.
    pub order_id: Option<String>,
    /// Custom parameters (dates as RFC 3339 UTC), or null.
    #[schema(value_type = Object)]
    pub params: Option<Value>,
    /// The anonymous id the event was sent under, when it was not the customer's own id (issue 15's aliases);
    /// absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InteractionPage {
    /// Newest first.
    pub interactions: Vec<StoredInteraction>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A customer's interactions, newest first, as stored; with those of their anonymous ids (`identify`).
#[utoipa::path(get, path = "/v1/projects/{project}/customers/{customer}/interactions", tag = "customers",
    params(("project" = String, Path), ("customer" = String, Path), PageQuery),
    responses((status = 200, body = InteractionPage), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn interactions(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, customer)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<InteractionPage>, ApiError> {
    let limit = super::query_number(q.limit.as_deref(), "limit", 1..=MAX_LIMIT as i64, DEFAULT_LIMIT as i64)? as usize;
    let invalid = || ApiError::field(Code::Problem(ProblemKind::InvalidField), "cursor", "Invalid cursor");
    let cursor = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(c.parse::<HistoryCursor>().map_err(|_| invalid())?),
    };
    let (entries, next) = state.interactions(&project, &customer, cursor, limit).await?;
    let own = state.engine.identity_of(&project, &customer);
    let interactions = entries
        .into_iter()
        .map(|l| {
            let sent_as = (l.event.customer != own).then(|| l.event.customer.clone());
            StoredInteraction { anonymous_id: sent_as, ..StoredInteraction::from(l) }
        })
        .collect();
    Ok(Json(InteractionPage { interactions, next_cursor: next.map(|c| c.to_string()) }))
}

impl From<LogEntry> for StoredInteraction {
    fn from(l: LogEntry) -> Self {
        StoredInteraction {
            id: l.event.client_id.unwrap_or_else(|| format!("{GENERATED_EVENT_ID_PREFIX}{}", l.seq)),
            event: l.event.event,
            item: l.event.item,
            date: format_ms(l.event.ts),
            quantity: l.event.quantity,
            price: l.event.price,
            order_id: l.event.order_id,
            params: l.event.params.and_then(|p| serde_json::from_str(&p).ok()),
            anonymous_id: None,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Erased {
    /// How many events were deleted.
    pub deleted: usize,
}

/// Erases every event of a customer (the right to erasure).
#[utoipa::path(delete, path = "/v1/projects/{project}/customers/{customer}", tag = "customers",
    params(("project" = String, Path), ("customer" = String, Path)),
    responses((status = 200, body = Erased), (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn erase(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, customer)): Path<(String, String)>,
) -> Result<Json<Erased>, ApiError> {
    state.project(&project)?;
    let deleted = state.erase(project.into(), customer).await?;
    Ok(Json(Erased { deleted }))
}

/// Counters of a project.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProjectStats {
    /// All events stored.
    pub events: u64,
    /// Events per interaction type (every type of the catalog, 0 included).
    pub events_by_type: BTreeMap<String, u64>,
    /// Distinct customers with at least one event.
    pub customers: u64,
    /// Distinct items named by at least one event.
    pub items: u64,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ActivityQuery {
    /// How many UTC days, today included: 1 to 366, default 30.
    pub days: Option<String>,
}

/// Events per UTC day and interaction type.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Activity {
    /// The days, oldest first (`YYYY-MM-DD`, UTC).
    pub days: Vec<String>,
    /// Per interaction type with events in those days: one count per day, aligned with `days`.
    pub series: BTreeMap<String, Vec<u64>>,
}

/// Events per day and interaction type over the last `days` UTC days (by each event's date), for charts.
#[utoipa::path(get, path = "/v1/projects/{project}/activity", tag = "customers",
    params(("project" = String, Path), ActivityQuery),
    responses((status = 200, body = Activity), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn activity(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Query(q): Query<ActivityQuery>,
) -> Result<Json<Activity>, ApiError> {
    state.project(&project)?;
    let days = super::query_number(q.days.as_deref(), "days", 1..=366, 30)? as u32;
    let now = affinity_core::date::now_ms();
    let a = state.views.project(&project).read().unwrap_or_else(|p| p.into_inner()).activity(now, days);
    Ok(Json(Activity { days: a.days, series: a.series.into_iter().collect() }))
}

/// Events per interaction type, distinct customers and items.
#[utoipa::path(get, path = "/v1/projects/{project}/stats", tag = "customers", params(("project" = String, Path)),
    responses((status = 200, body = ProjectStats), (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn stats(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
) -> Result<Json<ProjectStats>, ApiError> {
    let entry = state.project(&project)?;
    let s = state.views.project(&project).read().unwrap_or_else(|p| p.into_inner()).stats();
    let mut events_by_type: BTreeMap<String, u64> = entry.types().iter().map(|t| (t.id.clone(), 0)).collect();
    events_by_type.extend(s.events_by_type);
    Ok(Json(ProjectStats { events: s.events, events_by_type, customers: s.customers, items: s.items }))
}
