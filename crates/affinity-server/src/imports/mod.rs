//! File imports over HTTP: an upload is spooled to disk while its SHA-256 is computed, then handed to the engine
//! ([`affinity_ingest::import`]: the header check, byte-identical files imported before, the record and the row
//! work), whose job runs on a blocking thread while the engine's [`affinity_ingest::Imports`] tracks it.
//! An upload whose size is announced (`Content-Length`, not multipart) and cannot be a file imported before
//! streams instead: its rows are stored while it arrives ([`affinity_ingest::import::Streamed`]).
//!
//! Files live in `<data-dir>/imports/`: `<id>.upload` while the import runs, `<id>.failures.csv` afterwards.

mod body;

use std::path::Path;

use affinity_core::{ImportRecord, ProblemKind};
use affinity_ingest::import::{Begun, Plan, Streamed, Upload, folder, upload_file};
use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

pub use affinity_ingest::import::{Kind, MAX_SHARED_FAILURES, Options, failures_file, recover};

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// Starts an import of `upload` (the file's bytes, as a stream): checks what it asks for against the catalog,
/// spools it, lets the engine check its header and content hash and record it, and runs its job in the
/// background. Returns the record as it is now (`running`, or `done` for a byte-identical file imported before).
///
/// `length` is the upload's size in bytes when the request announced it (its `Content-Length`): such an upload
/// streams when [`affinity_ingest::Engine::can_stream`] allows.
///
/// Errors: 400 for an unknown or archived interaction type, a missing mandatory column, an unreadable header or
/// an upload cut off; 500 when the upload cannot be written to disk.
pub async fn start<S, E>(
    state: &AppState,
    project: &str,
    options: Options,
    mut upload: S,
    length: Option<u64>,
) -> Result<ImportRecord, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let plan = match state.plan_import(project, options) {
        Ok(plan) => plan,
        Err(e) => {
            if e.concerns_interaction() {
                // Read the upload to its end before answering, so the client sees this answer, not a reset
                // connection.
                while upload.next().await.is_some() {}
            }
            return Err(e.into());
        }
    };
    if let Some(bytes) = length {
        let engine = state.engine.clone();
        let asked = plan.clone();
        let streams = tokio::task::spawn_blocking(move || engine.can_stream(&asked, bytes))
            .await
            .map_err(ApiError::internal)??;
        if streams {
            return stream(state, plan, bytes, upload).await;
        }
    }
    let received = receive(state, &mut upload).await?;
    let (engine, data_dir) = (state.engine.clone(), state.data_dir.clone());
    let begun = tokio::task::spawn_blocking(move || engine.begin_import(plan, received, &data_dir))
        .await
        .map_err(ApiError::internal)??;
    Ok(match begun {
        Begun::Done(record) => record,
        Begun::Run(job) => state.run_import(*job),
    })
}

/// Imports an upload of `bytes` bytes while it arrives: the engine reads its header, saves the record and runs
/// the job, which reads the chunks as this task passes them on. Answers once the last byte has been passed on.
async fn stream<S, E>(state: &AppState, plan: Plan, bytes: u64, mut upload: S) -> Result<ImportRecord, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let id = new_id();
    let (mut feed, read) = body::channel(bytes);
    let (engine, data_dir) = (state.engine.clone(), state.data_dir.clone());
    let upload_id = id.clone();
    let mut begun = tokio::task::spawn_blocking(move || {
        engine.begin_streamed_import(plan, Streamed { id: upload_id, bytes, read: Box::new(read) }, &data_dir)
    });
    let started = std::time::Instant::now();
    // Pass the chunks on until the engine has read the header and saved the record (or refused the file).
    let begun = loop {
        tokio::select! {
            begun = &mut begun => break begun.map_err(ApiError::internal)?,
            _ = feed.pass(&mut upload), if !feed.closed() => {}
        }
    };
    let record = match begun {
        Ok(job) => state.run_import(*job),
        Err(e) => {
            while feed.pass(&mut upload).await {}
            return Err(e.into());
        }
    };
    while feed.pass(&mut upload).await {}
    if let Some(cut) = feed.cut() {
        return Err(cut_off(cut));
    }
    tracing::info!(import = %id, bytes, ms = started.elapsed().as_millis() as u64, "upload streamed");
    Ok(record)
}

/// A new import id: `imp_` and 16 hex digits.
fn new_id() -> String {
    format!("imp_{}", crate::auth::random_hex(8))
}

fn cut_off(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(Code::Problem(ProblemKind::InvalidField), format!("The upload was cut off: {e}"))
}

/// Gives the upload an import id and spools it to disk with its SHA-256.
async fn receive<S, E>(state: &AppState, upload: &mut S) -> Result<Upload, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let id = new_id();
    let spool = upload_file(&state.data_dir, &id);
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
    Ok(Upload { id, hash, bytes })
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
        let chunk = chunk.map_err(cut_off)?;
        hasher.update(&chunk);
        bytes += chunk.len() as u64;
        out.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    out.flush().await.map_err(ApiError::internal)?;
    Ok((hasher.finalize().into(), bytes))
}
