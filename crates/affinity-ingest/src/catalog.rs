//! The in-memory catalog of every project: its interaction types, settings, audiences and experiences. The store
//! has the durable copy; this one answers every request without a query.
//!
//! **One edit lock per project.** Every change to a project's catalog is one [`ProjectEntry::edit`]: under the
//! project's single edit lock, a closure sees the catalog as it is, checks the change against *every*
//! cross-reference (audience → audience, experience → audience, rule → interaction type and parameter) and
//! returns the store write and the catalog after it. The write runs, then the new catalog is installed in one
//! pointer swap, all before the lock is let go. So no two edits interleave between check and install: "delete
//! audience X" and "create an experience targeting X" cannot both succeed. Readers never wait: they take a
//! snapshot ([`Snapshot`], a few `Arc`s).
//!
//! The item catalog (products) is not part of this: items are referenced by nothing the catalog checks, and bulk
//! item writes must not hold up rule edits; [`ProjectEntry::items_edit`] orders them instead.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use affinity_core::catalog::{MAX_TYPES, builtins, check_update};
use affinity_core::rule::{Context, Rule, parse_rule};
use affinity_core::{Audience, Code, Experience, InteractionType, Problem, ProblemKind, Project, Settings};
use affinity_store::{Store, StoreError};

use crate::error::CatalogError;

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

/// One project's catalog at one moment; cheap to clone (every part is shared).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Built-in types first, then custom ones in creation order.
    pub types: Arc<Vec<InteractionType>>,
    pub settings: Arc<Settings>,
    pub audiences: Arc<BTreeMap<String, SavedAudience>>,
    pub experiences: Arc<BTreeMap<String, SavedExperience>>,
    /// The same experiences in decision order: highest priority first, ties by id (so `decide` need not sort
    /// them on every request).
    pub ranked: Arc<Vec<SavedExperience>>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            types: Arc::new(builtins()),
            settings: Arc::default(),
            audiences: Arc::default(),
            experiences: Arc::default(),
            ranked: Arc::default(),
        }
    }
}

impl Snapshot {
    /// Checks an audience rule against these types and audiences; `saving` is the audience being saved (a
    /// reference back to it is a cycle).
    pub fn check_rule(&self, rule: &serde_json::Value, saving: Option<&str>) -> Result<Rule, CatalogError> {
        self.check(rule, saving, false, &self.types)
    }

    /// Checks a targeting rule (issue 8): the audience rule model plus context, time and session leaves.
    pub fn check_targeting(&self, rule: &serde_json::Value) -> Result<Rule, CatalogError> {
        self.check(rule, None, true, &self.types)
    }

    fn check(
        &self,
        rule: &serde_json::Value,
        saving: Option<&str>,
        targeting: bool,
        types: &[InteractionType],
    ) -> Result<Rule, CatalogError> {
        let saved = &self.audiences;
        let references = |id: &str| saved.get(id).map(|s| affinity_core::audience::references(&s.audience.rule));
        Ok(parse_rule(rule, &Context { types, references: &references, saving, targeting }, "rule")?)
    }

    /// The first saved audience or experience whose rule would no longer check with `types`, and why.
    fn broken_by(&self, types: &[InteractionType]) -> Option<(String, CatalogError)> {
        let audiences = self.audiences.values().find_map(|s| {
            let why = self.check(&s.audience.rule, Some(&s.audience.id), false, types).err()?;
            Some((format!("Audience {}", s.audience.id), why))
        });
        audiences.or_else(|| {
            self.experiences.values().find_map(|s| {
                let why = self.check(&s.experience.rule, None, true, types).err()?;
                Some((format!("Experience {}", s.experience.id), why))
            })
        })
    }

