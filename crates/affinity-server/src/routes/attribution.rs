//! What recommendations earn (issue 15, §4): impressions and clicks of recommendation answers (public), and the
//! report per placement, model and day (admin). The work is [`affinity_ingest::attribution`]'s.

use affinity_core::date::{format_ms, now_ms};
use affinity_ingest::attribution::{Interaction, MAX_REPORT_DAYS, Report};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use crate::auth::{ProjectAdmin, ProjectPublic};
use crate::body::{JsonBytes, object, required_text, text_field};
use crate::error::ApiError;
use crate::state::AppState;

/// `POST …/recommendations/{id}/events`'s body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RecommendationEventBody {
    /// `impression` (the widget was shown) or `click` (an item of it was clicked).
    #[schema(rename = "type")]
    pub kind: String,
    /// The item clicked: required for a click.
    pub item: Option<String>,
    /// Who saw or clicked it: a customer or an anonymous id (the tracker sends its visitor's). A purchase is
    /// attributed only to a click with a customer.
    pub customer: Option<String>,
}

/// What was stored.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RecordedEvent {
    pub recommendation_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub item: Option<String>,
    pub customer: Option<String>,
    /// Read from the recommendation id.
    pub placement: Option<String>,
    pub model: Option<String>,
    /// When it was received, RFC 3339 UTC.
    pub recorded_at: String,
}

/// Records an impression or a click of a recommendation answer (its `recommendation_id`). A 200 means it is
/// stored. Errors: 400 naming `recommendation_id` (not an id an answer gave), `type`, `item` or `customer`.
#[utoipa::path(post, path = "/v1/projects/{project}/recommendations/{id}/events", tag = "recommendations",
    params(("project" = String, Path), ("id" = String, Path, description = "The answer's recommendation_id")),
    request_body = RecommendationEventBody,
    responses((status = 200, body = RecordedEvent), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn record(
    State(state): State<AppState>,
    ProjectPublic(project): ProjectPublic,
    Path((_, id)): Path<(String, String)>,
    JsonBytes(body): JsonBytes,
) -> Result<Json<RecordedEvent>, ApiError> {
    let body = object(&body)?;
    let interaction = Interaction {
        kind: required_text(&body, "type")?,
        item: text_field(&body, "item")?,
        customer: text_field(&body, "customer")?,
    };
    let row = state.engine.record_recommendation_event(&project, &id, interaction, now_ms()).await?;
    Ok(Json(RecordedEvent {
        recommendation_id: row.recommendation,
        kind: row.kind,
        item: row.item,
        customer: row.customer,
        placement: row.placement,
        model: row.model,
        recorded_at: format_ms(row.at),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ReportQuery {
    /// Days back, today included, 1–365 (default 30).
    pub days: Option<String>,
}

/// Per placement and model, and per day (UTC) of the last `days`: answers given (`requests`), impressions,
/// clicks, CTR, and the purchases attributed to the answers with their revenue (price × quantity). A purchase is
/// attributed to the latest click on its item by the same customer (or one of their anonymous ids) within the
/// project's `attribution_window_days` (default 7) before it.
#[utoipa::path(get, path = "/v1/projects/{project}/recommendations/report", tag = "recommendations",
    params(("project" = String, Path), ReportQuery),
    responses((status = 200, body = Report), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn report(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Query(q): Query<ReportQuery>,
) -> Result<Json<Report>, ApiError> {
    let days = super::query_number(q.days.as_deref(), "days", 1..=MAX_REPORT_DAYS, 30)?;
    Ok(Json(state.engine.recommendation_report(&project, days, now_ms()).await?))
}
