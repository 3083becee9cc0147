//! Next-basket validation, used twice: to tune a project's models at every training, and as the `next-basket`
//! evaluation protocol. Each customer with at least two baskets has their last basket held out (their last
//! order; without order ids, their purchases on their last purchase day) with every event of theirs from its
//! start on; models are fitted on the rest and asked, at the basket's time, for the customer's next basket.
//!
//! Metrics follow Li et al., "A Next Basket Recommendation Reality Check" (ACM TOIS 2023), section 4: Recall@K =
//! hits / basket size, NDCG@K with binary gains, PHR@K = the share of customers with at least one hit. The
//! baselines are theirs too: G-TopFreq (the items in most baskets) and P-TopFreq (the customer's own items in most
//! baskets, topped up with G-TopFreq).

use affinity_core::Settings;
use affinity_views::ProjectView;
use serde::{Deserialize, Serialize};

use crate::data::{TrainingData, extract_customers};
use crate::metrics::ndcg_at_k;
use crate::model::Trained;
use crate::repeat::{Bought, Repeat, blend, bought, purchase_lines};
use crate::tuning::{Tuning, tune, tuning_input};

/// One validation customer.
#[derive(Debug, Clone)]
pub struct BasketCase {
    /// When the held-out basket starts, ms UTC (the time the models are asked at).
    pub at: i64,
    /// The discovery models' query: the customer's training row `(column, weight)`, by column.
    pub history: Vec<(u32, f32)>,
    /// The customer's purchases before `at`.
    pub bought: Vec<Bought>,
    /// The held-out basket's columns, sorted, without duplicates.
    pub basket: Vec<u32>,
}

/// The training data without the held-out baskets, and the validation customers.
#[derive(Debug, Clone)]
pub struct NextBasket {
    pub data: TrainingData,
    pub cases: Vec<BasketCase>,
}

/// Holds out each customer's last basket from `view` (see the module). Columns are the view's item ids.
pub fn next_basket_split(view: &ProjectView, settings: &Settings) -> NextBasket {
    split_before(view, settings, None).0
}

/// Each customer's held-out basket, and where their held-out part starts.
pub struct Holdout {
    /// Per customer: the start of their held-out basket (ms UTC), else the limit they were read before, else
    /// `i64::MAX`.
    pub cutoff: Vec<i64>,
    /// `(customer, start, sorted columns)` of each customer with a held-out basket.
    baskets: Vec<(u32, i64, Vec<u32>)>,
}

impl Holdout {
    /// Whether no customer has a basket held out.
    pub fn is_empty(&self) -> bool {
        self.baskets.is_empty()
    }
}

/// The last basket of each customer `keep` picks among their purchases before `before[customer]` (all, without
/// it), for those with at least two baskets.
pub fn last_baskets(view: &ProjectView, before: Option<&[i64]>, keep: impl Fn(u32) -> bool) -> Holdout {
    let limit = |c: usize| before.and_then(|b| b.get(c).copied()).unwrap_or(i64::MAX);
    let mut cutoff: Vec<i64> = (0..view.customers_len()).map(limit).collect();
    let mut baskets: Vec<(u32, i64, Vec<u32>)> = Vec::new();
    for c in (0..view.customers_len() as u32).filter(|&c| keep(c)) {
        let mut lines: Vec<(u64, i64, u32)> =
            purchase_lines(view, c, cutoff[c as usize]).into_iter().map(|(item, key, ts)| (key, ts, item)).collect();
        lines.sort_unstable();
        let mut by_basket: Vec<(i64, Vec<u32>)> = lines
            .chunk_by(|a, b| a.0 == b.0)
            .map(|b| (b.iter().map(|l| l.1).min().unwrap_or(0), b.iter().map(|l| l.2).collect()))
            .collect();
        if by_basket.len() < 2 {
            continue;
        }
        by_basket.sort_by_key(|b| b.0);
        let (start, mut items) = by_basket.pop().unwrap_or_default();
        // Baskets starting at the same instant are held out together (everything from `start` on is).
        while by_basket.last().is_some_and(|b| b.0 == start) {
            items.extend(by_basket.pop().map(|b| b.1).unwrap_or_default());
        }
        if by_basket.is_empty() {
            continue;
        }
        items.sort_unstable();
        items.dedup();
        cutoff[c as usize] = start;
        baskets.push((c, start, items));
    }
    Holdout { cutoff, baskets }
}

/// The training data of the customers `keep` picks without their part from `holdout`'s cutoff on, and the
/// validation cases, with `settings`' weights and the cells decayed with `half_life` (days; `None`: none).
pub fn split_at(
    view: &ProjectView,
    settings: &Settings,
    half_life: Option<f64>,
    holdout: &Holdout,
    keep: impl Fn(u32) -> bool,
) -> NextBasket {
    let cutoff = &holdout.cutoff;
    let (data, _) = extract_customers(view, settings, half_life, keep, |c, e| e.ts() >= cutoff[c as usize]);
    let cases = holdout
        .baskets
        .iter()
        .map(|(c, at, basket)| {
            let (cols, weights) = data.matrix.row(*c as usize);
            let history = cols.iter().copied().zip(weights.iter().copied()).collect();
            BasketCase { at: *at, history, bought: bought(view, *c, *at, Some), basket: basket.clone() }
        })
        .collect();
    NextBasket { data, cases }
}

