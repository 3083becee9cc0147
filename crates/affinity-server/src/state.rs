//! What every handler shares: the engine (pipeline, catalog, store, views, keys, models, running imports), the
//! request limits and the data directory.

use std::sync::Arc;

use affinity_ingest::{Engine, ProjectEntry};
use affinity_store::{Store, StoreError};

use crate::error::ApiError;

/// Limits applied to requests.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Most events in one `POST /feedback` batch.
    pub max_batch_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_body_bytes: 1 << 20, max_batch_events: 10_000 }
    }
}

/// Shared state of the server; cheap to clone. It dereferences to the [`Engine`] (`state.store`,
/// `state.views`, `state.catalog`, `state.keys`, `state.models`, `state.imports`, `state.append(…)`).
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub limits: Limits,
    /// Where the database, the master key and import files live.
    pub data_dir: std::path::PathBuf,
    /// The public keys' token buckets.
    pub rate_limits: Arc<crate::browser::RateLimits>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
}

impl std::ops::Deref for AppState {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl AppState {
    /// The project `id`, or 404.
    pub fn project(&self, id: &str) -> Result<Arc<ProjectEntry>, ApiError> {
        Ok(self.engine.project(id)?)
    }

    /// Runs blocking store work off the async threads.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&*store)).await.map_err(ApiError::internal)?.map_err(ApiError::from)
    }
}
