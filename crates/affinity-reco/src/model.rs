//! A project's trained models, served together: popularity per window, similar items, bought together, and the
//! personalized model.
//!
//! **Which personalized model.** EASE (Steck, WWW 2019) is the most accurate simple model for implicit feedback on
//! catalogs up to some ten thousand items, but it holds a dense `n × n` matrix and inverts it in `O(n³)`. Up to
//! [`crate::ease::MAX_ITEMS`] items (12,000: about 1.7 GB while inverting) the default (`personalized_model:
//! auto`) is EASE blended with iALS ([`IALS_SHARE`]); above, iALS alone ([`crate::ials`]: memory and time grow
//! with the interactions and the catalog linearly). `ease` and `large` ask for one of the two whatever the
//! catalog (EASE falls back to iALS past its limit). Item-kNN over the BM25 neighbour lists serves similar items.
//! Repeat purchases ([`crate::repeat`]) are fitted on every training and blended by the serving answer.
//!
//! Models index items by their own column numbers and keep the item ids, so a model stays valid when the views
//! renumber items after a restart.

use std::collections::HashMap;

use affinity_core::Settings;

use crate::data::{TrainingData, WINDOWS};
use crate::ease::{Ease, MAX_ITEMS};
use crate::ials::Ials;
use crate::kernels;
use crate::neighbors::{NEIGHBORS, Neighbors, best_first, bought_together, similar, top_k};
use crate::repeat::Repeat;

/// The personalized model.
#[derive(Debug, Clone, PartialEq)]
pub enum Personal {
    Ease(Ease),
    /// EASE and iALS, each customer's two score lists divided by their best and averaged with [`IALS_SHARE`]
    /// (the default up to EASE's limit).
    EaseIals(Ease, Ials),
    /// iALS ([`crate::ials`]): the model past EASE's limit, or by `personalized_model: large`.
    Ials(Ials),
    /// Scores with the similar-items lists.
    ItemKnn,
}

/// Facts about a training run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Info {
    /// The personalized model: `ease_ials`, `ease`, `ials` or `item_knn`.
    pub model: String,
    /// Epoch ms UTC.
    pub trained_at: i64,
    /// Wall time of the whole training, ms.
    pub fit_ms: u64,
    /// Wall time of each model's fit, ms: `popular`, `similar`, `bought_together`, `personalized`.
    pub fit_ms_by_model: std::collections::BTreeMap<String, u64>,
    /// Events read.
    pub events: u64,
    /// Distinct (customer, item) pairs with a positive weight.
    pub interactions: u64,
    pub customers: u64,
    pub items: u64,
    /// The repeat weight and half-life in use, and how they were chosen (see [`crate::tuning::tune`]); absent in
    /// models stored before tuning existed (weight 0).
    #[serde(default)]
    pub tuning: Option<crate::tuning::Tuning>,
}

/// Everything a project serves from.
#[derive(Debug, Clone)]
pub struct Trained {
    /// Item ids by column.
    pub items: Vec<String>,
    index: HashMap<String, u32>,
    /// Per window of [`WINDOWS`]: items with events in it, most popular first.
    pub popular: Vec<Vec<(u32, f32)>>,
    pub similar: Neighbors,
    pub together: Neighbors,
    pub personal: Personal,
    /// Repeat propensities and cycles ("buy it again").
    pub repeat: Repeat,
    pub info: Info,
}

/// iALS's share in the EASE + iALS blend. Chosen on a validation split carved out of the MovieLens-1M training file
/// (never its test file): 0.5 gave Recall@20 0.2957 on it, against 0.2930 for 0.3, EASE alone 0.2867 and iALS
/// alone 0.2929 (see BENCHMARKS.md).
pub const IALS_SHARE: f32 = 0.5;

impl Trained {
    /// Trains every model on `data`. `trained_at` is epoch ms.
    pub fn train(data: TrainingData, settings: &Settings, trained_at: i64) -> Trained {
        Trained::fit(data, settings, trained_at, true)
    }

    /// Trains popularity and the personalized (discovery) model only, leaving similar items, bought together and
    /// repeat purchases empty (unless the personalized model is item-kNN, which needs the similar items): what
    /// tuning scores blends with.
    pub fn train_discovery(data: TrainingData, settings: &Settings, trained_at: i64) -> Trained {
        Trained::fit(data, settings, trained_at, false)
    }

