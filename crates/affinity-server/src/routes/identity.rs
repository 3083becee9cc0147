//! Identity (issue 15): `POST …/identify`, a browser's anonymous id becomes a customer's alias.

use affinity_core::date::format_ms;
use axum::Json;
use axum::extract::State;
use serde::Serialize;

use affinity_core::Scope;
use affinity_ingest::Caller;

use crate::auth::ProjectPublic;
use crate::body::{JsonBytes, object, required_text};
use crate::error::ApiError;
use crate::state::AppState;

/// `POST …/identify`'s body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct IdentifyBody {
    /// The browser's anonymous id (the tracker's cookie `affinity_aid`).
    pub anonymous_id: String,
    /// The customer the visitor is.
    pub customer: String,
}

/// What `identify` stored.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Identified {
    pub anonymous_id: String,
    pub customer: String,
    /// `false` when the anonymous id already stood for this customer (the same identify again).
    pub created: bool,
    /// When the alias was made, RFC 3339 UTC.
    pub created_at: String,
}

/// The visitor of `anonymous_id` is `customer` from now on: the anonymous id's events, past and future, are the
/// customer's for read-back, recommendations, audiences, targeting and erasure, on every node. A customer may have
/// many anonymous ids (devices); an anonymous id belongs to one customer (`409 identity_conflict` for another, and
/// for an alias that would chain). The same identify again answers 200 with `created: false`. A public key may
/// only identify the tracker's anonymous ids (`a-` and 24 hex digits; else 400 `invalid_id`).
#[utoipa::path(post, path = "/v1/projects/{project}/identify", tag = "storefront",
    params(("project" = String, Path)), request_body = IdentifyBody,
    responses((status = 200, body = Identified), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn identify(
    State(state): State<AppState>,
    ProjectPublic(project): ProjectPublic,
    caller: Caller,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Identified>, ApiError> {
    let scope = match caller {
        Caller::Key { scope, .. } => scope,
        Caller::Master => Scope::Admin,
    };
    let body = object(&body)?;
    let (anonymous_id, customer) = (required_text(&body, "anonymous_id")?, required_text(&body, "customer")?);
    let done = state.engine.identify(&project, anonymous_id, customer, scope).await?;
    Ok(Json(Identified {
        anonymous_id: done.alias.anonymous_id,
        customer: done.alias.customer,
        created: done.created,
        created_at: format_ms(done.alias.created_at),
    }))
}
