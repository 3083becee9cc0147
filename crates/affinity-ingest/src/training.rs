//! Training jobs and stored models: training on demand and by policy, storing the result, loading what this or
//! another node stored. Serving itself (the model in service, live histories, answers, the policy's decision) is
//! [`affinity_reco::serve`]'s; this module is the part that talks to the store.
//!
//! Training copies the project's interactions out of its view under the read lock ([`affinity_reco::tuning::train_project`]) and
//! fits on a blocking thread; requests keep being answered by the previous model until the new one replaces it in
//! one pointer swap. At most one training per project runs at a time, across every node sharing the store (the
//! store's training lock, and a per-project lock on this node); the other nodes load the stored result when the
//! change feed reports it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use affinity_reco::Trained;
use affinity_reco::protocol::EvaluationSummary;
use affinity_reco::serve::due;
use affinity_reco::tuning::train_project;
use affinity_store::{ModelRecord, StoreError};

pub use affinity_reco::serve::{ProjectModels, Serving};

use crate::engine::Engine;
use crate::error::TrainError;

/// How often the retraining policy is checked.
const POLICY_TICK: Duration = Duration::from_secs(2);

/// Counter: model trainings finished. Label `project`.
pub const TRAININGS_TOTAL: &str = "affinity_trainings_total";
/// Histogram: seconds a training took. Label `project`.
pub const TRAINING_DURATION_SECONDS: &str = "affinity_training_duration_seconds";

/// The kind under which a project's bundle of models is stored.
const STORED_KIND: &str = "bundle";
/// The kind under which a project's last evaluation is stored (its summary in `meta`, no data).
const EVALUATION_KIND: &str = "evaluation";

/// All projects' models ([`affinity_reco::serve::Models`]) and, per project, the lock that keeps this node to one
/// training at a time (an async lock: a training waits for the one running).
#[derive(Default)]
pub struct Models {
    serving: affinity_reco::serve::Models,
    training: RwLock<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Models {
    /// The models of `project`, created empty on first use.
    pub fn project(&self, project: &str) -> Arc<ProjectModels> {
        self.serving.project(project)
    }

    /// This node's training lock of `project`.
    fn training_lock(&self, project: &str) -> Arc<tokio::sync::Mutex<()>> {
        if let Some(m) = self.training.read().unwrap_or_else(|p| p.into_inner()).get(project) {
            return m.clone();
        }
        self.training.write().unwrap_or_else(|p| p.into_inner()).entry(project.to_string()).or_default().clone()
    }
}

/// What [`Engine::on_store`] answered, as one error.
fn finished<T>(answer: Result<Result<T, StoreError>, String>) -> Result<T, TrainError> {
    Ok(answer.map_err(TrainError::Task)??)
}

impl Engine {
    /// Trains every model of `project` from its current interactions and swaps them in; waits for a training
    /// already running, here or on another node, to end first. Returns the new models. Errors: `not_found` for an
    /// unknown project; internal when the store fails or the fit panics.
    pub async fn train(&self, project: &str) -> Result<Arc<Serving>, TrainError> {
        self.train_unless_busy(project, true).await?.ok_or_else(|| TrainError::Task("no training lock".into()))
    }

    /// [`Engine::train`], except that with `wait` false it returns `None` at once when another node is training
    /// the project.
    async fn train_unless_busy(&self, project: &str, wait: bool) -> Result<Option<Arc<Serving>>, TrainError> {
        let entry = self.project(project)?;
        let models = self.models.project(project);
        let lock = self.models.training_lock(project);
        let _one_at_a_time = lock.lock().await;
        let p = project.to_string();
        let Some(_across_nodes) = finished(self.on_store(move |s| s.training_lock(&p, wait)).await)? else {
            return Ok(None);
        };
        let view = self.views.project(project);
        let settings = entry.settings();
        let started = affinity_core::date::now_ms();
        let clock = std::time::Instant::now();
        models.start_training(started);
        let result = tokio::task::spawn_blocking(move || {
            let (trained, events) = train_project(&view, &settings, started);
            let serving = Serving::new(trained, &view.read().unwrap_or_else(|p| p.into_inner()));
            (serving, events)
        })
        .await;
        let (trained, events) = match result {
            Ok(r) => r,
            Err(e) => {
                models.stop_training();
                return Err(TrainError::Task(e.to_string()));
            }
        };
        let trained = Arc::new(trained);
        self.persist(project, trained.clone()).await;
        tracing::info!(project, model = %trained.info.model, fit_ms = trained.info.fit_ms, "models trained");
        metrics::counter!(TRAININGS_TOTAL, "project" => project.to_string()).increment(1);
        let seconds = clock.elapsed().as_secs_f64();
        metrics::histogram!(TRAINING_DURATION_SECONDS, "project" => project.to_string()).record(seconds);
        // The baseline first, then the model, and only then "not training": the policy never sees a finished
        // training as due again.
        models.install(trained.clone(), events);
        models.stop_training();
        Ok(Some(trained))
    }

