//! The crate's one error: bad query parameters of a recommendation or an evaluation, and unreadable test files.
//! Each variant names its API code ([`ErrorCode`]); the messages are the ones the API answers.

use affinity_core::{Code, ErrorCode, ProblemKind};

use crate::serve::MAX_N;

/// Why a recommendation or an evaluation was refused. All are bad input (HTTP 400).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecoError {
    /// `n` outside 1–[`MAX_N`] (field `n`).
    #[error("Invalid n: {0} (1-{MAX_N})")]
    N(usize),
    /// An item recommendation `kind` other than `similar` or `bought_together` (field `kind`).
    #[error("Invalid kind: {0} (similar or bought_together)")]
    Kind(String),
    /// A customer recommendation `kind` other than `personalized` or `buy_again` (field `kind`).
    #[error("Invalid kind: {0} (personalized or buy_again)")]
    CustomerKind(String),
    /// A popularity `window` other than those of [`crate::data::WINDOWS`] (field `window`).
    #[error("Invalid window: {0} (all, 1d, 7d, 30d or 90d)")]
    Window(String),
    /// Evaluation cut-offs that are not comma-separated numbers 1–[`MAX_N`] (field `k`).
    #[error("Invalid k: comma-separated numbers 1-{MAX_N}")]
    K,
    /// A split's `test_fraction` outside (0, 1) (field `test_fraction`).
    #[error("Invalid test_fraction: {0} (between 0 and 1)")]
    TestFraction(f64),
    /// A `placement` that is not 1–64 letters, digits, `_`, `-` or `.` (field `placement`).
    #[error("Invalid placement: {0:?} (1-64 letters, digits, _, - or .)")]
    Placement(String),
    /// A `split` other than `random`, `time` or `next_basket` (field `split`).
    #[error("Invalid split: {0} (random, time or next_basket)")]
    Split(String),
    /// A test file that is not CSV, lacks a column or has a row without customer or item (`invalid_json`, as
    /// for any unreadable body); the message says which.
    #[error("{0}")]
    TestFile(String),
}

impl ErrorCode for RecoError {
    fn error_code(&self) -> Code {
        match self {
            RecoError::TestFile(_) => Code::Problem(ProblemKind::InvalidJson),
            _ => Code::Problem(ProblemKind::InvalidField),
        }
    }

    fn error_field(&self) -> Option<String> {
        let field = match self {
            RecoError::N(_) => "n",
            RecoError::Kind(_) | RecoError::CustomerKind(_) => "kind",
            RecoError::Window(_) => "window",
            RecoError::K => "k",
            RecoError::TestFraction(_) => "test_fraction",
            RecoError::Split(_) => "split",
            RecoError::Placement(_) => "placement",
            RecoError::TestFile(_) => return None,
        };
        Some(field.to_string())
    }
}
