//! File imports without HTTP: what a file may hold, whether it was imported before, its import record, and the
//! row work (reading, validating, storing through the pipeline, the failed rows' CSV).
//!
//! The server receives an upload and spools it to [`upload_file`] with its SHA-256 (or streams it, see
//! [`Engine::can_stream`] and [`Engine::begin_streamed_import`]: the same steps, while the bytes arrive); then
//! 1. [`Engine::plan_import`] checks what the upload asks for against the catalog (the interaction type exists
//!    and is not archived) and fixes which columns the file may hold;
//! 2. [`Engine::begin_import`] (blocking) checks the header (a missing mandatory column refuses the file before
//!    any row is stored), recognises a byte-identical file imported before, and saves the import's record;
//! 3. [`ImportJob::run`] (blocking) processes the rows and saves the finished record; [`Engine::run_import`] runs
//!    it in the background, tracked in [`Imports`] with its live progress.
//!
//! Files live in `<data-dir>/imports/`: `<id>.upload` while the import runs, `<id>.failures.csv` afterwards.
//! At start-up, [`recover`] marks the imports the previous process left running `interrupted`.

mod error;
mod items;
mod job;
mod running;
mod stream;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use affinity_core::{ImportRecord, ImportStatus, InteractionType, Report};
use affinity_import::{ColumnSpec, FileReader, Format, HeaderError, open_csv};
use affinity_store::{Store, StoreError};

use crate::Engine;
pub use error::ImportError;
pub use running::Imports;
pub use stream::Streamed;

/// What is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// Interactions (events), validated by the rules of `POST /feedback`.
    #[default]
    Interactions,
    /// An item catalog CSV (`id`, `title`, `categories`, `price`, `available`, properties), upserted.
    Items,
}

/// What an upload asks for.
#[derive(Debug, Clone)]
pub struct Options {
    /// The interaction type of every row; `None` for a file with an `event` column. Ignored for items.
    pub interaction: Option<String>,
    pub format: Format,
    /// Validate and report, store nothing.
    pub dry_run: bool,
    /// Read a byte-identical file imported before again, row by row.
    pub force: bool,
    /// Failed rows listed in the report (all are in the failures CSV anyway).
    pub max_failures: usize,
    pub kind: Kind,
}

/// An upload checked against the catalog: what [`Engine::begin_import`] needs besides the file.
#[derive(Debug, Clone)]
pub struct Plan {
    project: String,
    options: Options,
    /// The project's interaction types and the columns the file may hold; `None` for items.
    events: Option<(Arc<Vec<InteractionType>>, ColumnSpec)>,
}

impl Plan {
    /// The project imported into.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// What the upload asked for.
    pub fn options(&self) -> &Options {
        &self.options
    }
}

/// An upload spooled to [`upload_file`]`(data_dir, id)`.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The new import's id (`imp_` and 16 hex digits).
    pub id: String,
    /// SHA-256 of the bytes.
    pub hash: [u8; 32],
    /// Size in bytes.
    pub bytes: u64,
}

/// What [`Engine::begin_import`] decided.
pub enum Begun {
    /// A byte-identical file of the same interaction type was imported before (and `force` was not asked): the
    /// record, saved `done`, reports every valid row skipped and the same failed rows; nothing runs.
    Done(ImportRecord),
    /// The record is saved `running`: run the job on a blocking thread.
    Run(Box<ImportJob>),
}

/// Live counters of a running import.
#[derive(Debug, Default)]
pub struct Progress {
    /// Data rows read.
    pub rows: AtomicU64,
    /// Bytes of the upload read.
    pub bytes: AtomicU64,
    pub succeeded: AtomicU64,
    pub skipped: AtomicU64,
    pub failed: AtomicU64,
}

/// One import's row work, ready to run.
pub struct ImportJob {
    record: ImportRecord,
    progress: Arc<Progress>,
    work: Work,
}

enum Work {
    Events(job::Job),
    Items(items::ItemJob),
}

