//! Models per project: training on demand and by policy, the atomic swap, and the live scoring that serving uses.
//!
//! Training copies the project's interactions out of its view under the read lock ([`affinity_reco::extract`]) and
//! fits on a blocking thread; requests keep being answered by the previous model until the new one replaces it in
//! one pointer swap. At most one training per project runs at a time, across every node sharing the store (the
//! store's training lock); the other nodes load the stored result when the change feed reports it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use affinity_core::Settings;
use affinity_reco::{Trained, extract};
use affinity_store::{ModelRecord, StoreError};
use affinity_views::ProjectView;

use crate::error::ApiError;
use crate::state::AppState;

/// How often the retraining policy is checked.
const POLICY_TICK: Duration = Duration::from_secs(2);

/// The policy's least pause between the start of one training and the next, in ms: at least this, and at least
/// ten times the last training's fit time, so that a bulk import (which makes "N new events" true again every
/// second) does not keep a core busy retraining.
const MIN_RETRAIN_PAUSE_MS: i64 = 30_000;

/// A trained bundle ready to serve: the models, and their item columns mapped to and from the view's dense item ids
/// once, at install, instead of by id string on every request.
pub struct Serving {
    pub trained: Trained,
    to_view: Vec<u32>,
    from_view: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl Serving {
    /// Maps `trained`'s columns onto `view`'s item ids (which never change while the process runs).
    pub fn new(trained: Trained, view: &ProjectView) -> Serving {
        let to_view: Vec<u32> = trained.items.iter().map(|id| view.item_id(id).unwrap_or(NONE)).collect();
        let mut from_view = vec![NONE; view.items_len()];
        for (col, &i) in to_view.iter().enumerate() {
            if i != NONE {
                from_view[i as usize] = col as u32;
            }
        }
        Serving { trained, to_view, from_view }
    }

    /// The view's id of model column `col`.
    pub fn view_item(&self, col: u32) -> Option<u32> {
        self.to_view.get(col as usize).copied().filter(|&i| i != NONE)
    }

    /// The model column of the view's item `i`; `None` for items the model has not seen.
    pub fn column_of(&self, i: u32) -> Option<u32> {
        self.from_view.get(i as usize).copied().filter(|&c| c != NONE)
    }
}

impl std::ops::Deref for Serving {
    type Target = Trained;
    fn deref(&self) -> &Trained {
        &self.trained
    }
}

/// One project's models.
#[derive(Default)]
pub struct ProjectModels {
    current: RwLock<Option<Arc<Serving>>>,
    training: tokio::sync::Mutex<()>,
    running: AtomicBool,
    /// The view's event count when the current model was trained.
    events_at_training: AtomicU64,
    /// Epoch ms of the last training start (0: never).
    last_training: AtomicI64,
    /// The last evaluation's summary, as JSON.
    last_evaluation: RwLock<Option<serde_json::Value>>,
}

impl ProjectModels {
    /// The model serving now.
    pub fn current(&self) -> Option<Arc<Serving>> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The last evaluation's summary.
    pub fn last_evaluation(&self) -> Option<serde_json::Value> {
        self.last_evaluation.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether a training runs now.
    pub fn is_training(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }
}

/// All projects' models.
#[derive(Default)]
pub struct Models {
    projects: RwLock<HashMap<String, Arc<ProjectModels>>>,
}

impl Models {
    /// The models of `project`, created empty on first use.
    pub fn project(&self, project: &str) -> Arc<ProjectModels> {
        if let Some(m) = self.projects.read().unwrap_or_else(|p| p.into_inner()).get(project) {
            return m.clone();
        }
        self.projects.write().unwrap_or_else(|p| p.into_inner()).entry(project.to_string()).or_default().clone()
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
    let _one_at_a_time = models.training.lock().await;
    let p = project.to_string();
    let Some(_across_nodes) = state.blocking(move |s| s.training_lock(&p, wait)).await? else {
        return Ok(None);
    };
    models.running.store(true, Ordering::Relaxed);
    let view = state.views.project(project);
    let settings = entry.settings();
    let started = affinity_core::date::now_ms();
    models.last_training.store(started, Ordering::Relaxed);
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
            models.running.store(false, Ordering::Relaxed);
            return Err(ApiError::internal(e));
        }
    };
    let trained = Arc::new(trained);
    persist(state, project, trained.clone()).await;
    tracing::info!(project, model = %trained.info.model, fit_ms = trained.info.fit_ms, "models trained");
    // The baseline first, then the model, and only then "not training": the policy never sees a finished training
    // as due again.
    models.events_at_training.store(events, Ordering::Relaxed);
    *models.current.write().unwrap_or_else(|p| p.into_inner()) = Some(trained.clone());
    models.running.store(false, Ordering::Relaxed);
    Ok(Some(trained))
}

/// The kind under which a project's bundle of models is stored.
const STORED_KIND: &str = "bundle";
/// The kind under which a project's last evaluation is stored (its summary in `meta`, no data).
const EVALUATION_KIND: &str = "evaluation";

/// Keeps `summary` as the project's last evaluation, in memory and in the store (a failure to store is logged).
pub async fn record_evaluation(state: &AppState, project: &str, summary: serde_json::Value) {
    *state.models.project(project).last_evaluation.write().unwrap_or_else(|p| p.into_inner()) = Some(summary.clone());
    let p = project.to_string();
    let record = ModelRecord {
        kind: EVALUATION_KIND.into(),
        trained_at: affinity_core::date::now_ms(),
        meta: summary.to_string(),
        data: Vec::new(),
    };
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
            let summary = serde_json::from_str(&record.meta).ok();
            *models.last_evaluation.write().unwrap_or_else(|p| p.into_inner()) = summary;
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
                models.events_at_training.store(t.info.events, Ordering::Relaxed);
                models.last_training.store(t.info.trained_at, Ordering::Relaxed);
                let view = state.views.project(project);
                let mut v = view.write().unwrap_or_else(|p| p.into_inner());
                // Items of another node's events this node has not followed yet get their ids now, so that every
                // column of the model maps to the view.
                for item in &t.items {
                    v.item_slot(item);
                }
                let serving = Serving::new(t, &v);
                *models.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(serving));
                loaded = true;
            }
            Err(e) => tracing::warn!(project, error = %e, "stored models unreadable; will retrain"),
        }
    }
    Ok(loaded)
}

