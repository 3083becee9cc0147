//! Training jobs and stored models: training on demand and by policy, storing the result, loading what this or
//! another node stored. Serving itself (the model in service, live histories, answers, the policy's decision) is
//! [`affinity_reco::serve`]'s; this module is the part that talks to the store.
//!
//! Training copies the project's interactions out of its view under the read lock ([`affinity_reco::extract`]) and
//! fits on a blocking thread; requests keep being answered by the previous model until the new one replaces it in
//! one pointer swap. At most one training per project runs at a time, across every node sharing the store (the
//! store's training lock, and a per-project lock on this node); the other nodes load the stored result when the
//! change feed reports it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use affinity_reco::protocol::EvaluationSummary;
use affinity_reco::serve::due;
use affinity_reco::{Trained, extract};
use affinity_store::{ModelRecord, StoreError};

pub use affinity_reco::serve::{ProjectModels, Serving};

use crate::error::ApiError;
use crate::state::AppState;

/// How often the retraining policy is checked.
const POLICY_TICK: Duration = Duration::from_secs(2);

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

/// Trains every model of `project` from its current interactions and swaps them in; waits for a training already
/// running, here or on another node, to end first. Returns the new models.
pub async fn train(state: &AppState, project: &str) -> Result<Arc<Serving>, ApiError> {
    train_unless_busy(state, project, true).await?.ok_or_else(|| ApiError::internal("the training lock was not taken"))
}

/// [`train`], except that with `wait` false it returns `None` at once when another node is training the project.
async fn train_unless_busy(state: &AppState, project: &str, wait: bool) -> Result<Option<Arc<Serving>>, ApiError> {
    let entry = state.project(project)?;
    let models = state.models.project(project);
    let lock = state.models.training_lock(project);
    let _one_at_a_time = lock.lock().await;
    let p = project.to_string();
    let Some(_across_nodes) = state.blocking(move |s| s.training_lock(&p, wait)).await? else {
        return Ok(None);
    };
    let view = state.views.project(project);
    let settings = entry.settings();
    let started = affinity_core::date::now_ms();
    let clock = std::time::Instant::now();
    models.start_training(started);
    let result = tokio::task::spawn_blocking(move || {
        let (data, events) = {
            let v = view.read().unwrap_or_else(|p| p.into_inner());
            (extract(&v, &settings), v.applied())
        };
        let trained = Trained::train(data, &settings, started);
        let serving = Serving::new(trained, &view.read().unwrap_or_else(|p| p.into_inner()));
        (serving, events)
    })
    .await;
    let (trained, events) = match result {
        Ok(r) => r,
        Err(e) => {
            models.stop_training();
            return Err(ApiError::internal(e));
        }
    };
    let trained = Arc::new(trained);
    persist(state, project, trained.clone()).await;
    tracing::info!(project, model = %trained.info.model, fit_ms = trained.info.fit_ms, "models trained");
    metrics::counter!(crate::metrics::TRAININGS_TOTAL, "project" => project.to_string()).increment(1);
    let seconds = clock.elapsed().as_secs_f64();
    metrics::histogram!(crate::metrics::TRAINING_DURATION_SECONDS, "project" => project.to_string()).record(seconds);
    // The baseline first, then the model, and only then "not training": the policy never sees a finished training
    // as due again.
    models.install(trained.clone(), events);
    models.stop_training();
    Ok(Some(trained))
}

/// The kind under which a project's bundle of models is stored.
const STORED_KIND: &str = "bundle";
/// The kind under which a project's last evaluation is stored (its summary in `meta`, no data).
const EVALUATION_KIND: &str = "evaluation";

/// Keeps `summary` as the project's last evaluation, in memory and in the store (a failure to store is logged).
pub async fn record_evaluation(state: &AppState, project: &str, summary: EvaluationSummary) {
    let meta = serde_json::to_string(&summary).unwrap_or_default();
    state.models.project(project).set_evaluation(Some(summary));
    let p = project.to_string();
    let record =
        ModelRecord { kind: EVALUATION_KIND.into(), trained_at: affinity_core::date::now_ms(), meta, data: Vec::new() };
    if let Err(e) = state.blocking(move |s| s.save_model(&p, &record)).await {
        tracing::error!(project, error = %e.message, "storing the evaluation failed");
    }
}

/// Stores the trained bundle, so that a restart serves at once. A failure is logged: serving goes on with the
/// model in memory, and the next training tries again.
async fn persist(state: &AppState, project: &str, trained: Arc<Serving>) {
    let p = project.to_string();
    let saved = state
        .blocking(move |s| {
            let meta = serde_json::to_string(&trained.info).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let record = ModelRecord {
                kind: STORED_KIND.into(),
                trained_at: trained.info.trained_at,
                meta,
                data: trained.to_bytes(),
            };
            s.save_model(&p, &record)
        })
        .await;
    if let Err(e) = saved {
        tracing::error!(project, error = %e.message, "storing the trained models failed");
    }
}

/// At start-up: loads every project's stored models. A model that cannot be read is skipped (logged); the policy
/// trains a new one.
pub fn load(state: &AppState) -> Result<usize, StoreError> {
    let mut loaded = 0;
    for project in state.catalog.list() {
        loaded += usize::from(load_project(state, &project.id)?);
    }
    Ok(loaded)
}

/// Loads `project`'s stored models and last evaluation (at start-up, and when another node stored new ones);
/// `true` when a bundle was installed. A bundle already serving (same training time) is not decoded again.
/// Blocking.
pub fn load_project(state: &AppState, project: &str) -> Result<bool, StoreError> {
    let mut loaded = false;
    let models = state.models.project(project);
    for record in state.store.models(project)? {
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
                let view = state.views.project(project);
                let mut v = view.write().unwrap_or_else(|p| p.into_inner());
                // Items of another node's events this node has not followed yet get their ids now, so that every
                // column of the model maps to the view.
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

/// Runs the retraining policy of every project for as long as the server runs.
pub fn start_policy(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLICY_TICK);
        loop {
            tick.tick().await;
            for project in state.catalog.list() {
                let Ok(entry) = state.project(&project.id) else { continue };
                // A bulk import makes a project "due" over and over: train once, when it has ended.
                if state.imports.running_for(&project.id) {
                    continue;
                }
                let models = state.models.project(&project.id);
                let events = state.views.project(&project.id).read().unwrap_or_else(|p| p.into_inner()).applied();
                if due(&entry.settings(), &models, events, affinity_core::date::now_ms()) {
                    let state = state.clone();
                    tokio::spawn(async move {
                        // Another node training the project will store the result: this node loads it then.
                        if let Err(e) = train_unless_busy(&state, &project.id, false).await {
                            tracing::warn!(project = %project.id, error = %e.message, "scheduled training failed");
                        }
                    });
                }
            }
        }
    });
}
