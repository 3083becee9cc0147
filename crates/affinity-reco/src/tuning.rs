//! What training chooses for each project on the project's own last baskets (issue 14, §2), at every training:
//! the discovery model's main parameters (EASE's λ and dropout, the interactions' half-life) and the blend of
//! repeat purchases with discovery (the repeat weight and the repeat frequency's half-life).
//!
//! **The search.** Each customer's last basket is held out ([`crate::basket`]) for at most
//! [`MAX_TUNING_FIT_CUSTOMERS`] customers (an even sample beyond), of whom at most [`MAX_TUNING_CUSTOMERS`] are
//! scored.
//! 1. *Discovery parameters*, by coordinate search in this order: the half-life among [`HALF_LIVES`]; then λ,
//!    doubled (else halved) from the default while that helps, within [`EASE_LAMBDAS`]; then dropout among
//!    [`EASE_DROPOUTS`]. Each step keeps the best Recall@[`TUNING_K`] of the discovery model alone on the held-out
//!    items the customer never bought (ties: NDCG, then the value tried first). The fits run on a proxy catalog,
//!    the [`PROXY_ITEMS`] items with most interactions, so each is an EASE of at most 1,000 items whatever the
//!    catalog; one Gram matrix per half-life serves every λ and dropout. Past EASE's limit, or with
//!    `personalized_model: large`, only the half-life is searched, with iALS on the same proxy. Pinned parameters
//!    are not searched; with fewer than [`MIN_DISCOVERY_CUSTOMERS`] validation customers the defaults stay.
//! 2. *The repeat blend*, when someone bought an item twice and the weight is not pinned: one fit of the discovery
//!    model with the chosen parameters on the sample's whole catalog, then every weight of [`WEIGHTS`] × every
//!    half-life of [`REPEAT_HALF_LIVES`] scored in memory.
//!
//! Training then extracts the project's data with the chosen half-life and fits every model on it.
//!
//! Not searched: the neighbour count of similar items and bought together (neither is part of the personalized
//! answer since iALS took item-kNN's place past EASE's limit, and the next basket does not measure them), and
//! iALS's own factors, α₀ and λ (chosen on a MovieLens-1M validation split, [`crate::ials`]).
//!
//! **Its cost**, measured on MovieLens-1M (6,040 customers, 3,677 items, 800,167 interactions; BENCHMARKS.md):
//! about 3 s — 0.5–1.0 s reading the four splits, 0.4 s for their proxies and Gram matrices, then eleven scored
//! candidates of about 0.04 s of fitting and 0.14 s of scoring 2,241 customers each. Step 2 adds one discovery fit
//! when the project has repeats.

use std::sync::RwLock;

use affinity_core::settings::{DEFAULT_EASE_DROPOUT, DEFAULT_EASE_LAMBDA};
use affinity_core::{Settings, Tunable};
use affinity_views::ProjectView;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::basket::{BasketCase, NextBasket, basket_recall, discover, g_topfreq, last_baskets, p_topfreq, split_at};
use crate::ease::{Ease, MAX_ITEMS};
use crate::ials::Ials;
use crate::matrix::Matrix;
use crate::metrics::ndcg_at_k;
use crate::model::Trained;
use crate::neighbors::top_k;
use crate::repeat::{Repeat, blend};

