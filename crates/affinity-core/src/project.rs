//! Projects (one merchant's storefront) and their API keys.

use serde::{Deserialize, Serialize};

/// A project. `id` matches `[A-Za-z0-9_-]{1,64}`; `created_at` is epoch ms UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

/// What a project key may do, each scope covering the ones before it. `public`: what a web page may do (send
/// events, ask for recommendations, decide experiences, record exposures), the one scope accepted from another
/// site's page; `ingest`: the server-side calls besides (a secret); `admin`: everything inside its project (a
/// secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Public,
    Ingest,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Public => "public",
            Scope::Ingest => "ingest",
            Scope::Admin => "admin",
        }
    }

    /// Whether a key of this scope may do what `needed` allows (`admin` covers `ingest`, which covers `public`).
    pub fn covers(self, needed: Scope) -> bool {
        self >= needed
    }

    /// Whether a key of this scope is a secret, never to be sent from a web page.
    pub fn is_secret(self) -> bool {
        self != Scope::Public
    }

    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "public" => Some(Scope::Public),
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
