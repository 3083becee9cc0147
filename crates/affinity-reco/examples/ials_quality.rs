//! Recall@20 and NDCG@20 of iALS on a train/test pair of CSV files (`user_id,item_id,…`, as `bench/ml_split.py`
//! writes them), for choosing its defaults: `cargo run --release -p affinity-reco --example ials_quality --
//! TRAIN TEST [FACTORS EPOCHS UNOBSERVED_WEIGHT LAMBDA]`. Full ranking, training items left out.

use std::collections::HashMap;

use affinity_reco::ials::{EPOCHS, FACTORS, Ials, LAMBDA, UNOBSERVED_WEIGHT};
use affinity_reco::matrix::Matrix;
use affinity_reco::metrics::{ndcg_at_k, recall_at_k};
use affinity_reco::neighbors::top_k;

fn read(path: &str) -> Vec<(String, String)> {
    let mut r = csv::Reader::from_path(path).expect("a CSV file");
    r.records().map(|row| row.expect("a row")).map(|row| (row[0].to_string(), row[1].to_string())).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: f64| args.get(i).map_or(default, |a| a.parse().expect("a number"));
    let (d, epochs) = (arg(3, FACTORS as f64) as usize, arg(4, EPOCHS as f64) as usize);
    let (unobserved, lambda) = (arg(5, UNOBSERVED_WEIGHT as f64) as f32, arg(6, LAMBDA as f64) as f32);
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
    let m = Ials::fit_with(&x, d, epochs, unobserved, lambda);
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
        let w = m.fold_in(&history);
        let mut scores = vec![0f32; x.cols];
        m.score_into(&w, &mut scores);
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
    println!(
        "iALS d={d} epochs={epochs} unobserved={unobserved} lambda={lambda}: Recall@20 {:.4}  NDCG@20 {:.4}  fit {fit:.2} s",
        recall / n,
        ndcg / n
    );
}
