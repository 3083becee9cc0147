//! A customer's history as the models read it: their events in the view now, in model columns, weighted by
//! interaction type and decayed.

use affinity_core::Settings;
use affinity_views::ProjectView;

use super::Serving;

/// A customer's history in model columns: `(column, weight)` with each column once, and the columns to leave out
/// of the answer. Events of types weighing 0 count neither way unless excluded.
pub struct LiveHistory {
    /// `(column, weight)`, by column; weights are the type's weight over the largest type weight, decayed.
    pub weighted: Vec<(u32, f32)>,
    /// Columns of items with an event of an excluded type, sorted, without duplicates.
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

/// Reads `customer`'s history from `view` as it is now, in `model`'s columns; the items of events whose type is in
/// `exclude` are listed in [`LiveHistory::excluded`]. Ages are counted from the customer's newest event (scaling
/// all of one customer's weights alike keeps the ranking).
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
    let newest = history.last().map_or(0, |e| e.ts());
    let half_life = model.half_life(settings);
    for e in history {
        let Some(col) = e.item().and_then(|i| model.column_of(i)) else { continue };
        let (w, skip) = kinds.get(e.kind() as usize).copied().unwrap_or((0.0, false));
        if skip {
            excluded.push(col);
        }
        if w <= 0.0 {
            continue;
        }
        let decay = crate::data::decay(newest - e.ts(), half_life);
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
