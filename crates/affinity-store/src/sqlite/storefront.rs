//! Issue 15's tables: aliases (identity) and what recommendations earn (their impressions and clicks, and the
//! answers given per placement, model and day).

use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::{Alias, RecommendationEvent, RequestCount, Result};

pub(super) fn insert_alias(s: &SqliteStore, project: &str, a: &Alias) -> Result<Alias> {
    s.write(|c| {
        let tx = c.transaction()?;
        tx.execute(
            "INSERT INTO aliases (project, anonymous_id, customer, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (project, anonymous_id) DO NOTHING",
            params![project, a.anonymous_id, a.customer, a.created_at],
        )?;
        let held = tx.query_row(
            "SELECT anonymous_id, customer, created_at FROM aliases WHERE project = ?1 AND anonymous_id = ?2",
            params![project, a.anonymous_id],
            row,
        )?;
        tx.commit()?;
        Ok(held)
    })
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Alias> {
    Ok(Alias { anonymous_id: r.get(0)?, customer: r.get(1)?, created_at: r.get(2)? })
}

pub(super) fn aliases(s: &SqliteStore, project: &str) -> Result<Vec<Alias>> {
    s.read(|c| {
        let mut st = c.prepare_cached(
            "SELECT anonymous_id, customer, created_at FROM aliases WHERE project = ?1
             ORDER BY created_at, anonymous_id",
        )?;
        let rows = st.query_map([project], row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
}

pub(super) fn alias(s: &SqliteStore, project: &str, anonymous_id: &str) -> Result<Option<Alias>> {
    s.read(|c| {
        Ok(c.query_row(
            "SELECT anonymous_id, customer, created_at FROM aliases WHERE project = ?1 AND anonymous_id = ?2",
            params![project, anonymous_id],
            row,
        )
        .optional()?)
    })
}

pub(super) fn customer_aliases(s: &SqliteStore, project: &str, customer: &str) -> Result<Vec<Alias>> {
    s.read(|c| {
        let mut st = c.prepare_cached(
            "SELECT anonymous_id, customer, created_at FROM aliases WHERE project = ?1 AND customer = ?2
             ORDER BY created_at, anonymous_id",
        )?;
        let rows = st.query_map(params![project, customer], row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
}

/// Deletes, in the erasure's transaction, the aliases of `customer`, the exposures of their anonymous ids, and
/// every recommendation event of the customer or of their anonymous ids.
pub(super) fn erase(tx: &rusqlite::Transaction<'_>, project: &str, customer: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM exposures WHERE project = ?1 AND customer IN
           (SELECT anonymous_id FROM aliases WHERE project = ?1 AND customer = ?2)",
        params![project, customer],
    )?;
    tx.execute(
        "DELETE FROM recommendation_events WHERE project = ?1 AND (customer = ?2 OR customer IN
           (SELECT anonymous_id FROM aliases WHERE project = ?1 AND customer = ?2))",
        params![project, customer],
    )?;
    tx.execute("DELETE FROM aliases WHERE project = ?1 AND customer = ?2", params![project, customer])?;
    Ok(())
}

pub(super) fn add_events(s: &SqliteStore, project: &str, events: &[RecommendationEvent]) -> Result<()> {
    s.write(|c| {
        let tx = c.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO recommendation_events (project, recommendation, kind, item, customer, placement, model, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for e in events {
                st.execute(params![project, e.recommendation, e.kind, e.item, e.customer, e.placement, e.model, e.at])?;
            }
        }
        tx.commit()?;
        Ok(())
    })
}

pub(super) fn events(s: &SqliteStore, project: &str, since: i64) -> Result<Vec<RecommendationEvent>> {
    s.read(|c| {
        let mut st = c.prepare_cached(
            "SELECT recommendation, kind, item, customer, placement, model, at FROM recommendation_events
             WHERE project = ?1 AND at >= ?2 ORDER BY at, rowid",
        )?;
        let rows = st.query_map(params![project, since], |r| {
            Ok(RecommendationEvent {
                recommendation: r.get(0)?,
                kind: r.get(1)?,
                item: r.get(2)?,
                customer: r.get(3)?,
                placement: r.get(4)?,
                model: r.get(5)?,
                at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
}

pub(super) fn add_requests(s: &SqliteStore, project: &str, counts: &[RequestCount]) -> Result<()> {
    s.write(|c| {
        let tx = c.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO recommendation_requests (project, day, placement, model, requests)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (project, day, placement, model) DO UPDATE SET requests = requests + excluded.requests",
            )?;
            for n in counts {
                st.execute(params![project, n.day, n.placement, n.model, n.requests as i64])?;
            }
        }
        tx.commit()?;
        Ok(())
    })
}

pub(super) fn requests(s: &SqliteStore, project: &str, since_day: i64) -> Result<Vec<RequestCount>> {
    s.read(|c| {
        let mut st = c.prepare_cached(
            "SELECT day, placement, model, requests FROM recommendation_requests WHERE project = ?1 AND day >= ?2
             ORDER BY day, placement, model",
        )?;
        let rows = st.query_map(params![project, since_day], |r| {
            Ok(RequestCount {
                day: r.get(0)?,
                placement: r.get(1)?,
                model: r.get(2)?,
                requests: r.get::<_, i64>(3)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
}
