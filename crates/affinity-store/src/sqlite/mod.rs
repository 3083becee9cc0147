//! The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so that a committed transaction is on
//! disk. One writer connection (behind a mutex; the ingest pipeline batches events into few, large transactions)
//! and a small pool of reader connections, which WAL lets run beside the writer.
//!
//! Migrations are the SQL files in `migrations/sqlite/`, applied in order and recorded in `PRAGMA user_version`.

mod audiences;
mod catalog;
mod events;
mod experiences;
mod imports;
mod items;
mod storefront;

use std::path::Path;
use std::sync::Mutex;

use rusqlite::Connection;

use crate::{Result, StoreError};

/// The schema migrations, in order; `user_version` holds how many are applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_imports.sql"),
    include_str!("../../migrations/sqlite/0003_event_imports.sql"),
    include_str!("../../migrations/sqlite/0004_import_counts.sql"),
    include_str!("../../migrations/sqlite/0005_items_settings_models.sql"),
    include_str!("../../migrations/sqlite/0006_audiences.sql"),
    include_str!("../../migrations/sqlite/0007_experiences.sql"),
    include_str!("../../migrations/sqlite/0008_order_id.sql"),
    include_str!("../../migrations/sqlite/0009_public_keys.sql"),
    include_str!("../../migrations/sqlite/0010_identity_attribution.sql"),
];

/// Readers kept open for reuse.
const MAX_IDLE_READERS: usize = 8;

/// The SQLite implementation of [`crate::Store`].
pub struct SqliteStore {
    path: std::path::PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and applies pending migrations.
    ///
    /// Errors: the file cannot be opened, or it was written by a newer version of affinity.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = open_connection(path)?;
        // 16 KiB pages (on a new database; an existing one keeps its size): fewer pages, B-tree splits and WAL
        // frames per appended event than 4 KiB.
        conn.pragma_update(None, "page_size", 16384)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Checkpoint the WAL into the database every ~64 MiB instead of every ~4 MiB: the same pages are copied,
        // with fewer, larger fsyncs on the ingest path.
        conn.pragma_update(None, "wal_autocheckpoint", 4096)?;
        migrate(&mut conn)?;
        Ok(SqliteStore { path: path.to_path_buf(), writer: Mutex::new(conn), readers: Mutex::new(Vec::new()) })
    }

    /// The schema version the database is at (the number of migrations applied).
    pub fn schema_version(&self) -> Result<usize> {
        self.read(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?.try_into().unwrap_or(0)))
    }

    /// The writer connection's `journal_mode` and `synchronous` (2 is FULL): what makes a commit durable.
    pub fn durability(&self) -> Result<(String, i64)> {
        self.write(|c| {
            let mode: String = c.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
            let sync: i64 = c.pragma_query_value(None, "synchronous", |r| r.get(0))?;
            Ok((mode, sync))
        })
    }

    /// Runs `f` with exclusive use of the writer connection.
    fn write<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut conn)
    }

    /// Runs `f` on a reader connection from the pool (opening one if none is idle).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let idle = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => open_connection(&self.path)?,
        };
        let out = f(&conn);
        let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < MAX_IDLE_READERS {
            pool.push(conn);
        }
        out
    }
}

fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // FULL: in WAL mode every commit fsyncs the log, so a committed event survives power loss and kill -9.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(96);
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let applied: usize = conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?.try_into().unwrap_or(0);
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "schema version {applied} is newer than this build knows ({}); upgrade affinity",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied schema migration");
    }
    Ok(())
}

/// Maps a UNIQUE/PRIMARY KEY violation to [`StoreError::Conflict`] naming `what`.
fn conflict(e: rusqlite::Error, what: impl FnOnce() -> String) -> StoreError {
    match e {
        // SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
        rusqlite::Error::SqliteFailure(f, _) if f.extended_code == 1555 || f.extended_code == 2067 => {
            StoreError::Conflict(what())
        }
        other => StoreError::Sqlite(other),
    }
}