    /// What refers to audience `id`: another audience's rule, or an experience's targeting rule.
    fn audience_user(&self, id: &str) -> Option<String> {
        let refers = |rule: &serde_json::Value| affinity_core::audience::references(rule).iter().any(|r| r == id);
        if let Some(user) = self.audiences.values().find(|s| s.audience.id != id && refers(&s.audience.rule)) {
            return Some(format!("Audience {} refers to {id}", user.audience.id));
        }
        let user = self.experiences.values().find(|s| refers(&s.experience.rule))?;
        Some(format!("Experience {} targets audience {id}", user.experience.id))
    }

    /// The type `id`, or `not_found`.
    pub fn interaction(&self, id: &str) -> Result<&InteractionType, CatalogError> {
        self.types.iter().find(|t| t.id == id).ok_or_else(|| CatalogError::NotFound(format!("interaction type {id}")))
    }

    /// The custom type `id`; a built-in answers `builtin_interaction`.
    fn custom(&self, id: &str) -> Result<&InteractionType, CatalogError> {
        let ty = self.interaction(id)?;
        if ty.builtin {
            return Err(CatalogError::Builtin(id.to_string()));
        }
        Ok(ty)
    }

    /// The audience `id`, or `not_found`.
    pub fn audience(&self, id: &str) -> Result<&SavedAudience, CatalogError> {
        self.audiences.get(id).ok_or_else(|| CatalogError::NotFound(format!("audience {id}")))
    }

    /// The experience `id`, or `not_found`.
    pub fn experience(&self, id: &str) -> Result<&SavedExperience, CatalogError> {
        self.experiences.get(id).ok_or_else(|| CatalogError::NotFound(format!("experience {id}")))
    }

    fn with_type(&self, ty: InteractionType) -> Snapshot {
        let mut types = (*self.types).clone();
        match types.iter_mut().find(|t| t.id == ty.id) {
            Some(slot) => *slot = ty,
            None => types.push(ty),
        }
        Snapshot { types: Arc::new(types), ..self.clone() }
    }

    fn with_audience(&self, id: &str, saved: Option<SavedAudience>) -> Snapshot {
        let mut all = (*self.audiences).clone();
        match saved {
            Some(s) => all.insert(id.to_string(), s),
            None => all.remove(id),
        };
        Snapshot { audiences: Arc::new(all), ..self.clone() }
    }

    fn with_experience(&self, id: &str, saved: Option<SavedExperience>) -> Snapshot {
        let mut all = (*self.experiences).clone();
        match saved {
            Some(s) => all.insert(id.to_string(), s),
            None => all.remove(id),
        };
        self.with_experiences(all)
    }

    fn with_experiences(&self, all: BTreeMap<String, SavedExperience>) -> Snapshot {
        let mut ranked: Vec<SavedExperience> = all.values().cloned().collect();
        // Stable: the map gives them by id, so ties stay by id.
        ranked.sort_by_key(|s| std::cmp::Reverse(s.experience.priority));
        Snapshot { experiences: Arc::new(all), ranked: Arc::new(ranked), ..self.clone() }
    }

    /// `stored` checked against these types: every audience first without its rule, so references between them
    /// resolve; one that no longer checks is left out (logged).
    fn with_stored_audiences(&self, project: &str, stored: Vec<Audience>) -> Snapshot {
        let placeholders = stored
            .iter()
            .map(|a| (a.id.clone(), SavedAudience { audience: a.clone(), rule: Rule::All(vec![]) }))
            .collect();
        let mut next = Snapshot { audiences: Arc::new(placeholders), ..self.clone() };
        for a in stored {
            match next.check_rule(&a.rule, Some(&a.id)) {
                Ok(rule) => next = next.with_audience(&a.id.clone(), Some(SavedAudience { audience: a, rule })),
                Err(e) => {
                    tracing::warn!(project, audience = %a.id, error = %e, "stored audience no longer checks");
                    next = next.with_audience(&a.id, None);
                }
            }
        }
        next
    }

