//! Projects, keys and custom interaction types: small tables, read once at start and on change.

use affinity_core::{ApiKey, InteractionType, Parameter, Project, Scope};
use rusqlite::params;

use super::{SqliteStore, conflict};
use crate::{Result, StoreError};

pub(super) fn create_project(s: &SqliteStore, p: &Project, keys: &[ApiKey]) -> Result<()> {
    s.write(|c| {
        let tx = c.transaction()?;
        tx.execute(
            "INSERT INTO projects (id, name, created_at) VALUES (?1, ?2, ?3)",
            params![p.id, p.name, p.created_at],
        )
        .map_err(|e| conflict(e, || format!("project {}", p.id)))?;
        for k in keys {
            insert_key_tx(&tx, k)?;
        }
        tx.commit()?;
        Ok(())
    })
}

pub(super) fn projects(s: &SqliteStore) -> Result<Vec<Project>> {
    s.read(|c| {
        let mut st = c.prepare_cached("SELECT id, name, created_at FROM projects ORDER BY id")?;
        let rows = st.query_map([], |r| Ok(Project { id: r.get(0)?, name: r.get(1)?, created_at: r.get(2)? }))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
}

fn insert_key_tx(c: &rusqlite::Connection, k: &ApiKey) -> Result<()> {
    c.execute(
        "INSERT INTO api_keys (id, project, scope, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![k.id, k.project, k.scope.as_str(), &k.hash[..], k.created_at],
    )
    .map_err(|e| conflict(e, || format!("key {}", k.id)))?;
    Ok(())
}

pub(super) fn insert_key(s: &SqliteStore, k: &ApiKey) -> Result<()> {
    s.write(|c| insert_key_tx(c, k))
}

pub(super) fn active_keys(s: &SqliteStore) -> Result<Vec<ApiKey>> {
    s.read(|c| {
        let mut st = c.prepare_cached(
            "SELECT id, project, scope, hash, created_at FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, id",
        )?;
        let mut rows = st.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(key_of(r)?);
        }
        Ok(out)
    })
}

pub(super) fn active_key(s: &SqliteStore, hash: &[u8; 32]) -> Result<Option<ApiKey>> {
    s.read(|c| {
        let mut st = c.prepare_cached(
            "SELECT id, project, scope, hash, created_at FROM api_keys WHERE hash = ?1 AND revoked_at IS NULL",
        )?;
        let mut rows = st.query([&hash[..]])?;
        rows.next()?.map(key_of).transpose()
    })
}

/// A key from a row of `id, project, scope, hash, created_at`.
fn key_of(r: &rusqlite::Row<'_>) -> Result<ApiKey> {
    let scope: String = r.get(2)?;
    let hash: Vec<u8> = r.get(3)?;
    Ok(ApiKey {
        id: r.get(0)?,
        project: r.get(1)?,
        scope: Scope::parse(&scope).ok_or_else(|| StoreError::Corrupt(format!("key scope {scope}")))?,
        hash: hash.try_into().map_err(|_| StoreError::Corrupt("key hash length".into()))?,
        created_at: r.get(4)?,
    })
}

pub(super) fn revoke_key(s: &SqliteStore, project: &str, id: &str, at: i64) -> Result<bool> {
    s.write(|c| {
        let n = c.execute(
            "UPDATE api_keys SET revoked_at = ?3 WHERE project = ?1 AND id = ?2 AND revoked_at IS NULL",
            params![project, id, at],
        )?;
        Ok(n == 1)
    })
}

pub(super) fn interaction_types(s: &SqliteStore) -> Result<Vec<(String, InteractionType)>> {
    s.read(|c| {
        let mut st = c.prepare_cached(
            "SELECT project, id, name, parameters, archived FROM interaction_types ORDER BY project, created_at, id",
        )?;
        let mut rows = st.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let params: String = r.get(3)?;
            let parameters: Vec<Parameter> =
                serde_json::from_str(&params).map_err(|e| StoreError::Corrupt(format!("parameters: {e}")))?;
            out.push((
                r.get(0)?,
                InteractionType { id: r.get(1)?, name: r.get(2)?, parameters, builtin: false, archived: r.get(4)? },
            ));
        }
        Ok(out)
    })
}

fn parameters_json(ty: &InteractionType) -> Result<String> {
    serde_json::to_string(&ty.parameters).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn insert_interaction_type(s: &SqliteStore, project: &str, ty: &InteractionType) -> Result<()> {
    let params = parameters_json(ty)?;
    let now = affinity_core::date::now_ms();
    s.write(|c| {
        c.execute(
            "INSERT INTO interaction_types (project, id, name, parameters, archived, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![project, ty.id, ty.name, params, ty.archived, now],
        )
        .map_err(|e| conflict(e, || format!("interaction type {}", ty.id)))?;
        Ok(())
    })
}

pub(super) fn update_interaction_type(s: &SqliteStore, project: &str, ty: &InteractionType) -> Result<()> {
    let params = parameters_json(ty)?;
    let now = affinity_core::date::now_ms();
    s.write(|c| {
        let n = c.execute(
            "UPDATE interaction_types SET name = ?3, parameters = ?4, archived = ?5, updated_at = ?6
             WHERE project = ?1 AND id = ?2",
            params![project, ty.id, ty.name, params, ty.archived, now],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("interaction type {}", ty.id)));
        }
        Ok(())
    })
}