/// [`next_basket_split`] of the events before `before[customer]` only (all, without it); returns the split and
/// each customer's cut-off.
fn split_before(view: &ProjectView, settings: &Settings, before: Option<&[i64]>) -> (NextBasket, Vec<i64>) {
    let holdout = last_baskets(view, before, |_| true);
    (split_at(view, settings, settings.half_life_days.or(None), &holdout, |_| true), holdout.cutoff)
}

/// The discovery model's best `n` for a case, purchased items left out (as the default answer does).
pub(crate) fn discover(model: &Trained, c: &BasketCase, n: usize) -> Vec<(u32, f32)> {
    let purchased = |j: u32| c.bought.binary_search_by_key(&j, |b| b.col).is_ok();
    model.recommend(&c.history, n, |j| !purchased(j))
}

pub(crate) fn repeat_list(repeat: &Repeat, c: &BasketCase, half_life: Option<f64>) -> Vec<(u32, f32)> {
    repeat.score(&c.bought, c.at, half_life).into_iter().map(|r| (r.0, r.1)).collect()
}

/// Columns by the number of baskets holding them, most first (ties by column).
pub(crate) fn g_topfreq(data: &TrainingData) -> Vec<u32> {
    let mut keys: Vec<(u32, u32, u64)> = data.purchases.iter().map(|p| (p.1, p.0, p.3)).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut counts = vec![0u32; data.items.len()];
    for k in keys {
        counts[k.0 as usize] += 1;
    }
    let mut cols: Vec<u32> = (0..counts.len() as u32).filter(|&j| counts[j as usize] > 0).collect();
    cols.sort_by_key(|&j| (std::cmp::Reverse(counts[j as usize]), j));
    cols
}

/// The customer's items in most baskets (ties: the most recent first), topped up with `global`'s.
pub(crate) fn p_topfreq(c: &BasketCase, global: &[u32], k: usize) -> Vec<u32> {
    let mut own: Vec<&Bought> = c.bought.iter().collect();
    own.sort_by_key(|b| (std::cmp::Reverse(b.baskets.len()), std::cmp::Reverse(b.baskets.last().copied()), b.col));
    let mut out: Vec<u32> = own.into_iter().map(|b| b.col).take(k).collect();
    for &j in global {
        if out.len() >= k {
            break;
        }
        if !out.contains(&j) {
            out.push(j);
        }
    }
    out
}

/// Hits in the top `k` of `ranked` over the basket's size (Li et al. 2023); 0 for an empty basket.
pub fn basket_recall(ranked: &[u32], basket: &[u32], k: usize) -> f64 {
    if basket.is_empty() {
        return 0.0;
    }
    ranked.iter().take(k).filter(|j| basket.binary_search(j).is_ok()).count() as f64 / basket.len() as f64
}