    fn fit(data: TrainingData, settings: &Settings, trained_at: i64, everything: bool) -> Trained {
        let started = std::time::Instant::now();
        let mut fit_ms_by_model = std::collections::BTreeMap::new();
        let mut timed = |name: &str, since: std::time::Instant| {
            fit_ms_by_model.insert(name.to_string(), since.elapsed().as_millis() as u64);
        };
        let TrainingData { items, matrix, popularity, purchases, events } = data;
        let t = std::time::Instant::now();
        let popular = popularity
            .iter()
            .map(|p| top_k(p.iter().enumerate().map(|(i, &s)| (i as u32, s as f32)), p.len()))
            .collect();
        timed("popular", t);
        let t = std::time::Instant::now();
        let empty = || Neighbors { lists: vec![Vec::new(); items.len()] };
        let knn_only = matrix.nnz() == 0;
        let similar = if everything || knn_only { similar(&matrix, NEIGHBORS) } else { empty() };
        timed("similar", t);
        let t = std::time::Instant::now();
        let window_ms = (settings.bought_together_window_hours * 3_600_000.0) as i64;
        let together =
            if everything { bought_together(&purchases, items.len(), window_ms, NEIGHBORS) } else { empty() };
        timed("bought_together", t);
        let t = std::time::Instant::now();
        let repeat = if everything { Repeat::fit(&purchases, items.len()) } else { Repeat::default() };
        timed("buy_again", t);
        let t = std::time::Instant::now();
        // EASE on the items with interactions only: catalog items nobody touched would add empty rows to invert.
        let (compact, active) = matrix.active_columns();
        let choice = settings.personalized_model.as_str();
        let ease = choice == "ease" || (choice == "auto" && active.len() <= MAX_ITEMS);
        let personal = if matrix.nnz() == 0 {
            Personal::ItemKnn
        } else if ease && active.len() <= MAX_ITEMS {
            let lambda = settings.ease_lambda.or(affinity_core::settings::DEFAULT_EASE_LAMBDA) as f32;
            let dropout = settings.ease_dropout.or(affinity_core::settings::DEFAULT_EASE_DROPOUT) as f32;
            match Ease::fit(&compact, lambda, dropout) {
                Ok(e) if choice == "auto" => Personal::EaseIals(e.spread(&active, items.len()), Ials::fit(&matrix)),
                Ok(e) => Personal::Ease(e.spread(&active, items.len())),
                Err(_) => Personal::Ials(Ials::fit(&matrix)),
            }
        } else {
            // `large`, `auto` past EASE's limit, or `ease` asked of a catalog too large for it.
            Personal::Ials(Ials::fit(&matrix))
        };
        drop(compact);
        timed("personalized", t);
        let customers = (0..matrix.rows).filter(|&r| !matrix.row(r).0.is_empty()).count() as u64;
        let active_items = popularity.first().map_or(0, |p| p.iter().filter(|&&s| s > 0.0).count()) as u64;
        let info = Info {
            model: match personal {
                Personal::Ease(_) => "ease".into(),
                Personal::EaseIals(..) => "ease_ials".into(),
                Personal::Ials(_) => "ials".into(),
                Personal::ItemKnn => "item_knn".into(),
            },
            trained_at,
            fit_ms: started.elapsed().as_millis() as u64,
            fit_ms_by_model,
            events,
            interactions: matrix.nnz() as u64,
            customers,
            items: active_items,
            tuning: None,
        };
        let mut trained = Trained::assemble(items, popular, similar, together, personal, info);
        trained.repeat = repeat;
        trained
    }

    /// A bundle from its parts (training, or reading a stored one).
    pub(crate) fn assemble(
        items: Vec<String>,
        popular: Vec<Vec<(u32, f32)>>,
        similar: Neighbors,
        together: Neighbors,
        personal: Personal,
        info: Info,
    ) -> Trained {
        let index = items.iter().enumerate().map(|(i, id)| (id.clone(), i as u32)).collect();
        Trained { items, index, popular, similar, together, personal, repeat: Repeat::default(), info }
    }

