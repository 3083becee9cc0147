//! The `affinity` command: `serve` runs the server; the other commands are clients of a running server.

mod client;
mod evaluate;
mod import;
mod transfer;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// The allocator: events are many small allocations on several threads, where mimalloc is faster than glibc's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// affinity: a self-hostable interactions engine for e-commerce personalization.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server on the embedded store.
    Serve(ServeArgs),
    /// Manage projects on a running server.
    #[command(subcommand)]
    Project(client::ProjectCommand),
    /// Upload a file of interactions (CSV or JSON Lines, optionally gzip) to a running server; prints the report.
    /// Exits 0 when no row failed, 2 when some rows failed, 1 when the import itself failed.
    Import(import::ImportArgs),
    /// Apply pending schema migrations to the store (`serve` also applies them at start) and print its version.
    Migrate(transfer::StoreArgs),
    /// Write a project (catalog, items, settings, audiences, events, keys) of a store to stdout as JSON Lines, with
    /// counts and a SHA-256 at the end. Reads the store directly: on SQLite, point it at the server's data dir.
    Export(transfer::ExportArgs),
    /// Read an export from stdin into a store that lacks the project, then verify counts and checksum against
    /// the store. On SQLite, restart the server afterwards; PostgreSQL nodes pick the project up on their own.
    Restore(transfer::RestoreArgs),
    /// Score the project's current models against held-out interactions (Recall@K, NDCG@K, coverage).
    Evaluate(evaluate::EvaluateArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "AFFINITY_ADDR", default_value = "127.0.0.1:7700")]
    addr: String,
    /// Directory holding the database and the generated master key.
    #[arg(long, env = "AFFINITY_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// The master key; without it, the key in <data-dir>/master.key is used (generated on first start).
    #[arg(long, env = "AFFINITY_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
    /// PostgreSQL URL (`postgres://user:password@host:port/database`): the store shared by several nodes.
    /// Without it, the embedded SQLite store in the data directory.
    #[arg(long, env = "AFFINITY_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Largest request body, in bytes.
    #[arg(long, env = "AFFINITY_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// Threads answering HTTP requests (default: one per core). Training, imports and the store writer run on their
    /// own threads. For the lowest tail latency on a host shared with other busy processes, pin the server to its
    /// own cores (`taskset`) and give it as many workers as it has cores.
    #[arg(long, env = "AFFINITY_WORKERS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
    /// Longest wait, in milliseconds, for a request's head (request line and headers) and for the next request on
    /// an idle kept-alive connection; past it the connection is closed.
    #[arg(long, env = "AFFINITY_HEADER_TIMEOUT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_ms: u64,
    /// Longest pause, in milliseconds, between two chunks of a request body (an idle timeout: a large upload takes
    /// as long as it needs while bytes keep coming); past it the request fails.
    #[arg(long, env = "AFFINITY_BODY_IDLE_TIMEOUT_MS", default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    body_idle_timeout_ms: u64,
    /// Proxies (addresses or CIDR blocks, comma-separated, e.g. `10.0.0.0/8,127.0.0.1`) whose `X-Forwarded-For` is
    /// believed: behind them, the client address (for public keys' rate limits) is the last address in that header
    /// that is not one of them. Default: none; the connection's peer is the client.
    #[arg(long, env = "AFFINITY_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    trusted_proxies: Vec<ipnet::IpNet>,
}

/// One `--trusted-proxies` entry: a CIDR block, or one address (a block of one).
fn parse_proxy(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is not an IP address or CIDR block (e.g. 10.0.0.0/8)"))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Command::Serve(ServeArgs { workers: Some(n), .. }) = &cli.command {
        builder.worker_threads(usize::from(*n));
    }
    let runtime = builder.enable_all().build().context("starting the runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::Project(cmd) => runtime.block_on(client::project(cmd)),
        Command::Evaluate(args) => runtime.block_on(evaluate::run(args)),
        Command::Export(args) => transfer::export(args),
        Command::Restore(args) => transfer::restore(args),
        Command::Migrate(args) => {
            let (store, version) = args.open()?;
            let backend = store.backend();
            println!("{backend} store at schema version {version}");
            Ok(())
        }
        Command::Import(args) => {
            let code = runtime.block_on(import::run(args));
            std::process::exit(code);
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    println!(
        "affinity {} starting: addr={} data-dir={} store={} max-body-bytes={} workers={} header-timeout-ms={} \
         body-idle-timeout-ms={} master-key={}",
        env!("CARGO_PKG_VERSION"),
        args.addr,
        args.data_dir.display(),
        if args.database_url.is_some() { "postgres" } else { "sqlite" },
        args.max_body_bytes,
        args.workers.map_or_else(|| "(one per core)".to_string(), |n| n.to_string()),
        args.header_timeout_ms,
        args.body_idle_timeout_ms,
        if args.master_key.is_some() { "(given, redacted)" } else { "(from data dir)" }
    );
    let limits = affinity_server::Limits { max_body_bytes: args.max_body_bytes, ..Default::default() };
    let config = affinity_server::Config {
        addr: args.addr,
        data_dir: args.data_dir,
        master_key: args.master_key,
        database_url: args.database_url,
        limits,
        timeouts: affinity_server::serve::Timeouts {
            header_read: std::time::Duration::from_millis(args.header_timeout_ms),
            body_idle: std::time::Duration::from_millis(args.body_idle_timeout_ms),
        },
        trusted_proxies: args.trusted_proxies,
    };
    affinity_server::run(config).await.context("affinity serve")?;
    Ok(())
}
