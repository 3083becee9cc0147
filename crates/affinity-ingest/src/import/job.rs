//! One import's processing, on a blocking thread: rows are read, validated with the rules of `POST /feedback`,
//! and stored through the same ingest pipeline, a few batches in flight at a time. Failed rows go to the failures
//! file with their original text; progress is saved now and then so that a restart knows what was stored.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant};

use affinity_core::event::validate_mut;
use affinity_core::raw::RawEvent;
use affinity_core::{FailedItem, ImportRecord, ImportStatus, InteractionType, Report, ReportBuilder};
use affinity_import::{ColumnSpec, FileReader, Format, HeaderError, Original, RowError};
use csv::ByteRecord;
use serde_json::Value;

use super::Progress;
use crate::error::IngestError;
use crate::{DryRunSeen, Engine, Outcome, Submitted};

/// Events per batch handed to the ingest pipeline.
const BATCH: usize = 10_000;
/// Batches in flight at once.
const IN_FLIGHT: usize = 4;
/// How long the rows read may wait for more before they are stored and counted (a streamed upload that arrives
/// slowly).
const IDLE: Duration = Duration::from_millis(200);
/// How often progress is saved to the store.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// Everything an interaction import needs.
pub(super) struct Job {
    pub(super) engine: Engine,
    pub(super) record: ImportRecord,
    pub(super) source: Source,
    pub(super) failures: PathBuf,
    pub(super) format: Format,
    pub(super) spec: ColumnSpec,
    pub(super) types: Arc<Vec<InteractionType>>,
    /// The date given to rows without a timestamp (epoch ms): the first upload of these bytes.
    pub(super) default_date_ms: i64,
    pub(super) max_failures: usize,
    pub(super) progress: Arc<Progress>,
}

/// Where a job's rows come from.
pub(super) enum Source {
    /// The upload spooled to this file, removed when the job ends.
    Spooled(PathBuf),
    /// The upload as it arrives ([`super::stream`]): its reader past the header (`None` for an empty upload),
    /// and its SHA-256 once the last byte has been read, for the record.
    Streamed { reader: Option<Box<FileReader>>, hash: Arc<OnceLock<[u8; 32]>> },
}

/// Counts the bytes read through it.
pub(super) struct Counting<R> {
    pub(super) inner: R,
    pub(super) count: Arc<Progress>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

enum Pending {
    Stored(Submitted),
    Checked(Vec<bool>),
}

impl Job {
    /// Runs the import to its end and returns the final record (also saved to the store), then shares the
    /// failed rows on a shared store.
    pub(super) fn run(mut self) -> ImportRecord {
        let started = Instant::now();
        let (report, error) = match self.process() {
            Ok(report) => (Some(report), None),
            Err(f) => (f.report, Some(f.why.to_string())),
        };
        match &self.source {
            Source::Spooled(spool) => {
                let _ = std::fs::remove_file(spool);
            }
            Source::Streamed { hash, .. } => self.record.content_hash = hash.get().copied(),
        }
        if let Some(r) = report.as_ref().filter(|_| !self.record.dry_run) {
            crate::metrics::import_rows(&self.record.project, r);
        }
        self.record.status = if error.is_some() { ImportStatus::Failed } else { ImportStatus::Done };
        self.record.error = error;
        self.record.rows = self.progress.rows.load(Ordering::Relaxed);
        self.record.bytes = self.progress.bytes.load(Ordering::Relaxed);
        self.record.report = report.and_then(|r| serde_json::to_string(&r).ok());
        self.record.finished_at = Some(affinity_core::date::now_ms());
        if let Err(e) = self.engine.store.update_import(&self.record) {
            tracing::error!(import = %self.record.id, error = %e, "saving the finished import failed");
        }
        let ms = started.elapsed().as_millis() as u64;
        tracing::info!(import = %self.record.id, rows = self.record.rows, ms, status = self.record.status.as_str(), "import finished");
        super::share_failures(&*self.engine.store, &self.failures, &self.record.id);
        self.record
    }

