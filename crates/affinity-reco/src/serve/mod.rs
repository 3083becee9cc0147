//! Serving: the model in service per project, a customer's live history in model columns, the answers to the four
//! kinds of recommendation request (with exclusions, the popular top-up and fallback, and reasons), and the
//! retraining policy's decision.
//!
//! A model is trained on a snapshot, but served against the view as it is now: [`live_history`] reads the
//! customer's events at request time, so an event sent a moment ago changes the next answer without retraining.
//! Replacing the model is one pointer swap ([`ProjectModels::install`]); requests in flight keep the model they
//! started with. Storing models, the training lock and the training job itself belong to the caller
//! (`affinity_ingest::training`), which owns the store. [`inline_recommendations`] answers the widgets of a
//! targeting decision.

mod answer;
mod live;
mod policy;
mod status;
mod widget;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use affinity_views::ProjectView;

use crate::model::Trained;
use crate::protocol::EvaluationSummary;

pub use answer::{
    DEFAULT_N, MAX_N, MODELS, RecommendQuery, RecommendationId, Recommendations, Recommended, for_customer, for_item,
    for_session, parse_recommendation_id, popular, stamp,
};
pub use live::{LiveHistory, live_history};
pub use policy::{MIN_RETRAIN_PAUSE_MS, due};
pub use status::{ModelFigures, ServingModels};
pub use widget::inline_recommendations;

/// A trained bundle ready to serve: the models, and their item columns mapped to and from the view's dense item ids
/// once, at install, instead of by id string on every request.
pub struct Serving {
    /// The models; [`Serving`] dereferences to them.
    pub trained: Trained,
    to_view: Vec<u32>,
    from_view: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl Serving {
    /// Maps `trained`'s columns onto `view`'s item ids (which never change while the process runs). Items of the
    /// model that `view` does not know map to nothing (the caller gives them ids first if they should serve).
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

/// One project's models: the bundle serving now, whether a training runs, the policy's baseline, and the last
/// evaluation. Every part is read and replaced atomically; none is ever held across a training.
#[derive(Default)]
pub struct ProjectModels {
    current: RwLock<Option<Arc<Serving>>>,
    running: AtomicBool,
    /// The view's event count when the current model was trained.
    events_at_training: AtomicU64,
    /// Epoch ms of the last training start (0: never).
    last_training: AtomicI64,
    /// The last evaluation's summary.
    last_evaluation: RwLock<Option<EvaluationSummary>>,
}

impl ProjectModels {
    /// The model serving now.
    pub fn current(&self) -> Option<Arc<Serving>> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The last evaluation's summary.
    pub fn last_evaluation(&self) -> Option<EvaluationSummary> {
        self.last_evaluation.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether a training runs now.
    pub fn is_training(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }

    /// Marks a training as started at `at` (epoch ms): [`due`] says no until [`ProjectModels::stop_training`],
    /// and counts its pause from `at`.
    pub fn start_training(&self, at: i64) {
        self.running.store(true, Ordering::Relaxed);
        self.last_training.store(at, Ordering::Relaxed);
    }

    /// Marks the training as ended (done or failed).
    pub fn stop_training(&self) {
        self.running.store(false, Ordering::Relaxed);
    }

    /// Puts `serving` in service, trained on a view of `events` events: the policy's baseline first, then the
    /// model, so the policy never sees the new model with the old baseline. The last training time becomes the
    /// model's `trained_at`.
    pub fn install(&self, serving: Arc<Serving>, events: u64) {
        self.events_at_training.store(events, Ordering::Relaxed);
        self.last_training.store(serving.info.trained_at, Ordering::Relaxed);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(serving);
    }

    /// Replaces the last evaluation's summary.
    pub fn set_evaluation(&self, summary: Option<EvaluationSummary>) {
        *self.last_evaluation.write().unwrap_or_else(|p| p.into_inner()) = summary;
    }
}

/// All projects' models, by project id.
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
