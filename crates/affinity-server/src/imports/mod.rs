//! File imports over HTTP: an upload is spooled to disk while its SHA-256 is computed, then handed to the engine
//! ([`affinity_ingest::import`]: the header check, byte-identical files imported before, the record and the row
//! work), whose job runs on a blocking thread while the engine's [`affinity_ingest::Imports`] tracks it.
//!
//! Files live in `<data-dir>/imports/`: `<id>.upload` while the import runs, `<id>.failures.csv` afterwards.

use std::path::Path;

use affinity_core::{ImportRecord, ProblemKind};
use affinity_ingest::import::{Begun, Upload, folder, upload_file};
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

/// Gives the upload an import id and spools it to disk with its SHA-256.
async fn receive<S, E>(state: &AppState, upload: &mut S) -> Result<Upload, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let id = format!("imp_{}", crate::auth::random_hex(8));
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
