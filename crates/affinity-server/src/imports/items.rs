//! Item catalog uploads (`?kind=items`): the file is spooled like an interaction file, its header must have an `id`
//! column, and each row is checked by the rules of `PUT …/items`, stored in batches of 10,000 and added to the
//! views. The import record, report and failures download are those of interaction imports.

use affinity_core::item::validate_item;
use affinity_core::{FailedItem, ImportRecord, ImportStatus, ReportBuilder};
use affinity_import::items::{has_id_column, item_row};
use affinity_import::{HeaderError, open_csv};
use axum::body::Bytes;
use futures_util::Stream;
use std::sync::atomic::Ordering;

use super::job::Progress;
use super::{Options, Received, receive};
use crate::error::{ApiError, Code};
use crate::state::AppState;

/// Items stored per transaction.
const BATCH: usize = 10_000;

/// Starts an item upload; see [`super::start`].
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
    state.project(project)?;
    let Received { id, spool, failures, bytes, .. } = receive(state, &mut upload).await?;
    let path = spool.clone();
    let header = tokio::task::spawn_blocking(move || -> Result<Vec<String>, HeaderError> {
        let file = std::fs::File::open(&path).map_err(|e| HeaderError::Unreadable(e.to_string()))?;
        Ok(open_csv(Box::new(file))?.1)
    })
    .await
    .map_err(ApiError::internal)?;
    let header = match header {
        Ok(h) if has_id_column(&h) => h,
        Ok(h) => {
            let _ = tokio::fs::remove_file(&spool).await;
            let message = format!("Missing required column: id (columns found: {})", h.join(", "));
            return Err(ApiError::field(Code::MissingColumn, "id", message));
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&spool).await;
            return Err(ApiError::new(Code::InvalidFile, e.to_string()));
        }
    };
    let record = ImportRecord {
        id: id.clone(),
        project: project.to_string(),
        interaction: None,
        status: ImportStatus::Running,
        dry_run: options.dry_run,
        // No content hash: an item file is never "already imported" (upserting it again changes nothing), and it
        // must not make an interaction file with the same bytes look imported.
        content_hash: None,
        bytes,
        rows: 0,
        report: None,
        error: None,
        created_at: affinity_core::date::now_ms(),
        finished_at: None,
    };
    let r = record.clone();
    state.blocking(move |s| s.insert_import(&r)).await?;
    let (progress, done_tx) = state.imports.track(project, &id);
    progress.bytes.store(bytes, Ordering::Relaxed);
    let (state2, project2, started) = (state.clone(), project.to_string(), record.clone());
    tokio::spawn(async move {
        let mut finished = started.clone();
        let outcome = tokio::task::spawn_blocking({
            let (state, import) = (state2.clone(), id.clone());
            move || {
                let outcome = process(&state, &project2, &spool, &failures, &header, &options, &progress);
                super::share_failures(&*state.store, &state.data_dir, &import);
                outcome
            }
        })
        .await;
        match outcome {
            Ok(Ok((report, rows))) => {
                finished.status = ImportStatus::Done;
                finished.rows = rows;
                finished.report = serde_json::to_string(&report).ok();
            }
            Ok(Err(why)) => {
                finished.status = ImportStatus::Failed;
                finished.error = Some(why);
            }
            Err(e) => {
                finished.status = ImportStatus::Failed;
                finished.error = Some(format!("the import stopped on an internal error: {e}"));
            }
        }
        finished.finished_at = Some(affinity_core::date::now_ms());
        if let Err(e) = state2.store.update_import(&finished) {
            tracing::error!(import = %finished.id, error = %e, "saving the finished item import failed");
        }
        let id = finished.id.clone();
        let _ = done_tx.send(Some(finished));
        state2.imports.running.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    });
    Ok(record)
}

/// Reads, checks and stores every row; returns the report and the rows read.
fn process(
    state: &AppState,
    project: &str,
    spool: &std::path::Path,
    failures: &std::path::Path,
    header: &[String],
    options: &Options,
    progress: &Progress,
) -> Result<(affinity_core::Report, u64), String> {
    let file = std::fs::File::open(spool).map_err(|e| format!("reading the upload: {e}"))?;
    let (mut reader, _) = open_csv(Box::new(file)).map_err(|e| e.to_string())?;
    let mut out = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(failures)
        .map_err(|e| format!("writing the failures file: {e}"))?;
    out.write_record(header.iter().map(String::as_str).chain(["row_number", "error"]))
        .map_err(|e| format!("writing the failures file: {e}"))?;
    let mut report = ReportBuilder::new(options.max_failures);
    let mut batch = Vec::with_capacity(BATCH);
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    let id_column = header.iter().position(|n| matches!(n.to_ascii_lowercase().as_str(), "id" | "item_id" | "item"));
    let id_column = id_column.unwrap_or(0);
    let store = |batch: &mut Vec<affinity_core::Item>| -> Result<(), String> {
        if batch.is_empty() || options.dry_run {
            batch.clear();
            return Ok(());
        }
        let entry = state.project(project).map_err(|e| e.message)?;
        let _in_order = entry.items_edit.blocking_lock();
        state.store.put_items(project, batch, affinity_core::date::now_ms()).map_err(|e| e.to_string())?;
        let view = state.views.project(project);
        let mut v = view.write().unwrap_or_else(|p| p.into_inner());
        for item in batch.drain(..) {
            v.put_item(item);
        }
        Ok(())
    };
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(format!("reading the file after row {rows}: {e}")),
        }
        if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
            continue; // a blank line is not a row
        }
        rows += 1;
        progress.rows.store(rows, Ordering::Relaxed);
        match item_row(header, &record).and_then(|v| validate_item(&v).map_err(|p| p.message)) {
            Ok(item) => {
                batch.push(item);
                report.succeeded();
                if batch.len() == BATCH {
                    store(&mut batch)?;
                }
            }
            Err(error) => {
                let number = rows.to_string();
                let padding = std::iter::repeat_n(&b""[..], header.len().saturating_sub(record.len()));
                out.write_record(record.iter().chain(padding).chain([number.as_bytes(), error.as_bytes()]))
                    .map_err(|e| format!("writing the failures file: {e}"))?;
                let item_id = record.get(id_column).and_then(|f| std::str::from_utf8(f).ok()).map(str::to_string);
                report.failed(|timestamp| FailedItem {
                    row_number: rows,
                    user_id: None,
                    item_id,
                    error: error.clone(),
                    timestamp,
                    code: "invalid_row".into(),
                    field: None,
                });
            }
        }
    }
    store(&mut batch)?;
    out.flush().map_err(|e| format!("writing the failures file: {e}"))?;
    let _ = std::fs::remove_file(spool);
    Ok((report.finish(), rows))
}
