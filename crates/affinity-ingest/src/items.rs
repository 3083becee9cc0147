//! The item catalog (products): written to the store, then to the project's view, under the project's item lock
//! ([`ProjectEntry::items_edit`]) so that both see every write in the same order, here and when another node's
//! writes are followed.

use affinity_core::item::validate_item;
use affinity_core::report::BATCH_MAX_FAILURES;
use affinity_core::{FailedItem, Item, Report, ReportBuilder};
use serde_json::Value;

use crate::catalog::ProjectEntry;
use crate::engine::Engine;
use crate::error::CatalogError;

impl Engine {
    /// Inserts or replaces `items` of `entry`'s project, in the store and then in the view. Blocking (an import
    /// job's thread); see [`Engine::put_item_rows`] for requests.
    pub fn put_items_blocking(&self, entry: &ProjectEntry, items: Vec<Item>) -> Result<(), CatalogError> {
        let _in_order = entry.items_edit.blocking_lock();
        self.store.put_items(&entry.project.id, &items, affinity_core::date::now_ms())?;
        let view = self.views.project(&entry.project.id);
        let mut v = view.write().unwrap_or_else(|p| p.into_inner());
        for item in items {
            v.put_item(item);
        }
        Ok(())
    }

    /// Checks each row of a `PUT …/items` batch with [`validate_item`], stores the valid ones, and reports row by
    /// row (the seed's report; fields under `[i]`). Errors: the store's only (nothing stored then).
    pub async fn put_item_rows(&self, entry: &ProjectEntry, rows: Vec<Value>) -> Result<Report, CatalogError> {
        let mut report = ReportBuilder::new(BATCH_MAX_FAILURES);
        let mut items = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            match validate_item(row) {
                Ok(item) => {
                    items.push(item);
                    report.succeeded();
                }
                Err(p) => report.failed(|timestamp| FailedItem {
                    row_number: i as u64 + 1,
                    user_id: None,
                    item_id: row.get("id").and_then(Value::as_str).map(str::to_string),
                    error: p.message.clone(),
                    timestamp,
                    code: p.kind.code().to_string(),
                    field: p.under(&format!("[{i}]")).field,
                }),
            }
        }
        let _in_order = entry.items_edit.lock().await;
        let (store, project, stored) = (self.store.clone(), entry.project.id.clone(), items.clone());
        let at = affinity_core::date::now_ms();
        tokio::task::spawn_blocking(move || store.put_items(&project, &stored, at))
            .await
            .map_err(|e| CatalogError::Task(e.to_string()))??;
        let view = self.views.project(&entry.project.id);
        let mut v = view.write().unwrap_or_else(|p| p.into_inner());
        for item in items {
            v.put_item(item);
        }
        Ok(report.finish())
    }

    /// Deletes item `id` from the catalog (its events stay). Errors: `not_found`.
    pub async fn delete_item(&self, entry: &ProjectEntry, id: &str) -> Result<(), CatalogError> {
        let _in_order = entry.items_edit.lock().await;
        let (store, project, i) = (self.store.clone(), entry.project.id.clone(), id.to_string());
        let deleted = tokio::task::spawn_blocking(move || store.delete_item(&project, &i))
            .await
            .map_err(|e| CatalogError::Task(e.to_string()))??;
        if !deleted {
            return Err(CatalogError::NotFound(format!("item {id}")));
        }
        self.views.project(&entry.project.id).write().unwrap_or_else(|p| p.into_inner()).remove_item(id);
        Ok(())
    }
}