/// Most validation customers tuning scores (an even sample of them beyond).
pub const MAX_TUNING_CUSTOMERS: usize = 5_000;
/// Most customers whose events tuning reads and fits on (an even sample of them beyond).
pub const MAX_TUNING_FIT_CUSTOMERS: usize = 50_000;
/// The cut-off tuning maximises Recall at.
pub const TUNING_K: usize = 10;
/// Repeat weights tried.
pub const WEIGHTS: [f32; 11] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
/// Half-lives of the repeat frequency tried, in days (`None`: every basket counts 1).
pub const REPEAT_HALF_LIVES: [Option<f64>; 4] = [None, Some(90.0), Some(30.0), Some(7.0)];
/// Half-lives of the interactions' weights tried, in days (`None`: no decay, where the search starts).
pub const HALF_LIVES: [Option<f64>; 4] = [None, Some(365.0), Some(90.0), Some(30.0)];
/// The range of EASE penalties λ tried, by doubling or halving from the default ([`DEFAULT_EASE_LAMBDA`]).
pub const EASE_LAMBDAS: (f64, f64) = (15.625, 16_000.0);
/// EASE dropout emphases tried.
pub const EASE_DROPOUTS: [f64; 4] = [0.0, 0.2, 0.33, 0.5];
/// Items of the proxy catalog the discovery parameters are searched on (those with most interactions).
pub const PROXY_ITEMS: usize = 1_000;
/// Fewer validation customers with a new item than this, and the discovery parameters keep their defaults.
pub const MIN_DISCOVERY_CUSTOMERS: usize = 50;
/// Discovery candidates kept per validation customer for the repeat blend.
const CANDIDATES: usize = 100;

/// What tuning chose, and the validation figures it chose on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Tuning {
    /// Weight of repeat purchases in the personalized answer, 0–1 (0: discovery alone, purchases left out).
    pub repeat_weight: f32,
    /// Half-life of the repeat frequency in days; null: every basket counts alike.
    pub repeat_half_life_days: Option<f64>,
    /// How the repeat weight was chosen: `tuned` (on the validation baskets), `pinned` (by the settings),
    /// `purchases_excluded` (the `exclude` setting lists purchases: weight 0) or `no_repeats` (nobody bought an item
    /// twice, or no customer has two baskets: weight 0 without validation).
    pub source: String,
    /// Validation customers the repeat blend was scored on (their last basket held out).
    pub customers: usize,
    /// The cut-off of the validation figures.
    pub k: usize,
    /// Recall@K of the chosen blend on the validation baskets; null without validation.
    pub recall: Option<f64>,
    /// Recall@K of P-TopFreq on the same baskets; null without validation.
    pub p_topfreq_recall: Option<f64>,
    /// EASE's λ the models were trained with.
    #[serde(default = "default_lambda")]
    pub ease_lambda: f64,
    /// EASE's dropout emphasis the models were trained with.
    #[serde(default = "default_dropout")]
    pub ease_dropout: f64,
    /// The interactions' half-life in days the models were trained with (and serving decays live histories with,
    /// unless the settings pin one); null: no decay.
    #[serde(default)]
    pub half_life_days: Option<f64>,
    /// How those three were chosen: `tuned` (searched on the validation baskets; pinned ones kept), `pinned` (all
    /// three by the settings) or `defaults` (too few validation customers with a new item).
    #[serde(default = "default_discovery_source")]
    pub discovery_source: String,
    /// Validation customers the discovery parameters were scored on (with an item of the proxy catalog in their
    /// held-out basket that they never bought before).
    #[serde(default)]
    pub discovery_customers: usize,
    /// Recall@K of the discovery model on those customers with the chosen values, on the proxy catalog.
    #[serde(default)]
    pub discovery_recall: Option<f64>,
    /// The same with the defaults (no decay, λ 500, dropout 0.33; pinned values kept): what tuning gained.
    #[serde(default)]
    pub discovery_default_recall: Option<f64>,
}

fn default_lambda() -> f64 {
    DEFAULT_EASE_LAMBDA
}

fn default_dropout() -> f64 {
    DEFAULT_EASE_DROPOUT
}

fn default_discovery_source() -> String {
    "defaults".into()
}

impl Tuning {
    /// No repeat weight and the settings' (or default) discovery parameters: a training without tuning.
    pub fn none(source: &str, settings: &Settings) -> Tuning {
        let d = Discovery::start(settings);
        Tuning {
            repeat_weight: 0.0,
            repeat_half_life_days: None,
            source: source.into(),
            customers: 0,
            k: TUNING_K,
            recall: None,
            p_topfreq_recall: None,
            ease_lambda: d.ease_lambda,
            ease_dropout: d.ease_dropout,
            half_life_days: d.half_life_days,
            discovery_source: default_discovery_source(),
            discovery_customers: 0,
            discovery_recall: None,
            discovery_default_recall: None,
        }
    }

