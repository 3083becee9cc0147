//! `POST /feedback`: the seed's interaction API, one event or a batch of up to 10,000.

use affinity_core::raw::RawData;
use affinity_core::{Problem, Scope};
use affinity_ingest::Received;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::{Caller, ProjectPublic};
use crate::body::{JsonBytes, parse};
use crate::error::{ApiError, Code};
use crate::state::AppState;

/// The body: `{"project":"shop-1","data":{…event…}}` or `{"project":"shop-1","data":[{…},{…}]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    project: Option<String>,
    data: Option<RawData>,
}

/// The documented shape of the body (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct FeedbackRequest {
    /// Project id; must be the key's project.
    project: String,
    /// One event, or an array of up to 10,000.
    data: EventInput,
}

/// One event.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct EventInput {
    /// Interaction type id: `view`, `like`, `cart`, `purchase`, or a custom type.
    event: String,
    /// Item id; optional for custom types only.
    item: Option<String>,
    customer: String,
    /// RFC 3339, ISO date-time without offset (UTC), plain date, or epoch seconds/milliseconds.
    #[schema(value_type = String)]
    date: Value,
    /// `cart` and `purchase` only; > 0.
    quantity: Option<f64>,
    /// `cart` and `purchase` only; >= 0.
    price: Option<f64>,
    /// The client's event id: resending it is answered `skipped`.
    id: Option<String>,
    /// Parameters of a custom interaction type.
    #[schema(value_type = Object)]
    params: Option<Value>,
}

/// The answer for a single event.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FeedbackAnswer {
    /// `ok` (stored) or `skipped` (already stored).
    pub status: &'static str,
    /// The event id (the client's `id`, or a generated `evt_…`), when stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Why it was skipped: `duplicate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// Sends one event or a batch.
#[utoipa::path(post, path = "/feedback", tag = "events", request_body = FeedbackRequest,
    responses((status = 200, description = "Stored or skipped (single event: FeedbackAnswer; batch: Report)", body = FeedbackAnswer),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody),
              (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn feedback(
    State(state): State<AppState>,
    caller: Caller,
    JsonBytes(body): JsonBytes,
) -> Result<Response, ApiError> {
    receive(state, caller, None, &body).await
}

/// The same as `POST /feedback`, with the project in the path (the body's `project` may then be omitted; if given
/// it must match, else 400 `project_mismatch`).
#[utoipa::path(post, path = "/v1/projects/{project}/feedback", tag = "events", request_body = FeedbackRequest,
    params(("project" = String, Path)),
    responses((status = 200, body = FeedbackAnswer), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn project_feedback(
    State(state): State<AppState>,
    ProjectPublic(project): ProjectPublic,
    caller: Caller,
    JsonBytes(body): JsonBytes,
) -> Result<Response, ApiError> {
    receive(state, caller, Some(project), &body).await
}

/// Most events in one batch sent with a public key (a browser's: the tracker sends at most this many at once).
pub const PUBLIC_MAX_BATCH: usize = 500;

async fn receive(
    state: AppState,
    caller: Caller,
    path_project: Option<String>,
    body: &[u8],
) -> Result<Response, ApiError> {
    let envelope: Envelope = parse(body)?;
    let project = match (envelope.project, path_project) {
        (Some(b), Some(p)) if b != p => {
            return Err(ApiError::field(
                Code::ProjectMismatch,
                "project",
                format!("Body project {b} differs from path project {p}"),
            ));
        }
        (Some(p), _) | (None, Some(p)) => p,
        (None, None) => return Err(Problem::missing("project", "project").into()),
    };
    caller.require(&project, Scope::Public)?;
    let entry = state.project(&project)?;
    let data = envelope.data.ok_or_else(|| Problem::missing("data", "data"))?;
    let now = affinity_core::date::now_ms();
    let raw = match data {
        RawData::Many(rows) => {
            // A public key's requests are rate limited one token each: its batches are kept small.
            let public = matches!(caller, Caller::Key { scope: Scope::Public, .. });
            let max = if public {
                PUBLIC_MAX_BATCH.min(state.limits.max_batch_events)
            } else {
                state.limits.max_batch_events
            };
            if rows.len() > max {
                return Err(ApiError::field(
                    Code::BatchTooLarge,
                    "data",
                    format!("Batch of {} events; at most {max} per request with this key", rows.len()),
                ));
            }
            return Ok(Json(state.receive_batch(&entry, rows, now).await?).into_response());
        }
        RawData::One(raw) => raw,
    };
    let answer = match state.receive_one(&entry, raw, now).await? {
        Received::Stored(id) => FeedbackAnswer { status: "ok", id: Some(id), reason: None },
        Received::Duplicate => FeedbackAnswer { status: "skipped", id: None, reason: Some("duplicate") },
    };
    Ok(Json(answer).into_response())
}
