//! Models per project: training on demand and by policy, the atomic swap, and the live scoring that serving uses.
//!
//! Training copies the project's interactions out of its view under the read lock ([`affinity_reco::extract`]) and
//! fits on a blocking thread; requests keep being answered by the previous model until the new one replaces it in
//! one pointer swap. At most one training per project runs at a time.

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

/// One project's models.
#[derive(Default)]
pub struct ProjectModels {
    current: RwLock<Option<Arc<Trained>>>,
    training: tokio::sync::Mutex<()>,
    running: AtomicBool,
    /// The view's event count when the current model was trained.
    events_at_training: AtomicU64,
    /// Epoch ms of the last training start (0: never).
    last_training: AtomicI64,
}

impl ProjectModels {
    /// The model serving now.
    pub fn current(&self) -> Option<Arc<Trained>> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
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
/// running to end first. Returns the new models.
pub async fn train(state: &AppState, project: &str) -> Result<Arc<Trained>, ApiError> {
    let entry = state.project(project)?;
    let models = state.models.project(project);
    let _one_at_a_time = models.training.lock().await;
    models.running.store(true, Ordering::Relaxed);
    let view = state.views.project(project);
    let settings = entry.settings();
    let started = affinity_core::date::now_ms();
    models.last_training.store(started, Ordering::Relaxed);
    let result = tokio::task::spawn_blocking(move || {
        let (data, events) = {
            let v = view.read().unwrap_or_else(|p| p.into_inner());
            (extract(&v, &settings), v.events())
        };
        (Trained::train(data, &settings, started), events)
    })
    .await;
    models.running.store(false, Ordering::Relaxed);
    let (trained, events) = result.map_err(ApiError::internal)?;
    let trained = Arc::new(trained);
    persist(state, project, trained.clone()).await;
    tracing::info!(project, model = %trained.info.model, fit_ms = trained.info.fit_ms, "models trained");
    *models.current.write().unwrap_or_else(|p| p.into_inner()) = Some(trained.clone());
    models.events_at_training.store(events, Ordering::Relaxed);
    Ok(trained)
}

/// The kind under which a project's bundle of models is stored.
const STORED_KIND: &str = "bundle";

/// Stores the trained bundle, so that a restart serves at once. A failure is logged: serving goes on with the
/// model in memory, and the next training tries again.
async fn persist(state: &AppState, project: &str, trained: Arc<Trained>) {
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
        for record in state.store.models(&project.id)? {
            if record.kind != STORED_KIND {
                continue;
            }
            let trained = serde_json::from_str::<affinity_reco::Info>(&record.meta)
                .map_err(|e| e.to_string())
                .and_then(|info| Trained::from_bytes(&record.data, info).map_err(|e| e.to_string()));
            match trained {
                Ok(t) => {
                    let models = state.models.project(&project.id);
                    models.events_at_training.store(t.info.events, Ordering::Relaxed);
                    models.last_training.store(t.info.trained_at, Ordering::Relaxed);
                    *models.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(t));
                    loaded += 1;
                }
                Err(e) => tracing::warn!(project = %project.id, error = %e, "stored models unreadable; will retrain"),
            }
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
    if models.current().is_none() {
        return true;
    }
    let new = events.saturating_sub(trained_on);
    let by_count = settings.retrain.after_events.is_some_and(|n| new >= n);
    let last = models.last_training.load(Ordering::Relaxed);
    let by_time = settings.retrain.every_minutes.is_some_and(|m| new > 0 && now - last >= m as i64 * 60_000);
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
                let models = state.models.project(&project.id);
                let events = state.views.project(&project.id).read().unwrap_or_else(|p| p.into_inner()).events();
                if due(&entry.settings(), &models, events, affinity_core::date::now_ms()) {
                    let state = state.clone();
                    tokio::spawn(async move {
                        if let Err(e) = train(&state, &project.id).await {
                            tracing::warn!(project = %project.id, error = %e.message, "scheduled training failed");
                        }
                    });
                }
            }
        }
    });
}

/// A customer's (or session's) history in model columns: `(column, weight)` with each column once, and the
/// columns to leave out of the answer. Events of types weighing 0 count neither way unless excluded.
pub struct LiveHistory {
    pub weighted: Vec<(u32, f32)>,
    pub excluded: Vec<u32>,
    /// Per column of `weighted`, the interaction type that weighed most (for reasons).
    pub strongest: HashMap<u32, String>,
}

/// Reads `customer`'s history from `view` as it is now.
pub fn live_history(
    view: &ProjectView,
    model: &Trained,
    settings: &Settings,
    customer: &str,
    exclude: &[String],
) -> LiveHistory {
    let max_weight = view_max_weight(view, settings);
    let mut weights: HashMap<u32, (f32, f64, String)> = HashMap::new();
    let mut excluded = Vec::new();
    let newest = view.history(customer).last().map_or(0, |e| e.ts);
    for e in view.history(customer) {
        let Some(item) = e.item() else { continue };
        let Some(col) = model.column(view.item_name(item)) else { continue };
        let kind = view.kind_name(e.kind());
        if exclude.iter().any(|x| x == kind) {
            excluded.push(col);
        }
        let w = settings.weight(kind);
        if w <= 0.0 {
            continue;
        }
        // Ages from the customer's newest event: scaling all of one customer's weights alike keeps the ranking.
        let decay = affinity_reco::data::decay(newest - e.ts, settings.half_life_days);
        let slot = weights.entry(col).or_insert((0.0, 0.0, String::new()));
        slot.0 += (w * decay / max_weight) as f32;
        if w > slot.1 {
            slot.1 = w;
            slot.2 = kind.to_string();
        }
    }
    excluded.sort_unstable();
    excluded.dedup();
    let mut weighted: Vec<(u32, f32)> = weights.iter().map(|(&c, &(w, _, _))| (c, w)).collect();
    weighted.sort_unstable_by_key(|p| p.0);
    let strongest = weights.into_iter().map(|(c, (_, _, k))| (c, k)).collect();
    LiveHistory { weighted, excluded, strongest }
}

fn view_max_weight(view: &ProjectView, settings: &Settings) -> f64 {
    let m = (0..view.kinds_len() as u32).map(|k| settings.weight(view.kind_name(k))).fold(0.0, f64::max);
    if m > 0.0 { m } else { 1.0 }
}
