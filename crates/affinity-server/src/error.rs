//! The one table from everything that can go wrong to an HTTP status and a stable error code.
//!
//! Every error body has the shape `{"error":{"code":"missing_field","message":"Missing required field: item",
//! "field":"data.item"}}`; `field` is present when the error concerns one field. The README lists the codes.

use affinity_core::{Problem, ProblemKind};
use affinity_store::StoreError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Stable error codes. Adding one is fine; renaming one breaks clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Bad input found by the domain: `invalid_json`, `missing_field`, … (see [`ProblemKind::code`]), all 400.
    Problem(ProblemKind),
    ProjectMismatch,
    BuiltinInteraction,
    MissingColumn,
    InvalidFile,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    ProjectExists,
    InteractionExists,
    InteractionInUse,
    InvalidRule,
    AudienceExists,
    AudienceInUse,
    ExperienceExists,
    PayloadTooLarge,
    BatchTooLarge,
    UnsupportedMediaType,
    Internal,
}

impl Code {
    /// The table: code name and HTTP status.
    pub fn describe(self) -> (&'static str, StatusCode) {
        use StatusCode as S;
        match self {
            Code::Problem(kind) => (kind.code(), S::BAD_REQUEST),
            Code::ProjectMismatch => ("project_mismatch", S::BAD_REQUEST),
            Code::BuiltinInteraction => ("builtin_interaction", S::BAD_REQUEST),
            Code::MissingColumn => ("missing_column", S::BAD_REQUEST),
            Code::InvalidFile => ("invalid_file", S::BAD_REQUEST),
            Code::Unauthorized => ("unauthorized", S::UNAUTHORIZED),
            Code::NotFound => ("not_found", S::NOT_FOUND),
            Code::MethodNotAllowed => ("method_not_allowed", S::METHOD_NOT_ALLOWED),
            Code::ProjectExists => ("project_exists", S::CONFLICT),
            Code::InteractionExists => ("interaction_exists", S::CONFLICT),
            Code::InteractionInUse => ("interaction_in_use", S::CONFLICT),
            Code::InvalidRule => ("invalid_rule", S::BAD_REQUEST),
            Code::AudienceExists => ("audience_exists", S::CONFLICT),
            Code::AudienceInUse => ("audience_in_use", S::CONFLICT),
            Code::ExperienceExists => ("experience_exists", S::CONFLICT),
            Code::PayloadTooLarge => ("payload_too_large", S::PAYLOAD_TOO_LARGE),
            Code::BatchTooLarge => ("batch_too_large", S::PAYLOAD_TOO_LARGE),
            Code::UnsupportedMediaType => ("unsupported_media_type", S::UNSUPPORTED_MEDIA_TYPE),
            Code::Internal => ("internal", S::INTERNAL_SERVER_ERROR),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.describe().0
    }
}

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), field: None }
    }

    pub fn field(code: Code, field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), field: Some(field.into()) }
    }

    /// The one 401 answer, whatever the reason (missing, wrong, revoked, other project's, too weak a key).
    pub fn unauthorized() -> Self {
        ApiError::new(Code::Unauthorized, "Missing or invalid x-api-key")
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        ApiError::new(Code::NotFound, format!("Not found: {what}"))
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        ApiError::new(Code::Internal, "Internal error; the server log has the details")
    }
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        ApiError { code: Code::Problem(p.kind), message: p.message, field: p.field }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal(e)
    }
}

/// The JSON of an error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable code, e.g. `missing_field`.
    pub code: &'static str,
    pub message: String,
    /// Path of the field concerned, e.g. `data.item` or `data[3].date`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code.describe();
        (status, Json(ErrorBody { error: ErrorDetail { code, message: self.message, field: self.field } }))
            .into_response()
    }
}
