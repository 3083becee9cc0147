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

/// A JSON object body, read for its fields one by one (so that each error names its field). Errors:
/// `invalid_json`, or `invalid_field` (field `body`) for a body that is not an object.
pub fn object(bytes: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    match parse(bytes)? {
        serde_json::Value::Object(o) => Ok(o),
        _ => Err(ApiError::field(Code::Problem(ProblemKind::InvalidField), "body", "The body must be a JSON object")),
    }
}

/// An optional text field of an [`object`] body: `None` when absent or null. Errors: `invalid_field` naming it
/// when it is not a string.
pub fn text_field(
    body: &serde_json::Map<String, serde_json::Value>,
    field: &str,
) -> Result<Option<String>, affinity_core::Problem> {
    match body.get(field) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(affinity_core::Problem::new(
            ProblemKind::InvalidField,
            field,
            format!("Invalid {field}: must be a string"),
        )),
    }
}

/// A required text field of an [`object`] body. Errors: `missing_field` or `invalid_field`, naming it.
pub fn required_text(
    body: &serde_json::Map<String, serde_json::Value>,
    field: &str,
) -> Result<String, affinity_core::Problem> {
    text_field(body, field)?.ok_or_else(|| affinity_core::Problem::missing(field, field))
}