/// Whether `project`'s policy asks for a training now: it has events and no model, or enough new events, or
/// enough time passed since the last training with new events.
fn due(settings: &Settings, models: &ProjectModels, events: u64, now: i64) -> bool {
    if models.is_training() || events == 0 {
        return false;
    }
    let trained_on = models.events_at_training.load(Ordering::Relaxed);
    let Some(current) = models.current() else {
        return true;
    };
    let last = models.last_training.load(Ordering::Relaxed);
    let pause = MIN_RETRAIN_PAUSE_MS.max(i64::try_from(current.info.fit_ms).unwrap_or(i64::MAX).saturating_mul(10));
    if now.saturating_sub(last) < pause {
        return false;
    }
    let new = events.saturating_sub(trained_on);
    let by_count = settings.retrain.after_events.is_some_and(|n| new >= n);
    let by_time = settings.retrain.every_minutes.is_some_and(|m| {
        new > 0 && now.saturating_sub(last) >= i64::try_from(m).unwrap_or(i64::MAX).saturating_mul(60_000)
    });
    by_count || by_time
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

/// A customer's history in model columns: `(column, weight)` with each column once, and the columns to leave out
/// of the answer. Events of types weighing 0 count neither way unless excluded.
pub struct LiveHistory {
    pub weighted: Vec<(u32, f32)>,
    pub excluded: Vec<u32>,
    /// Per entry of `weighted`, the interned interaction type that weighed most (for reasons).
    pub strongest: Vec<u32>,
}

impl LiveHistory {
    /// The interned interaction type that weighed most for column `col`.
    pub fn strongest_kind(&self, col: u32) -> Option<u32> {
        let at = self.weighted.binary_search_by_key(&col, |p| p.0).ok()?;
        self.strongest.get(at).copied()
    }
}

/// Reads `customer`'s history from `view` as it is now.
pub fn live_history(
    view: &ProjectView,
    model: &Serving,
    settings: &Settings,
    customer: &str,
    exclude: &[String],
) -> LiveHistory {
    let max_weight = view_max_weight(view, settings);
    let kinds: Vec<(f64, bool)> = (0..view.kinds_len() as u32)
        .map(|k| {
            let name = view.kind_name(k);
            (settings.weight(name), exclude.iter().any(|x| x == name))
        })
        .collect();
    // (column, weight, kind weight, kind), merged by column below.
    let mut cells: Vec<(u32, f32, f64, u32)> = Vec::new();
    let mut excluded = Vec::new();
    let history = view.history(customer);
    let newest = history.last().map_or(0, |e| e.ts);
    for e in history {
        let Some(col) = e.item().and_then(|i| model.column_of(i)) else { continue };
        let (w, skip) = kinds.get(e.kind() as usize).copied().unwrap_or((0.0, false));
        if skip {
            excluded.push(col);
        }
        if w <= 0.0 {
            continue;
        }
        // Ages from the customer's newest event: scaling all of one customer's weights alike keeps the ranking.
        let decay = affinity_reco::data::decay(newest - e.ts, settings.half_life_days);
        cells.push((col, (w * decay / max_weight) as f32, w, e.kind()));
    }
    excluded.sort_unstable();
    excluded.dedup();
    cells.sort_unstable_by_key(|c| c.0);
    let mut weighted: Vec<(u32, f32)> = Vec::new();
    let mut strongest: Vec<(f64, u32)> = Vec::new();
    for (col, w, kind_weight, kind) in cells {
        match weighted.last_mut() {
            Some(last) if last.0 == col => {
                last.1 += w;
                if let Some(s) = strongest.last_mut()
                    && kind_weight > s.0
                {
                    *s = (kind_weight, kind);
                }
            }
            _ => {
                weighted.push((col, w));
                strongest.push((kind_weight, kind));
            }
        }
    }
    LiveHistory { weighted, excluded, strongest: strongest.into_iter().map(|s| s.1).collect() }
}

fn view_max_weight(view: &ProjectView, settings: &Settings) -> f64 {
    let m = (0..view.kinds_len() as u32).map(|k| settings.weight(view.kind_name(k))).fold(0.0, f64::max);
    if m > 0.0 { m } else { 1.0 }
}