    /// `stored` checked against these types and audiences; one that no longer checks is left out (logged).
    fn with_stored_experiences(&self, project: &str, stored: Vec<Experience>) -> Snapshot {
        let mut all = BTreeMap::new();
        for e in stored {
            match self.check_targeting(&e.rule) {
                Ok(rule) => {
                    all.insert(e.id.clone(), SavedExperience { experience: e, rule });
                }
                Err(err) => {
                    tracing::warn!(project, experience = %e.id, error = %err, "stored experience no longer checks");
                }
            }
        }
        self.with_experiences(all)
    }
}

/// A store write planned by an edit, run under the edit lock.
pub type Write = Box<dyn FnOnce(&dyn Store) -> Result<(), CatalogError> + Send>;

/// What an edit decided: the store write, the catalog after it, and the answer.
pub struct Edit<T> {
    pub write: Write,
    pub next: Snapshot,
    pub answer: T,
}

/// Maps the store's `Conflict` (another node took the id meanwhile) to `exists`.
fn conflict_is(exists: CatalogError) -> impl FnOnce(StoreError) -> CatalogError {
    move |e| match e {
        StoreError::Conflict(_) => exists,
        e => CatalogError::Store(e),
    }
}

/// Projects and their catalogs, in memory; the store has the durable copy.
#[derive(Default)]
pub struct Catalog {
    projects: RwLock<BTreeMap<String, Arc<ProjectEntry>>>,
}

/// One project with its catalog.
pub struct ProjectEntry {
    pub project: Project,
    now: RwLock<Arc<Snapshot>>,
    /// The one lock every catalog edit of this project holds, from its checks to the install.
    edit: tokio::sync::Mutex<()>,
    /// Held while catalog items are written to the store and then to the view, so both see writes in one order.
    pub items_edit: tokio::sync::Mutex<()>,
    /// Held by an `identify` from its checks to the view, so that two of this node's cannot both pass the checks
    /// and then chain ([`crate::identity`]).
    pub identity_edit: tokio::sync::Mutex<()>,
}

impl ProjectEntry {
    fn new(project: Project) -> Self {
        ProjectEntry {
            project,
            now: RwLock::new(Arc::default()),
            edit: tokio::sync::Mutex::new(()),
            items_edit: tokio::sync::Mutex::new(()),
            identity_edit: tokio::sync::Mutex::new(()),
        }
    }

