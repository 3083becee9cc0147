//! Repeat purchases ("buy it again"): how likely a customer is to buy again, now, an item they have bought.
//!
//! The model follows Bhagat et al., "Buy It Again: Modeling Repeat Purchase Recommendations" (KDD 2018): an item
//! has a repeat propensity (the share of its buyers who bought it in two baskets or more) and a repurchase cycle
//! (here the median number of days between two consecutive baskets of one customer that hold it: milk a week,
//! rice a month); a television bought once by everyone has neither and gets no repeat score. For one customer the
//! score of an item they bought multiplies
//! - the propensity,
//! - a recency-weighted frequency, `Σ 2^(-age / half-life)` over the baskets that held it (the personal term of
//!   TIFU-KNN, Hu et al., SIGIR 2020; with no half-life, the count: P-TopFreq's score),
//! - and a timing factor of `x` = days since the last purchase / the cycle (the item's cycle shrunk toward the
//!   customer's own mean interval when they bought it 3 times or more): `x²` below one cycle (milk is not due the day after), then
//!   `1 / (1 + (x - 1) / 2)`, slowly falling for items long overdue.

use affinity_views::ProjectView;

use crate::data::{Purchase, basket_key};

/// Milliseconds in a day.
const DAY_MS: f64 = 86_400_000.0;
/// Weight, in intervals, of the item's cycle against the customer's own mean interval.
const PRIOR_INTERVALS: f64 = 2.0;
/// Smallest timing factor: a customer's staple bought yesterday still ranks above items they never repeat.
const MIN_TIMING: f64 = 0.01;

/// Per item column: repeat propensity and cycle.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Repeat {
    /// Share of the item's buyers who bought it in at least two baskets; 0 for none.
    pub rate: Vec<f32>,
    /// Median days between consecutive baskets holding the item (one customer's; the lower middle value of an even
    /// count), at least an hour; 0 when nobody bought it twice.
    pub cycle_days: Vec<f32>,
}

/// A customer's purchases of one item: its column and the times of the distinct baskets that held it, oldest
/// first.
#[derive(Debug, Clone, PartialEq)]
pub struct Bought {
    pub col: u32,
    pub baskets: Vec<i64>,
}

/// One repeat candidate: column, score, and the cycle in days (for the reason).
pub type RepeatScore = (u32, f32, f32);

impl Repeat {
    /// Fits propensities and cycles on `purchases` (sorted by customer, then time) over `items` columns.
    pub fn fit(purchases: &[Purchase], items: usize) -> Repeat {
        let mut buyers = vec![0u32; items];
        let mut repeaters = vec![0u32; items];
        let mut intervals: Vec<Vec<f32>> = vec![Vec::new(); items];
        for run in purchases.chunk_by(|a, b| a.0 == b.0) {
            let mut lines: Vec<(u32, u64, i64)> = run.iter().map(|p| (p.1, p.3, p.2)).collect();
            lines.sort_unstable();
            for item in lines.chunk_by(|a, b| a.0 == b.0) {
                let col = item[0].0 as usize;
                let mut times: Vec<i64> = item.chunk_by(|a, b| a.1 == b.1).map(|b| b[0].2).collect();
                times.sort_unstable();
                buyers[col] += 1;
                if times.len() >= 2 {
                    repeaters[col] += 1;
                }
                intervals[col].extend(times.windows(2).map(|w| ((w[1] - w[0]) as f64 / DAY_MS) as f32));
            }
        }
        let rate =
            buyers.iter().zip(&repeaters).map(|(&b, &r)| if b == 0 { 0.0 } else { r as f32 / b as f32 }).collect();
        let cycle_days = intervals
            .into_iter()
            .map(|mut v| {
                if v.is_empty() {
                    return 0.0;
                }
                v.sort_unstable_by(f32::total_cmp);
                v[(v.len() - 1) / 2].max(1.0 / 24.0)
            })
            .collect();
        Repeat { rate, cycle_days }
    }

