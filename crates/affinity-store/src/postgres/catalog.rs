//! Projects, keys and custom interaction types.

use affinity_core::{ApiKey, InteractionType, Parameter, Project, Scope};
use tokio_postgres::{Client, GenericClient};

use super::{changes, conflict, json};
use crate::{ChangeKind, Result, StoreError};

pub(super) async fn create_project(c: &mut Client, p: &Project, keys: &[ApiKey]) -> Result<()> {
    let tx = c.transaction().await?;
    tx.execute("INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)", &[&p.id, &p.name, &p.created_at])
        .await
        .map_err(|e| conflict(e, || format!("project {}", p.id)))?;
    for k in keys {
        insert_key_on(&tx, k).await?;
    }
    changes::record(&tx, &p.id, ChangeKind::Project, None).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn projects(c: &mut Client) -> Result<Vec<Project>> {
    let rows = c.query("SELECT id, name, created_at FROM projects ORDER BY id", &[]).await?;
    Ok(rows.iter().map(|r| Project { id: r.get(0), name: r.get(1), created_at: r.get(2) }).collect())
}

async fn insert_key_on(c: &impl GenericClient, k: &ApiKey) -> Result<()> {
    c.execute(
        "INSERT INTO api_keys (id, project, scope, hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[&k.id, &k.project, &k.scope.as_str(), &&k.hash[..], &k.created_at],
    )
    .await
    .map_err(|e| conflict(e, || format!("key {}", k.id)))?;
    Ok(())
}

pub(super) async fn insert_key(c: &mut Client, k: &ApiKey) -> Result<()> {
    let tx = c.transaction().await?;
    insert_key_on(&tx, k).await?;
    changes::record(&tx, &k.project, ChangeKind::Keys, None).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn active_keys(c: &mut Client) -> Result<Vec<ApiKey>> {
    let rows = c
        .query(
            "SELECT id, project, scope, hash, created_at FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, id",
            &[],
        )
        .await?;
    rows.iter().map(key_of).collect()
}

pub(super) async fn active_key(c: &mut Client, hash: &[u8; 32]) -> Result<Option<ApiKey>> {
    let row = c
        .query_opt(
            "SELECT id, project, scope, hash, created_at FROM api_keys WHERE hash = $1 AND revoked_at IS NULL",
            &[&&hash[..]],
        )
        .await?;
    row.as_ref().map(key_of).transpose()
}

/// A key from a row of `id, project, scope, hash, created_at`.
fn key_of(r: &tokio_postgres::Row) -> Result<ApiKey> {
    let scope: &str = r.get(2);
    let hash: &[u8] = r.get(3);
    Ok(ApiKey {
        id: r.get(0),
        project: r.get(1),
        scope: Scope::parse(scope).ok_or_else(|| StoreError::Corrupt(format!("key scope {scope}")))?,
        hash: hash.try_into().map_err(|_| StoreError::Corrupt("key hash length".into()))?,
        created_at: r.get(4),
    })
}

pub(super) async fn revoke_key(c: &mut Client, project: &str, id: &str, at: i64) -> Result<bool> {
    let tx = c.transaction().await?;
    let n = tx
        .execute(
            "UPDATE api_keys SET revoked_at = $3 WHERE project = $1 AND id = $2 AND revoked_at IS NULL",
            &[&project, &id, &at],
        )
        .await?;
    changes::record(&tx, project, ChangeKind::Keys, None).await?;
    tx.commit().await?;
    Ok(n == 1)
}

pub(super) async fn interaction_types(c: &mut Client) -> Result<Vec<(String, InteractionType)>> {
    let rows = c
        .query(
            "SELECT project, id, name, parameters, archived FROM interaction_types ORDER BY project, created_at, id",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.get(1);
            let parameters: Vec<Parameter> = json(r.get(3), || format!("parameters of {id}"))?;
            Ok((r.get(0), InteractionType { id, name: r.get(2), parameters, builtin: false, archived: r.get(4) }))
        })
        .collect()
}

fn parameters_json(ty: &InteractionType) -> Result<String> {
    serde_json::to_string(&ty.parameters).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) async fn insert_interaction_type(c: &mut Client, project: &str, ty: &InteractionType) -> Result<()> {
    let params = parameters_json(ty)?;
    let now = affinity_core::date::now_ms();
    let tx = c.transaction().await?;
    tx.execute(
        "INSERT INTO interaction_types (project, id, name, parameters, archived, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
        &[&project, &ty.id, &ty.name, &params, &ty.archived, &now],
    )
    .await
    .map_err(|e| conflict(e, || format!("interaction type {}", ty.id)))?;
    changes::record(&tx, project, ChangeKind::Types, None).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn update_interaction_type(c: &mut Client, project: &str, ty: &InteractionType) -> Result<()> {
    let params = parameters_json(ty)?;
    let now = affinity_core::date::now_ms();
    let tx = c.transaction().await?;
    let n = tx
        .execute(
            "UPDATE interaction_types SET name = $3, parameters = $4, archived = $5, updated_at = $6
             WHERE project = $1 AND id = $2",
            &[&project, &ty.id, &ty.name, &params, &ty.archived, &now],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("interaction type {}", ty.id)));
    }
    changes::record(&tx, project, ChangeKind::Types, None).await?;
    tx.commit().await?;
    Ok(())
}
