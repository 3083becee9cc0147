//! Offline evaluation: each model ranks every item for each test customer, with the customer's training items left
//! out (full ranking, no sampled negatives), and the held-out items are the relevant ones. Reports Recall@K (Liang
//! et al., WWW 2018), NDCG@K and catalog coverage (the share of items that appear in some top-K list).

use std::collections::HashSet;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::metrics::{ndcg_at_k, recall_at_k};
use crate::model::Trained;

/// One test customer.
#[derive(Debug, Clone)]
pub struct Case {
    /// Training history as `(column, weight)`, by column.
    pub history: Vec<(u32, f32)>,
    /// Held-out columns, sorted, without duplicates.
    pub relevant: Vec<u32>,
}

/// One model's figures at one K, averaged over test customers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Scores {
    /// `ease`, `item_knn` or `popular`.
    pub model: String,
    /// The cut-off.
    pub k: usize,
    /// Recall@K normalised by min(K, held-out items).
    pub recall: f64,
    pub ndcg: f64,
    /// Distinct items in all top-K lists / items of the model.
    pub coverage: f64,
    /// Test customers scored.
    pub customers: usize,
}

/// Scores the personalized model, item-kNN (when the personalized model is another) and popularity on `cases` at
/// every K of `ks`.
pub fn evaluate(model: &Trained, cases: &[Case], ks: &[usize]) -> Vec<Scores> {
    let max_k = ks.iter().copied().max().unwrap_or(0);
    let popular: Vec<u32> = model.popular("all").unwrap_or(&[]).iter().map(|p| p.0).collect();
    #[derive(Clone, Copy)]
    enum Ranker {
        Personal,
        ItemKnn,
        Popular,
    }
    let rank = |by: Ranker| -> Vec<Vec<u32>> {
        cases
            .par_iter()
            .map(|c| {
                let seen = |j: u32| c.history.binary_search_by_key(&j, |p| p.0).is_ok();
                match by {
                    Ranker::Personal => {
                        model.recommend(&c.history, max_k, |j| !seen(j)).into_iter().map(|r| r.0).collect()
                    }
                    Ranker::ItemKnn => {
                        model.recommend_knn(&c.history, max_k, |j| !seen(j)).into_iter().map(|r| r.0).collect()
                    }
                    Ranker::Popular => popular.iter().copied().filter(|&j| !seen(j)).take(max_k).collect(),
                }
            })
            .collect()
    };
    let mut rankers = vec![(model.info.model.clone(), Ranker::Personal)];
    if model.info.model != "item_knn" {
        rankers.push(("item_knn".to_string(), Ranker::ItemKnn));
    }
    rankers.push(("popular".to_string(), Ranker::Popular));
    let mut out = Vec::new();
    for (name, ranker) in rankers {
        let ranked = rank(ranker);
        for &k in ks {
            let n = cases.len().max(1) as f64;
            let recall = cases.iter().zip(&ranked).map(|(c, r)| recall_at_k(r, &c.relevant, k)).sum::<f64>() / n;
            let ndcg = cases.iter().zip(&ranked).map(|(c, r)| ndcg_at_k(r, &c.relevant, k)).sum::<f64>() / n;
            let shown: HashSet<u32> = ranked.iter().flat_map(|r| r.iter().take(k).copied()).collect();
            let coverage = shown.len() as f64 / model.items.len().max(1) as f64;
            out.push(Scores { model: name.clone(), k, recall, ndcg, coverage, customers: cases.len() });
        }
    }
    out
}