    /// The repeat weight (0–1) and repeat half-life in use: `settings.repeat_weight` when pinned, else what tuning
    /// chose at training (0 without tuning).
    pub fn repeat_blend(&self, settings: &Settings) -> (f32, Option<f64>) {
        let tuned = self.info.tuning.as_ref();
        let weight = settings.repeat_weight.map(|w| w as f32).or(tuned.map(|t| t.repeat_weight)).unwrap_or(0.0);
        (weight, tuned.and_then(|t| t.repeat_half_life_days))
    }

    /// The interactions' half-life in days serving decays live histories with: the pinned setting, else what the
    /// models were trained with (null: no decay).
    pub fn half_life(&self, settings: &Settings) -> Option<f64> {
        match settings.half_life_days {
            affinity_core::Tunable::Pinned(h) => h,
            affinity_core::Tunable::Auto => self.info.tuning.as_ref().and_then(|t| t.half_life_days),
        }
    }

    /// The column of item `id`.
    pub fn column(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// The popularity list of window `name` (`all`, `1d`, `7d`, `30d`, `90d`).
    pub fn popular(&self, window: &str) -> Option<&[(u32, f32)]> {
        let w = WINDOWS.iter().position(|(n, _)| *n == window)?;
        self.popular.get(w).map(Vec::as_slice)
    }

    /// The best `n` items for a history of `(column, weight)` pairs, among columns `accept` allows, best first, as
    /// `(column, score)`; [`Trained::reason`] says why for the ones shown.
    pub fn recommend(&self, history: &[(u32, f32)], n: usize, accept: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
        self.recommend_with(&self.personal, history, n, accept)
    }

    /// The same with item-kNN over the similar-item lists, whatever the personalized model (for comparisons).
    pub fn recommend_knn(&self, history: &[(u32, f32)], n: usize, accept: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
        self.recommend_with(&Personal::ItemKnn, history, n, accept)
    }

    fn recommend_with(
        &self,
        personal: &Personal,
        history: &[(u32, f32)],
        n: usize,
        accept: impl Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        let cols = self.items.len();
        // For EASE's scatter, longer than `cols` ([`kernels::scatter_len`]) and cut back to `cols` after it.
        let len = match personal {
            Personal::Ease(_) | Personal::EaseIals(..) => kernels::scatter_len(cols),
            Personal::Ials(_) | Personal::ItemKnn => cols,
        };
        let mut scores = vec![0f32; len];
        match personal {
            Personal::Ials(m) => {
                m.score_into(&m.fold_in(history), &mut scores[..m.n.min(cols)]);
                // iALS reconstructs the history itself (EASE's zero diagonal does not): its candidates are the
                // items not in it, and a score of 0 is no candidate.
                zero_history(&mut scores, history);
            }
            Personal::Ease(e) | Personal::EaseIals(e, _) => {
                let (indptr, cols, vals) = (&e.indptr, &e.cols, &e.vals);
                kernels::wide(kernels::ScatterRows { history, indptr, cols, vals, scores: &mut scores });
            }
            Personal::ItemKnn => {
                for &(i, w) in history {
                    for &(j, b) in self.similar.of(i) {
                        if let Some(s) = scores.get_mut(j as usize) {
                            *s += w * b;
                        }
                    }
                }
            }
        }
        scores.truncate(cols);
        if let Personal::EaseIals(_, m) = personal {
            // Each list divided by its best, then averaged; the history's own items get no iALS part (iALS
            // reconstructs them, where EASE's zero diagonal scores them from the other items only).
            let mut factors = vec![0f32; cols];
            m.score_into(&m.fold_in(history), &mut factors[..m.n.min(cols)]);
            zero_history(&mut factors, history);
            let best = |v: &[f32]| v.iter().fold(f32::MIN_POSITIVE, |a, &b| a.max(b));
            let (ke, ki) = ((1.0 - IALS_SHARE) / best(&scores), IALS_SHARE / best(&factors));
            for (s, f) in scores.iter_mut().zip(&factors) {
                *s = ke * *s + ki * f;
            }
        }
        top_accepted(&scores, n, accept)
    }

    /// Why column `col` was recommended for `history`: the history item that adds most to its score (for iALS, whose
    /// factors agree most with the answer's, times its weight); `None` when none adds anything. Costs about one
    /// binary search per history item, so it is asked only of the items shown.
    pub fn reason(&self, history: &[(u32, f32)], col: u32) -> Option<u32> {
        let part = |i: u32| -> f32 {
            match &self.personal {
                Personal::Ease(e) | Personal::EaseIals(e, _) => e.weight(i, col),
                Personal::Ials(m) if (i as usize) < m.n && (col as usize) < m.n => kernels::dot(m.item(i), m.item(col)),
                Personal::Ials(_) => 0.0,
                Personal::ItemKnn => self.similar.of(i).iter().find(|p| p.0 == col).map_or(0.0, |p| p.1),
            }
        };
        let mut best = (0f32, None);
        for &(i, w) in history {
            let v = w * part(i);
            if v > best.0 {
                best = (v, Some(i));
            }
        }
        best.1
    }
}

/// Sets the scores of the history's columns to 0 (no candidate).
fn zero_history(scores: &mut [f32], history: &[(u32, f32)]) {
    for &(i, _) in history {
        if let Some(s) = scores.get_mut(i as usize) {
            *s = 0.0;
        }
    }
}

/// The `n` best columns of `scores` (score > 0) that `accept` allows, best first, ties to the smaller column.
/// `accept` reads the catalog, so it is asked of the best columns first, a few more than `n` at a time, instead of
/// every column: the best `m` are selected (`O(len)`), sorted and filtered; only if too few pass is the next block,
/// four times larger, taken from the rest.
///
/// The first block is found in one pass that keeps only columns better than the block's current floor (a buffer
/// of twice the block, cut back to the block when it fills), instead of collecting every positive column; only when
/// too few of it pass `accept` are all columns collected. Both give the same answer.
pub fn top_accepted(scores: &[f32], n: usize, accept: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
    let m = n + 32;
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(2 * m);
    let (mut floor, mut cut) = (0f32, false);
    for (j, &s) in scores.iter().enumerate() {
        // Columns come in ascending order, so one scoring the floor ranks after the block's own column of that
        // score: strictly better is enough.
        if s > floor {
            best.push((j as u32, s));
            if best.len() == 2 * m {
                best.select_nth_unstable_by(m - 1, best_first);
                best.truncate(m);
                floor = best.iter().fold(f32::INFINITY, |a, p| a.min(p.1));
                cut = true;
            }
        }
    }
    if best.len() > m {
        best.select_nth_unstable_by(m - 1, best_first);
        best.truncate(m);
        cut = true;
    }
    best.sort_unstable_by(best_first);
    let out: Vec<(u32, f32)> = best.iter().copied().filter(|&(j, _)| accept(j)).take(n).collect();
    if out.len() == n || !cut {
        return out;
    }
    every_positive(scores, n, accept)
}

/// [`top_accepted`] over every positive column, in blocks growing four times.
fn every_positive(scores: &[f32], n: usize, accept: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
    let mut v: Vec<(u32, f32)> =
        scores.iter().enumerate().filter(|p| *p.1 > 0.0).map(|(j, &s)| (j as u32, s)).collect();
    let mut out = Vec::with_capacity(n.min(v.len()));
    let mut rest = &mut v[..];
    let mut block = n + 32;
    while out.len() < n && !rest.is_empty() {
        let take = block.min(rest.len());
        if take < rest.len() {
            rest.select_nth_unstable_by(take, best_first);
        }
        let (head, tail) = rest.split_at_mut(take);
        head.sort_unstable_by(best_first);
        let missing = n - out.len();
        out.extend(head.iter().copied().filter(|&(j, _)| accept(j)).take(missing));
        rest = tail;
        block = block.saturating_mul(4);
    }
    out
}

#[cfg(test)]
mod tests {
    use affinity_core::Event;
    use affinity_views::ProjectView;

