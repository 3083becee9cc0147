//! An audience as stored (issue 5): its id, name and rule as saved. The rule's checked form is
//! [`crate::rule::Rule`], rebuilt from this JSON at start and at each save.

use serde::{Deserialize, Serialize};

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
