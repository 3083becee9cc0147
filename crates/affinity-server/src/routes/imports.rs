//! File imports: upload, status, history, and the failed rows as CSV (admin key).

use affinity_core::date::format_ms;
use affinity_core::{ImportRecord, ImportStatus, Problem, ProblemKind};
use affinity_import::Format;
use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::auth::ProjectAdmin;
use crate::error::{ApiError, Code};
use affinity_core::report::IMPORT_MAX_FAILURES;

use crate::imports::{self, Kind, Options};
use crate::state::AppState;

/// The most failed rows a report may list (`max_failures`); all of them are in the failures CSV anyway.
const MAX_FAILURES_LIMIT: usize = 10_000;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// Interaction type of every row; may be omitted when the file has an `event` column.
    pub interaction: Option<String>,
    /// `true`: validate and report, store nothing.
    pub dry_run: Option<String>,
    /// `true`: answer 200 with the finished import instead of 202 at once.
    pub wait: Option<String>,
    /// `true`: read a byte-identical file again row by row.
    pub force: Option<String>,
    /// Failed rows listed in the report (default 100).
    pub max_failures: Option<String>,
    /// The file's name, when the body is the file itself (`.jsonl`/`.ndjson` mean JSON Lines).
    pub filename: Option<String>,
    /// `interactions` (default) or `items`: a catalog CSV with `id`, `title`, `categories` (`|`-separated),
    /// `price`, `available`, and any other column as a text property.
    pub kind: Option<String>,
}

fn flag(v: &Option<String>, name: &str) -> Result<bool, ApiError> {
    match v.as_deref().map(str::trim) {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => Err(ApiError::field(
            Code::Problem(ProblemKind::InvalidField),
            name,
            format!("{name} must be true or false, not {other}"),
        )),
    }
}

/// Progress of an import.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportProgress {
    /// Data rows read.
    pub rows: u64,
    /// Bytes of the upload read.
    pub bytes: u64,
}

/// An import.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportInfo {
    pub id: String,
    /// The upload's interaction type; null for a file with an `event` column.
    pub interaction: Option<String>,
    pub status: ImportStatus,
    pub dry_run: bool,
    pub progress: ImportProgress,
    /// The seed's report (while running: the counts so far, without failed rows).
    #[schema(value_type = Option<affinity_core::Report>)]
    pub report: Option<Box<RawValue>>,
    /// Why the file could not be read to its end (`failed`).
    pub error: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub finished_at: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportList {
    /// Newest first.
    pub imports: Vec<ImportInfo>,
}

/// The answer for `r`, with live progress while it runs on this node.
fn info(state: &AppState, r: ImportRecord) -> ImportInfo {
    let r = state.imports.live(r);
    ImportInfo {
        id: r.id,
        interaction: r.interaction,
        status: r.status,
        dry_run: r.dry_run,
        progress: ImportProgress { rows: r.rows, bytes: r.bytes },
        report: r.report.and_then(|s| RawValue::from_string(s).ok()),
        error: r.error,
        created_at: format_ms(r.created_at),
        finished_at: r.finished_at.map(format_ms),
    }
}