impl ImportJob {
    /// The record as saved when the job was made (`running`).
    pub fn record(&self) -> &ImportRecord {
        &self.record
    }

    /// The job's live counters.
    pub fn progress(&self) -> Arc<Progress> {
        self.progress.clone()
    }

    /// What the job imports.
    pub fn kind(&self) -> Kind {
        match self.work {
            Work::Events(_) => Kind::Interactions,
            Work::Items(_) => Kind::Items,
        }
    }

    /// Processes every row, saves the finished record (`done`, or `failed` with why when the file could not be
    /// read to its end) and, on a shared store, the failed rows' CSV; returns the record. Blocking.
    pub fn run(self) -> ImportRecord {
        match self.work {
            Work::Events(job) => job.run(),
            Work::Items(job) => job.run(),
        }
    }
}

/// Marks `record` `failed` after its job stopped without finishing (it panicked), saves it and returns it;
/// `error` is why the thread ended.
pub fn stopped(store: &dyn Store, mut record: ImportRecord, kind: Kind, error: &dyn std::fmt::Display) -> ImportRecord {
    record.status = ImportStatus::Failed;
    record.error = Some(match kind {
        Kind::Interactions => "the import stopped on an internal error".into(),
        Kind::Items => format!("the import stopped on an internal error: {error}"),
    });
    record.finished_at = Some(affinity_core::date::now_ms());
    if let Err(e) = store.update_import(&record) {
        tracing::error!(import = %record.id, error = %e, "saving the failed import failed");
    }
    record
}

impl Engine {
    /// Checks an upload against `project`'s catalog before its bytes are read: the project exists, and the
    /// interaction type named (if any) exists and is not archived. Fixes which columns the file may hold.
    ///
    /// Errors: [`ImportError::UnknownEvent`], [`ImportError::ArchivedEvent`] (field `interaction`),
    /// [`ImportError::Catalog`] for an unknown project.
    pub fn plan_import(&self, project: &str, options: Options) -> Result<Plan, ImportError> {
        let entry = self.project(project)?;
        let events = match options.kind {
            Kind::Items => None,
            Kind::Interactions => {
                let types = entry.types();
                let interaction = match options.interaction.as_deref() {
                    None => None,
                    Some(id) => match types.iter().find(|t| t.id == id) {
                        Some(t) if !t.archived => Some(t.clone()),
                        Some(_) => return Err(ImportError::ArchivedEvent(id.to_string())),
                        None => return Err(ImportError::UnknownEvent(id.to_string())),
                    },
                };
                let spec = spec(&types, interaction.as_ref());
                Some((types, spec))
            }
        };
        Ok(Plan { project: project.to_string(), options, events })
    }

