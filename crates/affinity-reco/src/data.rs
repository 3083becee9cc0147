//! What training reads from a project's view: the weighted, decayed interaction matrix, popularity per window, and
//! the purchases (for "bought together"). Extraction is one pass over the histories under the view's read lock;
//! training itself then runs without it.

use affinity_core::Settings;
use affinity_views::ProjectView;

use crate::matrix::Matrix;

/// Popularity windows computed at training, as `(name, length in ms)`; `all` has no limit.
pub const WINDOWS: [(&str, i64); 5] =
    [("all", i64::MAX), ("1d", 86_400_000), ("7d", 7 * 86_400_000), ("30d", 30 * 86_400_000), ("90d", 90 * 86_400_000)];

/// One purchase: `(customer row, item column, epoch ms, basket)`; see [`basket_key`].
pub type Purchase = (u32, u32, i64, u64);

/// Which basket a purchase line belongs to: its order (the view's interned order id) when it was sent with one,
/// else its UTC day. Lines of one customer with the same key form one basket.
pub fn basket_key(ts: i64, order: Option<u32>) -> u64 {
    match order {
        Some(o) => (1 << 63) | u64::from(o),
        None => ts.div_euclid(86_400_000) as u64 & !(1 << 63),
    }
}

/// The training input of one project.
#[derive(Debug, Clone, Default)]
pub struct TrainingData {
    /// Item ids by column (the view's dense item ids at extraction time).
    pub items: Vec<String>,
    /// Customers × items; a cell is Σ weight(type) · 2^(-age / half-life) over the customer's events with the
    /// item, divided by the largest type weight (so a dataset of one interaction type is binary). Ages count back
    /// from the customer's own newest event.
    pub matrix: Matrix,
    /// Per window of [`WINDOWS`], per item column: the weighted count of events within the window, decayed from
    /// the project's newest event.
    pub popularity: Vec<Vec<f64>>,
    /// Purchases sorted by customer then time.
    pub purchases: Vec<Purchase>,
    /// Events read.
    pub events: u64,
}

/// How much an event `age_ms` old counts: 1 at age 0, 1/2 at one half-life, always 1 without a half-life. Training
/// measures ages back from the customer's newest event (popularity: the project's), so that a historical dataset
/// keeps its relative weights.
pub fn decay(age_ms: i64, half_life_days: Option<f64>) -> f64 {
    match half_life_days {
        Some(h) => (-(age_ms.max(0) as f64) / (h * 86_400_000.0) * std::f64::consts::LN_2).exp(),
        None => 1.0,
    }
}

/// Reads everything training needs from `view`.
pub fn extract(view: &ProjectView, settings: &Settings) -> TrainingData {
    extract_with(view, settings, |_, _| false).0
}

/// [`extract`] with the matrix's cells decayed with `half_life_days` (what tuning chose) instead of the setting's;
/// popularity keeps the setting's.
pub fn extract_tuned(view: &ProjectView, settings: &Settings, half_life_days: Option<f64>) -> TrainingData {
    extract_customers(view, settings, half_life_days, |_| true, |_, _| false).0
}

/// How [`extract_split`] holds interactions out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Split {
    /// Each event independently, with probability `fraction`, decided by a hash of `seed` and its sequence number.
    Random { fraction: f64, seed: u64 },
    /// The newest `fraction` of the events (by date).
    Time { fraction: f64 },
}

/// Reads the training data from `view` with some events held out by `split`; returns it with the held-out
/// `(customer row, item column)` pairs that count (positive weight, item not in the customer's training history),
/// sorted and without duplicates.
pub fn extract_split(view: &ProjectView, settings: &Settings, split: Split) -> (TrainingData, Vec<(u32, u32)>) {
    let (data, held) = match split {
        Split::Random { fraction, seed } => {
            let hasher = foldhash::fast::FixedState::with_seed(seed);
            let limit = (fraction.clamp(0.0, 1.0) * u64::MAX as f64) as u64;
            extract_with(view, settings, |_, e| std::hash::BuildHasher::hash_one(&hasher, e.seq()) < limit)
        }
        Split::Time { fraction } => {
            let mut dates: Vec<i64> =
                (0..view.customers_len() as u32).flat_map(|c| view.history_of(c).iter().map(|e| e.ts())).collect();
            let keep = ((1.0 - fraction.clamp(0.0, 1.0)) * dates.len() as f64) as usize;
            let cutoff = if keep >= dates.len() { i64::MAX } else { *dates.select_nth_unstable(keep).1 };
            extract_with(view, settings, |_, e| e.ts() >= cutoff)
        }
    };
    let mut held: Vec<(u32, u32)> =
        held.into_iter().filter(|&(c, i)| data.matrix.row(c as usize).0.binary_search(&i).is_err()).collect();
    held.sort_unstable();
    held.dedup();
    (data, held)
}