    /// Keeps `summary` as the project's last evaluation, in memory and in the store (a failure to store is
    /// logged).
    pub async fn record_evaluation(&self, project: &str, summary: EvaluationSummary) {
        let meta = serde_json::to_string(&summary).unwrap_or_default();
        self.models.project(project).set_evaluation(Some(summary));
        let p = project.to_string();
        let at = affinity_core::date::now_ms();
        let record = ModelRecord { kind: EVALUATION_KIND.into(), trained_at: at, meta, data: Vec::new() };
        if let Err(e) = finished(self.on_store(move |s| s.save_model(&p, &record)).await) {
            tracing::error!(project, error = %e, "storing the evaluation failed");
        }
    }

    /// Stores the trained bundle, so that a restart serves at once. A failure is logged: serving goes on with the
    /// model in memory, and the next training tries again.
    async fn persist(&self, project: &str, trained: Arc<Serving>) {
        let p = project.to_string();
        let saved = self
            .on_store(move |s| {
                let meta = serde_json::to_string(&trained.info).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let data = trained.to_bytes();
                s.save_model(
                    &p,
                    &ModelRecord { kind: STORED_KIND.into(), trained_at: trained.info.trained_at, meta, data },
                )
            })
            .await;
        if let Err(e) = finished(saved) {
            tracing::error!(project, error = %e, "storing the trained models failed");
        }
    }

    /// At start-up: loads every project's stored models; returns how many projects got a bundle. A model that
    /// cannot be read is skipped (logged); the policy trains a new one. Blocking.
    pub fn load_models(&self) -> Result<usize, StoreError> {
        let mut loaded = 0;
        for project in self.catalog.list() {
            loaded += usize::from(self.load_project_models(&project.id)?);
        }
        Ok(loaded)
    }

    /// Loads `project`'s stored models and last evaluation (at start-up, and when another node stored new ones);
    /// `true` when a bundle was installed. A bundle already serving (same training time) is not decoded again.
    /// Blocking.
    pub fn load_project_models(&self, project: &str) -> Result<bool, StoreError> {
        let mut loaded = false;
        let models = self.models.project(project);
        for record in self.store.models(project)? {
            if record.kind == EVALUATION_KIND {
                models.set_evaluation(serde_json::from_str(&record.meta).ok());
                continue;
            }
            if record.kind != STORED_KIND || models.current().is_some_and(|m| m.info.trained_at == record.trained_at) {
                continue;
            }
            let trained = serde_json::from_str::<affinity_reco::Info>(&record.meta)
                .map_err(|e| e.to_string())
                .and_then(|info| Trained::from_bytes(&record.data, info).map_err(|e| e.to_string()));
            match trained {
                Ok(t) => {
                    let events = t.info.events;
                    let view = self.views.project(project);
                    let mut v = view.write().unwrap_or_else(|p| p.into_inner());
                    // Items of another node's events this node has not followed yet get their ids now, so that
                    // every column of the model maps to the view.
                    for item in &t.items {
                        v.item_slot(item);
                    }
                    let serving = Serving::new(t, &v);
                    models.install(Arc::new(serving), events);
                    loaded = true;
                }
                Err(e) => tracing::warn!(project, error = %e, "stored models unreadable; will retrain"),
            }
        }
        Ok(loaded)
    }

    /// Runs the retraining policy of every project for as long as the runtime runs: every [`POLICY_TICK`], each
    /// project the policy finds due ([`due`]) and no import of which runs on this node is trained, unless another
    /// node is training it (that node stores the result, and this one loads it then).
    pub fn start_policy(&self) {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLICY_TICK);
            loop {
                tick.tick().await;
                for project in engine.catalog.list() {
                    let Ok(entry) = engine.project(&project.id) else { continue };
                    // A bulk import makes a project "due" over and over: train once, when it has ended.
                    if engine.imports.running_for(&project.id) {
                        continue;
                    }
                    let models = engine.models.project(&project.id);
                    let events = engine.views.project(&project.id).read().unwrap_or_else(|p| p.into_inner()).applied();
                    if due(&entry.settings(), &models, events, affinity_core::date::now_ms()) {
                        let engine = engine.clone();
                        tokio::spawn(async move {
                            if let Err(e) = engine.train_unless_busy(&project.id, false).await {
                                tracing::warn!(project = %project.id, error = %e, "scheduled training failed");
                            }
                        });
                    }
                }
            }
        });
    }
}
