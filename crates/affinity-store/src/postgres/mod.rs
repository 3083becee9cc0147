//! The PostgreSQL store, for several `affinity serve` nodes on one database (`--database-url postgres://…`).
//!
//! [`crate::Store`] is synchronous, so this store owns a small tokio runtime that drives its connections, and each
//! call blocks its caller until the database answers (callers are blocking threads, as with SQLite). Connections
//! are pooled; a broken one is replaced on the next call.
//!
//! Appends take a transaction-scoped advisory lock ([`LOG_LOCK`]) before allocating sequence numbers and hold it
//! to commit, so events become visible in sequence order: a node following the log by `seq > last seen` cannot
//! skip an event another node is still committing. Bulk appends use `COPY … FROM STDIN (FORMAT binary)`.
//!
//! Migrations are the SQL files in `migrations/postgres/`, recorded in `affinity_schema`, applied under a session
//! advisory lock so that nodes starting together apply each once.

mod audiences;
mod catalog;
mod changes;
mod events;
mod experiences;
mod imports;
mod items;
mod storefront;

use std::collections::HashSet;
use std::sync::Mutex;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

use crate::{Result, StoreError};

/// The schema migrations, in order.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_changes.sql"),
    include_str!("../../migrations/postgres/0003_import_failures.sql"),
    include_str!("../../migrations/postgres/0004_experiences.sql"),
    include_str!("../../migrations/postgres/0005_order_id.sql"),
    include_str!("../../migrations/postgres/0006_public_keys.sql"),
    include_str!("../../migrations/postgres/0007_identity_attribution.sql"),
];
/// Advisory lock namespace of training locks: `pg_advisory_lock(TRAINING_LOCK, hashtext(project))`.
const TRAINING_LOCK: i32 = 0x6166_6674;

/// Advisory lock key held by appends from sequence allocation to commit ("affinity log").
pub const LOG_LOCK: i64 = 0x6166_6669_6c6f_6701;
/// Advisory lock key held while migrations run.
const MIGRATE_LOCK: i64 = 0x6166_6669_6d69_6701;
/// Connections kept open for reuse.
const MAX_IDLE: usize = 16;

/// The PostgreSQL implementation of [`crate::Store`].
pub struct PgStore {
    runtime: tokio::runtime::Runtime,
    config: tokio_postgres::Config,
    idle: Mutex<Vec<Client>>,
    /// Months (`year * 12 + month - 1`) whose event partition is known to exist.
    partitions: Mutex<HashSet<i64>>,
    /// This node's id: recorded on the imports it runs.
    node: String,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, libpq syntax also accepted) and applies
    /// pending migrations.
    ///
    /// Errors: a malformed URL, an unreachable server, or a database migrated by a newer affinity.
    pub fn connect(url: &str) -> Result<Self> {
        Self::connect_as(url, "")
    }

    /// [`PgStore::connect`] for node `node` (a stable id per data directory): the imports it records are its own,
    /// and [`crate::Store::interrupt_running_imports`] marks only those.
    pub fn connect_as(url: &str, node: &str) -> Result<Self> {
        let config: tokio_postgres::Config = url.parse()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("affinity-postgres")
            .enable_all()
            .build()?;
        let store = PgStore {
            runtime,
            config,
            idle: Mutex::new(Vec::new()),
            partitions: Mutex::new(HashSet::new()),
            node: node.to_string(),
        };
        store.run(async |c| migrate(c).await)?;
        let known = store.run(async |c| events::existing_partitions(c).await)?;
        store.partitions.lock().unwrap_or_else(|p| p.into_inner()).extend(known);
        Ok(store)
    }

    /// The schema version the database is at (the number of migrations applied).
    pub fn schema_version(&self) -> Result<usize> {
        self.run(async |c| {
            let v: Option<i32> = c.query_one("SELECT max(version) FROM affinity_schema", &[]).await?.get(0);
            Ok(v.unwrap_or(0) as usize)
        })
    }

    /// Runs `f` with a pooled connection, blocking the calling thread until it completes.
    fn run<T>(&self, f: impl AsyncFnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let mut client = self.client()?;
        // The connection is driven by the store's own runtime; the client's futures only talk to it through
        // channels, so any thread can wait for them.
        let out = futures_executor::block_on(f(&mut client));
        if !client.is_closed() {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE {
                idle.push(client);
            }
        }
        out
    }

    fn client(&self) -> Result<Client> {
        loop {
            let next = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match next {
                Some(c) if !c.is_closed() => return Ok(c),
                Some(_) => continue,
                None => break,
            }
        }
        let config = self.config.clone();
        let task = self.runtime.spawn(async move {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "postgres connection closed");
                }
            });
            Ok::<_, tokio_postgres::Error>(client)
        });
        futures_executor::block_on(task).map_err(|e| StoreError::Io(std::io::Error::other(e)))?.map_err(Into::into)
    }
}

