//! [`Engine`]: the one handle the server holds: the store, the views, the catalog, the keys, the models, the
//! running imports and the pipeline, opened together at start-up.

use std::sync::Arc;

use affinity_core::{ApiKey, Code, Event, LogEntry, Project, Settings};
use affinity_reco::serve::Serving;
use affinity_store::{Store, StoreError};
use affinity_views::{HistoryCursor, ProjectView, Views};

use crate::catalog::{Catalog, ProjectEntry};
use crate::error::{CatalogError, IngestError};
use crate::import::Imports;
use crate::keys::Keyring;
use crate::pipeline::{DryRunSeen, Ingest, Outcome, Submitted};
use crate::training::Models;

/// Events and items read per page when rebuilding the views from the store.
const REBUILD_PAGE: usize = 50_000;

/// The ingest engine; cheap to clone. Its threads end when the last clone is dropped.
#[derive(Clone)]
pub struct Engine {
    /// The source of truth.
    pub store: Arc<dyn Store>,
    /// The in-memory index of the log, per project.
    pub views: Arc<Views>,
    /// Every project's catalog.
    pub catalog: Arc<Catalog>,
    /// The master key and every active project key, by hash.
    pub keys: Arc<Keyring>,
    /// Every project's models in service, and this node's training locks.
    pub models: Arc<Models>,
    /// The imports running on this node.
    pub imports: Arc<Imports>,
    /// The recommendation answers this node gave since it last stored their counts.
    pub served: Arc<crate::attribution::Served>,
    pipeline: Ingest,
}

/// What [`Engine::open`] read.
#[derive(Debug, Clone, Copy)]
pub struct Opened {
    /// Events read from the log into the views.
    pub events: u64,
    /// The change feed's position before anything was read: where following other nodes' changes starts.
    pub changes_from: u64,
    /// Projects whose stored models were loaded.
    pub models: usize,
}

impl Engine {
    /// Reads the catalog and the active keys (`master_key` besides), rebuilds the views from the whole log, loads
    /// the stored models, then starts the pipeline's threads. Blocking (call it off the async threads).
    pub fn open(store: Arc<dyn Store>, master_key: &str) -> Result<(Engine, Opened), StoreError> {
        // Where following other nodes' changes starts: before this node reads anything.
        let changes_from = store.last_change()?;
        let (views, events, last_seq) = rebuild(&*store)?;
        let catalog = Arc::new(Catalog::load(&*store)?);
        let keys = Arc::new(Keyring::new(master_key, store.active_keys()?));
        let views = Arc::new(views);
        let pipeline = Ingest::start(store.clone(), views.clone(), last_seq);
        let (models, imports) = (Arc::default(), Arc::default());
        let served = Arc::default();
        let engine = Engine { store, views, catalog, keys, models, imports, served, pipeline };
        let models = engine.load_models()?;
        Ok((engine, Opened { events, changes_from, models }))
    }

    /// Runs `f` on `project`'s view (under its read lock), its model in service (`None` before the first
    /// training) and its settings: how every answer that reads the view is made. Errors: `not_found` for an
    /// unknown project.
    pub fn with_view<T>(
        &self,
        project: &str,
        f: impl FnOnce(&ProjectView, Option<&Serving>, &Settings) -> T,
    ) -> Result<T, CatalogError> {
        let settings = self.project(project)?.settings();
        let model = self.models.project(project).current();
        let view = self.views.project(project);
        let v = view.read().unwrap_or_else(|p| p.into_inner());
        Ok(f(&v, model.as_deref(), &settings))
    }

    /// Up to `limit` stored events of `customer`, newest first, older than `before` (the newest without it), and
    /// the cursor of the next page when there is one. Errors: `not_found` for an unknown project; internal when
    /// the store fails.
    pub async fn interactions(
        &self,
        project: &str,
        customer: &str,
        before: Option<HistoryCursor>,
        limit: usize,
    ) -> Result<(Vec<LogEntry>, Option<HistoryCursor>), CatalogError> {
        self.project(project)?;
        let view = self.views.project(project);
        let (seqs, next) = view.read().unwrap_or_else(|p| p.into_inner()).history_page(customer, before, limit);
        let entries = self.on_store(move |s| s.events_by_seq(&seqs)).await.map_err(CatalogError::Task)??;
        Ok((entries, next))
    }

