//! The item catalog, project settings and trained models: small tables read at start and on admin calls.

use affinity_core::{Item, Settings};
use rusqlite::{OptionalExtension, Row, params};

use super::SqliteStore;
use crate::{ModelRecord, Result, StoreError};

const ITEM_COLUMNS: &str = "id, title, categories, price, available, properties";

fn item(r: &Row) -> rusqlite::Result<(Item, String, String)> {
    Ok((
        Item {
            id: r.get(0)?,
            title: r.get(1)?,
            categories: Vec::new(),
            price: r.get(3)?,
            available: r.get(4)?,
            properties: Default::default(),
        },
        r.get(2)?,
        r.get(5)?,
    ))
}

fn finish((mut item, categories, properties): (Item, String, String)) -> Result<Item> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("item {}: {e}", item.id));
    item.categories = serde_json::from_str(&categories).map_err(corrupt)?;
    item.properties = serde_json::from_str(&properties).map_err(corrupt)?;
    Ok(item)
}

pub(super) fn put(s: &SqliteStore, project: &str, items: &[Item], at: i64) -> Result<()> {
    s.write(|c| {
        let tx = c.transaction()?;
        {
            let mut st = tx.prepare_cached(&format!(
                "INSERT OR REPLACE INTO items (project, {ITEM_COLUMNS}, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))?;
            for i in items {
                let categories = serde_json::to_string(&i.categories).unwrap_or_else(|_| "[]".into());
                let properties = serde_json::to_string(&i.properties).unwrap_or_else(|_| "{}".into());
                st.execute(params![project, i.id, i.title, categories, i.price, i.available, properties, at])?;
            }
        }
        tx.commit()?;
        Ok(())
    })
}

pub(super) fn get(s: &SqliteStore, project: &str, id: &str) -> Result<Option<Item>> {
    let row = s.read(|c| {
        Ok(c.query_row(
            &format!("SELECT {ITEM_COLUMNS} FROM items WHERE project = ?1 AND id = ?2"),
            params![project, id],
            item,
        )
        .optional()?)
    })?;
    row.map(finish).transpose()
}

pub(super) fn delete(s: &SqliteStore, project: &str, id: &str) -> Result<bool> {
    s.write(|c| Ok(c.execute("DELETE FROM items WHERE project = ?1 AND id = ?2", params![project, id])? > 0))
}

pub(super) fn page(s: &SqliteStore, project: &str, after: Option<&str>, limit: usize) -> Result<Vec<Item>> {
    let rows = s.read(|c| {
        let mut st = c.prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE project = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
        ))?;
        let rows = st.query_map(params![project, after.unwrap_or(""), limit as i64], item)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })?;
    rows.into_iter().map(finish).collect()
}

pub(super) fn settings(s: &SqliteStore, project: &str) -> Result<Option<Settings>> {
    let body: Option<String> = s.read(|c| {
        Ok(c.query_row("SELECT body FROM settings WHERE project = ?1", [project], |r| r.get(0)).optional()?)
    })?;
    body.map(|b| serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(format!("settings of {project}: {e}"))))
        .transpose()
}

pub(super) fn put_settings(s: &SqliteStore, project: &str, settings: &Settings, at: i64) -> Result<()> {
    let body = serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    s.write(|c| {
        c.execute(
            "INSERT INTO settings (project, body, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (project) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
            params![project, body, at],
        )?;
        Ok(())
    })
}

pub(super) fn save_model(s: &SqliteStore, project: &str, m: &ModelRecord) -> Result<()> {
    s.write(|c| {
        c.execute(
            "INSERT OR REPLACE INTO models (project, kind, trained_at, meta, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![project, m.kind, m.trained_at, m.meta, m.data],
        )?;
        Ok(())
    })
}

pub(super) fn models(s: &SqliteStore, project: &str) -> Result<Vec<ModelRecord>> {
    s.read(|c| {
        let mut st =
            c.prepare_cached("SELECT kind, trained_at, meta, data FROM models WHERE project = ?1 ORDER BY kind")?;
        let rows = st.query_map([project], |r| {
            Ok(ModelRecord { kind: r.get(0)?, trained_at: r.get(1)?, meta: r.get(2)?, data: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
}