    /// The catalog as it is now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.now.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn install(&self, next: Snapshot) {
        *self.now.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
    }

    /// A snapshot of the project's interaction types.
    pub fn types(&self) -> Arc<Vec<InteractionType>> {
        self.snapshot().types.clone()
    }

    /// A snapshot of the project's settings (the defaults until set).
    pub fn settings(&self) -> Arc<Settings> {
        self.snapshot().settings.clone()
    }

    /// A snapshot of the project's audiences, by id.
    pub fn audiences(&self) -> Arc<BTreeMap<String, SavedAudience>> {
        self.snapshot().audiences.clone()
    }

    /// A snapshot of the project's experiences, by id.
    pub fn experiences(&self) -> Arc<BTreeMap<String, SavedExperience>> {
        self.snapshot().experiences.clone()
    }

    /// Checks an audience rule against the catalog as it is now (previews; saves check under the lock).
    pub fn check_rule(&self, rule: &serde_json::Value, saving: Option<&str>) -> Result<Rule, CatalogError> {
        self.snapshot().check_rule(rule, saving)
    }

    /// Runs one edit under the project's edit lock: `plan` sees the catalog as it is and decides (or refuses);
    /// its write runs on a blocking thread; then its catalog is installed. Errors: whatever `plan` or the write
    /// returns; nothing is installed then.
    pub async fn edit<T: Send + 'static>(
        &self,
        store: &Arc<dyn Store>,
        plan: impl FnOnce(&Snapshot) -> Result<Edit<T>, CatalogError>,
    ) -> Result<T, CatalogError> {
        let _one_at_a_time = self.edit.lock().await;
        let Edit { write, next, answer } = plan(&self.snapshot())?;
        let store = store.clone();
        tokio::task::spawn_blocking(move || write(&*store)).await.map_err(|e| CatalogError::Task(e.to_string()))??;
        self.install(next);
        Ok(answer)
    }

    /// Creates a custom interaction type (checked with [`affinity_core::catalog::check_definition`] by the caller).
    /// Errors: `interaction_exists`, more than [`MAX_TYPES`] types (`invalid_field` on `id`).
    pub async fn create_type(
        &self,
        store: &Arc<dyn Store>,
        ty: InteractionType,
    ) -> Result<InteractionType, CatalogError> {
        let project = self.project.id.clone();
        self.edit(store, move |now| {
            let taken = format!("Interaction type {} already exists", ty.id);
            let exists = move || CatalogError::Exists { code: Code::InteractionExists, message: taken.clone() };
            if now.types.iter().any(|t| t.id == ty.id) {
                return Err(exists());
            }
            if now.types.len() >= MAX_TYPES {
                let message = format!("A project has at most {MAX_TYPES} interaction types");
                return Err(Problem::new(ProblemKind::InvalidField, "id", message).into());
            }
            let stored = ty.clone();
            Ok(Edit {
                write: Box::new(move |s| s.insert_interaction_type(&project, &stored).map_err(conflict_is(exists()))),
                next: now.with_type(ty.clone()),
                answer: ty,
            })
        })
        .await
    }

    /// Changes a custom type: `change` gets the current definition and returns the new one (it may refuse);
    /// `has_events` says whether events of the type are stored or on their way. Errors: `not_found`,
    /// `builtin_interaction`, `interaction_in_use` (a change that stored events or a saved rule forbid).
    pub async fn update_type(
        &self,
        store: &Arc<dyn Store>,
        id: &str,
        change: impl FnOnce(&InteractionType) -> Result<InteractionType, CatalogError>,
        has_events: impl FnOnce() -> bool,
    ) -> Result<InteractionType, CatalogError> {
        let project = self.project.id.clone();
        self.edit(store, move |now| {
            let old = now.custom(id)?;
            let new = change(old)?;
            if old.parameters != new.parameters {
                check_update(old, &new, has_events())
                    .map_err(|c| CatalogError::InUse { code: Code::InteractionInUse, message: c.to_string() })?;
            }
            let next = now.with_type(new.clone());
            if let Some((user, why)) = now.broken_by(&next.types) {
                let message = format!("{user} would no longer check: {why}");
                return Err(CatalogError::InUse { code: Code::InteractionInUse, message });
            }
            let stored = new.clone();
            Ok(Edit { write: Box::new(move |s| Ok(s.update_interaction_type(&project, &stored)?)), next, answer: new })
        })
        .await
    }

    /// Replaces the settings after checking them against the types. Errors: a setting that names an unknown
    /// type or is out of range (`invalid_field` with its path).
    pub async fn put_settings(&self, store: &Arc<dyn Store>, settings: Settings) -> Result<Settings, CatalogError> {
        let project = self.project.id.clone();
        self.edit(store, move |now| {
            settings.check(&now.types)?;
            let (stored, at) = (settings.clone(), affinity_core::date::now_ms());
            Ok(Edit {
                write: Box::new(move |s| Ok(s.put_settings(&project, &stored, at)?)),
                next: Snapshot { settings: Arc::new(settings.clone()), ..now.clone() },
                answer: settings,
            })
        })
        .await
    }

    /// Creates an audience (id and name checked by [`Audience::check`]); its rule is checked under the lock.
    /// Errors: `audience_exists`, `invalid_rule`.
    pub async fn create_audience(
        &self,
        store: &Arc<dyn Store>,
        audience: Audience,
    ) -> Result<SavedAudience, CatalogError> {
        audience.check()?;
        let project = self.project.id.clone();
        self.edit(store, move |now| {
            let id = audience.id.clone();
            let taken = format!("Audience {id} already exists");
            let exists = move || CatalogError::Exists { code: Code::AudienceExists, message: taken.clone() };
            if now.audiences.contains_key(&id) {
                return Err(exists());
            }
            let rule = now.check_rule(&audience.rule, Some(&id))?;
            let saved = SavedAudience { audience, rule };
            let stored = saved.audience.clone();
            Ok(Edit {
                write: Box::new(move |s| s.insert_audience(&project, &stored).map_err(conflict_is(exists()))),
                next: now.with_audience(&id, Some(saved.clone())),
                answer: saved,
            })
        })
        .await
    }

    /// Replaces audience `id`'s name (when given) and rule. Errors: `not_found`, `invalid_field` (name),
    /// `invalid_rule` (including a cycle through other audiences).
    pub async fn update_audience(
        &self,
        store: &Arc<dyn Store>,
        id: &str,
        name: Option<String>,
        rule: serde_json::Value,
        at: i64,
    ) -> Result<SavedAudience, CatalogError> {
        if let Some(n) = &name {
            Audience::check_name(n)?;
        }
        let project = self.project.id.clone();
        self.edit(store, move |now| {
            let old = now.audience(id)?;
            let checked = now.check_rule(&rule, Some(id))?;
            let name = name.unwrap_or_else(|| old.audience.name.clone());
            let audience = Audience { name, rule, updated_at: at, ..old.audience.clone() };
            let next = now.with_audience(id, Some(SavedAudience { audience: audience.clone(), rule: checked }));
            // Experiences targeting it must still check (a rule using it in a way targeting forbids).
            if let Some((user, why)) = next.broken_by(&next.types) {
                return Err(CatalogError::InUse {
                    code: Code::AudienceInUse,
                    message: format!("{user} would no longer check: {why}"),
                });
            }
            let saved = next.audience(id)?.clone();
            Ok(Edit { write: Box::new(move |s| Ok(s.update_audience(&project, &audience)?)), next, answer: saved })
        })
        .await
    }

    /// Deletes audience `id`. Errors: `not_found`, `audience_in_use` while an audience or an experience refers
    /// to it.
    pub async fn delete_audience(&self, store: &Arc<dyn Store>, id: &str) -> Result<(), CatalogError> {
        let project = self.project.id.clone();
        self.edit(store, move |now| {
            now.audience(id)?;
            if let Some(message) = now.audience_user(id) {
                return Err(CatalogError::InUse { code: Code::AudienceInUse, message });
            }
            let i = id.to_string();
            Ok(Edit {
                write: Box::new(move |s| Ok(s.delete_audience(&project, &i).map(drop)?)),
                next: now.with_audience(id, None),
                answer: (),
            })
        })
        .await
    }

    /// Creates an experience (checked by [`Experience::check`] by the caller); its targeting rule is checked
    /// under the lock, so an audience it targets cannot be deleted meanwhile. Errors: `experience_exists`,
    /// `invalid_rule`.
    pub async fn create_experience(
        &self,
        store: &Arc<dyn Store>,
        experience: Experience,
    ) -> Result<SavedExperience, CatalogError> {
        let project = self.project.id.clone();
        self.edit(store, move |now| {
            let id = experience.id.clone();
            let taken = format!("Experience {id} already exists");
            let exists = move || CatalogError::Exists { code: Code::ExperienceExists, message: taken.clone() };
            if now.experiences.contains_key(&id) {
                return Err(exists());
            }
            let rule = now.check_targeting(&experience.rule)?;
            let saved = SavedExperience { experience, rule };
            let stored = saved.experience.clone();
            Ok(Edit {
                write: Box::new(move |s| s.insert_experience(&project, &stored).map_err(conflict_is(exists()))),
                next: now.with_experience(&id, Some(saved.clone())),
                answer: saved,
            })
        })
        .await
    }

    /// Replaces experience `id` (its `created_at` is kept). Errors: `not_found`, `invalid_rule`.
    pub async fn update_experience(
        &self,
        store: &Arc<dyn Store>,
        mut experience: Experience,
    ) -> Result<SavedExperience, CatalogError> {
        let project = self.project.id.clone();
        self.edit(store, move |now| {
            let id = experience.id.clone();
            experience.created_at = now.experience(&id)?.experience.created_at;
            let rule = now.check_targeting(&experience.rule)?;
            let saved = SavedExperience { experience, rule };
            let stored = saved.experience.clone();
            Ok(Edit {
                write: Box::new(move |s| Ok(s.update_experience(&project, &stored)?)),
                next: now.with_experience(&id, Some(saved.clone())),
                answer: saved,
            })
        })
        .await
    }

    /// Deletes experience `id` (and, in the store, its exposures). Errors: `not_found`.
    pub async fn delete_experience(&self, store: &Arc<dyn Store>, id: &str) -> Result<(), CatalogError> {
        let project = self.project.id.clone();
        self.edit(store, move |now| {
            now.experience(id)?;
            let i = id.to_string();
            Ok(Edit {
                write: Box::new(move |s| Ok(s.delete_experience(&project, &i).map(drop)?)),
                next: now.with_experience(id, None),
                answer: (),
            })
        })
        .await
    }

    /// Reads this project's catalog from the store again and installs it, under the edit lock, so that a stale
    /// read never overwrites a newer edit of this node. Blocking (not on an async worker).
    pub fn reload(&self, store: &dyn Store) -> Result<(), StoreError> {
        let _one_at_a_time = self.edit.blocking_lock();
        let next = self.read(store)?;
        self.install(next);
        Ok(())
    }

    fn read(&self, store: &dyn Store) -> Result<Snapshot, StoreError> {
        let id = &self.project.id;
        let mut next = Snapshot::default();
        for (project, ty) in store.interaction_types()? {
            if project == *id {
                next = next.with_type(ty);
            }
        }
        next.settings = Arc::new(store.settings(id)?.unwrap_or_default());
        let next = next.with_stored_audiences(id, store.audiences(id)?);
        Ok(next.with_stored_experiences(id, store.experiences(id)?))
    }
}