    /// Whether any item was bought twice by one customer (else the model scores nothing).
    pub fn has_repeats(&self) -> bool {
        self.rate.iter().any(|&r| r > 0.0)
    }

    /// Scores `bought` (one customer's purchases) at `now` (ms, UTC), best first; items nobody repeats (or scoring
    /// 0) are left out. `half_life_days` weighs recent baskets more (`None`: every basket counts 1); ages count back
    /// from the customer's latest purchase, so a historical dataset keeps its relative weights.
    pub fn score(&self, bought: &[Bought], now: i64, half_life_days: Option<f64>) -> Vec<RepeatScore> {
        let latest = bought.iter().filter_map(|b| b.baskets.last().copied()).max().unwrap_or(now);
        let mut out: Vec<RepeatScore> = bought
            .iter()
            .filter_map(|b| {
                let col = b.col as usize;
                let (rate, cycle) = (*self.rate.get(col)? as f64, *self.cycle_days.get(col)? as f64);
                let last = *b.baskets.last()?;
                if rate <= 0.0 || cycle <= 0.0 {
                    return None;
                }
                let n = b.baskets.len();
                let cycle = if n >= 3 {
                    let own = (last - b.baskets[0]) as f64 / DAY_MS / (n - 1) as f64;
                    (PRIOR_INTERVALS * cycle + (n - 1) as f64 * own) / (PRIOR_INTERVALS + (n - 1) as f64)
                } else {
                    cycle
                }
                .max(1.0 / 24.0);
                let frequency: f64 = b.baskets.iter().map(|&t| crate::data::decay(latest - t, half_life_days)).sum();
                let x = ((now - last) as f64 / DAY_MS).max(0.0) / cycle;
                let timing = if x < 1.0 { (x * x).max(MIN_TIMING) } else { 1.0 / (1.0 + (x - 1.0) / 2.0) };
                Some((b.col, (rate * frequency * timing) as f32, cycle as f32))
            })
            .filter(|s| s.1 > 0.0 && s.1.is_finite())
            .collect();
        out.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

/// `customer`'s purchase lines in `view` before `before` (ms, UTC) as `(view item, basket key, ms)`, in history
/// order; see [`basket_key`].
pub(crate) fn purchase_lines(view: &ProjectView, customer: u32, before: i64) -> Vec<(u32, u64, i64)> {
    let Some(purchase) = view.kind_id(affinity_core::catalog::PURCHASE) else { return Vec::new() };
    let details = view.details_of(customer);
    view.history_of(customer)
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind() == purchase && e.ts() < before)
        .filter_map(|(at, e)| Some((e.item()?, basket_key(e.ts(), details.get(at).and_then(|d| d.order())), e.ts())))
        .collect()
}

/// `customer`'s purchases in `view` before `before` (ms, UTC), grouped by item into baskets ([`basket_key`]),
/// in the columns `column_of` gives (items without one are left out).
pub fn bought(view: &ProjectView, customer: u32, before: i64, column_of: impl Fn(u32) -> Option<u32>) -> Vec<Bought> {
    let mut lines: Vec<(u32, u64, i64)> = purchase_lines(view, customer, before)
        .into_iter()
        .filter_map(|(item, key, ts)| Some((column_of(item)?, key, ts)))
        .collect();
    lines.sort_unstable();
    lines
        .chunk_by(|a, b| a.0 == b.0)
        .map(|item| {
            let mut baskets: Vec<i64> = item.chunk_by(|a, b| a.1 == b.1).map(|b| b[0].2).collect();
            baskets.sort_unstable();
            Bought { col: item[0].0, baskets }
        })
        .collect()
}

/// Blends repeat and discovery candidates (each `(column, score)`, any order, scores > 0): each list's scores are
/// divided by its best, then `weight · repeat + (1 - weight) · discovery` per column, ties (such as every
/// discovery candidate at weight 1, which then follow the repeat ones) ordered by the discovery score; the best
/// `n`, best first, with whether the repeat term was the larger part (for the reason).
pub fn blend(repeat: &[(u32, f32)], discovery: &[(u32, f32)], weight: f32, n: usize) -> Vec<(u32, f32, bool)> {
    let best = |l: &[(u32, f32)]| l.iter().map(|p| p.1).fold(0.0f32, f32::max);
    let (rb, db) = (best(repeat), best(discovery));
    // (column, repeat part, discovery part, normalised discovery score)
    let mut all: Vec<(u32, f32, f32, f32)> = Vec::with_capacity(repeat.len() + discovery.len());
    if weight > 0.0 && rb > 0.0 {
        all.extend(repeat.iter().filter(|p| p.1 > 0.0).map(|&(c, s)| (c, weight * s / rb, 0.0, 0.0)));
    }
    if db > 0.0 {
        all.extend(discovery.iter().filter(|p| p.1 > 0.0).map(|&(c, s)| (c, 0.0, (1.0 - weight) * s / db, s / db)));
    }
    all.sort_unstable_by_key(|p| p.0);
    let mut merged: Vec<(u32, f32, f32, bool)> = all
        .chunk_by(|a, b| a.0 == b.0)
        .map(|run| {
            let (r, d, tie) = run.iter().fold((0.0, 0.0, 0.0), |acc, p| (acc.0 + p.1, acc.1 + p.2, acc.2 + p.3));
            (run[0].0, r + d, tie, r >= d && r > 0.0)
        })
        .collect();
    merged.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(b.2.total_cmp(&a.2)).then(a.0.cmp(&b.0)));
    merged.truncate(n);
    merged.into_iter().map(|(c, s, _, from_repeat)| (c, s, from_repeat)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn weekly_milk_and_one_television() -> Repeat {
        // Customers 0..3 buy milk (column 0) every 7 days for 5 weeks; each buys one television (column 1) once.
        let mut purchases = Vec::new();
        for c in 0..3u32 {
            for week in 0..5 {
                purchases.push((c, 0, week * 7 * DAY, (week * 7) as u64));
            }
            purchases.push((c, 1, 3 * DAY, 3));
        }
        purchases.sort_unstable_by_key(|p| (p.0, p.2));
        Repeat::fit(&purchases, 2)
    }

    #[test]
    fn milk_is_due_after_a_week_and_a_television_never() {
        let r = weekly_milk_and_one_television();
        assert_eq!(r.rate, [1.0, 0.0]);
        assert_eq!(r.cycle_days, [7.0, 0.0]);
        let bought = [Bought { col: 0, baskets: vec![0, 7 * DAY] }, Bought { col: 1, baskets: vec![3 * DAY] }];
        let next_day = r.score(&bought, 8 * DAY, None);
        let next_week = r.score(&bought, 14 * DAY, None);
        assert_eq!(next_week.len(), 1, "the television gets no repeat score: {next_week:?}");
        assert_eq!((next_week[0].0, next_week[0].2), (0, 7.0));
        assert!(
            next_week[0].1 > 10.0 * next_day[0].1,
            "due after a week, not the day after: {next_day:?} {next_week:?}"
        );
        let long_overdue = r.score(&bought, 70 * DAY, None);
        assert!(long_overdue[0].1 < next_week[0].1 && long_overdue[0].1 > next_day[0].1);
    }

    #[test]
    fn blending_normalises_each_list_and_weight_zero_is_discovery_alone() {
        let repeat = [(1, 10.0), (2, 5.0)];
        let discovery = [(3, 0.4), (1, 0.2)];
        let cols = |b: Vec<(u32, f32, bool)>| b.into_iter().map(|p| (p.0, p.2)).collect::<Vec<_>>();
        assert_eq!(cols(blend(&repeat, &discovery, 0.0, 5)), [(3, false), (1, false)], "repeats take no part");
        assert_eq!(
            cols(blend(&repeat, &discovery, 1.0, 5)),
            [(1, true), (2, true), (3, false)],
            "discovery follows the repeats"
        );
        let half = blend(&repeat, &discovery, 0.5, 2);
        assert_eq!(half[0], (1, 0.75, true), "in both lists");
        assert_eq!(half[1].0, 3);
    }
}
