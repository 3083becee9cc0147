//! The crate's one error: bad input to a targeting decision or an exposure. Each variant names its API code.

use affinity_core::{Code, ErrorCode, ProblemKind};

use crate::decide::MAX_DECIDED;

/// Why a decision or an exposure was refused. All are bad input (HTTP 400).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RulesError {
    /// `n` outside 1–[`MAX_DECIDED`] (field `n`, `invalid_field`).
    #[error("Invalid n: {0} (1 to {MAX_DECIDED})")]
    N(usize),
    /// An exposure without a customer (field `customer`, `missing_field`).
    #[error("Missing required field: customer")]
    MissingCustomer,
    /// An exposure naming a variant the experience does not have (field `variant`, `invalid_field`).
    #[error("Unknown variant {variant} of experience {experience}")]
    UnknownVariant { experience: String, variant: String },
}

impl ErrorCode for RulesError {
    fn error_code(&self) -> Code {
        match self {
            RulesError::MissingCustomer => Code::Problem(ProblemKind::MissingField),
            RulesError::N(_) | RulesError::UnknownVariant { .. } => Code::Problem(ProblemKind::InvalidField),
        }
    }

    fn error_field(&self) -> Option<String> {
        Some(
            match self {
                RulesError::N(_) => "n",
                RulesError::MissingCustomer => "customer",
                RulesError::UnknownVariant { .. } => "variant",
            }
            .to_string(),
        )
    }
}