fn mean<T>(items: impl Iterator<Item = T>, f: impl Fn(T) -> f64) -> f64 {
    let (sum, n) = items.fold((0.0, 0usize), |(s, n), x| (s + f(x), n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// One ranker's next-basket figures at one K.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BasketScores {
    /// `affinity` (the default answer: the tuned blend), `buy_again`, the discovery model (`ease`, `item_knn`),
    /// `g_topfreq` or `p_topfreq`.
    pub model: String,
    pub k: usize,
    /// Hits / basket size, averaged over customers.
    pub recall: f64,
    pub ndcg: f64,
    /// Share of customers with at least one hit.
    pub phr: f64,
    pub customers: usize,
}

/// The next-basket protocol: tunes on the split as training would (the tuning never sees a held-out basket: it
/// holds out each training history's own last basket), then scores the default answer, its two parts and the
/// two baselines on every held-out basket at every K of `ks`. CPU-bound: two fits (tuning, then the models).
pub fn evaluate_next_basket(
    view: &ProjectView,
    settings: &Settings,
    ks: &[usize],
    now: i64,
) -> (Vec<BasketScores>, Tuning) {
    let outer = last_baskets(view, None, |_| true);
    // Validation inside the training part: each training history's own last basket.
    let tuning = tune(tuning_input(view, settings, Some(&outer.cutoff)), settings, now);
    let split = split_at(view, settings, tuning.half_life_days, &outer, |_| true);
    let settings = &tuning.pin(settings);
    let max_k = ks.iter().copied().max().unwrap_or(10);
    let repeat = Repeat::fit(&split.data.purchases, split.data.items.len());
    let global = g_topfreq(&split.data);
    let cases = split.cases;
    let model = Trained::train(split.data, settings, now);
    let name = model.info.model.clone();
    let mut rankings: Vec<(String, Vec<Vec<u32>>)> = Vec::new();
    let discovery: Vec<Vec<(u32, f32)>> = cases.iter().map(|c| discover(&model, c, max_k)).collect();
    let repeats: Vec<Vec<(u32, f32)>> =
        cases.iter().map(|c| repeat_list(&repeat, c, tuning.repeat_half_life_days)).collect();
    let cols = |l: &[(u32, f32)]| l.iter().map(|p| p.0).collect::<Vec<u32>>();
    let blended = discovery
        .iter()
        .zip(&repeats)
        .map(|(d, r)| blend(r, d, tuning.repeat_weight, max_k).into_iter().map(|b| b.0).collect())
        .collect();
    rankings.push(("affinity".into(), blended));
    rankings.push(("buy_again".into(), repeats.iter().map(|r| cols(r)).collect()));
    rankings.push((name, discovery.iter().map(|d| cols(d)).collect()));
    rankings.push(("g_topfreq".into(), cases.iter().map(|_| global.iter().copied().take(max_k).collect()).collect()));
    rankings.push(("p_topfreq".into(), cases.iter().map(|c| p_topfreq(c, &global, max_k)).collect()));
    let mut out = Vec::new();
    for (model, ranked) in rankings {
        for &k in ks {
            let each = cases.iter().zip(&ranked);
            let recall = mean(each.clone(), |(c, r)| basket_recall(r, &c.basket, k));
            let ndcg = mean(each.clone(), |(c, r)| ndcg_at_k(r, &c.basket, k));
            let phr = mean(each, |(c, r)| f64::from(u8::from(basket_recall(r, &c.basket, k) > 0.0)));
            out.push(BasketScores { model: model.clone(), k, recall, ndcg, phr, customers: cases.len() });
        }
    }
    (out, tuning)
}

#[cfg(test)]
mod tests {
    use affinity_core::Event;

    use super::*;

    const DAY: i64 = 86_400_000;

    fn buy(v: &mut ProjectView, seq: u64, customer: &str, item: &str, day: i64) {
        v.apply(seq, &Event::new("purchase", customer, item, day * DAY + 3_600_000));
    }

    /// u: {a, b} on day 1, {a} on day 2, {a, c} on day 3 (held out); w: {b} on day 1, {d} on day 4 (held out);
    /// x: one basket only (not a validation customer).
    fn shop() -> ProjectView {
        let mut v = ProjectView::default();
        let mut seq = 0;
        for (c, i, d) in [("u", "a", 1), ("u", "b", 1), ("u", "a", 2), ("u", "a", 3), ("u", "c", 3)] {
            seq += 1;
            buy(&mut v, seq, c, i, d);
        }
        for (c, i, d) in [("w", "b", 1), ("w", "d", 4), ("x", "b", 2)] {
            seq += 1;
            buy(&mut v, seq, c, i, d);
        }
        v
    }

    #[test]
    fn the_baselines_match_hand_computed_figures() {
        let v = shop();
        let (scores, _) = evaluate_next_basket(&v, &Settings::default(), &[1, 2], 10 * DAY);
        let get = |model: &str, k: usize| scores.iter().find(|s| s.model == model && s.k == k).unwrap().clone();
        // Training baskets: u {a,b}, u {a}, w {b}, x {b}: G-TopFreq = b (3 baskets), a (2).
        // u's basket {a, c}: G-TopFreq@1 [b] no hit; @2 [b, a] 1 hit of 2. w's basket {d}: none.
        let g1 = get("g_topfreq", 1);
        assert_eq!((g1.recall, g1.phr, g1.customers), (0.0, 0.0, 2));
        let g2 = get("g_topfreq", 2);
        assert_eq!((g2.recall, g2.phr), ((0.5 + 0.0) / 2.0, 0.5));
        // P-TopFreq: u's own a (2 baskets), then b: @1 [a] 1 hit of 2; w's own b, then a: no hit.
        let p1 = get("p_topfreq", 1);
        assert_eq!((p1.recall, p1.phr), (0.25, 0.5));
        assert!((p1.ndcg - 0.5 * (1.0 / 1.0)).abs() < 1e-12, "u's NDCG@1 is 1 (ideal 1 hit), w's 0: {p1:?}");
        let p2 = get("p_topfreq", 2);
        let u_ndcg = 1.0 / (1.0 + 1.0 / 3f64.log2());
        assert!((p2.ndcg - u_ndcg / 2.0).abs() < 1e-12, "{p2:?}");
    }

    #[test]
    fn tuning_inside_the_protocol_never_sees_a_held_out_basket() {
        let v = shop();
        let s = Settings::default();
        let (outer, cutoff) = split_before(&v, &s, None);
        assert_eq!(outer.cases.len(), 2, "u and w have two baskets or more; x has one");
        let (inner, _) = split_before(&v, &s, Some(&cutoff));
        // Inside u's training part ({a,b} day 1, {a} day 2) the last basket is day 2's; w has one basket left.
        assert_eq!(inner.cases.len(), 1);
        assert_eq!(inner.cases[0].at, 2 * DAY + 3_600_000);
        for p in &inner.data.purchases {
            assert!(p.2 < cutoff[p.0 as usize], "a held-out line reached the tuning's data: {p:?}");
        }
        assert!(inner.data.purchases.iter().all(|p| p.2 < inner.cases[0].at || p.0 != 0));
    }
}
