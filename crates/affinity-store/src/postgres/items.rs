//! The item catalog, project settings and trained models.

use affinity_core::{Item, Settings};
use tokio_postgres::{Client, Row};

use super::{changes, json};
use crate::{ChangeKind, ModelRecord, Result, StoreError};

const ITEM_COLUMNS: &str = "id, title, categories, price, available, properties";

fn item(r: &Row) -> Result<Item> {
    let id: String = r.get(0);
    let categories = json(r.get(2), || format!("item {id}"))?;
    let properties = json(r.get(5), || format!("item {id}"))?;
    Ok(Item { title: r.get(1), categories, price: r.get(3), available: r.get(4), properties, id })
}

pub(super) async fn put(c: &mut Client, project: &str, items: &[Item], at: i64) -> Result<()> {
    let tx = c.transaction().await?;
    let st = tx
        .prepare(&format!(
            "INSERT INTO items (project, {ITEM_COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (project, id) DO UPDATE SET title = excluded.title, categories = excluded.categories,
               price = excluded.price, available = excluded.available, properties = excluded.properties,
               updated_at = excluded.updated_at"
        ))
        .await?;
    for i in items {
        let categories = serde_json::to_string(&i.categories).unwrap_or_else(|_| "[]".into());
        let properties = serde_json::to_string(&i.properties).unwrap_or_else(|_| "{}".into());
        tx.execute(&st, &[&project, &i.id, &i.title, &categories, &i.price, &i.available, &properties, &at]).await?;
    }
    let key = changes::items_key(items.iter().map(|i| i.id.as_str()));
    changes::record(&tx, project, ChangeKind::Items, key.as_deref()).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn get(c: &mut Client, project: &str, id: &str) -> Result<Option<Item>> {
    let row = c
        .query_opt(&format!("SELECT {ITEM_COLUMNS} FROM items WHERE project = $1 AND id = $2"), &[&project, &id])
        .await?;
    row.as_ref().map(item).transpose()
}

pub(super) async fn delete(c: &mut Client, project: &str, id: &str) -> Result<bool> {
    let tx = c.transaction().await?;
    let n = tx.execute("DELETE FROM items WHERE project = $1 AND id = $2", &[&project, &id]).await?;
    let key = changes::items_key(std::iter::once(id));
    changes::record(&tx, project, ChangeKind::Items, key.as_deref()).await?;
    tx.commit().await?;
    Ok(n > 0)
}

pub(super) async fn page(c: &mut Client, project: &str, after: Option<&str>, limit: usize) -> Result<Vec<Item>> {
    // COLLATE "C": ids in byte order, as the SQLite store and the cursor expect.
    let rows = c
        .query(
            &format!(
                "SELECT {ITEM_COLUMNS} FROM items WHERE project = $1 AND id COLLATE \"C\" > $2
                 ORDER BY id COLLATE \"C\" LIMIT $3"
            ),
            &[&project, &after.unwrap_or(""), &(limit as i64)],
        )
        .await?;
    rows.iter().map(item).collect()
}

pub(super) async fn settings(c: &mut Client, project: &str) -> Result<Option<Settings>> {
    let row = c.query_opt("SELECT body FROM settings WHERE project = $1", &[&project]).await?;
    row.map(|r| json(r.get(0), || format!("settings of {project}"))).transpose()
}

pub(super) async fn put_settings(c: &mut Client, project: &str, settings: &Settings, at: i64) -> Result<()> {
    let body = serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let tx = c.transaction().await?;
    tx.execute(
        "INSERT INTO settings (project, body, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (project) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
        &[&project, &body, &at],
    )
    .await?;
    changes::record(&tx, project, ChangeKind::Settings, None).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn save_model(c: &mut Client, project: &str, m: &ModelRecord) -> Result<()> {
    let tx = c.transaction().await?;
    tx.execute(
        "INSERT INTO models (project, kind, trained_at, meta, data) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (project, kind) DO UPDATE SET trained_at = excluded.trained_at, meta = excluded.meta,
           data = excluded.data",
        &[&project, &m.kind, &m.trained_at, &m.meta, &m.data],
    )
    .await?;
    changes::record(&tx, project, ChangeKind::Models, Some(&m.kind)).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn models(c: &mut Client, project: &str) -> Result<Vec<ModelRecord>> {
    let rows = c
        .query("SELECT kind, trained_at, meta, data FROM models WHERE project = $1 ORDER BY kind", &[&project])
        .await?;
    Ok(rows
        .iter()
        .map(|r| ModelRecord { kind: r.get(0), trained_at: r.get(1), meta: r.get(2), data: r.get(3) })
        .collect())
}
