//! The imports table.

use affinity_core::{ImportRecord, ImportStatus};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use super::conflict;
use crate::{Result, StoreError};

const COLUMNS: &str =
    "id, project, interaction, status, dry_run, content_hash, bytes, rows, report, error, created_at, finished_at";

fn record(r: &Row) -> Result<ImportRecord> {
    let status: &str = r.get(3);
    let hash: Option<&[u8]> = r.get(5);
    Ok(ImportRecord {
        id: r.get(0),
        project: r.get(1),
        interaction: r.get(2),
        status: ImportStatus::parse(status).ok_or_else(|| StoreError::Corrupt(format!("import status {status}")))?,
        dry_run: r.get(4),
        content_hash: hash
            .map(|h| h.try_into().map_err(|_| StoreError::Corrupt("import hash length".into())))
            .transpose()?,
        bytes: r.get::<_, i64>(6) as u64,
        rows: r.get::<_, i64>(7) as u64,
        report: r.get(8),
        error: r.get(9),
        created_at: r.get(10),
        finished_at: r.get(11),
    })
}

async fn query(c: &mut Client, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<Vec<ImportRecord>> {
    c.query(sql, args).await?.iter().map(record).collect()
}

pub(super) async fn insert(c: &mut Client, i: &ImportRecord, node: &str) -> Result<()> {
    c.execute(
        &format!(
            "INSERT INTO imports ({COLUMNS}, node) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ),
        &[
            &i.id,
            &i.project,
            &i.interaction,
            &i.status.as_str(),
            &i.dry_run,
            &i.content_hash.as_ref().map(|h| &h[..]),
            &(i.bytes as i64),
            &(i.rows as i64),
            &i.report,
            &i.error,
            &i.created_at,
            &i.finished_at,
            &node,
        ],
    )
    .await
    .map_err(|e| conflict(e, || format!("import {}", i.id)))?;
    Ok(())
}

pub(super) async fn update(c: &mut Client, i: &ImportRecord) -> Result<()> {
    let n = c
        .execute(
            "UPDATE imports SET status = $3, bytes = $4, rows = $5, report = $6, error = $7, finished_at = $8,
                 content_hash = $9
             WHERE project = $1 AND id = $2",
            &[
                &i.project,
                &i.id,
                &i.status.as_str(),
                &(i.bytes as i64),
                &(i.rows as i64),
                &i.report,
                &i.error,
                &i.finished_at,
                &i.content_hash.as_ref().map(|h| &h[..]),
            ],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("import {}", i.id)));
    }
    Ok(())
}

pub(super) async fn one(c: &mut Client, project: &str, id: &str) -> Result<Option<ImportRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM imports WHERE project = $1 AND id = $2");
    c.query_opt(&sql, &[&project, &id]).await?.as_ref().map(record).transpose()
}

pub(super) async fn list(c: &mut Client, project: &str) -> Result<Vec<ImportRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM imports WHERE project = $1 ORDER BY created_at DESC, ord DESC");
    query(c, &sql, &[&project]).await
}

pub(super) async fn by_content(
    c: &mut Client,
    project: &str,
    interaction: Option<&str>,
    hash: &[u8; 32],
) -> Result<Vec<ImportRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM imports WHERE project = $1 AND content_hash = $2
           AND interaction IS NOT DISTINCT FROM $3 ORDER BY created_at, ord"
    );
    query(c, &sql, &[&project, &&hash[..], &interaction]).await
}

pub(super) async fn interrupt_running(c: &mut Client, at: i64, node: &str) -> Result<Vec<ImportRecord>> {
    let sql = format!(
        "UPDATE imports SET status = 'interrupted', finished_at = $1 WHERE status = 'running' AND node = $2
         RETURNING {COLUMNS}"
    );
    let mut out = query(c, &sql, &[&at, &node]).await?;
    // Callers expect the records as they were (running), like the SQLite store returns them.
    for r in &mut out {
        r.status = ImportStatus::Running;
        r.finished_at = None;
    }
    Ok(out)
}

pub(super) async fn count_events(c: &mut Client, import: &str) -> Result<u64> {
    let row = c.query_opt("SELECT stored FROM imports WHERE id = $1", &[&import]).await?;
    Ok(row.map_or(0, |r| r.get::<_, i64>(0) as u64))
}
