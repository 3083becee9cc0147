//! The one table from everything that can go wrong to an HTTP status and a stable error code.
//!
//! Every error body has the shape `{"error":{"code":"missing_field","message":"Missing required field: item",
//! "field":"data.item"}}`; `field` is present when the error concerns one field. The README lists the codes.

use affinity_core::ErrorCode;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub use affinity_core::Code;

/// The table: each code's HTTP status. Every error answer's status comes from here.
pub fn status(code: Code) -> StatusCode {
    use StatusCode as S;
    match code {
        Code::Problem(_) | Code::ProjectMismatch | Code::BuiltinInteraction | Code::MissingColumn => S::BAD_REQUEST,
        Code::InvalidFile | Code::InvalidRule => S::BAD_REQUEST,
        Code::Unauthorized => S::UNAUTHORIZED,
        Code::NotFound => S::NOT_FOUND,
        Code::MethodNotAllowed => S::METHOD_NOT_ALLOWED,
        Code::ProjectExists | Code::InteractionExists | Code::InteractionInUse => S::CONFLICT,
        Code::AudienceExists | Code::AudienceInUse | Code::ExperienceExists | Code::IdentityConflict => S::CONFLICT,
        Code::PayloadTooLarge | Code::BatchTooLarge => S::PAYLOAD_TOO_LARGE,
        Code::UnsupportedMediaType => S::UNSUPPORTED_MEDIA_TYPE,
        Code::OriginNotAllowed => S::FORBIDDEN,
        Code::RateLimited => S::TOO_MANY_REQUESTS,
        Code::Unavailable => S::SERVICE_UNAVAILABLE,
        Code::Internal => S::INTERNAL_SERVER_ERROR,
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

/// Every domain error becomes an answer through its own code: handlers write `?` and never choose one. An
/// internal error is logged and answered with a generic sentence.
impl<E: ErrorCode> From<E> for ApiError {
    fn from(e: E) -> Self {
        match e.error_code() {
            Code::Internal => ApiError::internal(e),
            code => ApiError { code, message: e.to_string(), field: e.error_field() },
        }
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
        let (code, status) = (self.code.name(), status(self.code));
        (status, Json(ErrorBody { error: ErrorDetail { code, message: self.message, field: self.field } }))
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code of the table is documented in the README's table, with its status.
    #[test]
    fn every_code_is_in_the_readme_with_its_status() {
        let readme = include_str!("../../../README.md");
        for code in Code::all() {
            let row = format!("| `{}` | {} |", code.name(), status(code).as_u16());
            assert!(readme.contains(&row), "README's error table lacks the row {row}");
        }
    }
}
