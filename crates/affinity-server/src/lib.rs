//! The HTTP server of affinity: start-up (store, engine, keys, models), the axum router, authentication, the one
//! error table, the OpenAPI document, metrics and the console. The domain lives in the crates below it.
//!
//! Where an event goes: `routes/feedback.rs` reads it, [`affinity_ingest::Engine::receive_one`] checks it with
//! `affinity_core::event::validate`, the engine's pipeline dedupes and stores it (group commit) and applies it to
//! the views, `routes/customers.rs` reads it back.

pub mod auth;
pub mod body;
pub mod browser;
pub mod error;
pub mod imports;
pub mod metrics;
pub mod routes;
pub mod serve;
pub mod state;

use std::io::Write;
use std::path::PathBuf;

use affinity_ingest::Engine;
use affinity_store::StoreError;

pub use affinity_ingest::node::{DB_FILE, MASTER_KEY_FILE, master_key, node_id, open_store};
pub use state::Limits;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:7700` (port 0 picks a free port).
    pub addr: String,
    pub data_dir: PathBuf,
    /// The master key; when `None`, read from (or generated into) `<data_dir>/master.key`.
    pub master_key: Option<String>,
    /// A PostgreSQL URL (`postgres://…`): the store shared by every node. `None`: the embedded SQLite store in
    /// `data_dir`.
    pub database_url: Option<String>,
    pub limits: Limits,
    /// How long clients may take to send a request's head and body.
    pub timeouts: serve::Timeouts,
    /// Proxies whose `X-Forwarded-For` is believed (see [`browser::client_address`]).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("opening the store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    MasterKey(std::io::Error),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StartError {
    let context = context.into();
    move |source| StartError::Io { context, source }
}

/// Opens the store in `config.data_dir`, rebuilds the views and serves until Ctrl-C or SIGTERM.
///
/// Prints `affinity listening on http://<addr>` on stdout once the socket is bound.
pub async fn run(config: Config) -> Result<(), StartError> {
    std::fs::create_dir_all(&config.data_dir).map_err(io(format!("creating {}", config.data_dir.display())))?;
    let (master, origin) = master_key(&config.data_dir, config.master_key.clone()).map_err(StartError::MasterKey)?;
    println!("{origin}");
    let started = std::time::Instant::now();
    let (data_dir, url) = (config.data_dir.clone(), config.database_url.clone());
    let (engine, opened) = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
        let (store, _) = open_store(&data_dir, url.as_deref())?;
        Engine::open(store, &master)
    })
    .await
    .map_err(|e| StartError::Io { context: "start-up".into(), source: std::io::Error::other(e) })??;
    imports::recover(&*engine.store, &config.data_dir)?;
    let ms = started.elapsed().as_millis() as u64;
    tracing::info!(events = opened.events, models = opened.models, ms, "views rebuilt from the event log");
    engine.start_policy();
    affinity_ingest::follow::start(engine.clone(), opened.changes_from);
    engine.start_flushing_served();
    let last = engine.clone();
    let state = state::AppState {
        engine,
        limits: config.limits,
        data_dir: config.data_dir.clone(),
        rate_limits: Default::default(),
        trusted_proxies: config.trusted_proxies.clone().into(),
    };
    // The views are rebuilt and the models loaded before the socket is bound, so `/ready` answers 200 (while the
    // store answers) from the first request on; the flag says so to whoever builds a router otherwise.
    let ready = routes::system::Ready::default();
    let app = routes::router(state).layer(axum::Extension(ready.clone()));
    ready.set();
    let listener = tokio::net::TcpListener::bind(&config.addr).await.map_err(io(format!("binding {}", config.addr)))?;
    let addr = listener.local_addr().map_err(io("reading the bound address"))?;
    println!("data directory: {}", config.data_dir.display());
    println!("affinity listening on http://{addr}");
    let _ = std::io::stdout().flush();
    serve::serve(listener, app, config.timeouts, shutdown()).await.map_err(io("serving"))?;
    // The answers counted since the last flush, before the process ends.
    match tokio::task::spawn_blocking(move || last.flush_served()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "storing the last recommendation counts failed"),
        Err(e) => tracing::warn!(error = %e, "storing the last recommendation counts did not finish"),
    }
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
