//! Evaluation protocols (`POST …/models/evaluate`): score the serving models against a test file of held-out
//! `(customer, item)` rows, or hold out part of the project's own events, train fresh models on the rest and
//! score those. The ranking and the metrics are [`crate::evaluate`]'s.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use affinity_core::Settings;
use affinity_core::date::format_ms;
use affinity_views::ProjectView;
use serde::{Deserialize, Serialize};

use crate::data::{Split, extract_split};
use crate::error::RecoError;
use crate::evaluate::{Case, Scores, evaluate};
use crate::model::Trained;
use crate::serve::{MAX_N, Serving, live_history};

/// What an evaluation request asks (its query string).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::IntoParams))]
pub struct EvaluateQuery {
    /// Cut-offs, comma-separated (default `10,20,50`).
    pub k: Option<String>,
    /// Instead of a test file: hold out `test_fraction` of the project's events, `random` (by `seed`) or `time`
    /// (the newest), train fresh models on the rest (the serving models are left alone) and score those; or
    /// `next_basket`: hold out each customer's last basket and score the default answer against the baselines
    /// ([`crate::basket`]).
    pub split: Option<String>,
    /// Share of the events held out by `split`, in (0, 1); default 0.2.
    pub test_fraction: Option<f64>,
    /// Seed of the `random` split; default 0.
    pub seed: Option<u64>,
}

impl EvaluateQuery {
    /// The cut-offs: `k` (default `10,20,50`), each 1–[`MAX_N`]; else [`RecoError::K`].
    pub fn ks(&self) -> Result<Vec<usize>, RecoError> {
        self.k
            .as_deref()
            .unwrap_or("10,20,50")
            .split(',')
            .map(|k| k.trim().parse::<usize>().ok().filter(|k| (1..=MAX_N).contains(k)))
            .collect::<Option<_>>()
            .ok_or(RecoError::K)
    }

    /// The split asked, `None` for a test file. Errors: [`RecoError::TestFraction`] (checked first),
    /// [`RecoError::Split`].
    pub fn split(&self) -> Result<Option<Split>, RecoError> {
        let Some(split) = &self.split else { return Ok(None) };
        if self.next_basket() {
            return Ok(None);
        }
        let fraction = self.test_fraction.unwrap_or(0.2);
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(RecoError::TestFraction(fraction));
        }
        match split.as_str() {
            "random" => Ok(Some(Split::Random { fraction, seed: self.seed.unwrap_or(0) })),
            "time" => Ok(Some(Split::Time { fraction })),
            other => Err(RecoError::Split(other.to_string())),
        }
    }

    /// Whether the next-basket protocol is asked (`split=next_basket`, or `next-basket`).
    pub fn next_basket(&self) -> bool {
        matches!(self.split.as_deref(), Some("next_basket" | "next-basket"))
    }

    /// How the test set was made, for the evaluation's summary: `test file`, or e.g. `random split of the
    /// project's events, test_fraction 0.2, seed 0`.
    pub fn describe(&self) -> String {
        match &self.split {
            None => "test file".to_string(),
            Some(_) if self.next_basket() => "next basket: each customer's last basket held out".to_string(),
            Some(split) => format!(
                "{split} split of the project's events, test_fraction {}, seed {}",
                self.test_fraction.unwrap_or(0.2),
                self.seed.unwrap_or(0)
            ),
        }
    }
}

/// An evaluation's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Evaluation {
    /// One row per model and K.
    pub results: Vec<Scores>,
    /// Test customers without training history (not scored).
    pub skipped_customers: usize,
    pub test_rows: usize,
    /// The next-basket protocol's figures (`results` is then empty): the default answer (`affinity`), its parts
    /// and the baselines G-TopFreq and P-TopFreq, per K.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_basket: Option<Vec<crate::basket::BasketScores>>,
    /// What tuning chose inside the next-basket protocol's training part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuning: Option<crate::tuning::Tuning>,
}

