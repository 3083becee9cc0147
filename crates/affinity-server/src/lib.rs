//! The HTTP server of affinity: start-up (store, engine, keys, models), the axum router, authentication, the one
//! error table, the OpenAPI document, metrics and the console. The domain lives in the crates below it.
//!
//! Where an event goes: `routes/feedback.rs` reads it, [`affinity_ingest::Engine::receive_one`] checks it with
//! `affinity_core::event::validate`, the engine's pipeline dedupes and stores it (group commit) and applies it to
//! the views, `routes/customers.rs` reads it back.

pub mod auth;
pub mod body;
pub mod error;
pub mod imports;
pub mod metrics;
pub mod reco;
pub mod routes;
pub mod serve;
pub mod state;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use affinity_ingest::Engine;
use affinity_store::{PgStore, SqliteStore, Store, StoreError};

pub use state::Limits;

/// The database file inside the data directory.
pub const DB_FILE: &str = "affinity.db";
/// The generated master key's file inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

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
}

/// This node's id: random, kept in `<data_dir>/node.id` (created on first use). Nodes sharing a PostgreSQL store
/// each have their own data directory, hence their own id.
pub fn node_id(data_dir: &Path) -> Result<String, std::io::Error> {
    let path = data_dir.join("node.id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        Ok(_) | Err(_) => {
            std::fs::create_dir_all(data_dir)?;
            let id = format!("node_{}", auth::random_hex(8));
            std::fs::write(&path, &id)?;
            Ok(id)
        }
    }
}

/// Opens the store a server would use, applying pending migrations: PostgreSQL at `database_url` when given,
/// else the SQLite file in `data_dir`. Returns the store and the schema version it is at. Blocking.
pub fn open_store(data_dir: &Path, database_url: Option<&str>) -> Result<(Arc<dyn Store>, usize), StoreError> {
    match database_url {
        Some(url) => {
            let store = PgStore::connect_as(url, &node_id(data_dir)?)?;
            let version = store.schema_version()?;
            Ok((Arc::new(store), version))
        }
        None => {
            std::fs::create_dir_all(data_dir)?;
            let store = SqliteStore::open(&data_dir.join(DB_FILE))?;
            let version = store.schema_version()?;
            Ok((Arc::new(store), version))
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("opening the store: {0}")]
    Store(#[from] StoreError),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StartError {
    let context = context.into();
    move |source| StartError::Io { context, source }
}

/// The master key: the configured one, else the one in `<data_dir>/master.key`, else a new one written there
/// (mode 0600). Returns the key and a line saying where it came from.
pub fn master_key(data_dir: &Path, configured: Option<String>) -> Result<(String, String), StartError> {
    if let Some(k) = configured.filter(|k| !k.trim().is_empty()) {
        return Ok((k.trim().to_string(), "master key: given by AFFINITY_MASTER_KEY / --master-key".into()));
    }
    let path = data_dir.join(MASTER_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(k) if !k.trim().is_empty() => {
            return Ok((k.trim().to_string(), format!("master key: read from {}", path.display())));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
    }
    let key = format!("afm_{}", auth::random_hex(24));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(io(format!("creating {}", path.display())))?;
    writeln!(file, "{key}").and_then(|_| file.sync_all()).map_err(io(format!("writing {}", path.display())))?;
    Ok((key, format!("master key: generated and written to {} (mode 0600); keep it secret", path.display())))
}

/// Opens the store in `config.data_dir`, rebuilds the views and serves until Ctrl-C or SIGTERM.
///
/// Prints `affinity listening on http://<addr>` on stdout once the socket is bound.
pub async fn run(config: Config) -> Result<(), StartError> {
    std::fs::create_dir_all(&config.data_dir).map_err(io(format!("creating {}", config.data_dir.display())))?;
    let (master, origin) = master_key(&config.data_dir, config.master_key.clone())?;
    println!("{origin}");
    let started = std::time::Instant::now();
    let (data_dir, url) = (config.data_dir.clone(), config.database_url.clone());
    let (engine, opened) = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
        let (store, _) = open_store(&data_dir, url.as_deref())?;
        Engine::open(store)
    })
    .await
    .map_err(|e| StartError::Io { context: "start-up".into(), source: std::io::Error::other(e) })??;
    imports::recover(&*engine.store, &config.data_dir)?;
    let keys = auth::Keyring::new(&master, engine.store.active_keys()?);
    tracing::info!(
        events = opened.events,
        ms = started.elapsed().as_millis() as u64,
        "views rebuilt from the event log"
    );
    let state = state::AppState {
        engine,
        keys: Arc::new(keys),
        imports: Arc::default(),
        models: Arc::default(),
        limits: config.limits,
        data_dir: config.data_dir.clone(),
    };
    let models = reco::load(&state)?;
    tracing::info!(projects = models, "stored models loaded");
    reco::start_policy(state.clone());
    affinity_ingest::follow::start(state.engine.clone(), Arc::new(Reloader(state.clone())), opened.changes_from);
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
    serve::serve(listener, app, config.timeouts, shutdown()).await.map_err(io("serving"))
}

/// What the change follower reloads outside the engine: the keyring and the models.
struct Reloader(state::AppState);

impl affinity_ingest::follow::Reload for Reloader {
    fn keys(&self, store: &dyn Store) -> Result<(), StoreError> {
        self.0.keys.replace_all(store.active_keys()?);
        Ok(())
    }

    fn models(&self, _store: &dyn Store, project: &str) -> Result<(), StoreError> {
        reco::load_project(&self.0, project).map(|_| ())
    }
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