    use super::*;
    use crate::data::extract;

    use crate::test_data::clusters;

    fn event(kind: &str, customer: &str, item: &str, ts: i64) -> Event {
        Event::new(kind, customer, item, ts)
    }

    #[test]
    fn tastes_stay_in_their_cluster() {
        let v = clusters();
        let t = Trained::train(extract(&v, &Settings::default()), &Settings::default(), 0);
        assert_eq!(t.info.model, "ease_ials");
        assert_eq!((t.info.customers, t.info.items, t.info.interactions), (8, 8, 24));
        let a0 = t.column("a0").unwrap();
        let recs = t.recommend(&[(a0, 1.0)], 3, |j| j != a0);
        let names: Vec<&str> = recs.iter().map(|r| t.items[r.0 as usize].as_str()).collect();
        assert_eq!(names.len(), 3);
        assert!(names.iter().all(|n| n.starts_with('a')), "{names:?}");
        assert!(recs.iter().all(|r| t.reason(&[(a0, 1.0)], r.0) == Some(a0)), "the reason is the one history item");
        let similar: Vec<&str> = t.similar.of(a0).iter().map(|p| t.items[p.0 as usize].as_str()).collect();
        assert_eq!(similar.len(), 3, "only the items of its own cluster: {similar:?}");
        assert!(similar.iter().all(|n| n.starts_with('a')));
    }