    fn process(&mut self) -> Result<Report, Box<Failed>> {
        let opened = match &mut self.source {
            Source::Spooled(spool) => {
                let file = File::open(&*spool).map_err(|e| fail(None, Stop::Open(e)))?;
                let counting = Counting { inner: file, count: self.progress.clone() };
                let default_event = self.record.interaction.clone();
                FileReader::open(
                    Box::new(counting),
                    self.format,
                    &self.spec,
                    default_event.as_deref(),
                    self.default_date_ms,
                )
            }
            Source::Streamed { reader, .. } => reader.take().map(|r| *r).ok_or(HeaderError::Empty),
        };
        let reader = match opened {
            Ok(r) => r,
            Err(HeaderError::Empty) => return Ok(ReportBuilder::new(self.max_failures).finish()),
            Err(e) => return Err(fail(None, Stop::Header(e))),
        };
        let columns = reader.columns().clone();
        let now = affinity_core::date::now_ms();
        let mut ignored_columns = Vec::new();
        let mut read_failure = None;
        // Flexible: a row with too many fields keeps them all; short rows are padded so that `row_number` and
        // `error` stay in their columns.
        let mut failures = csv::WriterBuilder::new()
            .flexible(true)
            .from_path(&self.failures)
            .map_err(|e| fail(None, Stop::CreateFailures(e)))?;
        let header = reader.failure_header();
        let width = header.len() - 2;
        let _ = failures.write_record(&header);
        let mut report = ReportBuilder::new(self.max_failures);
        let mut batch = Vec::with_capacity(BATCH);
        let mut pending: VecDeque<Pending> = VecDeque::new();
        let mut seen = DryRunSeen::default();
        let mut saved = Instant::now();
        let project: Arc<str> = self.record.project.as_str().into();
        // Reading (CSV parsing, building raw events) runs on its own thread, validation and storing on this one.
        let (chunks_tx, chunks) = mpsc::sync_channel::<Vec<Buffered>>(4);
        let (recycle, recycled) = mpsc::channel::<Vec<Buffered>>();
        let progress = self.progress.clone();
        let outcome = std::thread::scope(|scope| -> Result<(), Box<Failed>> {
            let read = scope.spawn(move || read_rows(reader, chunks_tx, recycled, &progress));
            // Owned here, so that leaving early drops it and the reader thread, blocked on a full channel, ends.
            let chunks = chunks;
            loop {
                let mut chunk = match chunks.recv_timeout(IDLE) {
                    Ok(chunk) => chunk,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        // The upload arrives slower than it is stored: store and count what has been read.
                        if !batch.is_empty() {
                            let events = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                            pending.push_back(
                                self.send(&project, events, &mut seen).map_err(|e| fail(Some(report.counts()), e))?,
                            );
                        }
                        while let Some(p) = pending.pop_front() {
                            self.settle(Some(p), &mut report).map_err(|e| fail(Some(report.counts()), e))?;
                        }
                        self.save(&report);
                        continue;
                    }
                };
                for row in chunk.iter_mut() {
                    let event = std::mem::replace(&mut row.event, Err(RowError(String::new())));
                    let failure = match event {
                        Err(RowError(message)) => {
                            let (user_id, item_id) = match &row.original {
                                Owned::Fields(record) => columns.ids_of(record),
                                Owned::Line(_) => (None, None),
                            };
                            Some((user_id, item_id, message, "invalid_row".to_string(), None))
                        }
                        Ok(mut raw) => match validate_mut(&mut raw, &self.types, now) {
                            Ok(event) => {
                                batch.push(event);
                                None
                            }
                            Err(p) => {
                                let field = p.field.as_deref().map(|f| columns.column_for(f));
                                let (user_id, item_id) = (shown(&raw.customer), shown(&raw.item));
                                Some((user_id, item_id, columns.message(&p), p.kind.code().to_string(), field))
                            }
                        },
                    };
                    if let Some((user_id, item_id, error, code, field)) = failure {
                        write_failure(&mut failures, &row.original, width, row.number, &error)
                            .map_err(|e| fail(Some(report.counts()), e))?;
                        self.progress.failed.fetch_add(1, Ordering::Relaxed);
                        let row_number = row.number;
                        report.failed(|timestamp| FailedItem {
                            row_number,
                            user_id,
                            item_id,
                            error,
                            timestamp,
                            code,
                            field,
                        });
                    }
                    if batch.len() == BATCH {
                        let events = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        pending.push_back(
                            self.send(&project, events, &mut seen).map_err(|e| fail(Some(report.counts()), e))?,
                        );
                        while pending.len() > IN_FLIGHT {
                            self.settle(pending.pop_front(), &mut report)
                                .map_err(|e| fail(Some(report.counts()), e))?;
                        }
                        if saved.elapsed() >= SAVE_EVERY {
                            self.save(&report);
                            saved = Instant::now();
                        }
                    }
                }
                let _ = recycle.send(chunk);
            }
            let (ignored, read_error) = read.join().unwrap_or_else(|_| (Vec::new(), Some(Stop::ReaderStopped)));
            ignored_columns = ignored;
            if let Some(e) = read_error {
                read_failure = Some(e);
            }
            Ok(())
        });
        outcome?;
        if !batch.is_empty() {
            pending.push_back(self.send(&project, batch, &mut seen).map_err(|e| fail(Some(report.counts()), e))?);
        }
        while !pending.is_empty() {
            self.settle(pending.pop_front(), &mut report).map_err(|e| fail(Some(report.counts()), e))?;
        }
        failures.flush().map_err(|e| fail(Some(report.counts()), Stop::FlushFailures(e)))?;
        let mut report = report.finish();
        report.ignored_columns = Some(ignored_columns);
        match read_failure {
            None => Ok(report),
            Some(e) => Err(fail(Some(report), e)),
        }
    }

    fn send(
        &self,
        project: &Arc<str>,
        events: Vec<affinity_core::Event>,
        seen: &mut DryRunSeen,
    ) -> Result<Pending, Stop> {
        if self.record.dry_run {
            return Ok(Pending::Checked(self.engine.check(project, &events, seen)));
        }
        let import = Some(self.record.id.as_str().into());
        Ok(Pending::Stored(self.engine.submit(project.clone(), import, events)?))
    }

