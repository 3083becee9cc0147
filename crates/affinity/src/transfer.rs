//! `affinity export` and `affinity restore`: a project from one store to another (see
//! `affinity_store::transfer` for the format and the checks).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

/// Where the store is: the SQLite file in a data directory, or a PostgreSQL URL.
#[derive(clap::Args)]
pub struct StoreArgs {
    /// Directory holding the SQLite database (when no database URL is given).
    #[arg(long, env = "AFFINITY_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// PostgreSQL URL; without it, the SQLite store in the data directory.
    #[arg(long, env = "AFFINITY_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl StoreArgs {
    /// Opens the store (applying pending migrations); returns it with its schema version.
    pub fn open(&self) -> anyhow::Result<(std::sync::Arc<dyn affinity_store::Store>, usize)> {
        affinity_server::open_store(&self.data_dir, self.database_url.as_deref()).context("opening the store")
    }
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The project to export.
    #[arg(long)]
    project: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The project the export must hold (optional check).
    #[arg(long)]
    project: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

fn describe(summary: &affinity_store::transfer::Summary) -> String {
    let counts: Vec<String> = summary.counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    format!("{}; sha256 {}", counts.join(", "), summary.sha256)
}

pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    let (store, _) = args.store.open()?;
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout);
    let summary = affinity_store::transfer::export(&*store, &args.project, &mut out).context("exporting")?;
    out.flush()?;
    eprintln!("exported project {}: {}", args.project, describe(&summary));
    Ok(())
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let (store, _) = args.store.open()?;
    let input = std::io::BufReader::with_capacity(1 << 20, std::io::stdin().lock());
    let summary = affinity_store::transfer::restore(&*store, input, args.project.as_deref()).context("restoring")?;
    eprintln!("restored and verified against the store: {}", describe(&summary));
    Ok(())
}