/// What is kept of a project's last evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct EvaluationSummary {
    /// When, RFC 3339 UTC.
    pub at: String,
    pub results: Vec<Scores>,
    /// How the test set was made (see [`EvaluateQuery::describe`]).
    pub test: String,
    pub test_rows: usize,
    /// The next-basket figures, when that protocol was run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_basket: Option<Vec<crate::basket::BasketScores>>,
}

impl Evaluation {
    /// The summary kept of this evaluation, made at `at` (epoch ms) on the test set `test`.
    pub fn summary(&self, test: &str, at: i64) -> EvaluationSummary {
        EvaluationSummary {
            at: format_ms(at),
            results: self.results.clone(),
            test: test.to_string(),
            test_rows: self.test_rows,
            next_basket: self.next_basket.clone(),
        }
    }
}

/// Largest test file, in bytes.
pub const MAX_TEST_BYTES: usize = 256 << 20;

/// `(customer, item)` of each row of a CSV test file with `user_id` and `item_id` columns (or `customer`, `item`;
/// any case, other columns ignored). Errors: [`RecoError::TestFile`] for a file that is not CSV, lacks either
/// column, or has a row with either empty.
pub fn read_test_file(body: &[u8]) -> Result<Vec<(String, String)>, RecoError> {
    let bad = RecoError::TestFile;
    let mut reader = csv::ReaderBuilder::new().from_reader(body);
    let headers = reader.headers().map_err(|e| bad(format!("Invalid test file: {e}")))?.clone();
    let find = |names: &[&str]| headers.iter().position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)));
    let customer = find(&["user_id", "customer"]).ok_or_else(|| bad("Test file lacks a user_id column".into()))?;
    let item = find(&["item_id", "item"]).ok_or_else(|| bad("Test file lacks an item_id column".into()))?;
    let mut pairs = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let row = row.map_err(|e| bad(format!("Invalid test file, row {}: {e}", n + 1)))?;
        match (row.get(customer), row.get(item)) {
            (Some(c), Some(i)) if !c.is_empty() && !i.is_empty() => pairs.push((c.to_string(), i.to_string())),
            _ => return Err(bad(format!("Test file row {} lacks user_id or item_id", n + 1))),
        }
    }
    Ok(pairs)
}

/// Scores `model` against held-out `pairs`: each test customer's live history in `view` is the query, their
/// test items the relevant ones (items the model has never seen count as relevant and can never be found).
/// Customers without history are skipped. Reads the view under its read lock, then ranks without it. CPU-bound.
pub fn evaluate_test_file(
    view: &RwLock<ProjectView>,
    model: &Serving,
    settings: &Settings,
    pairs: &[(String, String)],
    ks: &[usize],
) -> Evaluation {
    let mut by_customer: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    let mut unknown = HashMap::new();
    for (c, i) in pairs {
        let next = u32::MAX - unknown.len() as u32;
        let col = model.column(i).unwrap_or_else(|| *unknown.entry(i.as_str()).or_insert(next));
        by_customer.entry(c.as_str()).or_default().push(col);
    }
    let mut cases = Vec::new();
    let mut skipped = 0;
    {
        let v = view.read().unwrap_or_else(|p| p.into_inner());
        for (customer, mut relevant) in by_customer {
            let live = live_history(&v, model, settings, customer, &[]);
            if live.weighted.is_empty() {
                skipped += 1;
                continue;
            }
            relevant.sort_unstable();
            relevant.dedup();
            cases.push(Case { history: live.weighted, relevant });
        }
    }
    let results = evaluate(model, &cases, ks);
    Evaluation { results, skipped_customers: skipped, test_rows: pairs.len(), next_basket: None, tuning: None }
}

