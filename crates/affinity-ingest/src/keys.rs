//! API keys: generation, hashing, and who a presented key belongs to ([`Keyring`], [`Caller`]).
//!
//! Keys are 192 random bits shown once; only their SHA-256 hash is kept (in the store and in memory). A presented
//! key is hashed, looked up by hash, and the hash compared in constant time. Every failure gives the same 401.
//!
//! A key this node does not know may have just been created through another node (which tells the others only
//! when their change follower polls): before answering 401, the node reads the key through to the store
//! ([`Keyring::authenticate_or_look_up`]). Misses are remembered for [`MISS_TTL`] in a bounded table, so a flood
//! of wrong keys costs at most one store query per key per second. A revocation on another node still takes
//! effect here only when the change follower sees it (the deployment guide says so).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use affinity_core::{ApiKey, Code, ErrorCode, Scope};
use affinity_store::Store;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::catalog::Catalog;

/// The one refusal, whatever the reason (missing, wrong, revoked, other project's, too weak a key): the API
/// answers 401 `unauthorized` and never says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Missing or invalid x-api-key")]
pub struct Unauthorized;

impl ErrorCode for Unauthorized {
    fn error_code(&self) -> Code {
        Code::Unauthorized
    }
}

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
    pub fn require_master(&self) -> Result<(), Unauthorized> {
        match self {
            Caller::Master => Ok(()),
            Caller::Key { .. } => Err(Unauthorized),
        }
    }

    /// Allows keys of `project` with at least scope `needed` (`admin` covers `ingest`, which covers `public`); not
    /// the master key.
    pub fn require(&self, project: &str, needed: Scope) -> Result<(), Unauthorized> {
        match self {
            Caller::Key { project: p, scope } if &**p == project && scope.covers(needed) => Ok(()),
            _ => Err(Unauthorized),
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

/// Creates a key for `project`: the stored record and the secret to show once. Public keys start `afy_pk_`, so
/// that one found in a web page is known for what it is.
pub fn new_key(project: &str, scope: Scope, now: i64) -> (ApiKey, String) {
    let secret = match scope {
        Scope::Public => format!("afy_pk_{}", random_hex(24)),
        _ => new_secret(),
    };
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

/// How long a key the store did not know is answered 401 without asking the store again.
pub const MISS_TTL: Duration = Duration::from_secs(1);

/// Most unknown keys remembered at once; past it, expired entries are dropped, and if none are, all (a flood of
/// distinct wrong keys costs one query each whatever is remembered).
pub const MAX_REMEMBERED_MISSES: usize = 4096;

/// One store lookup of an unknown key, shared by the requests presenting it meanwhile: the first runs the query,
/// the others wait for its answer; once answered "no such key" it stands until it is `ttl` old.
struct Lookup {
    started: Instant,
    answer: Arc<tokio::sync::OnceCell<Option<ApiKey>>>,
}

/// The active keys, by hash, and the master key's hash, plus the recent lookups of unknown keys.
pub struct Keyring {
    master: [u8; 32],
    keys: RwLock<HashMap<[u8; 32], KeyEntry>>,
    lookups: Mutex<HashMap<[u8; 32], Lookup>>,
    miss_ttl: Duration,
}

impl Keyring {
    /// A keyring of `keys` (the store's active keys) and the master key, remembering misses for [`MISS_TTL`].
    pub fn new(master_key: &str, keys: Vec<ApiKey>) -> Self {
        Keyring::with_miss_ttl(master_key, keys, MISS_TTL)
    }

    /// [`Keyring::new`] remembering misses for `miss_ttl` instead.
    pub fn with_miss_ttl(master_key: &str, keys: Vec<ApiKey>, miss_ttl: Duration) -> Self {
        let ring = Keyring {
            master: hash_key(master_key),
            keys: RwLock::new(HashMap::new()),
            lookups: Mutex::new(HashMap::new()),
            miss_ttl,
        };
        for k in keys {
            ring.add(&k);
        }
        ring
    }

    /// Knows `k` from now on (a key created by this node, or found in the store).
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

    /// Forgets a revoked key at once (and every recent lookup, so that none brings it back).
    pub fn remove(&self, project: &str, id: &str) {
        self.keys.write().unwrap_or_else(|p| p.into_inner()).retain(|_, (p, _, kid)| !(&**p == project && kid == id));
        self.lookups.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The caller presenting `key`: from memory, else from the store (`store.active_key`, run off the async
    /// threads; concurrent requests with the same unknown key share one query, and a miss is remembered for the
    /// keyring's miss TTL). A key found there whose project `catalog` lacks (created through another node a moment
    /// ago) brings the project's catalog in too, so that the request finds its project. `None` for a key the store
    /// does not know either, or when the store cannot answer (then logged, and not remembered).
    pub async fn authenticate_or_look_up(
        &self,
        key: &str,
        store: &Arc<dyn Store>,
        catalog: &Arc<Catalog>,
    ) -> Option<Caller> {
        if let Some(caller) = self.authenticate(key) {
            return Some(caller);
        }
        let hash = hash_key(key);
        let answer = self.lookup_of(hash);
        let found = answer
            .get_or_try_init(|| {
                let (store, catalog) = (store.clone(), catalog.clone());
                async move {
                    let look_up = move || {
                        let found = store.active_key(&hash)?;
                        if let Some(k) = &found
                            && catalog.get(&k.project).is_none()
                        {
                            catalog.reload_project(&*store, &k.project)?;
                        }
                        Ok::<_, affinity_store::StoreError>(found)
                    };
                    match tokio::task::spawn_blocking(look_up).await {
                        Ok(Ok(found)) => Ok(found),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                }
            })
            .await;
        match found {
            Ok(Some(k)) => {
                self.add(k);
                self.lookups.lock().unwrap_or_else(|p| p.into_inner()).remove(&hash);
                self.authenticate(key)
            }
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, "looking a key up in the store failed; answering 401");
                None
            }
        }
    }

    /// The lookup of `hash` to wait for: the current one, or a new one when there is none younger than the TTL.
    fn lookup_of(&self, hash: [u8; 32]) -> Arc<tokio::sync::OnceCell<Option<ApiKey>>> {
        let mut lookups = self.lookups.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = lookups.get(&hash)
            && l.started.elapsed() < self.miss_ttl
        {
            return l.answer.clone();
        }
        if lookups.len() >= MAX_REMEMBERED_MISSES {
            let ttl = self.miss_ttl;
            lookups.retain(|_, l| l.started.elapsed() < ttl);
            if lookups.len() >= MAX_REMEMBERED_MISSES {
                lookups.clear();
            }
        }
        let answer = Arc::new(tokio::sync::OnceCell::new());
        lookups.insert(hash, Lookup { started: Instant::now(), answer: answer.clone() });
        answer
    }

    /// How many unknown keys are remembered (for tests and metrics).
    pub fn remembered_lookups(&self) -> usize {
        self.lookups.lock().unwrap_or_else(|p| p.into_inner()).len()
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

/// A new project's first keys, whose secrets are shown once.
pub struct FirstKeys {
    pub ingest: String,
    pub admin: String,
}

impl crate::Engine {
    /// Creates `project` with an `ingest` and an `admin` key, stored hashed and known to this node at once;
    /// returns the two secrets. Errors: `project_exists` (field `id`) when the id is taken.
    pub async fn create_project_with_keys(
        &self,
        project: affinity_core::Project,
    ) -> Result<FirstKeys, crate::CatalogError> {
        let (ingest, ingest_secret) = new_key(&project.id, Scope::Ingest, project.created_at);
        let (admin, admin_secret) = new_key(&project.id, Scope::Admin, project.created_at);
        let keys = vec![ingest, admin];
        self.create_project(project, keys.clone()).await?;
        for k in &keys {
            self.keys.add(k);
        }
        Ok(FirstKeys { ingest: ingest_secret, admin: admin_secret })
    }

    /// Creates a key of `project` with `scope`, stored hashed and known to this node at once; returns the record
    /// and the secret to show once. Errors: internal when the store fails.
    pub async fn create_key(
        &self,
        project: &str,
        scope: Scope,
        now: i64,
    ) -> Result<(ApiKey, String), crate::CatalogError> {
        let (key, secret) = new_key(project, scope, now);
        let stored = key.clone();
        self.on_store(move |s| s.insert_key(&stored)).await.map_err(crate::CatalogError::Task)??;
        self.keys.add(&key);
        Ok((key, secret))
    }

    /// Revokes key `id` of `project`, here at once (other nodes when they follow the change). Errors:
    /// `not_found` for no such active key; internal when the store fails.
    pub async fn revoke_key(&self, project: &str, id: &str, now: i64) -> Result<(), crate::CatalogError> {
        let (p, k) = (project.to_string(), id.to_string());
        let revoked = self.on_store(move |s| s.revoke_key(&p, &k, now)).await.map_err(crate::CatalogError::Task)??;
        if !revoked {
            return Err(crate::CatalogError::NotFound(format!("key {id}")));
        }
        self.keys.remove(project, id);
        Ok(())
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

    fn store() -> (tempfile::TempDir, Arc<dyn Store>, Arc<Catalog>) {
        let dir = tempfile::tempdir().unwrap();
        let store = affinity_store::SqliteStore::open(&dir.path().join("keys.db")).unwrap();
        (dir, Arc::new(store), Arc::default())
    }

    fn shop() -> affinity_core::Project {
        affinity_core::Project { id: "shop".into(), name: "Shop".into(), created_at: 0 }
    }

    #[tokio::test]
    async fn unknown_keys_are_read_through_to_the_store_and_misses_remembered() {
        let (_dir, store, catalog) = store();
        let (key, secret) = new_key("shop", Scope::Ingest, 0);
        let ingest = Some(Caller::Key { project: "shop".into(), scope: Scope::Ingest });
        let remembering = Keyring::with_miss_ttl("master", vec![], Duration::from_secs(3600));
        assert_eq!(remembering.authenticate_or_look_up(&secret, &store, &catalog).await, None, "not in the store yet");
        store.create_project(&shop(), std::slice::from_ref(&key)).unwrap();
        assert_eq!(
            remembering.authenticate_or_look_up(&secret, &store, &catalog).await,
            None,
            "the miss is remembered"
        );
        assert_eq!(remembering.remembered_lookups(), 1);

        let ring = Keyring::with_miss_ttl("master", vec![], Duration::ZERO);
        let (a, b, c) = tokio::join!(
            ring.authenticate_or_look_up(&secret, &store, &catalog),
            ring.authenticate_or_look_up(&secret, &store, &catalog),
            ring.authenticate_or_look_up(&secret, &store, &catalog)
        );
        assert_eq!((&a, &b, &c), (&ingest, &ingest, &ingest), "concurrent requests share the lookup");
        assert_eq!(ring.authenticate(&secret), ingest, "known from now on");
        assert!(catalog.get("shop").is_some(), "the key's project came in with it");
        assert_eq!(ring.remembered_lookups(), 0, "a found key is not kept as a lookup");
        assert_eq!(ring.authenticate_or_look_up("afy_wrong", &store, &catalog).await, None);
        assert_eq!(ring.authenticate_or_look_up("master", &store, &catalog).await, Some(Caller::Master));

        store.revoke_key("shop", &key.id, 1).unwrap();
        ring.remove("shop", &key.id);
        assert_eq!(ring.authenticate_or_look_up(&secret, &store, &catalog).await, None, "revoked keys are not found");
    }

    #[tokio::test]
    async fn remembered_misses_stay_bounded() {
        let (_dir, store, catalog) = store();
        let ring = Keyring::with_miss_ttl("master", vec![], Duration::from_secs(3600));
        for n in 0..MAX_REMEMBERED_MISSES + 10 {
            assert_eq!(ring.authenticate_or_look_up(&format!("afy_wrong_{n}"), &store, &catalog).await, None);
            assert!(ring.remembered_lookups() <= MAX_REMEMBERED_MISSES);
        }
        assert!(ring.remembered_lookups() >= 1);
    }
}
