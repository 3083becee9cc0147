//! The audiences table.

use affinity_core::Audience;
use rusqlite::params;

use super::{SqliteStore, conflict};
use crate::{Result, StoreError};

pub(super) fn insert(s: &SqliteStore, project: &str, a: &Audience) -> Result<()> {
    s.write(|c| {
        c.execute(
            "INSERT INTO audiences (project, id, name, rule, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![project, a.id, a.name, a.rule.to_string(), a.created_at, a.updated_at],
        )
        .map_err(|e| conflict(e, || format!("audience {}", a.id)))?;
        Ok(())
    })
}

pub(super) fn update(s: &SqliteStore, project: &str, a: &Audience) -> Result<()> {
    s.write(|c| {
        let n = c.execute(
            "UPDATE audiences SET name = ?3, rule = ?4, updated_at = ?5 WHERE project = ?1 AND id = ?2",
            params![project, a.id, a.name, a.rule.to_string(), a.updated_at],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("audience {}", a.id)));
        }
        Ok(())
    })
}

pub(super) fn delete(s: &SqliteStore, project: &str, id: &str) -> Result<bool> {
    s.write(|c| Ok(c.execute("DELETE FROM audiences WHERE project = ?1 AND id = ?2", params![project, id])? > 0))
}

pub(super) fn list(s: &SqliteStore, project: &str) -> Result<Vec<Audience>> {
    let rows = s.read(|c| {
        let mut st = c.prepare_cached(
            "SELECT id, name, rule, created_at, updated_at FROM audiences WHERE project = ?1 ORDER BY id",
        )?;
        let rows = st.query_map([project], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })?;
    rows.into_iter()
        .map(|(id, name, rule, created_at, updated_at)| {
            let rule = serde_json::from_str(&rule).map_err(|e| StoreError::Corrupt(format!("audience {id}: {e}")))?;
            Ok(Audience { id, name, rule, created_at, updated_at })
        })
        .collect()
}
