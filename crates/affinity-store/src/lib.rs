//! Where affinity's data lives: the [`Store`] trait, its embedded SQLite implementation (one node) and its
//! PostgreSQL implementation (several nodes on one database).
//!
//! The store is the source of truth: an append-only event log whose sequence numbers only grow, plus small tables
//! for projects, hashed API keys and custom interaction types. Everything else (views, models) is rebuilt from it.
//! The trait is synchronous: callers run it on blocking threads (the ingest writer thread, `spawn_blocking`), which
//! keeps a later PostgreSQL implementation free to use its own connection pool.

use affinity_core::{ApiKey, Audience, Event, Experience, ImportRecord, InteractionType, Item, Project, Settings};

pub mod postgres;
pub mod sqlite;
pub mod transfer;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row with this id exists already (project, key, interaction type).
    #[error("{0} already exists")]
    Conflict(String),
    /// The row to change does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The database holds something this version cannot read.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// A store error reaching the API is internal (logged, answered 500): the domain crates turn the store's
/// `Conflict` and `NotFound` into their own codes (`audience_exists`…) where a request can cause them.
impl affinity_core::ErrorCode for StoreError {
    fn error_code(&self) -> affinity_core::Code {
        affinity_core::Code::Internal
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub use affinity_core::LogEntry;

/// What [`Store::append_new_events`] did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Appended {
    /// Per row, in order: its sequence number, or `None` when it duplicates an event in `foreign` (same project
    /// and client id, or same project, customer and content) and was not stored.
    pub seqs: Vec<Option<u64>>,
    /// The events other nodes committed after the caller's `known` position, all before the stored rows, in log
    /// order.
    pub foreign: Vec<LogEntry>,
}

/// A trained model as stored: the newest of its kind per project.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRecord {
    /// `popular`, `similar`, `bought_together`, `ease`, `item_knn`…
    pub kind: String,
    /// Epoch ms UTC.
    pub trained_at: i64,
    /// JSON: fit duration, sizes, last evaluation.
    pub meta: String,
    /// The parameters in the model's own binary layout.
    pub data: Vec<u8>,
}

/// What another node changed besides events, from a shared store's change feed ([`Store::changes_after`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Position in the feed: increasing, committed in order.
    pub seq: u64,
    pub project: String,
    pub kind: ChangeKind,
    /// What changed within the kind: for an erasure, `{"customer":…,"upto":seq,"aliases":[…]}` (the highest seq
    /// erased, and the customer's anonymous ids, whose events were erased too); for
    /// items, a JSON array of the item ids (`None`: any item of the project may have changed).
    pub key: Option<String>,
}

/// The kinds of [`Change`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// A project was created (with its first keys).
    Project,
    /// A key was added or revoked.
    Keys,
    /// A custom interaction type was added or changed.
    Types,
    Items,
    Settings,
    Audiences,
    /// A model (or evaluation) was stored.
    Models,
    /// A customer's events were erased.
    Erase,
    /// An experience was added, changed or deleted.
    Experiences,
    /// An anonymous id became a customer's alias (`key`: the anonymous id).
    Aliases,
}

/// A customer was shown a variant of an experience (issue 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    pub experience: String,
    pub variant: String,
    pub customer: String,
    /// Epoch ms UTC.
    pub at: i64,
}

/// An anonymous id (a browser's, before login) that stands for a customer (issue 15, `POST …/identify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub anonymous_id: String,
    pub customer: String,
    /// Epoch ms UTC.
    pub created_at: i64,
}

/// An impression or a click of a recommendation answer (issue 15, `POST …/recommendations/{id}/events`).
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendationEvent {
    /// The answer's `recommendation_id`.
    pub recommendation: String,
    /// `impression` or `click`.
    pub kind: String,
    /// The item clicked (or shown); `None` for an impression of the whole widget.
    pub item: Option<String>,
    /// Who saw or clicked it, as the browser named them (a customer or an anonymous id).
    pub customer: Option<String>,
    /// The answer's placement and model, read from its id.
    pub placement: Option<String>,
    pub model: Option<String>,
    /// When it was received, epoch ms UTC.
    pub at: i64,
}

