//! The ingest engine: where a validated event becomes a durable, indexed one, and where the per-project catalog
//! (interaction types, settings, audiences, experiences) is kept and edited.
//!
//! - [`pipeline`]: claims and duplicate checks, group commit on the writer thread, the applier that adds
//!   committed events to the views, following other nodes' events on a shared store, erasure in log order.
//! - [`catalog`]: the in-memory catalog of every project, each edited under one lock that checks every
//!   cross-reference (audience → audience, experience → audience, rule → interaction type and parameter).
//! - [`receive`]: events as `POST /feedback` sends them, one or a batch, with the row-by-row report.
//! - [`items`]: the item catalog (products), written to the store and then to the view in one order.
//! - [`follow`]: on a store several nodes share, the change feed: what other nodes changed besides events.
//! - [`import`]: file imports without HTTP: the columns a file may hold, byte-identical files imported before,
//!   the import records, and the row work (validation, submission through the pipeline, the failed rows' CSV).
//!
//! The HTTP server holds an [`Engine`] and calls it; nothing here knows about HTTP.

pub mod catalog;
pub mod engine;
pub mod error;
pub mod follow;
pub mod import;
pub mod items;
pub mod metrics;
pub mod pipeline;
pub mod receive;

pub use catalog::{Catalog, ProjectEntry, SavedAudience, SavedExperience, Snapshot};
pub use engine::{Engine, Opened};
pub use error::{CatalogError, IngestError};
pub use import::{Begun, ImportError, ImportJob, Plan, Upload};
pub use pipeline::{DryRunSeen, Ingest, Outcome, Submitted};
pub use receive::{ReceiveError, Received};
