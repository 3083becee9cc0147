//! Who is calling: the request's `x-api-key`, checked by the engine's [`Keyring`] (see [`affinity_ingest::keys`]),
//! as axum extractors. Every failure gives the same 401.

use affinity_core::Scope;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;

pub use affinity_ingest::keys::{Caller, Keyring, new_key, random_hex};

use crate::error::ApiError;
use crate::state::AppState;

/// The header carrying the key, as in the seed.
pub const KEY_HEADER: &str = "x-api-key";

/// Extractor: the caller holds the master key. Runs before the body is read, so a wrong key is 401 whatever the
/// body.
pub struct Master;

impl FromRequestParts<AppState> for Master {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Caller::from_request_parts(parts, state).await?.require_master()?;
        Ok(Master)
    }
}

/// Extractor: the caller holds an `admin` key of the path's `{project}`, which it yields.
pub struct ProjectAdmin(pub String);

/// Extractor: the caller holds an `ingest` or `admin` key of the path's `{project}`, which it yields.
pub struct ProjectIngest(pub String);

async fn project_key(parts: &mut Parts, state: &AppState, needed: Scope) -> Result<String, ApiError> {
    let caller = Caller::from_request_parts(parts, state).await?;
    let params = RawPathParams::from_request_parts(parts, state).await.map_err(|_| ApiError::unauthorized())?;
    let project =
        params.iter().find(|(k, _)| *k == "project").map(|(_, v)| v.to_string()).ok_or_else(ApiError::unauthorized)?;
    caller.require(&project, needed)?;
    Ok(project)
}

impl FromRequestParts<AppState> for ProjectAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        project_key(parts, state, Scope::Admin).await.map(ProjectAdmin)
    }
}

impl FromRequestParts<AppState> for ProjectIngest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        project_key(parts, state, Scope::Ingest).await.map(ProjectIngest)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = parts.headers.get(KEY_HEADER).and_then(|v| v.to_str().ok()).ok_or_else(ApiError::unauthorized)?;
        state
            .keys
            .authenticate_or_look_up(key.trim(), &state.store, &state.catalog)
            .await
            .ok_or_else(ApiError::unauthorized)
    }
}