/// Holds out part of `view`'s events by `split`, trains fresh models on the rest (trained at `now`, epoch ms;
/// nothing is installed) and scores them on the held-out interactions. Customers whose every event was held out
/// are skipped. Reads the view under its read lock, then trains and ranks without it. CPU-bound.
pub fn evaluate_split(
    view: &RwLock<ProjectView>,
    settings: &Settings,
    split: Split,
    ks: &[usize],
    now: i64,
) -> Evaluation {
    let (data, held) = extract_split(&view.read().unwrap_or_else(|p| p.into_inner()), settings, split);
    let test_rows = held.len();
    let histories: Vec<Vec<(u32, f32)>> = held
        .chunk_by(|a, b| a.0 == b.0)
        .map(|run| {
            let (cols, weights) = data.matrix.row(run[0].0 as usize);
            cols.iter().copied().zip(weights.iter().copied()).collect()
        })
        .collect();
    let relevant: Vec<Vec<u32>> =
        held.chunk_by(|a, b| a.0 == b.0).map(|run| run.iter().map(|p| p.1).collect()).collect();
    let model = Trained::train(data, settings, now);
    let mut skipped = 0;
    let cases: Vec<Case> = histories
        .into_iter()
        .zip(relevant)
        .filter(|(h, _)| {
            skipped += usize::from(h.is_empty());
            !h.is_empty()
        })
        .map(|(history, relevant)| Case { history, relevant })
        .collect();
    let results = evaluate(&model, &cases, ks);
    Evaluation { results, skipped_customers: skipped, test_rows, next_basket: None, tuning: None }
}

/// The next-basket protocol ([`crate::basket::evaluate_next_basket`]) as an [`Evaluation`]: `test_rows` counts
/// the held-out basket lines' customers scored. Reads the view under its read lock throughout. CPU-bound.
pub fn evaluate_baskets(view: &RwLock<ProjectView>, settings: &Settings, ks: &[usize], now: i64) -> Evaluation {
    let v = view.read().unwrap_or_else(|p| p.into_inner());
    let (scores, tuning) = crate::basket::evaluate_next_basket(&v, settings, ks, now);
    let customers = scores.first().map_or(0, |s| s.customers);
    Evaluation {
        results: Vec::new(),
        skipped_customers: 0,
        test_rows: customers,
        next_basket: Some(scores),
        tuning: Some(tuning),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_files_are_read_by_either_header_and_refused_with_the_row() {
        let pairs = read_test_file(b"Customer,x,ITEM_ID\nc1,1,a\nc2,2,b\n").expect("a valid file");
        assert_eq!(pairs, vec![("c1".into(), "a".into()), ("c2".into(), "b".into())]);
        assert_eq!(
            read_test_file(b"user_id,sku\nc1,a\n"),
            Err(RecoError::TestFile("Test file lacks an item_id column".into()))
        );
        assert_eq!(
            read_test_file(b"user_id,item_id\nc1,a\nc2,\n"),
            Err(RecoError::TestFile("Test file row 2 lacks user_id or item_id".into()))
        );
    }

    #[test]
    fn queries_check_k_then_fraction_then_split() {
        let q = |k: Option<&str>, split: Option<&str>, fraction: Option<f64>| EvaluateQuery {
            k: k.map(String::from),
            split: split.map(String::from),
            test_fraction: fraction,
            seed: None,
        };
        assert_eq!(q(None, None, None).ks(), Ok(vec![10, 20, 50]));
        assert_eq!(q(Some("5, 1000"), None, None).ks(), Ok(vec![5, 1000]));
        assert_eq!(q(Some("0"), None, None).ks(), Err(RecoError::K));
        assert_eq!(q(Some("1001"), None, None).ks(), Err(RecoError::K));
        assert_eq!(q(None, None, None).split(), Ok(None));
        assert_eq!(q(None, Some("time"), None).split(), Ok(Some(Split::Time { fraction: 0.2 })));
        assert_eq!(q(None, Some("nope"), Some(1.0)).split(), Err(RecoError::TestFraction(1.0)));
        assert_eq!(q(None, Some("nope"), None).split(), Err(RecoError::Split("nope".into())));
        assert_eq!(q(None, None, None).describe(), "test file");
        assert_eq!(
            q(None, Some("random"), Some(0.3)).describe(),
            "random split of the project's events, test_fraction 0.3, seed 0"
        );
    }
}