/// [`extract`], leaving out the events `hold_out` picks; returns them as `(customer row, item column)` pairs.
pub(crate) fn extract_with(
    view: &ProjectView,
    settings: &Settings,
    hold_out: impl Fn(u32, &affinity_views::Entry) -> bool,
) -> (TrainingData, Vec<(u32, u32)>) {
    extract_customers(view, settings, settings.half_life_days.or(None), |_| true, hold_out)
}

/// [`extract_with`] of the customers `keep` picks only (the others' rows stay empty and their events are not
/// read), the cells decayed with `half_life` (days; `None`: no decay). Popularity decays with the setting's
/// half-life (`auto`: none), its ages counting back from the newest event of any customer.
pub(crate) fn extract_customers(
    view: &ProjectView,
    settings: &Settings,
    half_life: Option<f64>,
    keep: impl Fn(u32) -> bool,
    hold_out: impl Fn(u32, &affinity_views::Entry) -> bool,
) -> (TrainingData, Vec<(u32, u32)>) {
    let popularity_half_life = settings.half_life_days.or(None);
    let items: Vec<String> = (0..view.items_len() as u32).map(|i| view.item_name(i).to_string()).collect();
    let kinds: Vec<f64> = (0..view.kinds_len() as u32).map(|k| settings.weight(view.kind_name(k))).collect();
    let max_weight = kinds.iter().copied().fold(0.0, f64::max);
    // Ages count back from the newest event kept for training (a held-out event must not shift them).
    let newest = (0..view.customers_len() as u32)
        .filter_map(|c| view.history_of(c).iter().rev().find(|e| !hold_out(c, e)).map(|e| e.ts()))
        .max()
        .unwrap_or(0);
    let mut triples = Vec::with_capacity(view.events() as usize);
    let mut popularity = vec![vec![0.0; items.len()]; WINDOWS.len()];
    let mut purchases = Vec::new();
    let purchase = view.kind_id(affinity_core::catalog::PURCHASE);
    let mut events = 0;
    let mut held = Vec::new();
    for c in (0..view.customers_len() as u32).filter(|&c| keep(c)) {
        let details = view.details_of(c);
        // A customer's cells decay from their own newest event kept (as serving does with a live history), so a
        // customer who was away keeps their tastes; popularity decays from the project's newest event.
        let own_newest = view.history_of(c).iter().rev().find(|e| !hold_out(c, e)).map_or(newest, |e| e.ts());
        for (at, e) in view.history_of(c).iter().enumerate() {
            events += 1;
            let Some(item) = e.item() else { continue };
            let w = kinds.get(e.kind() as usize).copied().unwrap_or(0.0);
            if w <= 0.0 {
                continue;
            }
            if hold_out(c, e) {
                held.push((c, item));
                continue;
            }
            let cell = w * decay(own_newest - e.ts(), half_life);
            triples.push((c, item, (cell / max_weight) as f32));
            let age = newest - e.ts();
            let value = w * decay(age, popularity_half_life);
            for (p, (_, length)) in popularity.iter_mut().zip(WINDOWS) {
                if age <= length {
                    p[item as usize] += value;
                }
            }
            if Some(e.kind()) == purchase {
                let order = details.get(at).and_then(|d| d.order());
                purchases.push((c, item, e.ts(), basket_key(e.ts(), order)));
            }
        }
    }
    let matrix = Matrix::from_triples(view.customers_len(), items.len(), triples);
    (TrainingData { items, matrix, popularity, purchases, events }, held)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_halves_at_the_half_life() {
        assert_eq!(decay(123, None), 1.0);
        assert!((decay(2 * 86_400_000, Some(2.0)) - 0.5).abs() < 1e-12);
        assert!((decay(0, Some(2.0)) - 1.0).abs() < 1e-12);
    }
}
