//! Streamed imports: rows are read, validated and stored while the upload still arrives, with nothing spooled.
//!
//! A spooled upload's SHA-256 is known before its first row is read, which tells a byte-identical file imported
//! before (every valid row skipped at once) and gives rows without a timestamp the time of the first upload of
//! these bytes. A streamed upload's hash is known only at its end, so an upload streams only when no earlier
//! import of its project and interaction type can hold the same bytes: none has its size in bytes, and none is
//! still running (see [`Engine::can_stream`]). Its rows without a timestamp then get the time it started, as the
//! first upload of these bytes, and its record gets its hash when the last byte has been read.
//!
//! What differs from a spooled upload: an upload cut off in the middle has stored the rows before the cut (the
//! record says `failed`, with the counts, as an interrupted import does), where a spooled one stored nothing.

use std::io::{self, Read};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use affinity_core::{ImportRecord, ImportStatus};
use affinity_import::{FileReader, HeaderError};
use sha2::{Digest, Sha256};

use super::job::{Counting, Job, Source};
use super::{ImportError, ImportJob, Kind, Plan, Progress, Work, failures_file};
use crate::Engine;

/// An upload read as it arrives.
pub struct Streamed {
    /// The new import's id (`imp_` and 16 hex digits).
    pub id: String,
    /// Its size in bytes, announced before its first byte (an HTTP `Content-Length`).
    pub bytes: u64,
    /// The bytes, in order. A body that ends early must end with an error, not with end of file.
    pub read: Box<dyn Read + Send>,
}

/// Computes the SHA-256 of the bytes read through it, published once the reader reaches its end.
pub(super) struct Hashed<R> {
    inner: R,
    hasher: Sha256,
    hash: Arc<OnceLock<[u8; 32]>>,
}

impl<R: Read> Read for Hashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        if n == 0 && !buf.is_empty() {
            let _ = self.hash.set(std::mem::take(&mut self.hasher).finalize().into());
        }
        Ok(n)
    }
}

impl Engine {
    /// Whether an upload for `plan` of `bytes` bytes may stream ([`Engine::begin_streamed_import`]) rather
    /// than be spooled: it is an interaction file, and no earlier import of the project with the same
    /// interaction type (or none, for a mixed file) has that size or is still running, so it cannot be a
    /// byte-identical file imported before. Blocking.
    ///
    /// Errors: store errors.
    pub fn can_stream(&self, plan: &Plan, bytes: u64) -> Result<bool, ImportError> {
        if plan.options.kind != Kind::Interactions {
            return Ok(false);
        }
        let same = |r: &ImportRecord| {
            r.interaction.as_deref() == plan.options.interaction.as_deref()
                && (r.bytes == bytes || r.status == ImportStatus::Running)
        };
        Ok(!self.store.imports(&plan.project)?.iter().any(same))
    }

    /// Starts the import of an upload that is still arriving: reads its header (a refused file stores nothing
    /// and has no record), saves the record `running` and returns the job, which reads the rest of `upload` as
    /// it comes. Blocking: waits for the header's bytes. The failed rows go to [`failures_file`]`(data_dir, id)`.
    /// Call only where [`Engine::can_stream`] said yes.
    ///
    /// Errors: as [`Engine::begin_import`]'s (an upload that ends before its header is `invalid_file`).
    pub fn begin_streamed_import(
        &self,
        plan: Plan,
        upload: Streamed,
        data_dir: &Path,
    ) -> Result<Box<ImportJob>, ImportError> {
        let Plan { project, options, events } = plan;
        let Some((types, spec)) = events else {
            return Err(ImportError::Io(io::Error::other("an item file is never streamed")));
        };
        let progress = Arc::new(Progress::default());
        let hash = Arc::new(OnceLock::new());
        let hashed = Hashed { inner: upload.read, hasher: Sha256::new(), hash: hash.clone() };
        let counting = Counting { inner: hashed, count: progress.clone() };
        let now = affinity_core::date::now_ms();
        let opened = FileReader::open(Box::new(counting), options.format, &spec, options.interaction.as_deref(), now);
        let reader = match opened {
            Ok(reader) => Some(Box::new(reader)),
            Err(HeaderError::Empty) => None,
            Err(e) => return Err(e.into()),
        };
        // The hash is known at the end: see `Source::Streamed`.
        let interaction = options.interaction.clone();
        let record = super::running(upload.id, project, interaction, &options, None, upload.bytes, now);
        self.store.insert_import(&record)?;
        std::fs::create_dir_all(super::folder(data_dir))?;
        let failures = failures_file(data_dir, &record.id);
        let job = Job {
            engine: self.clone(),
            record: record.clone(),
            source: Source::Streamed { reader, hash },
            failures,
            format: options.format,
            spec,
            types,
            default_date_ms: now,
            max_failures: options.max_failures,
            progress: progress.clone(),
        };
        Ok(Box::new(ImportJob { record, progress, work: Work::Events(job) }))
    }
}
