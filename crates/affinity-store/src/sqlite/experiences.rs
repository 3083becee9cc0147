//! The experiences and exposures tables (issue 8).

use affinity_core::Experience;
use rusqlite::params;

use super::{SqliteStore, conflict};
use crate::{Exposure, Result, StoreError};

fn body(e: &Experience) -> Result<String> {
    serde_json::to_string(e).map_err(|err| StoreError::Corrupt(err.to_string()))
}

pub(super) fn insert(s: &SqliteStore, project: &str, e: &Experience) -> Result<()> {
    let json = body(e)?;
    s.write(|c| {
        c.execute(
            "INSERT INTO experiences (project, id, body, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![project, e.id, json, e.created_at, e.updated_at],
        )
        .map_err(|err| conflict(err, || format!("experience {}", e.id)))?;
        Ok(())
    })
}

pub(super) fn update(s: &SqliteStore, project: &str, e: &Experience) -> Result<()> {
    let json = body(e)?;
    s.write(|c| {
        let n = c.execute(
            "UPDATE experiences SET body = ?3, updated_at = ?4 WHERE project = ?1 AND id = ?2",
            params![project, e.id, json, e.updated_at],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("experience {}", e.id)));
        }
        Ok(())
    })
}

/// Deletes an experience and its exposures (a new experience with the same id starts a fresh report).
pub(super) fn delete(s: &SqliteStore, project: &str, id: &str) -> Result<bool> {
    s.write(|c| {
        let tx = c.transaction()?;
        let n = tx.execute("DELETE FROM experiences WHERE project = ?1 AND id = ?2", params![project, id])?;
        tx.execute("DELETE FROM exposures WHERE project = ?1 AND experience = ?2", params![project, id])?;
        tx.commit()?;
        Ok(n > 0)
    })
}

pub(super) fn list(s: &SqliteStore, project: &str) -> Result<Vec<Experience>> {
    let rows: Vec<(String, String)> = s.read(|c| {
        let mut st = c.prepare_cached("SELECT id, body FROM experiences WHERE project = ?1 ORDER BY id")?;
        let rows = st.query_map([project], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })?;
    rows.into_iter()
        .map(|(id, b)| serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(format!("experience {id}: {e}"))))
        .collect()
}

pub(super) fn add_exposures(s: &SqliteStore, project: &str, rows: &[Exposure]) -> Result<()> {
    s.write(|c| {
        let tx = c.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO exposures (project, experience, variant, customer, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for x in rows {
                st.execute(params![project, x.experience, x.variant, x.customer, x.at])?;
            }
        }
        tx.commit()?;
        Ok(())
    })
}

pub(super) fn exposures(s: &SqliteStore, project: &str, experience: &str) -> Result<Vec<Exposure>> {
    s.read(|c| {
        let mut st = c.prepare_cached(
            "SELECT experience, variant, customer, at FROM exposures WHERE project = ?1 AND experience = ?2
             ORDER BY at, customer, variant",
        )?;
        let rows = st.query_map(params![project, experience], |r| {
            Ok(Exposure { experience: r.get(0)?, variant: r.get(1)?, customer: r.get(2)?, at: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
}