/// Uploads a file of interactions: CSV (default), JSON Lines (`Content-Type: application/x-ndjson`), either one
/// gzip-compressed; or `multipart/form-data` with a `file` field. Answers 202 at once (200 with `?wait=true`).
#[utoipa::path(post, path = "/v1/projects/{project}/imports", tag = "imports",
    params(("project" = String, Path), ImportQuery),
    request_body(content = String, description = "The file", content_type = "text/csv"),
    responses((status = 202, body = ImportInfo), (status = 200, body = ImportInfo),
              (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Query(q): Query<ImportQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let options = q.options()?;
    let wait = flag(&q.wait, "wait")?;
    let record = upload(&state, &project, &q, options, request).await?;
    if wait && record.status == ImportStatus::Running {
        let record = match state.imports.wait(&record.id).await {
            Some(r) => r,
            None => find(&state, project, &record.id).await?,
        };
        return Ok(Json(info(&state, record)).into_response());
    }
    let status = if wait { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((status, Json(info(&state, record))).into_response())
}

impl ImportQuery {
    /// What the query asks for; the format is filled in from the upload's content type and name.
    fn options(&self) -> Result<Options, ApiError> {
        let max_failures = super::query_number(
            self.max_failures.as_deref(),
            "max_failures",
            0..=MAX_FAILURES_LIMIT as i64,
            IMPORT_MAX_FAILURES as i64,
        )? as usize;
        let kind = match self.kind.as_deref().map(str::trim) {
            None | Some("") | Some("interactions") => Kind::Interactions,
            Some("items") => Kind::Items,
            Some(other) => {
                let message = format!("Invalid kind: {other} (interactions or items)");
                return Err(ApiError::field(Code::Problem(ProblemKind::InvalidField), "kind", message));
            }
        };
        Ok(Options {
            interaction: self.interaction.clone().filter(|i| !i.trim().is_empty()),
            format: Format::Csv,
            dry_run: flag(&self.dry_run, "dry_run")?,
            force: flag(&self.force, "force")?,
            max_failures,
            kind,
        })
    }
}

/// Starts the import of the request's body: the file itself, or the `file` field of a multipart body.
async fn upload(
    state: &AppState,
    project: &str,
    q: &ImportQuery,
    mut options: Options,
    request: Request,
) -> Result<ImportRecord, ApiError> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
    if !content_type.as_deref().is_some_and(|c| c.starts_with("multipart/form-data")) {
        options.format = Format::of_upload(content_type.as_deref(), q.filename.as_deref());
        let length = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
        return imports::start(state, project, options, request.into_body().into_data_stream(), length).await;
    }
    let broken = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(Code::InvalidFile, format!("Invalid multipart body: {e}"))
    };
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::new(Code::InvalidFile, format!("Invalid multipart body: {e}")))?;
    loop {
        let field = multipart.next_field().await.map_err(broken)?.ok_or_else(|| Problem::missing("file", "file"))?;
        if field.name() == Some("file") {
            options.format = Format::of_upload(field.content_type(), field.file_name().or(q.filename.as_deref()));
            // A part's size is not announced: spooled.
            return imports::start(state, project, options, field, None).await;
        }
    }
}

/// The failed-row count of an import's report (0 without a report).
fn failed_rows(record: &ImportRecord) -> u64 {
    record
        .report
        .as_deref()
        .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
        .and_then(|r| r["failed"].as_u64())
        .unwrap_or(0)
}

/// The import `id` of `project`, or 404.
async fn find(state: &AppState, project: String, id: &str) -> Result<ImportRecord, ApiError> {
    let i = id.to_string();
    state.blocking(move |s| s.import(&project, &i)).await?.ok_or_else(|| ApiError::not_found(format!("import {id}")))
}

/// One import, with live progress while it runs.
#[utoipa::path(get, path = "/v1/projects/{project}/imports/{id}", tag = "imports",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = ImportInfo), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<ImportInfo>, ApiError> {
    let record = find(&state, project, &id).await?;
    Ok(Json(info(&state, record)))
}

/// The project's imports, newest first.
#[utoipa::path(get, path = "/v1/projects/{project}/imports", tag = "imports", params(("project" = String, Path)),
    responses((status = 200, body = ImportList), (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
) -> Result<Json<ImportList>, ApiError> {
    let records = state.blocking(move |s| s.imports(&project)).await?;
    Ok(Json(ImportList { imports: records.into_iter().map(|r| info(&state, r)).collect() }))
}

/// The failed rows of an import as CSV: the original columns, then `row_number` and `error`.
#[utoipa::path(get, path = "/v1/projects/{project}/imports/{id}/failures", tag = "imports",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "CSV", content_type = "text/csv"), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn failures(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let record = find(&state, project, &id).await?;
    let body = match tokio::fs::File::open(imports::failures_file(&state.data_dir, &id)).await {
        Ok(file) => Body::from_stream(tokio_util::io::ReaderStream::new(file)),
        Err(_) => {
            // Not on this node: another node ran the import (its failed rows are in a shared store), or nothing
            // failed (no file is written for an empty file or one with no rows that could fail).
            let i = id.clone();
            match state.blocking(move |s| s.import_failures(&i)).await? {
                Some(csv) => Body::from(csv),
                None if failed_rows(&record) > 0 => {
                    return Err(ApiError::not_found(format!(
                        "the failed rows of import {id} are kept by the node that ran it (over {} MiB)",
                        imports::MAX_SHARED_FAILURES >> 20
                    )));
                }
                None => Body::from_stream(
                    stream::iter([Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"row_number,error\n"))])
                        .boxed(),
                ),
            }
        }
    };
    let disposition = format!("attachment; filename=\"{id}-failures.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}
