//! What every handler shares: the store, the views, the in-memory catalog of projects and interaction types, the
//! keyring and the ingest pipeline.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use affinity_core::catalog::builtins;
use affinity_core::rule::{Context, Rule, parse_rule};
use affinity_core::{Audience, Experience, InteractionType, Project, Settings};
use affinity_store::{Store, StoreError};
use affinity_views::Views;

use crate::auth::Keyring;
use crate::error::ApiError;
use crate::ingest::Ingest;

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

/// Shared state of the server; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub views: Arc<Views>,
    pub catalog: Arc<Catalog>,
    pub keys: Arc<Keyring>,
    pub ingest: Ingest,
    pub imports: Arc<crate::imports::Imports>,
    pub models: Arc<crate::reco::Models>,
    pub limits: Limits,
    /// Where the database, the master key and import files live.
    pub data_dir: std::path::PathBuf,
}

impl AppState {
    /// The project `id`, or 404.
    pub fn project(&self, id: &str) -> Result<Arc<ProjectEntry>, ApiError> {
        self.catalog.get(id).ok_or_else(|| ApiError::not_found(format!("project {id}")))
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

/// A saved audience with its checked rule.
#[derive(Debug, Clone)]
pub struct SavedAudience {
    pub audience: Audience,
    pub rule: Rule,
}

/// A saved experience with its checked targeting rule.
#[derive(Debug, Clone)]
pub struct SavedExperience {
    pub experience: Experience,
    pub rule: Rule,
}

/// Projects and their interaction types, in memory; the store has the durable copy.
#[derive(Default)]
pub struct Catalog {
    projects: RwLock<BTreeMap<String, Arc<ProjectEntry>>>,
}

/// One project with its interaction types (built-in first, then custom in creation order).
pub struct ProjectEntry {
    pub project: Project,
    types: RwLock<Arc<Vec<InteractionType>>>,
    settings: RwLock<Arc<Settings>>,
    audiences: RwLock<Arc<BTreeMap<String, SavedAudience>>>,
    experiences: RwLock<Arc<BTreeMap<String, SavedExperience>>>,
    /// Held while an experience is created, changed or deleted.
    pub experiences_edit: tokio::sync::Mutex<()>,
    /// Held while an audience is created, changed or deleted, so that cycle checks see every saved rule.
    pub audiences_edit: tokio::sync::Mutex<()>,
    /// Held while a custom type is created or changed, so that checks and writes do not interleave.
    pub edit: tokio::sync::Mutex<()>,
    /// Held while catalog items are written to the store and then to the view, so both see writes in one order.
    pub items_edit: tokio::sync::Mutex<()>,
}

impl ProjectEntry {
    fn new(project: Project) -> Self {
        ProjectEntry {
            project,
            types: RwLock::new(Arc::new(builtins())),
            settings: RwLock::new(Arc::new(Settings::default())),
            audiences: RwLock::new(Arc::default()),
            experiences: RwLock::new(Arc::default()),
            experiences_edit: tokio::sync::Mutex::new(()),
            audiences_edit: tokio::sync::Mutex::new(()),
            edit: tokio::sync::Mutex::new(()),
            items_edit: tokio::sync::Mutex::new(()),
        }
    }

    /// A snapshot of the project's interaction types.
    pub fn types(&self) -> Arc<Vec<InteractionType>> {
        self.types.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A snapshot of the project's settings (the defaults until set).
    pub fn settings(&self) -> Arc<Settings> {
        self.settings.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the in-memory settings (after the store has them).
    pub fn set_settings(&self, settings: Settings) {
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(settings);
    }

    /// A snapshot of the project's audiences, by id.
    pub fn audiences(&self) -> Arc<BTreeMap<String, SavedAudience>> {
        self.audiences.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Adds or replaces an audience in memory (after the store has it); `None` removes `id`.
    pub fn put_audience(&self, id: &str, saved: Option<SavedAudience>) {
        let mut guard = self.audiences.write().unwrap_or_else(|p| p.into_inner());
        let mut all = (**guard).clone();
        match saved {
            Some(s) => all.insert(id.to_string(), s),
            None => all.remove(id),
        };
        *guard = Arc::new(all);
    }

    /// Checks `rule` against the project's interaction types and saved audiences; `saving` is the audience being
    /// saved (a reference back to it is a cycle).
    pub fn check_rule(
        &self,
        rule: &serde_json::Value,
        saving: Option<&str>,
    ) -> Result<Rule, affinity_core::rule::RuleError> {
        let types = self.types();
        let saved = self.audiences();
        let references = |id: &str| saved.get(id).map(|s| affinity_core::audience::references(&s.audience.rule));
        parse_rule(rule, &Context { types: &types, references: &references, saving, targeting: false }, "rule")
    }

    /// The first saved audience whose rule would no longer check if `changed` replaced its type, and why.
    pub fn rules_broken_by(&self, changed: &InteractionType) -> Option<(String, affinity_core::rule::RuleError)> {
        let mut types = (*self.types()).clone();
        if let Some(t) = types.iter_mut().find(|t| t.id == changed.id) {
            *t = changed.clone();
        }
        let saved = self.audiences();
        let references = |id: &str| saved.get(id).map(|s| affinity_core::audience::references(&s.audience.rule));
        saved.values().find_map(|s| {
            let cx = Context { types: &types, references: &references, saving: Some(&s.audience.id), targeting: false };
            parse_rule(&s.audience.rule, &cx, "rule").err().map(|e| (s.audience.id.clone(), e))
        })
    }

    /// A snapshot of the project's experiences, by id.
    pub fn experiences(&self) -> Arc<BTreeMap<String, SavedExperience>> {
        self.experiences.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Adds or replaces an experience in memory (after the store has it); `None` removes `id`.
    pub fn put_experience(&self, id: &str, saved: Option<SavedExperience>) {
        let mut guard = self.experiences.write().unwrap_or_else(|p| p.into_inner());
        let mut all = (**guard).clone();
        match saved {
            Some(s) => all.insert(id.to_string(), s),
            None => all.remove(id),
        };
        *guard = Arc::new(all);
    }

    /// Checks a targeting rule (issue 8): the audience rule model plus context, time and session leaves, against
    /// the project's interaction types and saved audiences.
    pub fn check_targeting(&self, rule: &serde_json::Value) -> Result<Rule, affinity_core::rule::RuleError> {
        let types = self.types();
        let saved = self.audiences();
        let references = |id: &str| saved.get(id).map(|s| affinity_core::audience::references(&s.audience.rule));
        parse_rule(rule, &Context { types: &types, references: &references, saving: None, targeting: true }, "rule")
    }

    /// Replaces the in-memory experiences with `stored`, checking each rule; one that no longer checks is left out
    /// (logged).
    pub fn load_experiences(&self, stored: Vec<Experience>) {
        let mut all = BTreeMap::new();
        for e in stored {
            match self.check_targeting(&e.rule) {
                Ok(rule) => {
                    all.insert(e.id.clone(), SavedExperience { experience: e, rule });
                }
                Err(err) => {
                    tracing::warn!(project = %self.project.id, experience = %e.id, error = %err, "stored experience no longer checks");
                }
            }
        }
        *self.experiences.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(all);
    }

    /// Replaces the in-memory audiences with `stored` (all of the project's), checking each rule; one that no
    /// longer checks is left out (logged).
    pub fn load_audiences(&self, stored: Vec<Audience>) {
        *self.audiences.write().unwrap_or_else(|p| p.into_inner()) = Arc::default();
        // Every stored audience first without its rule, so that references between them resolve.
        for a in &stored {
            self.put_audience(&a.id, Some(SavedAudience { audience: a.clone(), rule: Rule::All(vec![]) }));
        }
        for a in stored {
            match self.check_rule(&a.rule, Some(&a.id)) {
                Ok(rule) => self.put_audience(&a.id.clone(), Some(SavedAudience { audience: a, rule })),
                Err(e) => {
                    tracing::warn!(project = %self.project.id, audience = %a.id, error = %e, "stored audience no longer checks");
                    self.put_audience(&a.id, None);
                }
            }
        }
    }

    /// Adds or replaces a custom type.
    pub fn put_type(&self, ty: InteractionType) {
        let mut guard = self.types.write().unwrap_or_else(|p| p.into_inner());
        let mut types = (**guard).clone();
        match types.iter_mut().find(|t| t.id == ty.id) {
            Some(slot) => *slot = ty,
            None => types.push(ty),
        }
        *guard = Arc::new(types);
    }
}

impl Catalog {
    /// Reads every project and custom interaction type from the store.
    pub fn load(store: &dyn Store) -> Result<Catalog, StoreError> {
        let catalog = Catalog::default();
        for p in store.projects()? {
            let settings = store.settings(&p.id)?;
            let entry = catalog.insert(p);
            if let Some(s) = settings {
                entry.set_settings(s);
            }
        }
        for (project, ty) in store.interaction_types()? {
            if let Some(entry) = catalog.get(&project) {
                entry.put_type(ty);
            }
        }
        for project in catalog.list() {
            if let Some(entry) = catalog.get(&project.id) {
                entry.load_audiences(store.audiences(&project.id)?);
                entry.load_experiences(store.experiences(&project.id)?);
            }
        }
        Ok(catalog)
    }

    /// Reads one project's settings, custom types and audiences from the store again (another node changed
    /// them), adding the project if this node does not know it yet. Each part is read and installed under the lock
    /// its routes hold while writing (`edit`, `audiences_edit`), so a stale read never overwrites a newer write of
    /// this node. Blocking (not on an async worker).
    pub fn reload_project(&self, store: &dyn Store, id: &str) -> Result<(), StoreError> {
        let entry = match self.get(id) {
            Some(e) => e,
            None => match store.projects()?.into_iter().find(|p| p.id == id) {
                Some(p) => self.insert(p),
                None => return Ok(()),
            },
        };
        {
            let _edit = entry.edit.blocking_lock();
            for (project, ty) in store.interaction_types()? {
                if project == id {
                    entry.put_type(ty);
                }
            }
            entry.set_settings(store.settings(id)?.unwrap_or_default());
        }
        {
            let _edit = entry.audiences_edit.blocking_lock();
            entry.load_audiences(store.audiences(id)?);
        }
        let _edit = entry.experiences_edit.blocking_lock();
        entry.load_experiences(store.experiences(id)?);
        Ok(())
    }

    /// Adds a project, or returns the entry already there: an entry is never replaced, so what was put into it
    /// (types, audiences) is never lost to a second insert (the change follower and the creating request race).
    pub fn insert(&self, project: Project) -> Arc<ProjectEntry> {
        let mut all = self.projects.write().unwrap_or_else(|p| p.into_inner());
        all.entry(project.id.clone()).or_insert_with(|| Arc::new(ProjectEntry::new(project))).clone()
    }

    pub fn get(&self, id: &str) -> Option<Arc<ProjectEntry>> {
        self.projects.read().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    /// All projects, by id.
    pub fn list(&self) -> Vec<Project> {
        self.projects.read().unwrap_or_else(|p| p.into_inner()).values().map(|e| e.project.clone()).collect()
    }
}