async fn migrate(c: &mut Client) -> Result<()> {
    c.execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK]).await?;
    let result = apply_migrations(c).await;
    c.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK]).await?;
    result
}

async fn apply_migrations(c: &mut Client) -> Result<()> {
    c.batch_execute(
        "CREATE TABLE IF NOT EXISTS affinity_schema (version integer PRIMARY KEY, applied_at bigint NOT NULL)",
    )
    .await?;
    let applied: Option<i32> = c.query_one("SELECT max(version) FROM affinity_schema", &[]).await?.get(0);
    let applied = applied.unwrap_or(0) as usize;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "schema version {applied} is newer than this build knows ({}); upgrade affinity",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = c.transaction().await?;
        tx.batch_execute(sql).await?;
        let version = (i + 1) as i32;
        tx.execute(
            "INSERT INTO affinity_schema (version, applied_at) VALUES ($1, $2)",
            &[&version, &affinity_core::date::now_ms()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version, "applied postgres schema migration");
    }
    Ok(())
}

/// Maps a unique violation to [`StoreError::Conflict`] naming `what`.
fn conflict(e: tokio_postgres::Error, what: impl FnOnce() -> String) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) { StoreError::Conflict(what()) } else { e.into() }
}

/// Reads a text column holding JSON.
fn json<T: serde::de::DeserializeOwned>(text: &str, what: impl FnOnce() -> String) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{}: {e}", what())))
}