    #[test]
    fn top_accepted_equals_filtering_every_column_first() {
        let scores: Vec<f32> = (0..500u32).map(|j| ((j * 7919) % 211) as f32 - 20.0).collect();
        for (n, keep) in [(10, 1), (10, 3), (5, 97), (50, 499), (3, 1000)] {
            let accept = |j: u32| j.is_multiple_of(keep);
            let slow = top_k(scores.iter().enumerate().map(|(j, &s)| (j as u32, s)).filter(|p| accept(p.0)), n);
            assert_eq!(top_accepted(&scores, n, accept), slow, "n {n}, every {keep}th column");
        }
        assert!(top_accepted(&[0.0, -1.0], 3, |_| true).is_empty(), "no positive score, no candidate");
        // Enough columns that the one-pass block is cut back several times, with many ties.
        let scores: Vec<f32> = (0..5_000u32).map(|j| ((j * 7919) % 97) as f32 - 10.0).collect();
        for (n, keep) in [(10, 1), (10, 7), (1, 1), (40, 2), (5, 4_999)] {
            let accept = |j: u32| j.is_multiple_of(keep);
            let slow = top_k(scores.iter().enumerate().map(|(j, &s)| (j as u32, s)).filter(|p| accept(p.0)), n);
            assert_eq!(top_accepted(&scores, n, accept), slow, "n {n}, every {keep}th of 5,000 columns");
        }
    }

    #[test]
    fn item_knn_gives_the_same_clusters() {
        let v = clusters();
        let mut t = Trained::train(extract(&v, &Settings::default()), &Settings::default(), 0);
        t.personal = Personal::ItemKnn;
        let b1 = t.column("b1").unwrap();
        let recs = t.recommend(&[(b1, 1.0)], 10, |j| j != b1);
        assert_eq!(recs.len(), 3);
        assert!(recs.iter().all(|r| t.items[r.0 as usize].starts_with('b')));
    }

    #[test]
    fn weights_decide_popularity_and_baskets_come_from_purchases() {
        let mut v = ProjectView::default();
        v.apply(1, &event("view", "u1", "viewed", 0));
        v.apply(2, &event("view", "u2", "viewed", 0));
        v.apply(3, &event("purchase", "u1", "rice", 1_000));
        v.apply(4, &event("purchase", "u1", "curry", 2_000));
        v.apply(5, &event("purchase", "u2", "rice", 3_000));
        v.apply(6, &event("purchase", "u2", "curry", 4_000));
        v.apply(7, &event("purchase", "u2", "soap", 10 * 86_400_000));
        let s = Settings::default();
        let t = Trained::train(extract(&v, &s), &s, 0);
        let popular: Vec<&str> = t.popular("all").unwrap().iter().map(|p| t.items[p.0 as usize].as_str()).collect();
        assert_eq!(popular[..2], ["rice", "curry"], "two purchases (weight 4 each) beat two views; ties by column");
        assert_eq!(popular.last(), Some(&"viewed"));
        let recent: Vec<&str> = t.popular("1d").unwrap().iter().map(|p| t.items[p.0 as usize].as_str()).collect();
        assert_eq!(recent, ["soap"], "within a day of the newest event");
        let rice = t.column("rice").unwrap();
        let together: Vec<(&str, f32)> =
            t.together.of(rice).iter().map(|p| (t.items[p.0 as usize].as_str(), p.1)).collect();
        assert_eq!(together, [("curry", 2.0)], "soap came ten days later");
    }
}
