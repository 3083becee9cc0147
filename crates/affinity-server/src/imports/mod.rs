//! File imports (seed `001`): an upload is spooled to disk while its SHA-256 is computed, its header is checked
//! (a missing mandatory column refuses the file before any row is stored), a byte-identical file already imported
//! for the same interaction type is recognised, and the rows are processed in the background by [`job`].
//!
//! Files live in `<data-dir>/imports/`: `<id>.upload` while the import runs, `<id>.failures.csv` afterwards.

mod items;
pub mod job;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use affinity_core::{ImportRecord, ImportStatus, InteractionType, ProblemKind, Report};
use affinity_import::{ColumnSpec, FileReader, Format, HeaderError};
use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::{ApiError, Code};
use crate::state::AppState;
use job::{Job, Progress};

/// What the upload asks for.
#[derive(Debug, Clone)]
pub struct Options {
    pub interaction: Option<String>,
    pub format: Format,
    pub dry_run: bool,
    pub force: bool,
    pub max_failures: usize,
    /// An item catalog file (`?kind=items`) instead of interactions.
    pub items: bool,
}

/// Running imports, with their live progress and a way to wait for them.
#[derive(Default)]
pub struct Imports {
    running: Mutex<HashMap<String, Running>>,
}

#[derive(Clone)]
struct Running {
    project: String,
    progress: Arc<Progress>,
    done: tokio::sync::watch::Receiver<Option<ImportRecord>>,
}

impl Imports {
    /// Registers a starting import: its live counters, and the sender that announces its final record.
    fn track(&self, project: &str, id: &str) -> (Arc<Progress>, tokio::sync::watch::Sender<Option<ImportRecord>>) {
        let progress = Arc::new(Progress::default());
        let (done_tx, done_rx) = tokio::sync::watch::channel(None);
        let running = Running { project: project.to_string(), progress: progress.clone(), done: done_rx };
        self.running.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), running);
        (progress, done_tx)
    }

    /// Whether an import of `project` runs on this node now.
    pub fn running_for(&self, project: &str) -> bool {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).values().any(|r| r.project == project)
    }

    /// Live counters of a running import.
    pub fn progress(&self, id: &str) -> Option<Arc<Progress>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).get(id).map(|r| r.progress.clone())
    }

    /// Waits until a running import ends and returns its final record; `None` if it is not running.
    pub async fn wait(&self, id: &str) -> Option<ImportRecord> {
        let mut done = self.running.lock().unwrap_or_else(|p| p.into_inner()).get(id)?.done.clone();
        done.wait_for(Option::is_some).await.ok()?.clone()
    }
}

/// The imports folder inside the data directory.
pub fn folder(data_dir: &Path) -> PathBuf {
    data_dir.join("imports")
}

fn files(data_dir: &Path, id: &str) -> (PathBuf, PathBuf) {
    let dir = folder(data_dir);
    (dir.join(format!("{id}.upload")), dir.join(format!("{id}.failures.csv")))
}

/// The failures file of an import.
/// Largest failed-rows CSV kept in a shared store for every node to serve; a larger one stays with the node that
/// ran the import.
pub const MAX_SHARED_FAILURES: u64 = 64 << 20;

/// On a store several nodes share, copies finished import `id`'s failed-rows CSV (if any, and if not over
/// [`MAX_SHARED_FAILURES`]) into the store, so that every node can serve it. Failures are logged. Blocking.
pub fn share_failures(store: &dyn affinity_store::Store, data_dir: &Path, id: &str) {
    if !store.shared() {
        return;
    }
    let path = failures_file(data_dir, id);
    let small = std::fs::metadata(&path).is_ok_and(|m| m.len() <= MAX_SHARED_FAILURES);
    if let Some(csv) = small.then(|| std::fs::read(&path).ok()).flatten()
        && let Err(e) = store.put_import_failures(id, &csv)
    {
        tracing::warn!(import = id, error = %e, "keeping the failed rows in the store failed");
    }
}

