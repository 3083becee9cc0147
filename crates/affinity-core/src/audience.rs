//! An audience as stored (issue 5): its id, name and rule as saved. The rule's checked form is
//! [`crate::rule::Rule`], rebuilt from this JSON at start and at each save.

use serde::{Deserialize, Serialize};

use crate::ids::is_catalog_id;
use crate::problem::{Problem, ProblemKind};

/// Longest audience name, in characters.
pub const MAX_NAME_CHARS: usize = 256;

/// A saved audience.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Audience {
    /// `[a-z0-9_]{1,64}`.
    pub id: String,
    pub name: String,
    /// The rule as the merchant wrote it.
    pub rule: serde_json::Value,
    /// Epoch ms UTC.
    pub created_at: i64,
    pub updated_at: i64,
}

impl Audience {
    /// Checks an audience id: `[a-z0-9_]{1,64}`. Errors name the field `id`.
    pub fn check_id(id: &str) -> Result<(), Problem> {
        if is_catalog_id(id) {
            return Ok(());
        }
        Err(Problem::new(ProblemKind::InvalidId, "id", format!("Invalid audience id: {id} ([a-z0-9_]{{1,64}})")))
    }

    /// Checks an audience name: 1 to [`MAX_NAME_CHARS`] characters, not only spaces, no control characters.
    /// Errors name the field `name`.
    pub fn check_name(name: &str) -> Result<(), Problem> {
        if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            let message = format!("Invalid name: 1 to {MAX_NAME_CHARS} characters, no control characters");
            return Err(Problem::new(ProblemKind::InvalidField, "name", message));
        }
        Ok(())
    }

    /// Checks the id and the name (the rule is checked against the project's catalog, see
    /// [`crate::rule::parse_rule`]).
    pub fn check(&self) -> Result<(), Problem> {
        Audience::check_id(&self.id)?;
        Audience::check_name(&self.name)
    }
}

/// The audience ids `rule` refers to, directly.
pub fn references(rule: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![rule];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Object(o) => {
                if let Some(serde_json::Value::String(id)) = o.get("audience") {
                    out.push(id.clone());
                }
                for key in ["all", "any", "not"] {
                    match o.get(key) {
                        Some(serde_json::Value::Array(a)) => stack.extend(a),
                        Some(other) => stack.push(other),
                        None => {}
                    }
                }
            }
            _ => continue,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audience(id: &str, name: &str) -> Audience {
        Audience {
            id: id.into(),
            name: name.into(),
            rule: serde_json::json!({"all": []}),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn check_names_the_field_at_fault() {
        assert!(audience("loan_applicants", "Loan applicants").check().is_ok());
        let bad_id = audience("Loan-Applicants", "x").check().err();
        assert_eq!(bad_id.map(|p| (p.kind, p.field)), Some((ProblemKind::InvalidId, Some("id".into()))));
        for name in ["", "   ", "tab\there", &"n".repeat(MAX_NAME_CHARS + 1)] {
            let bad = audience("a", name).check().err();
            assert_eq!(
                bad.map(|p| (p.kind, p.field)),
                Some((ProblemKind::InvalidField, Some("name".into()))),
                "{name:?}"
            );
        }
        assert!(audience("a", &"é".repeat(MAX_NAME_CHARS)).check().is_ok(), "characters, not bytes");
    }
}
