//! What a node is on disk: its data directory holds the SQLite store (or the node's id, when the store is a
//! shared PostgreSQL), the master key, and the import files.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use affinity_store::{PgStore, SqliteStore, Store, StoreError};

use crate::keys::random_hex;

/// The database file inside the data directory.
pub const DB_FILE: &str = "affinity.db";
/// The generated master key's file inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// This node's id: random, kept in `<data_dir>/node.id` (created on first use). Nodes sharing a PostgreSQL store
/// each have their own data directory, hence their own id.
pub fn node_id(data_dir: &Path) -> Result<String, std::io::Error> {
    let path = data_dir.join("node.id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        Ok(_) | Err(_) => {
            std::fs::create_dir_all(data_dir)?;
            let id = format!("node_{}", random_hex(8));
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

/// The master key: `configured` (trimmed) when given, else the one in `<data_dir>/master.key`, else a new one
/// (`afm_` and 192 random bits in hex) written there with mode 0600. Returns the key and a line saying where it
/// came from. Errors name the file.
pub fn master_key(data_dir: &Path, configured: Option<String>) -> Result<(String, String), std::io::Error> {
    if let Some(k) = configured.filter(|k| !k.trim().is_empty()) {
        return Ok((k.trim().to_string(), "master key: given by AFFINITY_MASTER_KEY / --master-key".into()));
    }
    let path = data_dir.join(MASTER_KEY_FILE);
    let named = |doing: &str| {
        let context = format!("{doing} {}", path.display());
        move |e: std::io::Error| std::io::Error::new(e.kind(), format!("{context}: {e}"))
    };
    match std::fs::read_to_string(&path) {
        Ok(k) if !k.trim().is_empty() => {
            return Ok((k.trim().to_string(), format!("master key: read from {}", path.display())));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(named("reading")(e)),
    }
    let key = format!("afm_{}", random_hex(24));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(named("creating"))?;
    writeln!(file, "{key}").and_then(|_| file.sync_all()).map_err(named("writing"))?;
    Ok((key, format!("master key: generated and written to {} (mode 0600); keep it secret", path.display())))
}
