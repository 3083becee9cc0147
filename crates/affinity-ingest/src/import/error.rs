//! Why an import was refused before its rows were read, each naming its API code ([`ErrorCode`]).

use affinity_core::{Code, ErrorCode, ProblemKind};
use affinity_import::HeaderError;
use affinity_store::StoreError;

use crate::error::CatalogError;

/// Why [`Engine::plan_import`](crate::Engine::plan_import) or [`Engine::begin_import`](crate::Engine::begin_import)
/// refused a file. Nothing of the file was stored.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The upload names an interaction type the project does not have (`unknown_event`, field `interaction`).
    #[error("Unknown event: {0}")]
    UnknownEvent(String),
    /// The upload names an archived interaction type (`archived_event`, field `interaction`).
    #[error("Interaction type {0} is archived and accepts no new events")]
    ArchivedEvent(String),
    /// The header lacks a mandatory column (`missing_column`, the column's name as field) or cannot be read
    /// (`invalid_file`).
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// The project is not in the catalog (`not_found`).
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Reading or saving import records failed (`internal`).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading or writing the import's files failed (`internal`).
    #[error("import files: {0}")]
    Io(#[from] std::io::Error),
}

impl ImportError {
    /// Whether the refusal concerns the interaction type named with the upload: the server reads such an
    /// upload to its end before answering, so that the client sees the answer rather than a reset connection.
    pub fn concerns_interaction(&self) -> bool {
        matches!(self, ImportError::UnknownEvent(_) | ImportError::ArchivedEvent(_))
    }
}

impl ErrorCode for ImportError {
    fn error_code(&self) -> Code {
        match self {
            ImportError::UnknownEvent(_) => Code::Problem(ProblemKind::UnknownEvent),
            ImportError::ArchivedEvent(_) => Code::Problem(ProblemKind::ArchivedEvent),
            ImportError::Header(HeaderError::MissingColumn { .. }) => Code::MissingColumn,
            ImportError::Header(_) => Code::InvalidFile,
            ImportError::Catalog(e) => e.error_code(),
            ImportError::Store(_) | ImportError::Io(_) => Code::Internal,
        }
    }

    fn error_field(&self) -> Option<String> {
        match self {
            ImportError::UnknownEvent(_) | ImportError::ArchivedEvent(_) => Some("interaction".into()),
            ImportError::Header(HeaderError::MissingColumn { column, .. }) => Some(column.to_string()),
            ImportError::Catalog(e) => e.error_field(),
            _ => None,
        }
    }
}
