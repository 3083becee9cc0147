//! [`Engine`]: the one handle the server holds: the store, the views, the catalog and the pipeline, opened
//! together at start-up.

use std::sync::Arc;

use affinity_core::{ApiKey, Code, Event, LogEntry, Project};
use affinity_store::{Store, StoreError};
use affinity_views::Views;

use crate::catalog::{Catalog, ProjectEntry};
use crate::error::{CatalogError, IngestError};
use crate::pipeline::{DryRunSeen, Ingest, Outcome, Submitted};

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
    pipeline: Ingest,
}

/// What [`Engine::open`] read.
#[derive(Debug, Clone, Copy)]
pub struct Opened {
    /// Events read from the log into the views.
    pub events: u64,
    /// The change feed's position before anything was read: where following other nodes' changes starts.
    pub changes_from: u64,
}

impl Engine {
    /// Reads the catalog and rebuilds the views from the whole log, then starts the pipeline's threads.
    /// Blocking (call it off the async threads).
    pub fn open(store: Arc<dyn Store>) -> Result<(Engine, Opened), StoreError> {
        // Where following other nodes' changes starts: before this node reads anything.
        let changes_from = store.last_change()?;
        let (views, events, last_seq) = rebuild(&*store)?;
        let catalog = Catalog::load(&*store)?;
        let views = Arc::new(views);
        let pipeline = Ingest::start(store.clone(), views.clone(), last_seq);
        Ok((Engine { store, views, catalog: Arc::new(catalog), pipeline }, Opened { events, changes_from }))
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

    /// The pipeline, for the change follower.
    pub(crate) fn pipeline(&self) -> &Ingest {
        &self.pipeline
    }
}

/// Builds the views of every project from its item catalog and the whole event log; returns them with the
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
    Ok((views, count, after))
}
