//! `affinity evaluate`: sends held-out interactions to `POST /v1/projects/{project}/models/evaluate` and prints
//! Recall@K, NDCG@K and coverage per model, as a table or (`--json`) as the server's JSON.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::Value;

#[derive(clap::Args)]
pub struct EvaluateArgs {
    /// Project id.
    #[arg(long)]
    project: String,
    /// Held-out interactions: a CSV with `user_id` and `item_id` columns, like an upload.
    #[arg(long, required_unless_present_any = ["split", "protocol"], conflicts_with_all = ["split", "protocol"])]
    test: Option<PathBuf>,
    /// `next-basket`: hold out each customer's last basket (their last order; without order ids, their purchases
    /// on their last purchase day) and print Recall@K, NDCG@K and PHR@K of the default answer, its parts, and the
    /// baselines G-TopFreq and P-TopFreq (Li et al., TOIS 2023).
    #[arg(long, value_parser = ["next-basket"], conflicts_with = "split")]
    protocol: Option<String>,
    /// Instead of a test file: hold out part of the project's own events, `random` or `time` (the newest), and
    /// score models trained on the rest (the serving models are left alone).
    #[arg(long, value_parser = ["random", "time"])]
    split: Option<String>,
    /// Share of the events held out by --split.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Seed of the random split.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Cut-offs, comma-separated.
    #[arg(long, default_value = "10,20,50")]
    k: String,
    /// Print the server's JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Base URL of the server.
    #[arg(long, env = "AFFINITY_URL", default_value = "http://127.0.0.1:7700")]
    url: String,
    /// An admin key of the project.
    #[arg(long, env = "AFFINITY_KEY", hide_env_values = true)]
    key: String,
}

pub async fn run(args: EvaluateArgs) -> anyhow::Result<()> {
    let base = format!("{}/v1/projects/{}/models/evaluate?k={}", args.url.trim_end_matches('/'), args.project, args.k);
    let (url, body) = match (&args.test, &args.split) {
        _ if args.protocol.is_some() => (format!("{base}&split=next_basket"), Vec::new()),
        (Some(test), _) => (base, std::fs::read(test).with_context(|| format!("reading {}", test.display()))?),
        (None, Some(split)) => {
            (format!("{base}&split={split}&test_fraction={}&seed={}", args.test_fraction, args.seed), Vec::new())
        }
        (None, None) => bail!("give --test FILE or --split random|time"),
    };
    let response = reqwest::Client::new()
        .post(&url)
        .header("x-api-key", &args.key)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .with_context(|| format!("sending to {url}"))?;
    let status = response.status();
    let text = response.text().await.context("reading the answer")?;
    if !status.is_success() {
        bail!("the server answered {status}: {text}");
    }
    if args.json {
        println!("{text}");
        return Ok(());
    }
    let v: Value = serde_json::from_str(&text).context("reading the answer")?;
    if let Some(rows) = v["next_basket"].as_array() {
        println!("{:<10} {:>4} {:>9} {:>9} {:>9}", "model", "k", "recall", "ndcg", "phr");
        for r in rows {
            let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
            let model = r["model"].as_str().unwrap_or("");
            println!("{model:<10} {:>4} {:>9.4} {:>9.4} {:>9.4}", r["k"], f("recall"), f("ndcg"), f("phr"));
        }
        let t = &v["tuning"];
        println!(
            "customers scored: {}; tuned repeat weight {} (half-life {}, {})",
            v["test_rows"],
            t["repeat_weight"],
            t["repeat_half_life_days"],
            t["source"].as_str().unwrap_or("")
        );
        println!(
            "discovery: EASE lambda {}, dropout {}, interaction half-life {} ({})",
            t["ease_lambda"],
            t["ease_dropout"],
            t["half_life_days"],
            t["discovery_source"].as_str().unwrap_or("")
        );
        return Ok(());
    }
    println!("{:<10} {:>4} {:>9} {:>9} {:>9}", "model", "k", "recall", "ndcg", "coverage");
    for r in v["results"].as_array().into_iter().flatten() {
        println!(
            "{:<10} {:>4} {:>9.4} {:>9.4} {:>9.4}",
            r["model"].as_str().unwrap_or(""),
            r["k"],
            r["recall"].as_f64().unwrap_or(0.0),
            r["ndcg"].as_f64().unwrap_or(0.0),
            r["coverage"].as_f64().unwrap_or(0.0)
        );
    }
    println!(
        "customers scored: {}; without training history: {}",
        v["results"][0]["customers"], v["skipped_customers"]
    );
    Ok(())
}
