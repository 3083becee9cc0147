//! Item catalog imports: each row of a CSV with an `id` column is checked by the rules of `PUT …/items`, stored
//! in batches of 10,000 (under the project's item edit lock) and added to the views. The import record, report
//! and failures file are those of interaction imports.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use affinity_core::item::validate_item;
use affinity_core::{FailedItem, ImportRecord, ImportStatus, Item, Report, ReportBuilder};
use affinity_import::items::item_row;
use affinity_import::{HeaderError, open_csv};
use affinity_store::StoreError;

use super::Progress;
use crate::Engine;
use crate::error::CatalogError;

/// Items stored per transaction.
const BATCH: usize = 10_000;

/// Everything an item import needs.
pub(super) struct ItemJob {
    pub(super) engine: Engine,
    pub(super) record: ImportRecord,
    pub(super) spool: PathBuf,
    pub(super) failures: PathBuf,
    /// The file's header, as read when the import began (it has an `id` column).
    pub(super) header: Vec<String>,
    pub(super) max_failures: usize,
    pub(super) progress: Arc<Progress>,
}

/// Why an item import could not run to its end; the message is the record's `error`.
#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error("reading the upload: {0}")]
    Open(io::Error),
    #[error(transparent)]
    Header(#[from] HeaderError),
    #[error("writing the failures file: {0}")]
    WriteFailures(#[from] csv::Error),
    #[error("writing the failures file: {0}")]
    FlushFailures(io::Error),
    #[error("reading the file after row {row}: {error}")]
    Read { row: u64, error: csv::Error },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ItemJob {
    /// Runs the import to its end, shares the failed rows on a shared store, and returns the final record (also
    /// saved to the store).
    pub(super) fn run(self) -> ImportRecord {
        let outcome = self.process();
        super::share_failures(&*self.engine.store, &self.failures, &self.record.id);
        let mut finished = self.record;
        match outcome {
            Ok((report, rows)) => {
                if !finished.dry_run {
                    crate::metrics::import_rows(&finished.project, &report);
                }
                finished.status = ImportStatus::Done;
                finished.rows = rows;
                finished.report = serde_json::to_string(&report).ok();
            }
            Err(why) => {
                finished.status = ImportStatus::Failed;
                finished.error = Some(why.to_string());
            }
        }
        finished.finished_at = Some(affinity_core::date::now_ms());
        if let Err(e) = self.engine.store.update_import(&finished) {
            tracing::error!(import = %finished.id, error = %e, "saving the finished item import failed");
        }
        finished
    }

    /// Reads, checks and stores every row; returns the report and the rows read.
    fn process(&self) -> Result<(Report, u64), Stop> {
        let (header, progress) = (&self.header, &self.progress);
        let file = std::fs::File::open(&self.spool).map_err(Stop::Open)?;
        let (mut reader, _) = open_csv(Box::new(file))?;
        let mut out = csv::WriterBuilder::new().flexible(true).from_path(&self.failures)?;
        out.write_record(header.iter().map(String::as_str).chain(["row_number", "error"]))?;
        let mut report = ReportBuilder::new(self.max_failures);
        let mut batch = Vec::with_capacity(BATCH);
        let mut record = csv::ByteRecord::new();
        let mut rows = 0u64;
        let id_column =
            header.iter().position(|n| matches!(n.to_ascii_lowercase().as_str(), "id" | "item_id" | "item"));
        let id_column = id_column.unwrap_or(0);
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(error) => return Err(Stop::Read { row: rows, error }),
            }
            if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
                continue; // a blank line is not a row
            }
            rows += 1;
            progress.rows.store(rows, Ordering::Relaxed);
            match item_row(header, &record).map_err(|e| e.0).and_then(|v| validate_item(&v).map_err(|p| p.message)) {
                Ok(item) => {
                    batch.push(item);
                    report.succeeded();
                    if batch.len() == BATCH {
                        self.store(&mut batch)?;
                    }
                }
                Err(error) => {
                    let number = rows.to_string();
                    let padding = std::iter::repeat_n(&b""[..], header.len().saturating_sub(record.len()));
                    out.write_record(record.iter().chain(padding).chain([number.as_bytes(), error.as_bytes()]))?;
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
        self.store(&mut batch)?;
        out.flush().map_err(Stop::FlushFailures)?;
        let _ = std::fs::remove_file(&self.spool);
        Ok((report.finish(), rows))
    }

    /// Stores a batch (nothing on a dry run) and adds it to the views ([`crate::Engine::put_items_blocking`]).
    fn store(&self, batch: &mut Vec<Item>) -> Result<(), Stop> {
        if batch.is_empty() || self.record.dry_run {
            batch.clear();
            return Ok(());
        }
        let entry = self.engine.project(&self.record.project)?;
        Ok(self.engine.put_items_blocking(&entry, std::mem::take(batch))?)
    }
}