pub fn failures_file(data_dir: &Path, id: &str) -> PathBuf {
    files(data_dir, id).1
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

/// Starts an import of `upload` (the file's bytes, as a stream): spools it, checks its header and content hash,
/// records it, and starts processing it in the background. Returns the record as it is now (`running`, or `done`
/// for a byte-identical file imported before).
///
/// Errors: 400 for an unknown or archived interaction type, a missing mandatory column or an unreadable header;
/// 500 when the upload cannot be written to disk.
pub async fn start<S, E>(
    state: &AppState,
    project: &str,
    options: Options,
    mut upload: S,
) -> Result<ImportRecord, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    if options.items {
        return items::start(state, project, options, upload).await;
    }
    let types = state.project(project)?.types();
    let interaction = match options.interaction.as_deref().map(|id| (id, types.iter().find(|t| t.id == id))) {
        None => None,
        Some((_, Some(t))) if !t.archived => Some(t.clone()),
        Some((id, found)) => {
            // Read the upload to its end before answering, so the client sees this answer, not a reset connection.
            while upload.next().await.is_some() {}
            return Err(match found {
                None => ApiError::field(
                    Code::Problem(ProblemKind::UnknownEvent),
                    "interaction",
                    format!("Unknown event: {id}"),
                ),
                Some(_) => ApiError::field(
                    Code::Problem(ProblemKind::ArchivedEvent),
                    "interaction",
                    format!("Interaction type {id} is archived and accepts no new events"),
                ),
            });
        }
    };
    let spec = spec(&types, interaction.as_ref());
    let Received { id, spool, failures, hash, bytes } = receive(state, &mut upload).await?;
    if let Err(e) = check_header(&spool, options.format, &spec).await {
        let _ = tokio::fs::remove_file(&spool).await;
        return Err(e);
    }
    let now = affinity_core::date::now_ms();
    let (p, i) = (project.to_string(), options.interaction.clone());
    let earlier = state.blocking(move |s| s.imports_by_content(&p, i.as_deref(), &hash)).await?;
    // Rows without a timestamp get the time of the first upload of these bytes, so that uploading the same file
    // again (after an interruption, with force=true) yields identical events, skipped as duplicates.
    let started_ms = earlier.first().map_or(now, |first| first.created_at);
    let mut record = ImportRecord {
        id: id.clone(),
        project: project.to_string(),
        interaction: options.interaction.clone(),
        status: ImportStatus::Running,
        dry_run: options.dry_run,
        content_hash: Some(hash),
        bytes,
        rows: 0,
        report: None,
        error: None,
        created_at: now,
        finished_at: None,
    };
    let previous = earlier.iter().rev().find(|r| r.status == ImportStatus::Done && !r.dry_run);
    if !options.force
        && !options.dry_run
        && let Some(previous) = previous
    {
        let _ = tokio::fs::remove_file(&spool).await;
        let _ = tokio::fs::copy(failures_file(&state.data_dir, &previous.id), &failures).await;
        if state.store.shared() {
            let (p, path, dir, new) = (previous.id.clone(), failures.clone(), state.data_dir.clone(), id.clone());
            state
                .blocking(move |s| {
                    // The earlier upload may have run on another node: its failed rows are in the store.
                    if !path.exists()
                        && let Some(csv) = s.import_failures(&p)?
                    {
                        std::fs::write(&path, csv)?;
                    }
                    share_failures(s, &dir, &new);
                    Ok(())
                })
                .await?;
        }
        record.status = ImportStatus::Done;
        record.rows = previous.rows;
        record.report = previous.report.as_deref().and_then(|r| already_imported(r, &previous.id));
        record.finished_at = Some(now);
        let r = record.clone();
        state.blocking(move |s| s.insert_import(&r)).await?;
        return Ok(record);
    }
    let r = record.clone();
    state.blocking(move |s| s.insert_import(&r)).await?;
    let (progress, done_tx) = state.imports.track(project, &id);
    let job = Job {
        store: state.store.clone(),
        ingest: state.engine.clone(),
        record: record.clone(),
        spool,
        failures,
        format: options.format,
        spec,
        types,
        default_date_ms: started_ms,
        max_failures: options.max_failures,
        progress,
    };
    let imports = state.imports.clone();
    let store = state.store.clone();
    let data_dir = state.data_dir.clone();
    let mut failed = record.clone();
    tokio::spawn(async move {
        let id = job.record.id.clone();
        let (s, d, i) = (store.clone(), data_dir, id.clone());
        let finished = match tokio::task::spawn_blocking(move || {
            let finished = job.run();
            share_failures(&*s, &d, &i);
            finished
        })
        .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(import = %id, error = %e, "import job panicked");
                failed.status = ImportStatus::Failed;
                failed.error = Some("the import stopped on an internal error".into());
                failed.finished_at = Some(affinity_core::date::now_ms());
                if let Err(e) = store.update_import(&failed) {
                    tracing::error!(import = %id, error = %e, "saving the failed import failed");
                }
                failed
            }
        };
        let _ = done_tx.send(Some(finished));
        imports.running.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    });
    Ok(record)
}

