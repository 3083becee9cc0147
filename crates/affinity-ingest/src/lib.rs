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
//!   the import records, the row work (validation, submission through the pipeline, the failed rows' CSV) and
//!   the imports running on this node.
//! - [`identity`]: anonymous ids that become customers' aliases (`identify`).
//! - [`attribution`]: what recommendations earn: answers counted, impressions and clicks, attributed purchases.
//! - [`audiences`]: who is in an audience now.
//! - [`keys`]: API keys, hashed, and who a presented key belongs to (read through to the store when unknown).
//! - [`training`]: training on demand and by policy, storing models and loading other nodes' models.
//! - [`targeting`]: decisions, exposures and experiment reports over the catalog, the view and the model.
//! - [`node`]: the data directory: the store's file or the node's id, and the master key.
//!
//! The HTTP server holds an [`Engine`] and calls it; nothing here knows about HTTP.

pub mod attribution;
pub mod audiences;
pub mod catalog;
pub mod engine;
pub mod error;
pub mod follow;
pub mod identity;
pub mod import;
pub mod items;
pub mod keys;
pub mod metrics;
pub mod node;
pub mod pipeline;
pub mod receive;
pub mod targeting;
pub mod training;

pub use catalog::{Catalog, ProjectEntry, SavedAudience, SavedExperience, Snapshot};
pub use engine::{Engine, Opened};
pub use error::{CatalogError, IngestError, TrainError};
pub use identity::{Identified, IdentityError};
pub use import::{Begun, ImportError, ImportJob, Imports, Plan, Upload};
pub use keys::{Caller, Keyring, Unauthorized};
pub use pipeline::{DryRunSeen, Ingest, Outcome, Submitted};
pub use receive::{ReceiveError, Received};
