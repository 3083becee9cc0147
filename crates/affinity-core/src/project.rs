//! Projects (one merchant's storefront) and their API keys.

use serde::{Deserialize, Serialize};

/// A project. `id` matches `[A-Za-z0-9_-]{1,64}`; `created_at` is epoch ms UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

/// What a project key may do. `ingest`: send events (and, later, read recommendations); `admin`: everything inside
/// its project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Ingest,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "ingest" => Some(Scope::Ingest),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// A stored API key: only the SHA-256 hash of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// `key_` followed by 16 hex digits; public, used to list and revoke.
    pub id: String,
    pub project: String,
    pub scope: Scope,
    /// SHA-256 of the secret.
    pub hash: [u8; 32],
    pub created_at: i64,
}
