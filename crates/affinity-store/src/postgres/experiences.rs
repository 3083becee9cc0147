//! The experiences and exposures tables (issue 8); experience writes join the change feed.

use affinity_core::Experience;
use tokio_postgres::Client;

use super::{changes, conflict, json};
use crate::{ChangeKind, Exposure, Result, StoreError};

fn body(e: &Experience) -> Result<String> {
    serde_json::to_string(e).map_err(|err| StoreError::Corrupt(err.to_string()))
}

pub(super) async fn insert(c: &mut Client, project: &str, e: &Experience) -> Result<()> {
    let b = body(e)?;
    let tx = c.transaction().await?;
    tx.execute(
        "INSERT INTO experiences (project, id, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
        &[&project, &e.id, &b, &e.created_at, &e.updated_at],
    )
    .await
    .map_err(|err| conflict(err, || format!("experience {}", e.id)))?;
    changes::record(&tx, project, ChangeKind::Experiences, None).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn update(c: &mut Client, project: &str, e: &Experience) -> Result<()> {
    let b = body(e)?;
    let tx = c.transaction().await?;
    let n = tx
        .execute(
            "UPDATE experiences SET body = $3, updated_at = $4 WHERE project = $1 AND id = $2",
            &[&project, &e.id, &b, &e.updated_at],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("experience {}", e.id)));
    }
    changes::record(&tx, project, ChangeKind::Experiences, None).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn delete(c: &mut Client, project: &str, id: &str) -> Result<bool> {
    let tx = c.transaction().await?;
    let n = tx.execute("DELETE FROM experiences WHERE project = $1 AND id = $2", &[&project, &id]).await?;
    tx.execute("DELETE FROM exposures WHERE project = $1 AND experience = $2", &[&project, &id]).await?;
    changes::record(&tx, project, ChangeKind::Experiences, None).await?;
    tx.commit().await?;
    Ok(n > 0)
}

pub(super) async fn list(c: &mut Client, project: &str) -> Result<Vec<Experience>> {
    let rows =
        c.query("SELECT id, body FROM experiences WHERE project = $1 ORDER BY id COLLATE \"C\"", &[&project]).await?;
    rows.iter()
        .map(|r| {
            let id: &str = r.get(0);
            json(r.get(1), || format!("experience {id}"))
        })
        .collect()
}

pub(super) async fn add_exposures(c: &mut Client, project: &str, rows: &[Exposure]) -> Result<()> {
    let tx = c.transaction().await?;
    let st = tx
        .prepare("INSERT INTO exposures (project, experience, variant, customer, at) VALUES ($1, $2, $3, $4, $5)")
        .await?;
    for x in rows {
        tx.execute(&st, &[&project, &x.experience, &x.variant, &x.customer, &x.at]).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn exposures(c: &mut Client, project: &str, experience: &str) -> Result<Vec<Exposure>> {
    let rows = c
        .query(
            "SELECT experience, variant, customer, at FROM exposures WHERE project = $1 AND experience = $2
             ORDER BY at, customer COLLATE \"C\", variant COLLATE \"C\"",
            &[&project, &experience],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Exposure { experience: r.get(0), variant: r.get(1), customer: r.get(2), at: r.get(3) })
        .collect())
}
