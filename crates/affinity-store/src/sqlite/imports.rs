//! The imports table.

use affinity_core::{ImportRecord, ImportStatus};
use rusqlite::{OptionalExtension, Row, params};

use super::{SqliteStore, conflict};
use crate::{Result, StoreError};

const COLUMNS: &str =
    "id, project, interaction, status, dry_run, content_hash, bytes, rows, report, error, created_at, finished_at";

fn record(r: &Row) -> rusqlite::Result<(ImportRecord, String, Option<Vec<u8>>)> {
    Ok((
        ImportRecord {
            id: r.get(0)?,
            project: r.get(1)?,
            interaction: r.get(2)?,
            status: ImportStatus::Running,
            dry_run: r.get(4)?,
            content_hash: None,
            bytes: r.get::<_, i64>(6)? as u64,
            rows: r.get::<_, i64>(7)? as u64,
            report: r.get(8)?,
            error: r.get(9)?,
            created_at: r.get(10)?,
            finished_at: r.get(11)?,
        },
        r.get(3)?,
        r.get(5)?,
    ))
}

fn finish((mut rec, status, hash): (ImportRecord, String, Option<Vec<u8>>)) -> Result<ImportRecord> {
    rec.status = ImportStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("import status {status}")))?;
    rec.content_hash = match hash {
        None => None,
        Some(h) => Some(h.try_into().map_err(|_| StoreError::Corrupt("import hash length".into()))?),
    };
    Ok(rec)
}

fn query(s: &SqliteStore, sql: &str, args: impl rusqlite::Params) -> Result<Vec<ImportRecord>> {
    s.read(|c| {
        let mut st = c.prepare_cached(sql)?;
        let rows = st.query_map(args, record)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(finish).collect()
    })
}

pub(super) fn insert(s: &SqliteStore, i: &ImportRecord) -> Result<()> {
    s.write(|c| {
        c.execute(
            &format!("INSERT INTO imports ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
            params![
                i.id,
                i.project,
                i.interaction,
                i.status.as_str(),
                i.dry_run,
                i.content_hash.as_ref().map(|h| &h[..]),
                i.bytes as i64,
                i.rows as i64,
                i.report,
                i.error,
                i.created_at,
                i.finished_at
            ],
        )
        .map_err(|e| conflict(e, || format!("import {}", i.id)))?;
        Ok(())
    })
}

pub(super) fn update(s: &SqliteStore, i: &ImportRecord) -> Result<()> {
    s.write(|c| {
        let n = c.execute(
            "UPDATE imports SET status = ?3, bytes = ?4, rows = ?5, report = ?6, error = ?7, finished_at = ?8,
                 content_hash = ?9
             WHERE project = ?1 AND id = ?2",
            params![
                i.project,
                i.id,
                i.status.as_str(),
                i.bytes as i64,
                i.rows as i64,
                i.report,
                i.error,
                i.finished_at,
                i.content_hash.as_ref().map(|h| &h[..])
            ],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("import {}", i.id)));
        }
        Ok(())
    })
}

pub(super) fn one(s: &SqliteStore, project: &str, id: &str) -> Result<Option<ImportRecord>> {
    s.read(|c| {
        let sql = format!("SELECT {COLUMNS} FROM imports WHERE project = ?1 AND id = ?2");
        let row = c.query_row(&sql, params![project, id], record).optional()?;
        row.map(finish).transpose()
    })
}

pub(super) fn list(s: &SqliteStore, project: &str) -> Result<Vec<ImportRecord>> {
    query(
        s,
        &format!("SELECT {COLUMNS} FROM imports WHERE project = ?1 ORDER BY created_at DESC, rowid DESC"),
        [project],
    )
}

pub(super) fn by_content(
    s: &SqliteStore,
    project: &str,
    interaction: Option<&str>,
    hash: &[u8; 32],
) -> Result<Vec<ImportRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM imports WHERE project = ?1 AND content_hash = ?2 AND interaction IS ?3
         ORDER BY created_at, rowid"
    );
    query(s, &sql, params![project, &hash[..], interaction])
}

pub(super) fn interrupt_running(s: &SqliteStore, at: i64) -> Result<Vec<ImportRecord>> {
    let running = query(s, &format!("SELECT {COLUMNS} FROM imports WHERE status = 'running'"), [])?;
    s.write(|c| {
        c.execute("UPDATE imports SET status = 'interrupted', finished_at = ?1 WHERE status = 'running'", [at])?;
        Ok(())
    })?;
    Ok(running)
}
