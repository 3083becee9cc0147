//! The domain of affinity, with no I/O: what an interaction type is, what makes an event valid, how dates are read,
//! and the shape of the per-row report shared by `POST /feedback` batches and file uploads.
//!
//! Everything that comes from outside (HTTP bodies, upload rows) is checked here, once, so that every entry path
//! applies the same rules. Times are milliseconds since the Unix epoch, UTC (`i64`).

pub mod audience;
pub mod catalog;
pub mod date;
pub mod error_code;
pub mod event;
pub mod experience;
pub mod ids;
pub mod import;
pub mod item;
pub mod log;
pub mod problem;
pub mod project;
pub mod raw;
pub mod report;
pub mod rule;
pub mod settings;

pub use audience::Audience;
pub use catalog::{InteractionType, ParamType, Parameter};
pub use error_code::{Code, ErrorCode};
pub use event::{Event, ParamValue};
pub use experience::Experience;
pub use import::{ImportRecord, ImportStatus};
pub use item::Item;
pub use log::LogEntry;
pub use problem::{Problem, ProblemKind};
pub use project::{ApiKey, Project, Scope};
pub use report::{FailedItem, Report, ReportBuilder};
pub use settings::{Exclude, Settings, Tunable};
