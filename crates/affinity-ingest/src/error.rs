//! The engine's errors, each naming its API code ([`affinity_core::ErrorCode`]).

use std::sync::Arc;

use affinity_core::{Code, ErrorCode, Problem};
use affinity_store::StoreError;

/// Why an append or an erasure was not acknowledged. Nothing of the request was acknowledged; sending it again is
/// safe (duplicates are recognised).
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    /// The writer or applier thread is gone (the server is shutting down).
    #[error("the ingest pipeline stopped")]
    Stopped,
    /// The store refused or failed the write; shared by every request of the group it was in.
    #[error("storing failed: {0}")]
    Store(Arc<StoreError>),
    /// The store answered a different number of sequence numbers than events sent.
    #[error("the store returned {got} sequence numbers for {sent} events")]
    ShortAppend { got: usize, sent: usize },
    /// An event this request duplicates (claimed by an earlier request) was not stored after all.
    #[error("an event this request duplicates was not stored; send it again")]
    DuplicateLost,
}

impl From<StoreError> for IngestError {
    fn from(e: StoreError) -> Self {
        IngestError::Store(Arc::new(e))
    }
}

impl ErrorCode for IngestError {
    fn error_code(&self) -> Code {
        Code::Internal
    }
}

/// Why a catalog read or edit was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Bad input (a field, an id).
    #[error(transparent)]
    Problem(#[from] Problem),
    /// A rule that does not check (its path in the body is the field).
    #[error(transparent)]
    Rule(#[from] affinity_core::rule::RuleError),
    /// Not in the catalog: the project, an interaction type, an audience, an experience.
    #[error("Not found: {0}")]
    NotFound(String),
    /// The id is taken (`project_exists`, `interaction_exists`, `audience_exists`, `experience_exists`).
    #[error("{message}")]
    Exists { code: Code, message: String },
    /// Something else refers to what the edit would change or delete (`audience_in_use`, `interaction_in_use`).
    #[error("{message}")]
    InUse { code: Code, message: String },
    /// A built-in interaction type cannot be changed.
    #[error("{0} is a built-in interaction type and cannot be changed")]
    Builtin(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking store task did not finish (panicked or was cancelled).
    #[error("a catalog write did not finish: {0}")]
    Task(String),
}

impl ErrorCode for CatalogError {
    fn error_code(&self) -> Code {
        match self {
            CatalogError::Problem(p) => p.error_code(),
            CatalogError::Rule(r) => r.error_code(),
            CatalogError::NotFound(_) => Code::NotFound,
            CatalogError::Exists { code, .. } | CatalogError::InUse { code, .. } => *code,
            CatalogError::Builtin(_) => Code::BuiltinInteraction,
            CatalogError::Store(_) | CatalogError::Task(_) => Code::Internal,
        }
    }

    fn error_field(&self) -> Option<String> {
        match self {
            CatalogError::Problem(p) => p.error_field(),
            CatalogError::Rule(r) => r.error_field(),
            CatalogError::Exists { .. } => Some("id".into()),
            _ => None,
        }
    }
}

/// Why a training did not produce models.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The project is unknown.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The fit or a store task panicked or was cancelled.
    #[error("a training task did not finish: {0}")]
    Task(String),
}

impl ErrorCode for TrainError {
    fn error_code(&self) -> Code {
        match self {
            TrainError::Catalog(e) => e.error_code(),
            TrainError::Store(_) | TrainError::Task(_) => Code::Internal,
        }
    }
}