    /// `settings` with EASE's λ and dropout pinned to what was chosen: what the models fit with (the chosen
    /// half-life goes to extraction instead, [`crate::data::extract_tuned`]).
    pub fn pin(&self, settings: &Settings) -> Settings {
        Discovery {
            ease_lambda: self.ease_lambda,
            ease_dropout: self.ease_dropout,
            half_life_days: self.half_life_days,
        }
        .pin(settings)
    }
}

/// The discovery model's tuned parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Discovery {
    ease_lambda: f64,
    ease_dropout: f64,
    half_life_days: Option<f64>,
}

impl Discovery {
    /// The pinned values, else the defaults: where the search starts.
    fn start(settings: &Settings) -> Discovery {
        Discovery {
            ease_lambda: settings.ease_lambda.or(DEFAULT_EASE_LAMBDA),
            ease_dropout: settings.ease_dropout.or(DEFAULT_EASE_DROPOUT),
            half_life_days: settings.half_life_days.or(None),
        }
    }

    fn pin(self, settings: &Settings) -> Settings {
        Settings {
            ease_lambda: Tunable::Pinned(self.ease_lambda),
            ease_dropout: Tunable::Pinned(self.ease_dropout),
            ..settings.clone()
        }
    }
}

/// What tuning reads from the view: the validation split once per half-life it will try (one when the settings
/// pin it), all of the same sampled customers and baskets.
pub struct TuningInput {
    pub splits: Vec<(Option<f64>, NextBasket)>,
}

/// The tuning input of `view`'s events before `before[customer]` (all, without it): see the module.
pub fn tuning_input(view: &ProjectView, settings: &Settings, before: Option<&[i64]>) -> TuningInput {
    let step = view.customers_len().div_ceil(MAX_TUNING_FIT_CUSTOMERS).max(1);
    let keep = |c: u32| (c as usize).is_multiple_of(step);
    let holdout = last_baskets(view, before, keep);
    let half_lives = match settings.half_life_days {
        Tunable::Pinned(h) => vec![h],
        Tunable::Auto if holdout.is_empty() => vec![None],
        Tunable::Auto => HALF_LIVES.to_vec(),
    };
    let splits = half_lives.into_iter().map(|h| (h, split_at(view, settings, h, &holdout, keep))).collect();
    TuningInput { splits }
}

/// Tunes on `view` (read-locked twice, briefly: for the tuning input, then for the training data with the chosen
/// half-life), then trains every model. Returns the models and the view's applied sequence at extraction. The
/// tuning's time is in `fit_ms` and `fit_ms_by_model.tuning`.
pub fn train_project(view: &RwLock<ProjectView>, settings: &Settings, trained_at: i64) -> (Trained, u64) {
    let read = || view.read().unwrap_or_else(|p| p.into_inner());
    let started = std::time::Instant::now();
    let input = tuning_input(&read(), settings, None);
    let tuning = tune(input, settings, trained_at);
    let tuning_ms = started.elapsed().as_millis() as u64;
    let effective = tuning.pin(settings);
    let (data, applied) = {
        let v = read();
        (crate::data::extract_tuned(&v, settings, tuning.half_life_days), v.applied())
    };
    let mut trained = Trained::train(data, &effective, trained_at);
    trained.info.fit_ms += tuning_ms;
    trained.info.fit_ms_by_model.insert("tuning".into(), tuning_ms);
    trained.info.tuning = Some(tuning);
    (trained, applied)
}

/// Whether the `exclude` setting is a list naming purchases: then no repeat purchase is ever answered.
fn purchases_excluded(settings: &Settings) -> bool {
    matches!(&settings.exclude, affinity_core::Exclude::Types(t) if t.iter().any(|k| k == affinity_core::catalog::PURCHASE))
}