/// An upload on disk, under a new import id.
struct Received {
    id: String,
    spool: PathBuf,
    failures: PathBuf,
    hash: [u8; 32],
    bytes: u64,
}

/// Gives the upload an import id and spools it to disk with its SHA-256.
async fn receive<S, E>(state: &AppState, upload: &mut S) -> Result<Received, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let id = format!("imp_{}", crate::auth::random_hex(8));
    let (spool, failures) = files(&state.data_dir, &id);
    tokio::fs::create_dir_all(folder(&state.data_dir)).await.map_err(ApiError::internal)?;
    let started = std::time::Instant::now();
    let (hash, bytes) = match spool_upload(upload, &spool).await {
        Ok(v) => v,
        Err(e) => {
            let _ = tokio::fs::remove_file(&spool).await;
            return Err(e);
        }
    };
    tracing::info!(import = %id, bytes, ms = started.elapsed().as_millis() as u64, "upload received");
    Ok(Received { id, spool, failures, hash, bytes })
}

/// At start-up: marks the imports that were running when the previous process stopped `interrupted`, with
/// `succeeded` set to exactly the events each stored (counted in the log), and removes their uploads.
pub fn recover(store: &dyn affinity_store::Store, data_dir: &Path) -> Result<(), affinity_store::StoreError> {
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
        let _ = std::fs::remove_file(files(data_dir, &import.id).0);
    }
    Ok(())
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

/// Writes the upload to `path`; returns its SHA-256 and size in bytes.
async fn spool_upload<S, E>(upload: &mut S, path: &Path) -> Result<([u8; 32], u64), ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let file = tokio::fs::File::create(path).await.map_err(ApiError::internal)?;
    let mut out = tokio::io::BufWriter::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    while let Some(chunk) = upload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(Code::Problem(ProblemKind::InvalidField), format!("The upload was cut off: {e}"))
        })?;
        hasher.update(&chunk);
        bytes += chunk.len() as u64;
        out.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    out.flush().await.map_err(ApiError::internal)?;
    Ok((hasher.finalize().into(), bytes))
}

/// Opens the spooled file to check its header.
async fn check_header(path: &Path, format: Format, spec: &ColumnSpec) -> Result<(), ApiError> {
    let (path, spec) = (path.to_path_buf(), spec.clone());
    let checked = tokio::task::spawn_blocking(move || -> Result<(), HeaderError> {
        let file = std::fs::File::open(&path).map_err(|e| HeaderError::Unreadable(e.to_string()))?;
        FileReader::open(Box::new(file), format, &spec, None, 0).map(|_| ())
    })
    .await
    .map_err(ApiError::internal)?;
    match checked {
        Ok(()) | Err(HeaderError::Empty) => Ok(()),
        Err(e @ HeaderError::MissingColumn { column, .. }) => {
            Err(ApiError::field(Code::MissingColumn, column, e.to_string()))
        }
        Err(e) => Err(ApiError::new(Code::InvalidFile, e.to_string())),
    }
}