/// How many recommendation answers a placement and model gave on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCount {
    /// Days since 1970-01-01, UTC.
    pub day: i64,
    /// `""` for answers whose request named no placement.
    pub placement: String,
    /// `""` for answers given before the first training.
    pub model: String,
    pub requests: u64,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Project => "project",
            ChangeKind::Keys => "keys",
            ChangeKind::Types => "types",
            ChangeKind::Items => "items",
            ChangeKind::Settings => "settings",
            ChangeKind::Audiences => "audiences",
            ChangeKind::Models => "models",
            ChangeKind::Erase => "erase",
            ChangeKind::Experiences => "experiences",
            ChangeKind::Aliases => "aliases",
        }
    }

    pub fn parse(s: &str) -> Option<ChangeKind> {
        [
            ChangeKind::Project,
            ChangeKind::Keys,
            ChangeKind::Types,
            ChangeKind::Items,
            ChangeKind::Settings,
            ChangeKind::Audiences,
            ChangeKind::Models,
            ChangeKind::Erase,
            ChangeKind::Experiences,
            ChangeKind::Aliases,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Held while a node trains a project's models ([`Store::training_lock`]); dropping it lets the next node train.
pub type TrainingLock = Box<dyn Send + Sync>;

/// The durable store. Every write returns only once it is on disk.
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Whether other nodes may write to this store at the same time (PostgreSQL): then each node follows the event
    /// log ([`Store::scan_events`]) and the change feed ([`Store::changes_after`]) to see the others' writes.
    fn shared(&self) -> bool {
        false
    }
    /// Up to `limit` changes with `seq > after`, in order. Empty for a store only one node uses.
    fn changes_after(&self, _after: u64, _limit: usize) -> Result<Vec<Change>> {
        Ok(Vec::new())
    }
    /// The newest change's seq (0: none): where a node starting now begins following.
    fn last_change(&self) -> Result<u64> {
        Ok(0)
    }
    /// Serialises training of `project` across the nodes sharing the store. With `wait`, blocks until this node
    /// holds the lock; without, returns `None` at once when another node holds it. A store only one node uses
    /// needs no lock (the node serialises its own trainings).
    fn training_lock(&self, _project: &str, _wait: bool) -> Result<Option<TrainingLock>> {
        Ok(Some(Box::new(())))
    }
    /// Creates a project with its first keys, atomically. Errors: [`StoreError::Conflict`] when the id is taken.
    fn create_project(&self, project: &Project, keys: &[ApiKey]) -> Result<()>;
    /// All projects, by id.
    fn projects(&self) -> Result<Vec<Project>>;
    /// Adds a key to an existing project.
    fn insert_key(&self, key: &ApiKey) -> Result<()>;
    /// Every key not revoked, of every project.
    fn active_keys(&self) -> Result<Vec<ApiKey>>;
    /// The key not revoked whose SHA-256 hash is `hash`, if any: one indexed read (the hash column is unique), for
    /// a node to honour a key another node just created.
    fn active_key(&self, hash: &[u8; 32]) -> Result<Option<ApiKey>>;
    /// Revokes a key; `false` when the project has no such active key. `at` is epoch ms.
    fn revoke_key(&self, project: &str, id: &str, at: i64) -> Result<bool>;

    /// Every custom interaction type of every project, as `(project, type)`.
    fn interaction_types(&self) -> Result<Vec<(String, InteractionType)>>;
    /// Adds a custom interaction type. Errors: [`StoreError::Conflict`] when the project has the id already.
    fn insert_interaction_type(&self, project: &str, ty: &InteractionType) -> Result<()>;
    /// Replaces a custom interaction type (name, parameters, archived). Errors: [`StoreError::NotFound`].
    fn update_interaction_type(&self, project: &str, ty: &InteractionType) -> Result<()>;

    /// Appends events in one transaction (one fsync) and returns their sequence numbers, in order. Each row is
    /// `(project, import id or None, event)`; each import's count of stored events grows in the same transaction.
    /// `received_at` is epoch ms.
    fn append_events(&self, events: &[(&str, Option<&str>, &Event)], received_at: i64) -> Result<Vec<u64>>;
    /// [`Store::append_events`] for a node that has seen the log up to `known`: on a shared store, the events other
    /// nodes committed after `known` are read under the append lock, rows duplicating one of them are left out, and
    /// those events are returned with the outcome, so that duplicate checks hold across nodes. A store only one
    /// node uses appends every row.
    fn append_new_events(
        &self,
        _known: u64,
        events: &[(&str, Option<&str>, &Event)],
        received_at: i64,
    ) -> Result<Appended> {
        let seqs = self.append_events(events, received_at)?;
        Ok(Appended { seqs: seqs.into_iter().map(Some).collect(), foreign: Vec::new() })
    }
    /// How many events an import stored (0 for an unknown import), exact even after a crash: the count is
    /// committed with the events. Events erased later still count.
    fn count_import_events(&self, import: &str) -> Result<u64>;
    /// Up to `limit` events with `seq > after`, in log order.
    fn scan_events(&self, after: u64, limit: usize) -> Result<Vec<LogEntry>>;
    /// The events with these sequence numbers, in the order given; missing ones are left out.
    fn events_by_seq(&self, seqs: &[u64]) -> Result<Vec<LogEntry>>;
    /// Erases `customer` of `project`: deletes the events with these sequence numbers (the customer's, as the
    /// node's views hold them up to log position `after`), the customer's exposures to experiences, aliases and
    /// recommendation events (theirs and their anonymous ids'), and — on a shared store — the customer's events
    /// (and their anonymous ids') other nodes stored after `after`, in one transaction, which a shared
    /// store also records in its change feed (with the highest sequence number erased). Returns how many events
    /// were deleted.
    fn delete_events(&self, project: &str, customer: &str, seqs: &[u64], after: u64) -> Result<usize>;

    /// Keeps a finished import's failed-rows CSV where every node can read it (a shared store); a store only one
    /// node uses keeps nothing (the node has the file).
    fn put_import_failures(&self, _import: &str, _csv: &[u8]) -> Result<()> {
        Ok(())
    }
    /// The failed-rows CSV kept by [`Store::put_import_failures`], if any.
    fn import_failures(&self, _import: &str) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
    /// Records a new import. Errors: [`StoreError::Conflict`] when the id is taken.
    fn insert_import(&self, import: &ImportRecord) -> Result<()>;
    /// Replaces an import's status, counters, report, error and finish time.
    fn update_import(&self, import: &ImportRecord) -> Result<()>;
    /// One import of a project.
    fn import(&self, project: &str, id: &str) -> Result<Option<ImportRecord>>;
    /// A project's imports, newest first.
    fn imports(&self, project: &str) -> Result<Vec<ImportRecord>>;
    /// Every import of this content for this interaction type (any status, dry runs too), oldest first.
    fn imports_by_content(
        &self,
        project: &str,
        interaction: Option<&str>,
        hash: &[u8; 32],
    ) -> Result<Vec<ImportRecord>>;
    /// Marks every running import `interrupted` (at start-up: they died with the previous process); returns them.
    fn interrupt_running_imports(&self, at: i64) -> Result<Vec<ImportRecord>>;

    /// Inserts or replaces catalog items of a project, in one transaction. `at` is epoch ms.
    fn put_items(&self, project: &str, items: &[Item], at: i64) -> Result<()>;
    /// One catalog item.
    fn item(&self, project: &str, id: &str) -> Result<Option<Item>>;
    /// Deletes a catalog item; `false` when there was none.
    fn delete_item(&self, project: &str, id: &str) -> Result<bool>;
    /// Up to `limit` items with ids after `after`, by id (byte order).
    fn items(&self, project: &str, after: Option<&str>, limit: usize) -> Result<Vec<Item>>;
    /// A project's settings, `None` when never set (the defaults apply).
    fn settings(&self, project: &str) -> Result<Option<Settings>>;
    /// Replaces a project's settings. `at` is epoch ms.
    fn put_settings(&self, project: &str, settings: &Settings, at: i64) -> Result<()>;
    /// Replaces the project's model of `model.kind`.
    fn save_model(&self, project: &str, model: &ModelRecord) -> Result<()>;
    /// A project's stored models, by kind.
    fn models(&self, project: &str) -> Result<Vec<ModelRecord>>;

    /// Adds an audience. Errors: [`StoreError::Conflict`] when the project has the id already.
    fn insert_audience(&self, project: &str, audience: &Audience) -> Result<()>;
    /// Replaces an audience's name, rule and update time. Errors: [`StoreError::NotFound`].
    fn update_audience(&self, project: &str, audience: &Audience) -> Result<()>;
    /// Deletes an audience; `false` when there was none.
    fn delete_audience(&self, project: &str, id: &str) -> Result<bool>;
    /// A project's audiences, by id.
    fn audiences(&self, project: &str) -> Result<Vec<Audience>>;

    /// Adds an experience. Errors: [`StoreError::Conflict`] when the project has the id already.
    fn insert_experience(&self, project: &str, experience: &Experience) -> Result<()>;
    /// Replaces an experience. Errors: [`StoreError::NotFound`].
    fn update_experience(&self, project: &str, experience: &Experience) -> Result<()>;
    /// Deletes an experience and its exposures; `false` when there was none.
    fn delete_experience(&self, project: &str, id: &str) -> Result<bool>;
    /// A project's experiences, by id.
    fn experiences(&self, project: &str) -> Result<Vec<Experience>>;
    /// Records exposures of a project, in one transaction.
    fn add_exposures(&self, project: &str, exposures: &[Exposure]) -> Result<()>;
    /// Every exposure to one experience, oldest first.
    fn exposures(&self, project: &str, experience: &str) -> Result<Vec<Exposure>>;

    /// Makes `alias.anonymous_id` stand for `alias.customer`, unless the anonymous id has an alias already, and
    /// returns the alias the store holds for it afterwards (the earlier one when there was one: the caller
    /// compares its customer). A new alias joins a shared store's change feed.
    fn insert_alias(&self, project: &str, alias: &Alias) -> Result<Alias>;
    /// A project's aliases, oldest first.
    fn aliases(&self, project: &str) -> Result<Vec<Alias>>;
    /// The alias of one anonymous id, if any.
    fn alias(&self, project: &str, anonymous_id: &str) -> Result<Option<Alias>>;
    /// The aliases of one customer (their anonymous ids), oldest first.
    fn customer_aliases(&self, project: &str, customer: &str) -> Result<Vec<Alias>>;

    /// Records impressions and clicks of recommendations, in one transaction.
    fn add_recommendation_events(&self, project: &str, events: &[RecommendationEvent]) -> Result<()>;
    /// A project's recommendation events received at or after `since` (epoch ms), oldest first.
    fn recommendation_events(&self, project: &str, since: i64) -> Result<Vec<RecommendationEvent>>;
    /// Adds these counts to the stored ones (each node adds what it served since its last call).
    fn add_recommendation_requests(&self, project: &str, counts: &[RequestCount]) -> Result<()>;
    /// A project's request counts of day `since_day` and later, by day.
    fn recommendation_requests(&self, project: &str, since_day: i64) -> Result<Vec<RequestCount>>;
}