/// Chooses the discovery parameters, then the repeat blend, on `input` (see the module).
pub fn tune(mut input: TuningInput, settings: &Settings, now: i64) -> Tuning {
    let (at, mut tuning) = tune_discovery(&input, settings);
    let Some((_, split)) = (at < input.splits.len()).then(|| input.splits.swap_remove(at)) else {
        return tuning;
    };
    let repeat = Repeat::fit(&split.data.purchases, split.data.items.len());
    if let Some(w) = settings.repeat_weight {
        tuning.repeat_weight = w as f32;
        tuning.source = "pinned".into();
        return tuning;
    }
    if purchases_excluded(settings) {
        tuning.source = "purchases_excluded".into();
        return tuning;
    }
    if !repeat.has_repeats() || split.cases.is_empty() {
        return tuning;
    }
    let cases = sample(split.cases);
    let global = g_topfreq(&split.data);
    let model = Trained::train_discovery(split.data, &tuning.pin(settings), now);
    let discovery: Vec<Vec<(u32, f32)>> = cases.par_iter().map(|c| discover(&model, c, CANDIDATES)).collect();
    // (Recall@K, NDCG@K, weight, half-life): the best recall, ties broken by NDCG (the same hits ranked higher),
    // then by the smaller weight and the earlier half-life.
    let mut best = (f64::MIN, f64::MIN, 0.0f32, None);
    let repeats_by_half_life: Vec<Vec<Vec<(u32, f32)>>> = REPEAT_HALF_LIVES
        .iter()
        .map(|&h| cases.iter().map(|c| crate::basket::repeat_list(&repeat, c, h)).collect())
        .collect();
    for w in WEIGHTS {
        for (&half_life, repeats) in REPEAT_HALF_LIVES.iter().zip(&repeats_by_half_life) {
            let each = cases.iter().zip(&discovery).zip(repeats).map(|((c, d), r)| {
                let ranked: Vec<u32> = blend(r, d, w, TUNING_K).into_iter().map(|b| b.0).collect();
                (basket_recall(&ranked, &c.basket, TUNING_K), ndcg_at_k(&ranked, &c.basket, TUNING_K))
            });
            let (recall, ndcg) = each.fold((0.0, 0.0), |s, x| (s.0 + x.0, s.1 + x.1));
            let (recall, ndcg) = (recall / cases.len() as f64, ndcg / cases.len() as f64);
            if better((recall, ndcg), (best.0, best.1)) {
                best = (recall, ndcg, w, half_life);
            }
        }
    }
    let p_topfreq: f64 =
        cases.iter().map(|c| basket_recall(&p_topfreq(c, &global, TUNING_K), &c.basket, TUNING_K)).sum();
    Tuning {
        repeat_weight: best.2,
        repeat_half_life_days: best.3,
        source: "tuned".into(),
        customers: cases.len(),
        recall: Some(best.0),
        p_topfreq_recall: Some(p_topfreq / cases.len() as f64),
        ..tuning
    }
}

/// Strictly better: a higher recall, or the same recall and a higher NDCG.
fn better(a: (f64, f64), b: (f64, f64)) -> bool {
    a.0 > b.0 + 1e-9 || (a.0 > b.0 - 1e-9 && a.1 > b.1 + 1e-9)
}

/// At most [`MAX_TUNING_CUSTOMERS`] cases, evenly spaced.
fn sample(cases: Vec<BasketCase>) -> Vec<BasketCase> {
    let step = cases.len().div_ceil(MAX_TUNING_CUSTOMERS).max(1);
    cases.into_iter().step_by(step).collect()
}

/// One validation customer on the proxy catalog.
struct ProxyCase {
    history: Vec<(u32, f32)>,
    /// Proxy columns the customer bought before (left out of the answer, as the default answer does).
    bought: Vec<u32>,
    /// The held-out basket's proxy columns the customer never bought before, sorted.
    new: Vec<u32>,
}

