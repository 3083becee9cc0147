//! API keys: generation, hashing and the caller of a request.
//!
//! Keys are 192 random bits shown once; only their SHA-256 hash is kept (in the store and in memory). A presented
//! key is hashed, looked up by hash, and the hash compared in constant time. Every failure gives the same 401.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use affinity_core::{ApiKey, Scope};
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// The header carrying the key, as in the seed.
pub const KEY_HEADER: &str = "x-api-key";

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The master key: manages projects, and nothing else.
    Master,
    /// A project key.
    Key { project: Arc<str>, scope: Scope },
}

impl Caller {
    /// Allows the master key only.
    pub fn require_master(&self) -> Result<(), ApiError> {
        match self {
            Caller::Master => Ok(()),
            Caller::Key { .. } => Err(ApiError::unauthorized()),
        }
    }

    /// Allows keys of `project` with at least scope `needed` (`admin` covers `ingest`); not the master key.
    pub fn require(&self, project: &str, needed: Scope) -> Result<(), ApiError> {
        match self {
            Caller::Key { project: p, scope }
                if &**p == project && (*scope == Scope::Admin || needed == Scope::Ingest) =>
            {
                Ok(())
            }
            _ => Err(ApiError::unauthorized()),
        }
    }
}

/// SHA-256 of a key.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // The OS random source failing is not something a server can run without.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new secret key: `afy_` and 192 random bits in hex.
pub fn new_secret() -> String {
    format!("afy_{}", random_hex(24))
}

/// Creates a key for `project`: the stored record and the secret to show once.
pub fn new_key(project: &str, scope: Scope, now: i64) -> (ApiKey, String) {
    let secret = new_secret();
    let key = ApiKey {
        id: format!("key_{}", random_hex(8)),
        project: project.to_string(),
        scope,
        hash: hash_key(&secret),
        created_at: now,
    };
    (key, secret)
}

/// What the keyring knows of an active key: its project, scope and id.
type KeyEntry = (Arc<str>, Scope, String);

/// The active keys, by hash, and the master key's hash.
pub struct Keyring {
    master: [u8; 32],
    keys: RwLock<HashMap<[u8; 32], KeyEntry>>,
}

impl Keyring {
    pub fn new(master_key: &str, keys: Vec<ApiKey>) -> Self {
        let ring = Keyring { master: hash_key(master_key), keys: RwLock::new(HashMap::new()) };
        for k in keys {
            ring.add(&k);
        }
        ring
    }

    pub fn add(&self, k: &ApiKey) {
        self.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(k.hash, (k.project.as_str().into(), k.scope, k.id.clone()));
    }

    /// Replaces every project key with `keys` (the store's active keys), as another node changed them.
    pub fn replace_all(&self, keys: Vec<ApiKey>) {
        let fresh = keys.into_iter().map(|k| (k.hash, (k.project.as_str().into(), k.scope, k.id))).collect();
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = fresh;
    }

    /// Forgets a revoked key at once.
    pub fn remove(&self, project: &str, id: &str) {
        self.keys.write().unwrap_or_else(|p| p.into_inner()).retain(|_, (p, _, kid)| !(&**p == project && kid == id));
    }

    /// The caller presenting `key`, if any.
    pub fn authenticate(&self, key: &str) -> Option<Caller> {
        let h = hash_key(key);
        if bool::from(h.ct_eq(&self.master)) {
            return Some(Caller::Master);
        }
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        let (stored, (project, scope, _)) = keys.get_key_value(&h)?;
        bool::from(stored.ct_eq(&h)).then(|| Caller::Key { project: project.clone(), scope: *scope })
    }
}

/// Extractor: the caller holds the master key. Runs before the body is read, so a wrong key is 401 whatever the
/// body.
pub struct Master;

impl FromRequestParts<AppState> for Master {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Caller::from_request_parts(parts, state).await?.require_master()?;
        Ok(Master)
    }
}

/// Extractor: the caller holds an `admin` key of the path's `{project}`, which it yields.
pub struct ProjectAdmin(pub String);

/// Extractor: the caller holds an `ingest` or `admin` key of the path's `{project}`, which it yields.
pub struct ProjectIngest(pub String);

async fn project_key(parts: &mut Parts, state: &AppState, needed: Scope) -> Result<String, ApiError> {
    let caller = Caller::from_request_parts(parts, state).await?;
    let params = RawPathParams::from_request_parts(parts, state).await.map_err(|_| ApiError::unauthorized())?;
    let project =
        params.iter().find(|(k, _)| *k == "project").map(|(_, v)| v.to_string()).ok_or_else(ApiError::unauthorized)?;
    caller.require(&project, needed)?;
    Ok(project)
}

impl FromRequestParts<AppState> for ProjectAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        project_key(parts, state, Scope::Admin).await.map(ProjectAdmin)
    }
}

impl FromRequestParts<AppState> for ProjectIngest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        project_key(parts, state, Scope::Ingest).await.map(ProjectIngest)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = parts.headers.get(KEY_HEADER).and_then(|v| v.to_str().ok()).ok_or_else(ApiError::unauthorized)?;
        state.keys.authenticate(key.trim()).ok_or_else(ApiError::unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_by_hash_and_scope() {
        let (admin, admin_secret) = new_key("shop", Scope::Admin, 0);
        let (ingest, ingest_secret) = new_key("shop", Scope::Ingest, 0);
        assert_ne!(admin_secret, ingest_secret);
        assert!(admin_secret.len() >= 4 + 32, "at least 128 bits");
        let ring = Keyring::new("master", vec![admin.clone(), ingest]);
        assert_eq!(ring.authenticate("master"), Some(Caller::Master));
        assert_eq!(ring.authenticate("nope"), None);
        let a = ring.authenticate(&admin_secret).unwrap();
        let i = ring.authenticate(&ingest_secret).unwrap();
        assert!(a.require("shop", Scope::Admin).is_ok());
        assert!(i.require("shop", Scope::Ingest).is_ok());
        assert!(i.require("shop", Scope::Admin).is_err());
        assert!(a.require("other", Scope::Ingest).is_err());
        assert!(a.require_master().is_err());
        assert!(Caller::Master.require("shop", Scope::Ingest).is_err(), "the master key only manages projects");
        ring.remove("shop", &admin.id);
        assert_eq!(ring.authenticate(&admin_secret), None);
    }
}