impl crate::Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }
    fn insert_experience(&self, project: &str, e: &affinity_core::Experience) -> Result<()> {
        experiences::insert(self, project, e)
    }
    fn update_experience(&self, project: &str, e: &affinity_core::Experience) -> Result<()> {
        experiences::update(self, project, e)
    }
    fn delete_experience(&self, project: &str, id: &str) -> Result<bool> {
        experiences::delete(self, project, id)
    }
    fn experiences(&self, project: &str) -> Result<Vec<affinity_core::Experience>> {
        experiences::list(self, project)
    }
    fn add_exposures(&self, project: &str, rows: &[crate::Exposure]) -> Result<()> {
        experiences::add_exposures(self, project, rows)
    }
    fn exposures(&self, project: &str, experience: &str) -> Result<Vec<crate::Exposure>> {
        experiences::exposures(self, project, experience)
    }
    fn insert_alias(&self, project: &str, alias: &crate::Alias) -> Result<crate::Alias> {
        storefront::insert_alias(self, project, alias)
    }
    fn aliases(&self, project: &str) -> Result<Vec<crate::Alias>> {
        storefront::aliases(self, project)
    }
    fn alias(&self, project: &str, anonymous_id: &str) -> Result<Option<crate::Alias>> {
        storefront::alias(self, project, anonymous_id)
    }
    fn customer_aliases(&self, project: &str, customer: &str) -> Result<Vec<crate::Alias>> {
        storefront::customer_aliases(self, project, customer)
    }
    fn add_recommendation_events(&self, project: &str, events: &[crate::RecommendationEvent]) -> Result<()> {
        storefront::add_events(self, project, events)
    }
    fn recommendation_events(&self, project: &str, since: i64) -> Result<Vec<crate::RecommendationEvent>> {
        storefront::events(self, project, since)
    }
    fn add_recommendation_requests(&self, project: &str, counts: &[crate::RequestCount]) -> Result<()> {
        storefront::add_requests(self, project, counts)
    }
    fn recommendation_requests(&self, project: &str, since_day: i64) -> Result<Vec<crate::RequestCount>> {
        storefront::requests(self, project, since_day)
    }
    fn insert_audience(&self, project: &str, a: &affinity_core::Audience) -> Result<()> {
        audiences::insert(self, project, a)
    }
    fn update_audience(&self, project: &str, a: &affinity_core::Audience) -> Result<()> {
        audiences::update(self, project, a)
    }
    fn delete_audience(&self, project: &str, id: &str) -> Result<bool> {
        audiences::delete(self, project, id)
    }
    fn audiences(&self, project: &str) -> Result<Vec<affinity_core::Audience>> {
        audiences::list(self, project)
    }
    fn put_items(&self, project: &str, items: &[affinity_core::Item], at: i64) -> Result<()> {
        items::put(self, project, items, at)
    }
    fn item(&self, project: &str, id: &str) -> Result<Option<affinity_core::Item>> {
        items::get(self, project, id)
    }
    fn delete_item(&self, project: &str, id: &str) -> Result<bool> {
        items::delete(self, project, id)
    }
    fn items(&self, project: &str, after: Option<&str>, limit: usize) -> Result<Vec<affinity_core::Item>> {
        items::page(self, project, after, limit)
    }
    fn settings(&self, project: &str) -> Result<Option<affinity_core::Settings>> {
        items::settings(self, project)
    }
    fn put_settings(&self, project: &str, settings: &affinity_core::Settings, at: i64) -> Result<()> {
        items::put_settings(self, project, settings, at)
    }
    fn save_model(&self, project: &str, model: &crate::ModelRecord) -> Result<()> {
        items::save_model(self, project, model)
    }
    fn models(&self, project: &str) -> Result<Vec<crate::ModelRecord>> {
        items::models(self, project)
    }
    fn create_project(&self, project: &affinity_core::Project, keys: &[affinity_core::ApiKey]) -> Result<()> {
        catalog::create_project(self, project, keys)
    }
    fn projects(&self) -> Result<Vec<affinity_core::Project>> {
        catalog::projects(self)
    }
    fn insert_key(&self, key: &affinity_core::ApiKey) -> Result<()> {
        catalog::insert_key(self, key)
    }
    fn active_keys(&self) -> Result<Vec<affinity_core::ApiKey>> {
        catalog::active_keys(self)
    }
    fn active_key(&self, hash: &[u8; 32]) -> Result<Option<affinity_core::ApiKey>> {
        catalog::active_key(self, hash)
    }
    fn revoke_key(&self, project: &str, id: &str, at: i64) -> Result<bool> {
        catalog::revoke_key(self, project, id, at)
    }
    fn interaction_types(&self) -> Result<Vec<(String, affinity_core::InteractionType)>> {
        catalog::interaction_types(self)
    }
    fn insert_interaction_type(&self, project: &str, ty: &affinity_core::InteractionType) -> Result<()> {
        catalog::insert_interaction_type(self, project, ty)
    }
    fn update_interaction_type(&self, project: &str, ty: &affinity_core::InteractionType) -> Result<()> {
        catalog::update_interaction_type(self, project, ty)
    }
    fn append_events(
        &self,
        events: &[(&str, Option<&str>, &affinity_core::Event)],
        received_at: i64,
    ) -> Result<Vec<u64>> {
        events::append(self, events, received_at)
    }
    fn count_import_events(&self, import: &str) -> Result<u64> {
        events::count_import(self, import)
    }
    fn scan_events(&self, after: u64, limit: usize) -> Result<Vec<crate::LogEntry>> {
        events::scan(self, after, limit)
    }
    fn events_by_seq(&self, seqs: &[u64]) -> Result<Vec<crate::LogEntry>> {
        events::by_seq(self, seqs)
    }
    fn delete_events(&self, project: &str, customer: &str, seqs: &[u64], _after: u64) -> Result<usize> {
        events::delete(self, project, customer, seqs)
    }
    fn insert_import(&self, import: &affinity_core::ImportRecord) -> Result<()> {
        imports::insert(self, import)
    }
    fn update_import(&self, import: &affinity_core::ImportRecord) -> Result<()> {
        imports::update(self, import)
    }
    fn import(&self, project: &str, id: &str) -> Result<Option<affinity_core::ImportRecord>> {
        imports::one(self, project, id)
    }
    fn imports(&self, project: &str) -> Result<Vec<affinity_core::ImportRecord>> {
        imports::list(self, project)
    }
    fn imports_by_content(
        &self,
        project: &str,
        interaction: Option<&str>,
        hash: &[u8; 32],
    ) -> Result<Vec<affinity_core::ImportRecord>> {
        imports::by_content(self, project, interaction, hash)
    }
    fn interrupt_running_imports(&self, at: i64) -> Result<Vec<affinity_core::ImportRecord>> {
        imports::interrupt_running(self, at)
    }
}