/// The discovery search of step 1 of the module; returns the index of the chosen half-life's split in `input` and
/// the tuning with the discovery fields set (repeat weight 0, source `no_repeats`).
fn tune_discovery(input: &TuningInput, settings: &Settings) -> (usize, Tuning) {
    let mut tuning = Tuning::none("no_repeats", settings);
    let start = Discovery::start(settings);
    let all_pinned = settings.ease_lambda.pinned().is_some()
        && settings.ease_dropout.pinned().is_some()
        && settings.half_life_days.pinned().is_some();
    if all_pinned {
        tuning.discovery_source = "pinned".into();
        return (0, tuning);
    }
    let Some((_, first)) = input.splits.first() else { return (0, tuning) };
    let proxy = proxy_columns(&first.data.matrix, PROXY_ITEMS);
    let step = first.cases.len().div_ceil(MAX_TUNING_CUSTOMERS).max(1);
    let per_split: Vec<(Matrix, Vec<ProxyCase>)> =
        input.splits.iter().map(|(_, s)| proxy_split(s, &proxy, step)).collect();
    let customers = per_split[0].1.len();
    if customers < MIN_DISCOVERY_CUSTOMERS {
        return (0, tuning);
    }
    let active = first.data.matrix.active_columns().1.len();
    let ease = match settings.personalized_model.as_str() {
        "ease" => true,
        "large" => false,
        _ => active <= MAX_ITEMS,
    };
    // EASE's Gram matrix of each split's proxy, computed once: λ and dropout only change its diagonal.
    let grams: Vec<Option<faer::Mat<f32>>> =
        per_split.iter().map(|(m, _)| if ease { Ease::gram(m).ok() } else { None }).collect();
    let score = |at: usize, d: Discovery| -> (f64, f64) {
        let (matrix, cases) = &per_split[at];
        if ease {
            let fitted = grams[at].clone().map(|g| Ease::from_gram(g, d.ease_lambda as f32, d.ease_dropout as f32));
            match fitted {
                Some(Ok(e)) => evaluate(cases, matrix.cols, |h, s| {
                    for &(i, w) in h {
                        let (cols, vals) = e.row(i);
                        cols.iter().zip(vals).for_each(|(&j, &b)| s[j as usize] += w * b);
                    }
                }),
                _ => (0.0, 0.0),
            }
        } else {
            let m = Ials::fit(matrix);
            evaluate(cases, matrix.cols, |h, s| m.score_into(&m.fold_in(h), s))
        }
    };
    let (mut at, mut best) = (0, start);
    let mut best_score = score(0, start);
    let default_score = best_score;
    let mut consider = |candidate_at: usize, d: Discovery, at: &mut usize, best: &mut Discovery| {
        let s = score(candidate_at, d);
        if better(s, best_score) {
            (best_score, *at, *best) = (s, candidate_at, d);
        }
    };
    if settings.half_life_days.pinned().is_none() {
        for i in 1..input.splits.len() {
            consider(i, Discovery { half_life_days: input.splits[i].0, ..best }, &mut at, &mut best);
        }
    }
    if ease && settings.ease_lambda.pinned().is_none() {
        // Doubling, then (when doubling did not help) halving, while it helps, within [`EASE_LAMBDAS`].
        for factor in [2.0, 0.5] {
            let from = best.ease_lambda;
            let mut l = from * factor;
            while (EASE_LAMBDAS.0..=EASE_LAMBDAS.1).contains(&l) {
                consider(at, Discovery { ease_lambda: l, ..best }, &mut at, &mut best);
                if best.ease_lambda != l {
                    break;
                }
                l *= factor;
            }
            if best.ease_lambda != from {
                break;
            }
        }
    }
    if ease && settings.ease_dropout.pinned().is_none() {
        let from = best.ease_dropout;
        for p in EASE_DROPOUTS.into_iter().filter(|&p| p != from) {
            consider(at, Discovery { ease_dropout: p, ..best }, &mut at, &mut best);
        }
    }
    tuning.ease_lambda = best.ease_lambda;
    tuning.ease_dropout = best.ease_dropout;
    tuning.half_life_days = best.half_life_days;
    tuning.discovery_source = "tuned".into();
    tuning.discovery_customers = customers;
    tuning.discovery_recall = Some(best_score.0);
    tuning.discovery_default_recall = Some(default_score.0);
    (at, tuning)
}