impl Catalog {
    /// Reads every project with its catalog from the store.
    pub fn load(store: &dyn Store) -> Result<Catalog, StoreError> {
        let catalog = Catalog::default();
        for p in store.projects()? {
            let entry = catalog.insert(p);
            let next = entry.read(store)?;
            entry.install(next);
        }
        Ok(catalog)
    }

    /// Reads one project's catalog from the store again (another node changed it), adding the project if this
    /// node does not know it yet. Blocking (not on an async worker).
    pub fn reload_project(&self, store: &dyn Store, id: &str) -> Result<(), StoreError> {
        let entry = match self.get(id) {
            Some(e) => e,
            None => match store.projects()?.into_iter().find(|p| p.id == id) {
                Some(p) => self.insert(p),
                None => return Ok(()),
            },
        };
        entry.reload(store)
    }

    /// Adds a project, or returns the entry already there: an entry is never replaced, so what was put into it
    /// (types, audiences) is never lost to a second insert (the change follower and the creating request race).
    pub fn insert(&self, project: Project) -> Arc<ProjectEntry> {
        let mut all = self.projects.write().unwrap_or_else(|p| p.into_inner());
        all.entry(project.id.clone()).or_insert_with(|| Arc::new(ProjectEntry::new(project))).clone()
    }

    /// The project `id`, if it exists.
    pub fn get(&self, id: &str) -> Option<Arc<ProjectEntry>> {
        self.projects.read().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    /// The project `id`, or `not_found`.
    pub fn project(&self, id: &str) -> Result<Arc<ProjectEntry>, CatalogError> {
        self.get(id).ok_or_else(|| CatalogError::NotFound(format!("project {id}")))
    }

    /// All projects, by id.
    pub fn list(&self) -> Vec<Project> {
        self.projects.read().unwrap_or_else(|p| p.into_inner()).values().map(|e| e.project.clone()).collect()
    }
}