    /// Starts the import of `upload`, spooled in `data_dir`'s imports folder: checks its header (a refused file's
    /// upload is removed), recognises a byte-identical interaction file imported before (unless `force` or
    /// `dry_run`) and saves the record. Blocking.
    ///
    /// Rows without a timestamp get the time of the first upload of these bytes, so that uploading the same file
    /// again (after an interruption, with `force`) yields identical events, skipped as duplicates.
    ///
    /// Errors: [`ImportError::Header`] (`missing_column` with the column as field, or `invalid_file`; an empty
    /// interaction file is accepted and reports no rows, an empty item file is not); store and file errors.
    pub fn begin_import(&self, plan: Plan, upload: Upload, data_dir: &Path) -> Result<Begun, ImportError> {
        let (spool, failures) = (upload_file(data_dir, &upload.id), failures_file(data_dir, &upload.id));
        let Plan { project, options, events } = plan;
        let Some((types, spec)) = events else {
            let header = match item_header(&spool) {
                Ok(h) => h,
                Err(e) => {
                    let _ = std::fs::remove_file(&spool);
                    return Err(e);
                }
            };
            // No content hash: an item file is never "already imported" (upserting it again changes nothing), and it
            // must not make an interaction file with the same bytes look imported.
            let (now, bytes) = (affinity_core::date::now_ms(), upload.bytes);
            let record = running(upload.id, project, None, &options, None, bytes, now);
            self.store.insert_import(&record)?;
            let progress = Arc::new(Progress::default());
            progress.bytes.store(upload.bytes, std::sync::atomic::Ordering::Relaxed);
            let job = items::ItemJob {
                engine: self.clone(),
                record: record.clone(),
                spool,
                failures,
                header,
                max_failures: options.max_failures,
                progress: progress.clone(),
            };
            return Ok(Begun::Run(Box::new(ImportJob { record, progress, work: Work::Items(job) })));
        };
        if let Err(e) = check_header(&spool, options.format, &spec) {
            let _ = std::fs::remove_file(&spool);
            return Err(e);
        }
        let now = affinity_core::date::now_ms();
        let earlier = self.store.imports_by_content(&project, options.interaction.as_deref(), &upload.hash)?;
        let started_ms = earlier.first().map_or(now, |first| first.created_at);
        let interaction = options.interaction.clone();
        let mut record = running(upload.id, project, interaction, &options, Some(upload.hash), upload.bytes, now);
        let previous = earlier.iter().rev().find(|r| r.status == ImportStatus::Done && !r.dry_run);
        if !options.force
            && !options.dry_run
            && let Some(previous) = previous
        {
            let _ = std::fs::remove_file(&spool);
            let _ = std::fs::copy(failures_file(data_dir, &previous.id), &failures);
            if self.store.shared() {
                // The earlier upload may have run on another node: its failed rows are in the store.
                if !failures.exists()
                    && let Some(csv) = self.store.import_failures(&previous.id)?
                {
                    std::fs::write(&failures, csv)?;
                }
            }
            record.status = ImportStatus::Done;
            record.rows = previous.rows;
            record.report = previous.report.as_deref().and_then(|r| already_imported(r, &previous.id));
            record.finished_at = Some(now);
            self.store.insert_import(&record)?;
            // After the record: the store's copy of the failed rows refers to it.
            share_failures(&*self.store, &failures, &record.id);
            return Ok(Begun::Done(record));
        }
        self.store.insert_import(&record)?;
        let progress = Arc::new(Progress::default());
        let job = job::Job {
            engine: self.clone(),
            record: record.clone(),
            source: job::Source::Spooled(spool),
            failures,
            format: options.format,
            spec,
            types,
            default_date_ms: started_ms,
            max_failures: options.max_failures,
            progress: progress.clone(),
        };
        Ok(Begun::Run(Box::new(ImportJob { record, progress, work: Work::Events(job) })))
    }
}

/// A new import's record, `running` since `now` (epoch ms).
fn running(
    id: String,
    project: String,
    interaction: Option<String>,
    options: &Options,
    content_hash: Option<[u8; 32]>,
    bytes: u64,
    now: i64,
) -> ImportRecord {
    ImportRecord {
        id,
        project,
        interaction,
        status: ImportStatus::Running,
        dry_run: options.dry_run,
        content_hash,
        bytes,
        rows: 0,
        report: None,
        error: None,
        created_at: now,
        finished_at: None,
    }
}

/// The imports folder inside the data directory.
pub fn folder(data_dir: &Path) -> PathBuf {
    data_dir.join("imports")
}

/// Where import `id`'s upload is spooled while it runs.
pub fn upload_file(data_dir: &Path, id: &str) -> PathBuf {
    folder(data_dir).join(format!("{id}.upload"))
}

/// The failed-rows CSV of import `id`: the original columns, then `row_number` and `error`.
pub fn failures_file(data_dir: &Path, id: &str) -> PathBuf {
    folder(data_dir).join(format!("{id}.failures.csv"))
}

/// Largest failed-rows CSV kept in a shared store for every node to serve; a larger one stays with the node that
/// ran the import. Bytes.
pub const MAX_SHARED_FAILURES: u64 = 64 << 20;