/// Mean Recall@[`TUNING_K`] and NDCG@K of a scorer (adding a history's scores into a score per proxy column) on
/// the proxy cases: each customer's history and earlier purchases left out of the answer.
fn evaluate(cases: &[ProxyCase], cols: usize, scorer: impl Fn(&[(u32, f32)], &mut [f32]) + Sync) -> (f64, f64) {
    let (recall, ndcg) = cases
        .par_iter()
        .map(|c| {
            let mut scores = vec![0f32; cols];
            scorer(&c.history, &mut scores);
            let out =
                |j: u32| c.bought.binary_search(&j).is_ok() || c.history.binary_search_by_key(&j, |p| p.0).is_ok();
            let ranked: Vec<u32> =
                top_k(scores.iter().enumerate().map(|(j, &s)| (j as u32, s)).filter(|&(j, _)| !out(j)), TUNING_K)
                    .into_iter()
                    .map(|p| p.0)
                    .collect();
            (basket_recall(&ranked, &c.new, TUNING_K), ndcg_at_k(&ranked, &c.new, TUNING_K))
        })
        .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    let n = cases.len().max(1) as f64;
    (recall / n, ndcg / n)
}

/// Per column of `m`, its proxy column: the `n` columns with most non-zero cells (ties: the lower column) get
/// 0..n in column order, the others `u32::MAX`.
fn proxy_columns(m: &Matrix, n: usize) -> Vec<u32> {
    let mut counts = vec![0u32; m.cols];
    for r in 0..m.rows {
        m.row(r).0.iter().for_each(|&j| counts[j as usize] += 1);
    }
    let mut order: Vec<u32> = (0..m.cols as u32).filter(|&j| counts[j as usize] > 0).collect();
    order.sort_by_key(|&j| (std::cmp::Reverse(counts[j as usize]), j));
    order.truncate(n);
    order.sort_unstable();
    let mut proxy = vec![u32::MAX; m.cols];
    for (p, &j) in order.iter().enumerate() {
        proxy[j as usize] = p as u32;
    }
    proxy
}

/// A split's matrix and validation cases on the proxy catalog (every `step`-th case, those with a new item).
fn proxy_split(split: &NextBasket, proxy: &[u32], step: usize) -> (Matrix, Vec<ProxyCase>) {
    let cols = proxy.iter().filter(|&&p| p != u32::MAX).count();
    let to_proxy = |j: u32| proxy.get(j as usize).copied().filter(|&p| p != u32::MAX);
    let m = &split.data.matrix;
    let mut triples = Vec::new();
    for r in 0..m.rows {
        let (js, vs) = m.row(r);
        triples.extend(js.iter().zip(vs).filter_map(|(&j, &v)| to_proxy(j).map(|p| (r as u32, p, v))));
    }
    let matrix = Matrix::from_triples(m.rows, cols, triples);
    let cases = split
        .cases
        .iter()
        .step_by(step)
        .filter_map(|c| {
            let mut history: Vec<(u32, f32)> =
                c.history.iter().filter_map(|&(j, w)| to_proxy(j).map(|p| (p, w))).collect();
            history.sort_unstable_by_key(|p| p.0);
            let mut bought: Vec<u32> = c.bought.iter().filter_map(|b| to_proxy(b.col)).collect();
            bought.sort_unstable();
            let mut new: Vec<u32> = c
                .basket
                .iter()
                .filter(|&&j| c.bought.binary_search_by_key(&j, |b| b.col).is_err())
                .filter_map(|&j| to_proxy(j))
                .collect();
            new.sort_unstable();
            (!new.is_empty()).then_some(ProxyCase { history, bought, new })
        })
        .collect();
    (matrix, cases)
}

#[cfg(test)]
mod tests {
    use affinity_core::Event;

    use super::*;

    const DAY: i64 = 86_400_000;

