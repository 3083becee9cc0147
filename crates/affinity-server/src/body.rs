//! Reading JSON request bodies: content type (415), size (413) and syntax (400 `invalid_json`) checks, with our
//! error body instead of axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use affinity_core::ProblemKind;

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// The raw bytes of a JSON request body. A missing `Content-Type` is taken as JSON, and so is `text/plain` on the
/// public routes; any other non-JSON type is refused with 415.
pub struct JsonBytes(pub Bytes);

impl FromRequest<AppState> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            let json = ct == "application/json" || (ct.starts_with("application/") && ct.ends_with("+json"));
            // What `navigator.sendBeacon` sends without a preflight: read as JSON on the public routes.
            let beacon = ct == "text/plain" && req.extensions().get::<crate::browser::PublicRoute>().is_some();
            let json = json || beacon;
            if !json {
                return Err(ApiError::new(
                    Code::UnsupportedMediaType,
                    format!("Content-Type must be application/json, not {ct}"),
                ));
            }
        }
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(JsonBytes(b)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::new(
                Code::PayloadTooLarge,
                format!("Request body larger than {} bytes", state.limits.max_body_bytes),
            )),
            Err(r) => Err(ApiError::new(
                Code::Problem(ProblemKind::InvalidJson),
                format!("Could not read the request body: {r}"),
            )),
        }
    }
}

/// A JSON body parsed into `T`; syntax and shape errors become 400 `invalid_json` with serde's explanation.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses JSON, mapping errors to `invalid_json`.
pub fn parse<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::new(Code::Problem(ProblemKind::InvalidJson), format!("Invalid JSON: {e}")))
}
