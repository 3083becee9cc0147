//! What a project's models are, for `GET …/models`: one figure set per model of the bundle.

use affinity_core::date::format_ms;
use serde::Serialize;

use super::Serving;

/// One model of the bundle serving now. Fields are in the order the API has always written them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ModelFigures {
    /// Customers with interactions in the training data.
    pub customers: u64,
    /// Events read at training.
    pub events: u64,
    /// This model's fit time, ms.
    pub fit_ms: u64,
    /// Non-zero customer × item cells.
    pub interactions: u64,
    /// Items with interactions.
    pub items: u64,
    /// `ease`, `item_knn`, `similar`, `bought_together` or `popular`.
    pub model: String,
    /// When the bundle was trained, RFC 3339 UTC.
    pub trained_at: String,
}

/// The bundle serving now: its four models and the whole fit time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ServingModels {
    pub bought_together: ModelFigures,
    /// Repeat purchases (`kind=buy_again`, and the repeat part of the personalized answer).
    pub buy_again: ModelFigures,
    /// The personalized model (`ease` or `item_knn`).
    pub personalized: ModelFigures,
    pub popular: ModelFigures,
    pub similar: ModelFigures,
    /// The whole training's time, ms (tuning included).
    pub total_fit_ms: u64,
    /// The repeat weight and half-life the personalized answer blends with, how they were chosen, and the
    /// validation figures (null for models stored before tuning existed).
    pub tuning: Option<crate::tuning::Tuning>,
}

impl Serving {
    /// The figures of every model of this bundle.
    pub fn describe(&self) -> ServingModels {
        let i = &self.info;
        let one = |name: &str, model: &str| ModelFigures {
            customers: i.customers,
            events: i.events,
            fit_ms: i.fit_ms_by_model.get(name).copied().unwrap_or(0),
            interactions: i.interactions,
            items: i.items,
            model: model.to_string(),
            trained_at: format_ms(i.trained_at),
        };
        ServingModels {
            bought_together: one("bought_together", "bought_together"),
            buy_again: one("buy_again", "buy_again"),
            personalized: one("personalized", &i.model),
            popular: one("popular", "popular"),
            similar: one("similar", "similar"),
            total_fit_ms: i.fit_ms,
            tuning: i.tuning.clone(),
        }
    }
}
