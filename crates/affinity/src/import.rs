//! `affinity import`: streams a file to `POST /v1/projects/{project}/imports`, follows the import with
//! `GET …/imports/{id}` (a progress bar on a terminal: bytes while uploading, then rows and rows/s), and prints
//! the finished import's report.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, bail};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The file: CSV (`,` `;` or tab) or JSON Lines (`.jsonl`, `.ndjson`), optionally gzip (`.gz`).
    file: PathBuf,
    /// Project id.
    #[arg(long)]
    project: String,
    /// Interaction type of every row; omit for a file with an `event` column.
    #[arg(long)]
    interaction: Option<String>,
    /// Base URL of the server.
    #[arg(long, env = "AFFINITY_URL", default_value = "http://127.0.0.1:7700")]
    url: String,
    /// An admin key of the project.
    #[arg(long, env = "AFFINITY_KEY", hide_env_values = true)]
    key: String,
    /// Validate and report without storing anything.
    #[arg(long)]
    dry_run: bool,
    /// Read a byte-identical file again row by row.
    #[arg(long)]
    force: bool,
    /// Failed rows listed in the report.
    #[arg(long)]
    max_failures: Option<usize>,
}

/// Runs the import; returns the process exit code.
pub async fn run(args: ImportArgs) -> i32 {
    match upload(&args).await {
        Ok((import, text)) => {
            // The report exactly as the server wrote it, in the seed's field order.
            let report = serde_json::from_str::<Final>(&text).ok().and_then(|f| f.report).map(|r| r.get().to_string());
            println!("{}", report.unwrap_or_else(|| import["report"].to_string()));
            let status = import["status"].as_str().unwrap_or("");
            if status != "done" {
                let why = import["error"].as_str().unwrap_or("");
                eprintln!("affinity import: the import ended {status}: {why}");
            }
            match (status, import["report"]["failed"].as_u64()) {
                ("done", Some(0)) => 0,
                ("done", Some(_)) => 2,
                _ => 1,
            }
        }
        Err(e) => {
            eprintln!("affinity import: {e:#}");
            1
        }
    }
}

async fn upload(args: &ImportArgs) -> anyhow::Result<(Value, String)> {
    let file = tokio::fs::File::open(&args.file).await.with_context(|| format!("opening {}", args.file.display()))?;
    let size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let name = args.file.file_name().and_then(|n| n.to_str()).unwrap_or("upload").to_string();
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(size);
        bar.set_style(
            ProgressStyle::with_template("{bytes}/{total_bytes} {bar:40} {bytes_per_sec} ETA {eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let counted = bar.clone();
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20).inspect(move |chunk| {
        if let Ok(c) = chunk {
            counted.inc(c.len() as u64);
        }
    });
    let lower = name.to_ascii_lowercase();
    let base = lower.strip_suffix(".gz").unwrap_or(&lower);
    let content_type =
        if base.ends_with(".jsonl") || base.ends_with(".ndjson") { "application/x-ndjson" } else { "text/csv" };
    let mut query: Vec<(&str, String)> = vec![("filename", name.clone())];
    if let Some(i) = &args.interaction {
        query.push(("interaction", i.clone()));
    }
    if args.dry_run {
        query.push(("dry_run", "true".into()));
    }
    if args.force {
        query.push(("force", "true".into()));
    }
    if let Some(m) = args.max_failures {
        query.push(("max_failures", m.to_string()));
    }
    let url = format!("{}/v1/projects/{}/imports", args.url.trim_end_matches('/'), args.project);
    let client = reqwest::Client::new();
    let mut request = client
        .post(&url)
        .query(&query)
        .header("x-api-key", &args.key)
        .header("content-type", content_type)
        // The size announced lets the server store rows while the file is still on its way.
        .header("content-length", size)
        .body(reqwest::Body::wrap_stream(stream));
    if lower.ends_with(".gz") {
        request = request.header("content-encoding", "gzip");
    }
    let started = std::time::Instant::now();
    let response = request.send().await.with_context(|| format!("cannot reach the server at {}", args.url))?;
    let status = response.status();
    let mut text = response.text().await.context("reading the server's answer")?;
    let mut import: Value = serde_json::from_str(&text).context("reading the server's answer")?;
    if !status.is_success() {
        bar.finish_and_clear();
        bail!("the server answered {status}: {import}");
    }
    // Follow the import: rows read and rows/s, until it ends.
    let id = import["id"].as_str().unwrap_or_default().to_string();
    bar.set_style(
        ProgressStyle::with_template("{bytes}/{total_bytes} {bar:40} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let processing = std::time::Instant::now();
    while import["status"] == "running" {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let answer = client.get(format!("{url}/{id}")).header("x-api-key", &args.key).send().await;
        let answer = answer.with_context(|| format!("following import {id}"))?;
        if !answer.status().is_success() {
            bail!("the server answered {} for import {id}", answer.status());
        }
        text = answer.text().await.context("reading the import's status")?;
        import = serde_json::from_str(&text).context("reading the import's status")?;
        let rows = import["progress"]["rows"].as_u64().unwrap_or(0);
        bar.set_position(import["progress"]["bytes"].as_u64().unwrap_or(0));
        let rate = rows as f64 / processing.elapsed().as_secs_f64().max(1e-9);
        bar.set_message(format!("{rows} rows, {rate:.0} rows/s"));
    }
    bar.finish_and_clear();
    if let Some(rows) = import["progress"]["rows"].as_u64() {
        let secs = started.elapsed().as_secs_f64();
        eprintln!("{rows} rows in {secs:.2} s ({:.0} rows/s)", rows as f64 / secs.max(1e-9));
    }
    Ok((import, text))
}

/// The report of a finished import, as raw JSON.
#[derive(serde::Deserialize)]
struct Final<'a> {
    #[serde(borrow)]
    report: Option<&'a serde_json::value::RawValue>,
}
