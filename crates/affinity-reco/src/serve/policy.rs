//! The retraining policy's decision: whether a project should train now.

use std::sync::atomic::Ordering;

use affinity_core::Settings;

use super::ProjectModels;

/// The policy's least pause between the start of one training and the next, in ms: at least this, and at least
/// ten times the last training's fit time, so that a bulk import (which makes "N new events" true again every
/// second) does not keep a core busy retraining.
pub const MIN_RETRAIN_PAUSE_MS: i64 = 30_000;

/// Whether `settings`' policy asks `models` to train now (`events`: the view's event count, `now`: epoch ms):
/// never while a training runs or without events; at once without a model (unless both `retrain` triggers are
/// null: then only on demand); otherwise after the pause (see
/// [`MIN_RETRAIN_PAUSE_MS`]), when `retrain.after_events` new events arrived or `retrain.every_minutes` passed
/// since the last training with at least one new event.
pub fn due(settings: &Settings, models: &ProjectModels, events: u64, now: i64) -> bool {
    if models.is_training() || events == 0 {
        return false;
    }
    let trained_on = models.events_at_training.load(Ordering::Relaxed);
    let by_policy = settings.retrain.after_events.is_some() || settings.retrain.every_minutes.is_some();
    let Some(current) = models.current() else {
        // A first model at once, unless both triggers are off: then the project trains only when asked.
        return by_policy;
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