    /// Creates a project with its first keys (already hashed) in the store, then in the catalog. Errors:
    /// `project_exists` (field `id`) when the id is taken, here or on another node.
    pub async fn create_project(&self, project: Project, keys: Vec<ApiKey>) -> Result<Arc<ProjectEntry>, CatalogError> {
        let (store, p) = (self.store.clone(), project.clone());
        let stored = tokio::task::spawn_blocking(move || store.create_project(&p, &keys))
            .await
            .map_err(|e| CatalogError::Task(e.to_string()))?;
        match stored {
            Ok(()) => Ok(self.catalog.insert(project)),
            Err(StoreError::Conflict(_)) => Err(CatalogError::Exists {
                code: Code::ProjectExists,
                message: format!("Project {} already exists", project.id),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The project `id`'s catalog, or `not_found`.
    pub fn project(&self, id: &str) -> Result<Arc<ProjectEntry>, CatalogError> {
        self.catalog.project(id)
    }

    /// Stores `events` of `project` durably; one outcome per event, in order. See [`Ingest::append`].
    pub async fn append(&self, project: Arc<str>, events: Vec<Event>) -> Result<Vec<Outcome>, IngestError> {
        self.pipeline.append(project, events).await
    }

    /// Claims and queues `events` of an import without waiting. See [`Ingest::submit`].
    pub fn submit(
        &self,
        project: Arc<str>,
        import: Option<Arc<str>>,
        events: Vec<Event>,
    ) -> Result<Submitted, IngestError> {
        self.pipeline.submit(project, import, events)
    }

    /// Which of `events` a dry run would skip as duplicates. See [`Ingest::check`].
    pub fn check(&self, project: &str, events: &[Event], seen: &mut DryRunSeen) -> Vec<bool> {
        self.pipeline.check(project, events, seen)
    }

    /// Deletes every event of `customer` in `project`; returns how many were deleted.
    pub async fn erase(&self, project: Arc<str>, customer: String) -> Result<usize, IngestError> {
        self.pipeline.erase(project, customer).await
    }

    /// Runs `f` on the store on a blocking thread. The outer `Err` says why the task did not finish (it panicked
    /// or was cancelled); the inner one is the store's.
    pub(crate) async fn on_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<Result<T, StoreError>, String> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&*store)).await.map_err(|e| e.to_string())
    }

    /// The pipeline, for the change follower.
    pub(crate) fn pipeline(&self) -> &Ingest {
        &self.pipeline
    }
}

/// Builds the views of every project from its item catalog, its aliases and the whole event log; returns them with the
/// number of events read and the last sequence number read (0 for an empty log).
pub fn rebuild(store: &dyn Store) -> Result<(Views, u64, u64), StoreError> {
    let views = Views::default();
    for project in store.projects()? {
        let view = views.project(&project.id);
        let mut view = view.write().unwrap_or_else(|p| p.into_inner());
        let mut after: Option<String> = None;
        loop {
            let page = store.items(&project.id, after.as_deref(), REBUILD_PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            for item in page {
                view.put_item(item);
            }
        }
        // Before the events: each anonymous id's events then go straight to its customer.
        for alias in store.aliases(&project.id)? {
            crate::identity::apply_to(&mut view, &project.id, &alias);
        }
    }
    let (mut after, mut count) = (0, 0);
    loop {
        let page: Vec<LogEntry> = store.scan_events(after, REBUILD_PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        count += page.len() as u64;
        views.apply_foreign(&page);
    }
    views.note_applied(after);
    views.compact();
    Ok((views, count, after))
}
