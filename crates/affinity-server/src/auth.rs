//! Who is calling: the request's `x-api-key` (on the public routes also `?key=`), checked by the engine's
//! [`Keyring`] (see [`affinity_ingest::keys`]), as axum extractors. Every failure gives the same 401, except a
//! secret key sent from another site's web page, whose 401 says so ([`crate::browser`]).

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

/// Extractor: the caller holds any key of the path's `{project}` (`public` included), which it yields: the public
/// routes' ([`crate::browser::PUBLIC_ROUTES`]).
pub struct ProjectPublic(pub String);

impl FromRequestParts<AppState> for ProjectPublic {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        project_key(parts, state, Scope::Public).await.map(ProjectPublic)
    }
}

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

/// The key a request presents: its `x-api-key` header, else, on a public route ([`crate::browser::PublicRoute`]),
/// its `key` query parameter (a beacon cannot set headers).
pub fn presented_key(parts: &Parts) -> Option<String> {
    if let Some(k) = parts.headers.get(KEY_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(k.trim().to_string());
    }
    parts.extensions.get::<crate::browser::PublicRoute>()?;
    let query = axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(&parts.uri).ok()?;
    query.0.get("key").map(|k| k.trim().to_string())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let key = presented_key(parts).ok_or_else(ApiError::unauthorized)?;
        let in_query = parts.headers.get(KEY_HEADER).is_none();
        let caller = state
            .keys
            .authenticate_or_look_up(&key, &state.store, &state.catalog)
            .await
            .ok_or_else(ApiError::unauthorized)?;
        let secret = match &caller {
            Caller::Master => true,
            Caller::Key { scope, .. } => scope.is_secret(),
        };
        // A no-cors request (an image, a link) sends no `Origin`, but the browser says `Sec-Fetch-Site`.
        let cross_site = parts.headers.get("sec-fetch-site").is_some_and(|v| v == "cross-site");
        let from_page = crate::browser::foreign_origin(&parts.headers).or(cross_site.then_some("another site"));
        if let Some(origin) = from_page
            && secret
        {
            return Err(crate::browser::secret_key_from_page(origin));
        }
        if secret && in_query {
            return Err(ApiError::new(
                crate::error::Code::Unauthorized,
                "A secret key in a URL (?key=) ends up in logs and histories: revoke it; only public keys may come \
                 as ?key=",
            ));
        }
        Ok(caller)
    }
}