    /// 200 customers whose tastes moved: half bought from cluster `a` long ago and from `b` lately, half the other
    /// way round; each one's last basket holds two more items of their recent cluster. Recency predicts it.
    fn drifting() -> RwLock<ProjectView> {
        let mut v = ProjectView::default();
        let mut seq = 0;
        let mut buy = |v: &mut ProjectView, c: usize, item: String, day: i64| {
            seq += 1;
            v.apply(seq, &Event::new("purchase", &format!("c{c}"), &item, day * DAY + 3_600_000));
        };
        for c in 0..200 {
            let (old, new) = if c % 2 == 0 { ("a", "b") } else { ("b", "a") };
            // Ten distinct items of the cluster's twenty, in a pseudo-random order per customer.
            let mut picks: Vec<usize> = (0..20).collect();
            picks.sort_by_key(|&i| (i * 7919 + c * 104_729) % 211);
            for &i in &picks[..4] {
                buy(&mut v, c, format!("{old}{i}"), 0);
            }
            let days = [200, 200, 201, 201, 202, 202];
            for (&i, day) in picks[4..10].iter().zip(days) {
                buy(&mut v, c, format!("{new}{i}"), day);
            }
        }
        RwLock::new(v)
    }

    #[test]
    fn a_half_life_is_tuned_when_recency_predicts_the_next_basket_and_pinned_values_are_kept() {
        let view = drifting();
        let settings = Settings::default();
        let input = tuning_input(&view.read().unwrap(), &settings, None);
        assert_eq!(input.splits.len(), HALF_LIVES.len(), "one split per half-life tried");
        let t = tune(input, &settings, 0);
        assert_eq!((t.discovery_source.as_str(), t.discovery_customers), ("tuned", 200), "{t:?}");
        assert!(t.half_life_days.is_some(), "tastes moved: a half-life wins: {t:?}");
        let (tuned, default) = (t.discovery_recall.unwrap(), t.discovery_default_recall.unwrap());
        assert!(tuned > default, "the chosen values beat the defaults on the validation baskets: {t:?}");
        assert_eq!(t.source, "no_repeats", "nobody bought an item twice");

        let pinned = Settings {
            ease_lambda: Tunable::Pinned(800.0),
            ease_dropout: Tunable::Pinned(0.1),
            half_life_days: Tunable::Pinned(None),
            ..Settings::default()
        };
        let input = tuning_input(&view.read().unwrap(), &pinned, None);
        assert_eq!(input.splits.len(), 1, "a pinned half-life is the only one read");
        let t = tune(input, &pinned, 0);
        assert_eq!(t.discovery_source, "pinned");
        assert_eq!((t.ease_lambda, t.ease_dropout, t.half_life_days), (800.0, 0.1, None));

        // The trained models carry the choice; serving decays live histories with it.
        let (trained, _) = train_project(&view, &settings, 0);
        let chosen = trained.info.tuning.as_ref().and_then(|t| t.half_life_days);
        assert!(chosen.is_some() && trained.half_life(&settings) == chosen);
        assert_eq!(trained.half_life(&pinned), None, "a pinned setting wins at serving");
    }

    #[test]
    fn too_few_validation_customers_keep_the_defaults() {
        let view = RwLock::new(ProjectView::default());
        {
            let mut v = view.write().unwrap();
            for (seq, (c, item, day)) in
                [("u", "a", 1), ("u", "b", 2), ("w", "a", 1), ("w", "c", 3)].into_iter().enumerate()
            {
                v.apply(seq as u64 + 1, &Event::new("purchase", c, item, day * DAY));
            }
        }
        let (trained, _) = train_project(&view, &Settings::default(), 0);
        let t = trained.info.tuning.unwrap();
        assert_eq!(t.discovery_source, "defaults");
        assert_eq!(
            (t.ease_lambda, t.ease_dropout, t.half_life_days),
            (DEFAULT_EASE_LAMBDA, DEFAULT_EASE_DROPOUT, None)
        );
    }
}