/// On a store several nodes share, copies import `id`'s failed-rows CSV at `failures` (if any, and if not over
/// [`MAX_SHARED_FAILURES`]) into the store, so that every node can serve it. Failures are logged. Blocking.
pub fn share_failures(store: &dyn Store, failures: &Path, id: &str) {
    if !store.shared() {
        return;
    }
    let small = std::fs::metadata(failures).is_ok_and(|m| m.len() <= MAX_SHARED_FAILURES);
    if let Some(csv) = small.then(|| std::fs::read(failures).ok()).flatten()
        && let Err(e) = store.put_import_failures(id, &csv)
    {
        tracing::warn!(import = id, error = %e, "keeping the failed rows in the store failed");
    }
}

/// At start-up: marks the imports that were running on this node when the previous process stopped
/// `interrupted`, with `succeeded` set to exactly the events each stored (counted in the log), and removes their
/// uploads. Blocking.
pub fn recover(store: &dyn Store, data_dir: &Path) -> Result<(), StoreError> {
    for mut import in store.interrupt_running_imports(affinity_core::date::now_ms())? {
        let stored = store.count_import_events(&import.id)?;
        let mut report: Report = import
            .report
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_else(|| affinity_core::ReportBuilder::new(0).finish());
        report.succeeded = stored;
        report.processed = report.processed.max(report.succeeded + report.skipped + report.failed);
        report.success_rate = affinity_core::report::percent(report.succeeded, report.processed);
        report.completion_rate = affinity_core::report::percent(report.succeeded + report.skipped, report.processed);
        import.rows = import.rows.max(report.processed);
        import.status = ImportStatus::Interrupted;
        import.report = serde_json::to_string(&report).ok();
        store.update_import(&import)?;
        tracing::warn!(import = %import.id, stored, "import interrupted by the previous stop");
        let _ = std::fs::remove_file(upload_file(data_dir, &import.id));
    }
    Ok(())
}

/// Which columns a file may hold, given the upload's interaction type (or all types, for a mixed file).
fn spec(types: &[InteractionType], interaction: Option<&InteractionType>) -> ColumnSpec {
    let custom: Vec<&InteractionType> = match interaction {
        Some(t) => vec![t],
        None => types.iter().filter(|t| !t.builtin).collect(),
    };
    ColumnSpec {
        parameters: custom
            .iter()
            .filter(|t| !t.builtin)
            .flat_map(|t| t.parameters.iter().map(|p| p.id.clone()))
            .collect(),
        item_optional: interaction.is_some_and(|t| !t.builtin),
        event_required: interaction.is_none(),
    }
}

/// Checks an interaction file's header against `spec`; an empty file passes (it reports no rows).
fn check_header(path: &Path, format: Format, spec: &ColumnSpec) -> Result<(), ImportError> {
    let file = std::fs::File::open(path).map_err(|e| HeaderError::Unreadable(e.to_string()))?;
    match FileReader::open(Box::new(file), format, spec, None, 0) {
        Ok(_) | Err(HeaderError::Empty) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Reads an item file's header, which must have an `id` column.
fn item_header(path: &Path) -> Result<Vec<String>, ImportError> {
    let file = std::fs::File::open(path).map_err(|e| HeaderError::Unreadable(e.to_string()))?;
    let header = open_csv(Box::new(file))?.1;
    if affinity_import::items::has_id_column(&header) {
        Ok(header)
    } else {
        Err(HeaderError::MissingColumn { column: "id", found: header }.into())
    }
}

/// The report of a byte-identical re-upload: every valid row skipped, the same failures.
fn already_imported(previous: &str, previous_id: &str) -> Option<String> {
    let mut r: Report = serde_json::from_str(previous).ok()?;
    r.skipped += r.succeeded;
    r.succeeded = 0;
    r.success_rate = affinity_core::report::percent(0, r.processed);
    r.completion_rate = affinity_core::report::percent(r.skipped, r.processed);
    tracing::info!(previous = previous_id, "byte-identical file imported before: all valid rows skipped");
    serde_json::to_string(&r).ok()
}
