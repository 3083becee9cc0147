//! Identifier rules.
//!
//! - project ids: `[A-Za-z0-9_-]{1,64}`;
//! - interaction type and parameter ids: `[a-z0-9_]{1,64}`;
//! - customer, item and client event ids: opaque UTF-8 of 1–256 bytes without control characters.

use crate::problem::{Problem, ProblemKind};

/// Longest customer, item or event id, in bytes.
pub const MAX_OPAQUE_ID_BYTES: usize = 256;

/// Prefix of the ids affinity generates for events sent without an `id`; refused in client ids.
pub const GENERATED_EVENT_ID_PREFIX: &str = "evt_";

/// Whether `id` is a valid project id: `[A-Za-z0-9_-]{1,64}`.
pub fn is_project_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `id` is a valid interaction type or parameter id: `[a-z0-9_]{1,64}`.
pub fn is_catalog_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks an opaque id (customer, item, client event id); `field` names it in the error.
///
/// Errors: [`ProblemKind::InvalidId`] when empty, longer than 256 bytes, or holding a control character.
pub fn check_opaque_id(id: &str, field: &str) -> Result<(), Problem> {
    if id.is_empty() {
        return Err(Problem::new(ProblemKind::InvalidId, field, format!("Invalid {field}: must not be empty")));
    }
    if id.len() > MAX_OPAQUE_ID_BYTES {
        return Err(Problem::new(
            ProblemKind::InvalidId,
            field,
            format!("Invalid {field}: longer than {MAX_OPAQUE_ID_BYTES} bytes"),
        ));
    }
    if id.chars().any(char::is_control) {
        return Err(Problem::new(
            ProblemKind::InvalidId,
            field,
            format!("Invalid {field}: must not contain control characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids() {
        assert!(is_project_id("shop-1"));
        assert!(is_project_id(&"a".repeat(64)));
        assert!(!is_project_id(&"a".repeat(65)));
        assert!(!is_project_id(""));
        assert!(!is_project_id("shop 1"));
        assert!(!is_project_id("shop/1"));
    }

    #[test]
    fn catalog_ids() {
        assert!(is_catalog_id("loan_application"));
        assert!(!is_catalog_id("Loan"));
        assert!(!is_catalog_id("loan-application"));
        assert!(!is_catalog_id(""));
    }

    #[test]
    fn opaque_ids() {
        assert!(check_opaque_id("u-42", "customer").is_ok());
        assert!(check_opaque_id("ünïcødé", "customer").is_ok());
        assert!(check_opaque_id("", "customer").is_err());
        assert!(check_opaque_id("a\nb", "item").is_err());
        assert!(check_opaque_id(&"x".repeat(257), "item").is_err());
        assert!(check_opaque_id(&"x".repeat(256), "item").is_ok());
    }
}