impl crate::Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }
    fn insert_experience(&self, project: &str, e: &affinity_core::Experience) -> Result<()> {
        self.run(async |c| experiences::insert(c, project, e).await)
    }
    fn update_experience(&self, project: &str, e: &affinity_core::Experience) -> Result<()> {
        self.run(async |c| experiences::update(c, project, e).await)
    }
    fn delete_experience(&self, project: &str, id: &str) -> Result<bool> {
        self.run(async |c| experiences::delete(c, project, id).await)
    }
    fn experiences(&self, project: &str) -> Result<Vec<affinity_core::Experience>> {
        self.run(async |c| experiences::list(c, project).await)
    }
    fn add_exposures(&self, project: &str, rows: &[crate::Exposure]) -> Result<()> {
        self.run(async |c| experiences::add_exposures(c, project, rows).await)
    }
    fn exposures(&self, project: &str, experience: &str) -> Result<Vec<crate::Exposure>> {
        self.run(async |c| experiences::exposures(c, project, experience).await)
    }
    fn insert_alias(&self, project: &str, alias: &crate::Alias) -> Result<crate::Alias> {
        self.run(async |c| storefront::insert_alias(c, project, alias).await)
    }
    fn aliases(&self, project: &str) -> Result<Vec<crate::Alias>> {
        self.run(async |c| storefront::aliases(c, project).await)
    }
    fn alias(&self, project: &str, anonymous_id: &str) -> Result<Option<crate::Alias>> {
        self.run(async |c| storefront::alias(c, project, anonymous_id).await)
    }
    fn customer_aliases(&self, project: &str, customer: &str) -> Result<Vec<crate::Alias>> {
        self.run(async |c| storefront::customer_aliases(c, project, customer).await)
    }
    fn add_recommendation_events(&self, project: &str, events: &[crate::RecommendationEvent]) -> Result<()> {
        self.run(async |c| storefront::add_events(c, project, events).await)
    }
    fn recommendation_events(&self, project: &str, since: i64) -> Result<Vec<crate::RecommendationEvent>> {
        self.run(async |c| storefront::events(c, project, since).await)
    }
    fn add_recommendation_requests(&self, project: &str, counts: &[crate::RequestCount]) -> Result<()> {
        self.run(async |c| storefront::add_requests(c, project, counts).await)
    }
    fn recommendation_requests(&self, project: &str, since_day: i64) -> Result<Vec<crate::RequestCount>> {
        self.run(async |c| storefront::requests(c, project, since_day).await)
    }
    fn insert_audience(&self, project: &str, a: &affinity_core::Audience) -> Result<()> {
        self.run(async |c| audiences::insert(c, project, a).await)
    }
    fn update_audience(&self, project: &str, a: &affinity_core::Audience) -> Result<()> {
        self.run(async |c| audiences::update(c, project, a).await)
    }
    fn delete_audience(&self, project: &str, id: &str) -> Result<bool> {
        self.run(async |c| audiences::delete(c, project, id).await)
    }
    fn audiences(&self, project: &str) -> Result<Vec<affinity_core::Audience>> {
        self.run(async |c| audiences::list(c, project).await)
    }
    fn put_items(&self, project: &str, items: &[affinity_core::Item], at: i64) -> Result<()> {
        self.run(async |c| items::put(c, project, items, at).await)
    }
    fn item(&self, project: &str, id: &str) -> Result<Option<affinity_core::Item>> {
        self.run(async |c| items::get(c, project, id).await)
    }
    fn delete_item(&self, project: &str, id: &str) -> Result<bool> {
        self.run(async |c| items::delete(c, project, id).await)
    }
    fn items(&self, project: &str, after: Option<&str>, limit: usize) -> Result<Vec<affinity_core::Item>> {
        self.run(async |c| items::page(c, project, after, limit).await)
    }
    fn settings(&self, project: &str) -> Result<Option<affinity_core::Settings>> {
        self.run(async |c| items::settings(c, project).await)
    }
    fn put_settings(&self, project: &str, settings: &affinity_core::Settings, at: i64) -> Result<()> {
        self.run(async |c| items::put_settings(c, project, settings, at).await)
    }
    fn save_model(&self, project: &str, model: &crate::ModelRecord) -> Result<()> {
        self.run(async |c| items::save_model(c, project, model).await)
    }
    fn models(&self, project: &str) -> Result<Vec<crate::ModelRecord>> {
        self.run(async |c| items::models(c, project).await)
    }
    fn create_project(&self, project: &affinity_core::Project, keys: &[affinity_core::ApiKey]) -> Result<()> {
        self.run(async |c| catalog::create_project(c, project, keys).await)
    }
    fn projects(&self) -> Result<Vec<affinity_core::Project>> {
        self.run(async |c| catalog::projects(c).await)
    }
    fn insert_key(&self, key: &affinity_core::ApiKey) -> Result<()> {
        self.run(async |c| catalog::insert_key(c, key).await)
    }
    fn active_keys(&self) -> Result<Vec<affinity_core::ApiKey>> {
        self.run(async |c| catalog::active_keys(c).await)
    }
    fn active_key(&self, hash: &[u8; 32]) -> Result<Option<affinity_core::ApiKey>> {
        self.run(async |c| catalog::active_key(c, hash).await)
    }
    fn revoke_key(&self, project: &str, id: &str, at: i64) -> Result<bool> {
        self.run(async |c| catalog::revoke_key(c, project, id, at).await)
    }
    fn interaction_types(&self) -> Result<Vec<(String, affinity_core::InteractionType)>> {
        self.run(async |c| catalog::interaction_types(c).await)
    }
    fn insert_interaction_type(&self, project: &str, ty: &affinity_core::InteractionType) -> Result<()> {
        self.run(async |c| catalog::insert_interaction_type(c, project, ty).await)
    }
    fn update_interaction_type(&self, project: &str, ty: &affinity_core::InteractionType) -> Result<()> {
        self.run(async |c| catalog::update_interaction_type(c, project, ty).await)
    }
    fn append_events(
        &self,
        events: &[(&str, Option<&str>, &affinity_core::Event)],
        received_at: i64,
    ) -> Result<Vec<u64>> {
        let appended = self.run(async |c| events::append(self, c, None, events, received_at).await)?;
        Ok(appended.seqs.into_iter().flatten().collect())
    }
    fn append_new_events(
        &self,
        known: u64,
        events: &[(&str, Option<&str>, &affinity_core::Event)],
        received_at: i64,
    ) -> Result<crate::Appended> {
        self.run(async |c| events::append(self, c, Some(known), events, received_at).await)
    }
    fn put_import_failures(&self, import: &str, csv: &[u8]) -> Result<()> {
        self.run(async |c| {
            c.execute(
                "INSERT INTO import_failures (import, csv) VALUES ($1, $2)
                 ON CONFLICT (import) DO UPDATE SET csv = excluded.csv",
                &[&import, &csv],
            )
            .await?;
            Ok(())
        })
    }
    fn import_failures(&self, import: &str) -> Result<Option<Vec<u8>>> {
        self.run(async |c| {
            let row = c.query_opt("SELECT csv FROM import_failures WHERE import = $1", &[&import]).await?;
            Ok(row.map(|r| r.get(0)))
        })
    }
    fn count_import_events(&self, import: &str) -> Result<u64> {
        self.run(async |c| imports::count_events(c, import).await)
    }
    fn scan_events(&self, after: u64, limit: usize) -> Result<Vec<crate::LogEntry>> {
        self.run(async |c| events::scan(c, after, limit).await)
    }
    fn events_by_seq(&self, seqs: &[u64]) -> Result<Vec<crate::LogEntry>> {
        self.run(async |c| events::by_seq(c, seqs).await)
    }
    fn delete_events(&self, project: &str, customer: &str, seqs: &[u64], after: u64) -> Result<usize> {
        self.run(async |c| events::delete(c, project, customer, seqs, after).await)
    }
    fn shared(&self) -> bool {
        true
    }
    fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<crate::Change>> {
        self.run(async |c| changes::after(c, after, limit).await)
    }
    fn last_change(&self) -> Result<u64> {
        self.run(async |c| changes::last(c).await)
    }
    fn training_lock(&self, project: &str, wait: bool) -> Result<Option<crate::TrainingLock>> {
        // A session lock on a connection of its own, taken out of the pool: dropping the guard closes the
        // connection, which releases the lock (also when this process dies).
        let client = self.client()?;
        let held = futures_executor::block_on(async {
            if wait {
                client.execute("SELECT pg_advisory_lock($1, hashtext($2))", &[&TRAINING_LOCK, &project]).await?;
                Ok::<_, tokio_postgres::Error>(true)
            } else {
                let row = client
                    .query_one("SELECT pg_try_advisory_lock($1, hashtext($2))", &[&TRAINING_LOCK, &project])
                    .await?;
                Ok(row.get::<_, bool>(0))
            }
        })?;
        Ok(held.then(|| Box::new(client) as crate::TrainingLock))
    }
    fn insert_import(&self, import: &affinity_core::ImportRecord) -> Result<()> {
        self.run(async |c| imports::insert(c, import, &self.node).await)
    }
    fn update_import(&self, import: &affinity_core::ImportRecord) -> Result<()> {
        self.run(async |c| imports::update(c, import).await)
    }
    fn import(&self, project: &str, id: &str) -> Result<Option<affinity_core::ImportRecord>> {
        self.run(async |c| imports::one(c, project, id).await)
    }
    fn imports(&self, project: &str) -> Result<Vec<affinity_core::ImportRecord>> {
        self.run(async |c| imports::list(c, project).await)
    }
    fn imports_by_content(
        &self,
        project: &str,
        interaction: Option<&str>,
        hash: &[u8; 32],
    ) -> Result<Vec<affinity_core::ImportRecord>> {
        self.run(async |c| imports::by_content(c, project, interaction, hash).await)
    }
    fn interrupt_running_imports(&self, at: i64) -> Result<Vec<affinity_core::ImportRecord>> {
        self.run(async |c| imports::interrupt_running(c, at, &self.node).await)
    }
}
