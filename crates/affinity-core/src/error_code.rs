//! Stable API error codes, and the trait every domain error implements to name its own.
//!
//! Each crate has one `thiserror` enum; each variant says which [`Code`] it is through [`ErrorCode`]. The HTTP
//! crate holds the one table from a code to its status and converts any `ErrorCode` error with one blanket `From`,
//! so a handler writes `?` and never chooses a code or a status (the pattern of Meilisearch's `ErrorCode`).

use crate::problem::{Problem, ProblemKind};

/// Stable error codes, as the API reports them in `error.code`. Adding one is fine; renaming one breaks clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// `identify` named an anonymous id that already belongs to another customer, or would chain aliases: 409.
    IdentityConflict,
    PayloadTooLarge,
    BatchTooLarge,
    UnsupportedMediaType,
    /// A browser request from an origin the project's `allowed_origins` does not list: 403.
    OriginNotAllowed,
    /// A public key sent more requests from one address than the project's rate limit allows: 429.
    RateLimited,
    /// The server is not ready (views not rebuilt yet, or the store does not answer): 503.
    Unavailable,
    Internal,
}

impl Code {
    /// Every code except the 400s of [`ProblemKind`] (see [`ProblemKind::ALL`]), for tables and tests.
    pub const OTHERS: [Code; 22] = [
        Code::ProjectMismatch,
        Code::BuiltinInteraction,
        Code::MissingColumn,
        Code::InvalidFile,
        Code::Unauthorized,
        Code::NotFound,
        Code::MethodNotAllowed,
        Code::ProjectExists,
        Code::InteractionExists,
        Code::InteractionInUse,
        Code::InvalidRule,
        Code::AudienceExists,
        Code::AudienceInUse,
        Code::ExperienceExists,
        Code::IdentityConflict,
        Code::PayloadTooLarge,
        Code::BatchTooLarge,
        Code::UnsupportedMediaType,
        Code::OriginNotAllowed,
        Code::RateLimited,
        Code::Unavailable,
        Code::Internal,
    ];

    /// The code's name as the API reports it, e.g. `audience_in_use`.
    pub fn name(self) -> &'static str {
        match self {
            Code::Problem(kind) => kind.code(),
            Code::ProjectMismatch => "project_mismatch",
            Code::BuiltinInteraction => "builtin_interaction",
            Code::MissingColumn => "missing_column",
            Code::InvalidFile => "invalid_file",
            Code::Unauthorized => "unauthorized",
            Code::NotFound => "not_found",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::ProjectExists => "project_exists",
            Code::InteractionExists => "interaction_exists",
            Code::InteractionInUse => "interaction_in_use",
            Code::InvalidRule => "invalid_rule",
            Code::AudienceExists => "audience_exists",
            Code::AudienceInUse => "audience_in_use",
            Code::ExperienceExists => "experience_exists",
            Code::IdentityConflict => "identity_conflict",
            Code::PayloadTooLarge => "payload_too_large",
            Code::BatchTooLarge => "batch_too_large",
            Code::UnsupportedMediaType => "unsupported_media_type",
            Code::OriginNotAllowed => "origin_not_allowed",
            Code::RateLimited => "rate_limited",
            Code::Unavailable => "unavailable",
            Code::Internal => "internal",
        }
    }

    /// Every code, the 400s of [`ProblemKind`] first.
    pub fn all() -> impl Iterator<Item = Code> {
        ProblemKind::ALL.into_iter().map(Code::Problem).chain(Code::OTHERS)
    }
}

/// An error that knows its API code. The message people read is the error's `Display`; for
/// [`Code::Internal`] the server logs it and answers a generic sentence instead.
pub trait ErrorCode: std::fmt::Display {
    /// Which stable code (and so which HTTP status) this error is.
    fn error_code(&self) -> Code;

    /// The path of the field concerned (`data.item`, `rule.all[0].interaction`), when there is one.
    fn error_field(&self) -> Option<String> {
        None
    }
}

impl ErrorCode for Problem {
    fn error_code(&self) -> Code {
        Code::Problem(self.kind)
    }

    fn error_field(&self) -> Option<String> {
        self.field.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_are_unique_and_snake_case() {
        let names: Vec<&str> = Code::all().map(Code::name).collect();
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }
}
