//! Recall@20 and NDCG@20 of iALS or EASE on a train/test pair of CSV files (`user_id,item_id,…`, as
//! `bench/ml_split.py` writes them), for choosing their defaults on validation splits:
//! `cargo run --release -p affinity-reco --example model_quality -- TRAIN TEST ials [FACTORS EPOCHS α₀ λ]` or
//! `… TRAIN TEST ease [λ DROPOUT]` or `… TRAIN TEST both [IALS_SHARE]` (the default blend's models). Full ranking, training items left out.

use std::collections::HashMap;

use affinity_reco::ease::Ease;
use affinity_reco::ials::{EPOCHS, FACTORS, Ials, LAMBDA, UNOBSERVED_WEIGHT};
use affinity_reco::matrix::Matrix;
use affinity_reco::metrics::{ndcg_at_k, recall_at_k};
use affinity_reco::neighbors::top_k;

/// Adds a history's scores into a score per column.
type Scorer = Box<dyn Fn(&[(u32, f32)], &mut [f32])>;

fn read(path: &str) -> Vec<(String, String)> {
    let mut r = csv::Reader::from_path(path).expect("a CSV file");
    r.records().map(|row| row.expect("a row")).map(|row| (row[0].to_string(), row[1].to_string())).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: f64| args.get(i).map_or(default, |a| a.parse().expect("a number"));
    let ease = args.get(3).map(String::as_str) == Some("ease");
    let both = args.get(3).map(String::as_str) == Some("both");
    let (d, epochs) = (arg(4, FACTORS as f64) as usize, arg(5, EPOCHS as f64) as usize);
    let (unobserved, lambda) = (arg(6, UNOBSERVED_WEIGHT as f64) as f32, arg(7, LAMBDA as f64) as f32);
    let (ease_lambda, dropout) = (arg(4, 500.0) as f32, arg(5, 0.33) as f32);
    let (train, test) = (read(&args[1]), read(&args[2]));
    let (mut users, mut items) = (HashMap::new(), HashMap::new());
    let mut triples = Vec::new();
    for (u, i) in &train {
        let n = users.len() as u32;
        let u = *users.entry(u.clone()).or_insert(n);
        let n = items.len() as u32;
        let i = *items.entry(i.clone()).or_insert(n);
        triples.push((u, i, 1.0));
    }
    let x = Matrix::from_triples(users.len(), items.len(), triples);
    let started = std::time::Instant::now();
    let model: Scorer = if both {
        let e = Ease::fit(&x, 500.0, 0.33).expect("EASE fits");
        let m = Ials::fit(&x);
        let share = arg(4, 0.5) as f32;
        Box::new(move |h, scores| {
            let mut a = vec![0f32; scores.len()];
            for &(i, w) in h {
                let (cols, vals) = e.row(i);
                for (&j, &b) in cols.iter().zip(vals) {
                    a[j as usize] += w * b;
                }
            }
            let mut b = vec![0f32; scores.len()];
            m.score_into(&m.fold_in(h), &mut b);
            let (ma, mb) = (a.iter().fold(1e-9f32, |x, &y| x.max(y)), b.iter().fold(1e-9f32, |x, &y| x.max(y)));
            for j in 0..scores.len() {
                scores[j] = (1.0 - share) * a[j] / ma + share * b[j] / mb;
            }
        })
    } else if ease {
        let e = Ease::fit(&x, ease_lambda, dropout).expect("EASE fits");
        Box::new(move |h, scores| {
            for &(i, w) in h {
                let (cols, vals) = e.row(i);
                for (&j, &b) in cols.iter().zip(vals) {
                    scores[j as usize] += w * b;
                }
            }
        })
    } else {
        let m = Ials::fit_with(&x, d, epochs, unobserved, lambda);
        Box::new(move |h, scores| m.score_into(&m.fold_in(h), scores))
    };
    let fit = started.elapsed().as_secs_f64();
    let mut relevant: HashMap<u32, Vec<u32>> = HashMap::new();
    for (u, i) in &test {
        if let (Some(&u), Some(&i)) = (users.get(u), items.get(i)) {
            relevant.entry(u).or_default().push(i);
        }
    }
    let (mut recall, mut ndcg) = (0.0, 0.0);
    for (&u, rel) in relevant.iter_mut() {
        rel.sort_unstable();
        rel.dedup();
        let (cols, vals) = x.row(u as usize);
        let history: Vec<(u32, f32)> = cols.iter().copied().zip(vals.iter().copied()).collect();
        let mut scores = vec![0f32; x.cols];
        model(&history, &mut scores);
        let seen = |j: u32| cols.binary_search(&j).is_ok();
        let ranked: Vec<u32> =
            top_k(scores.iter().enumerate().map(|(j, &s)| (j as u32, s)).filter(|&(j, _)| !seen(j)), 20)
                .into_iter()
                .map(|p| p.0)
                .collect();
        recall += recall_at_k(&ranked, rel, 20);
        ndcg += ndcg_at_k(&ranked, rel, 20);
    }
    let n = relevant.len() as f64;
    let name = if both {
        format!("EASE + iALS, iALS share {}", arg(4, 0.5))
    } else if ease {
        format!("EASE lambda={ease_lambda} dropout={dropout}")
    } else {
        format!("iALS d={d} epochs={epochs} unobserved={unobserved} lambda={lambda}")
    };
    println!("{name}: Recall@20 {:.4}  NDCG@20 {:.4}  fit {fit:.2} s", recall / n, ndcg / n);
}
