//! The record of one file import.

use serde::{Deserialize, Serialize};

/// Where an import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    Running,
    Done,
    /// The file could not be read to its end (I/O or decompression error); rows before that stand.
    Failed,
    /// The server stopped while it ran; the rows stored so far stand.
    Interrupted,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Running => "running",
            ImportStatus::Done => "done",
            ImportStatus::Failed => "failed",
            ImportStatus::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<ImportStatus> {
        Some(match s {
            "running" => ImportStatus::Running,
            "done" => ImportStatus::Done,
            "failed" => ImportStatus::Failed,
            "interrupted" => ImportStatus::Interrupted,
            _ => return None,
        })
    }
}

/// One import as stored. Times are epoch ms UTC; `report` is the report's JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRecord {
    /// `imp_` and 16 hex digits.
    pub id: String,
    pub project: String,
    /// The upload's interaction type; `None` for a file with an `event` column.
    pub interaction: Option<String>,
    pub status: ImportStatus,
    pub dry_run: bool,
    /// SHA-256 of the uploaded bytes.
    pub content_hash: Option<[u8; 32]>,
    /// Bytes of the upload read so far.
    pub bytes: u64,
    /// Data rows read so far.
    pub rows: u64,
    pub report: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}
