//! The audiences table.

use affinity_core::Audience;
use tokio_postgres::Client;

use super::{changes, conflict, json};
use crate::{ChangeKind, Result, StoreError};

pub(super) async fn insert(c: &mut Client, project: &str, a: &Audience) -> Result<()> {
    let tx = c.transaction().await?;
    tx.execute(
        "INSERT INTO audiences (project, id, name, rule, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&project, &a.id, &a.name, &a.rule.to_string(), &a.created_at, &a.updated_at],
    )
    .await
    .map_err(|e| conflict(e, || format!("audience {}", a.id)))?;
    changes::record(&tx, project, ChangeKind::Audiences, None).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn update(c: &mut Client, project: &str, a: &Audience) -> Result<()> {
    let tx = c.transaction().await?;
    let n = tx
        .execute(
            "UPDATE audiences SET name = $3, rule = $4, updated_at = $5 WHERE project = $1 AND id = $2",
            &[&project, &a.id, &a.name, &a.rule.to_string(), &a.updated_at],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("audience {}", a.id)));
    }
    changes::record(&tx, project, ChangeKind::Audiences, None).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn delete(c: &mut Client, project: &str, id: &str) -> Result<bool> {
    let tx = c.transaction().await?;
    let n = tx.execute("DELETE FROM audiences WHERE project = $1 AND id = $2", &[&project, &id]).await?;
    changes::record(&tx, project, ChangeKind::Audiences, None).await?;
    tx.commit().await?;
    Ok(n > 0)
}

pub(super) async fn list(c: &mut Client, project: &str) -> Result<Vec<Audience>> {
    let rows = c
        .query(
            "SELECT id, name, rule, created_at, updated_at FROM audiences WHERE project = $1 ORDER BY id COLLATE \"C\"",
            &[&project],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.get(0);
            let rule = json(r.get(2), || format!("audience {id}"))?;
            Ok(Audience { id, name: r.get(1), rule, created_at: r.get(3), updated_at: r.get(4) })
        })
        .collect()
}