    fn settle(&self, pending: Option<Pending>, report: &mut ReportBuilder) -> Result<(), Stop> {
        let skipped: Vec<bool> = match pending {
            None => return Ok(()),
            Some(Pending::Checked(dups)) => dups,
            Some(Pending::Stored(s)) => s.wait_blocking()?.into_iter().map(|o| o == Outcome::Duplicate).collect(),
        };
        for duplicate in skipped {
            if duplicate {
                report.skipped();
                self.progress.skipped.fetch_add(1, Ordering::Relaxed);
            } else {
                report.succeeded();
                self.progress.succeeded.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// Saves the counts so far (what a restart reports for an interrupted import).
    fn save(&self, report: &ReportBuilder) {
        let mut record = self.record.clone();
        record.rows = self.progress.rows.load(Ordering::Relaxed);
        record.bytes = self.progress.bytes.load(Ordering::Relaxed);
        record.report = serde_json::to_string(&report.counts()).ok();
        if let Err(e) = self.engine.store.update_import(&record) {
            tracing::warn!(import = %record.id, error = %e, "saving import progress failed");
        }
    }
}

/// Why an import could not run to its end; the message is the record's `error`.
#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error("reading the upload: {0}")]
    Open(io::Error),
    #[error(transparent)]
    Header(HeaderError),
    #[error("creating the failures file: {0}")]
    CreateFailures(csv::Error),
    #[error("writing the failures file: {0}")]
    WriteFailures(csv::Error),
    #[error("writing the failures file: {0}")]
    FlushFailures(io::Error),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("The file could not be read past row {row}: {error}")]
    Read { row: u64, error: io::Error },
    #[error("the reader stopped")]
    ReaderStopped,
}

/// An import that could not run to its end: the report so far (if any) and why.
struct Failed {
    report: Option<Report>,
    why: Stop,
}

fn fail(report: Option<Report>, why: Stop) -> Box<Failed> {
    Box::new(Failed { report, why })
}

fn shown(v: &Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Rows handed from the reader thread to the validating one.
const CHUNK: usize = 4096;

/// A row read, owned: its number, its raw event (or why it cannot be read), and its original text.
struct Buffered {
    number: u64,
    event: Result<RawEvent, RowError>,
    original: Owned,
}

/// The original text of a row, in buffers reused from chunk to chunk.
enum Owned {
    Fields(ByteRecord),
    Line(Vec<u8>),
}

impl Owned {
    fn set(&mut self, from: &Original) {
        match (self, from) {
            (Owned::Fields(mine), Original::Fields(theirs)) => mine.clone_from(theirs),
            (Owned::Line(mine), Original::Line(theirs)) => {
                mine.clear();
                mine.extend_from_slice(theirs);
            }
            (me, Original::Fields(theirs)) => *me = Owned::Fields((*theirs).clone()),
            (me, Original::Line(theirs)) => *me = Owned::Line(theirs.to_vec()),
        }
    }
}

/// The reader thread: reads every row into chunks, overwriting the rows of chunks sent back so that their
/// buffers are reused; returns the ignored columns and, if the file could not be read to its end, why.
fn read_rows(
    mut reader: FileReader,
    chunks: mpsc::SyncSender<Vec<Buffered>>,
    recycled: mpsc::Receiver<Vec<Buffered>>,
    progress: &Progress,
) -> (Vec<String>, Option<Stop>) {
    let mut chunk: Vec<Buffered> = Vec::with_capacity(CHUNK);
    let mut filled = 0;
    let mut error = None;
    while let Some(row) = reader.next_row() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                error = Some(Stop::Read { row: reader.rows(), error: e });
                break;
            }
        };
        progress.rows.fetch_add(1, Ordering::Relaxed);
        match chunk.get_mut(filled) {
            Some(slot) => {
                slot.number = row.number;
                slot.event = row.event;
                slot.original.set(&row.original);
            }
            None => {
                let mut original = Owned::Line(Vec::new());
                original.set(&row.original);
                chunk.push(Buffered { number: row.number, event: row.event, original });
            }
        }
        filled += 1;
        if filled == CHUNK {
            let next = recycled.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK));
            if chunks.send(std::mem::replace(&mut chunk, next)).is_err() {
                break;
            }
            filled = 0;
        }
    }
    chunk.truncate(filled);
    if !chunk.is_empty() {
        let _ = chunks.send(chunk);
    }
    (reader.ignored_columns(), error)
}

/// Writes a failed row; an error here fails the import (a failed row must never be lost).
fn write_failure(
    w: &mut csv::Writer<File>,
    original: &Owned,
    width: usize,
    row_number: u64,
    error: &str,
) -> Result<(), Stop> {
    let number = row_number.to_string();
    let result = match original {
        Owned::Fields(record) => {
            let padding = std::iter::repeat_n(&b""[..], width.saturating_sub(record.len()));
            w.write_record(record.iter().chain(padding).chain([number.as_bytes(), error.as_bytes()]))
        }
        Owned::Line(line) => w.write_record([&line[..], number.as_bytes(), error.as_bytes()]),
    };
    result.map_err(Stop::WriteFailures)
}
