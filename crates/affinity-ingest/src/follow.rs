//! Many nodes on one store: what this node learns from the others besides events (those come through the ingest
//! writer, which follows the log). Every [`POLL_EVERY`], the store's change feed says what another node wrote, and
//! this node reloads it from the store: projects and keys, interaction types, catalog items, settings, audiences,
//! models, erasures and aliases. A node's own changes come back too; reloading them is harmless.
//!
//! Only stores that several nodes share have a feed ([`affinity_store::Store::shared`]); on SQLite nothing runs.

use std::collections::BTreeSet;
use std::time::Duration;

use affinity_store::{Change, ChangeKind, Store, StoreError};

use crate::engine::Engine;

/// How often the change feed is read.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// Changes read per query.
const PAGE: usize = 1000;

/// Follows the change feed from `after` (the feed's position before this node loaded its state) for as long as
/// the runtime runs. On a store no other node shares, does nothing.
pub fn start(engine: Engine, mut after: u64) {
    if !engine.store.shared() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL_EVERY);
        loop {
            tick.tick().await;
            let (e, from) = (engine.clone(), after);
            match tokio::task::spawn_blocking(move || apply_changes(&e, from)).await {
                Ok(Ok(next)) => after = next,
                Ok(Err(e)) => tracing::warn!(error = %e, "following the change feed failed; will retry"),
                Err(e) => tracing::error!(error = %e, "the change follower panicked"),
            }
        }
    });
}

/// Reads and applies every change after `after`; returns the last one applied. Blocking.
fn apply_changes(engine: &Engine, mut after: u64) -> Result<u64, StoreError> {
    loop {
        let page = engine.store.changes_after(after, PAGE)?;
        let Some(last) = page.last().map(|c| c.seq) else { return Ok(after) };
        apply(engine, &page)?;
        after = last;
        if page.len() < PAGE {
            return Ok(after);
        }
    }
}

/// Applies a page of changes, reloading each thing once however often it changed.
fn apply(engine: &Engine, changes: &[Change]) -> Result<(), StoreError> {
    let store: &dyn Store = &*engine.store;
    let mut once: BTreeSet<(ChangeKind, &str)> = BTreeSet::new();
    for c in changes {
        let project = c.project.as_str();
        match c.kind {
            ChangeKind::Erase => {
                // `{"customer":…,"upto":seq}`: through the ingest writer, in order with the events it follows.
                let key: Option<serde_json::Value> = c.key.as_deref().and_then(|k| serde_json::from_str(k).ok());
                if let Some(customer) = key.as_ref().and_then(|k| k["customer"].as_str()) {
                    let upto = key.as_ref().and_then(|k| k["upto"].as_u64()).unwrap_or(u64::MAX);
                    engine.pipeline().followed_erase(project.into(), customer.to_string(), upto);
                    // The customer's anonymous ids, erased with them, whether this node had followed their alias
                    // or not (the customer's erasure above forgets the aliases this node knew).
                    let aliases = key.as_ref().and_then(|k| k["aliases"].as_array()).into_iter().flatten();
                    for anonymous_id in aliases.filter_map(|a| a.as_str()) {
                        engine.pipeline().followed_erase(project.into(), anonymous_id.to_string(), upto);
                    }
                }
            }
            ChangeKind::Items => items(engine, project, c.key.as_deref())?,
            ChangeKind::Aliases => {
                if let Some(anonymous_id) = c.key.as_deref() {
                    engine.follow_alias(project, anonymous_id)?;
                }
            }
            kind => {
                once.insert((kind, project));
            }
        }
    }
    for (kind, project) in once {
        match kind {
            ChangeKind::Project | ChangeKind::Keys => {
                if engine.catalog.get(project).is_none() {
                    engine.catalog.reload_project(store, project)?;
                }
                engine.keys.replace_all(store.active_keys()?);
            }
            ChangeKind::Types | ChangeKind::Settings | ChangeKind::Audiences | ChangeKind::Experiences => {
                engine.catalog.reload_project(store, project)?;
            }
            ChangeKind::Models => {
                engine.load_project_models(project)?;
            }
            ChangeKind::Items | ChangeKind::Erase | ChangeKind::Aliases => {}
        }
    }
    Ok(())
}

/// Reloads the named items of `project` (a JSON array of ids), or its whole catalog when `key` is `None`.
fn items(engine: &Engine, project: &str, key: Option<&str>) -> Result<(), StoreError> {
    let store: &dyn Store = &*engine.store;
    let view = engine.views.project(project);
    // Under the lock item writes of this node hold, so that a stale read never overwrites a newer write.
    let entry = engine.catalog.get(project);
    let _in_order = entry.as_ref().map(|e| e.items_edit.blocking_lock());
    match key.and_then(|k| serde_json::from_str::<Vec<String>>(k).ok()) {
        Some(ids) => {
            for id in ids {
                let item = store.item(project, &id)?;
                let mut v = view.write().unwrap_or_else(|p| p.into_inner());
                match item {
                    Some(item) => v.put_item(item),
                    None => v.remove_item(&id),
                }
            }
        }
        None => {
            let mut after: Option<String> = None;
            loop {
                let page = store.items(project, after.as_deref(), 10_000)?;
                let Some(last) = page.last() else { break };
                after = Some(last.id.clone());
                let mut v = view.write().unwrap_or_else(|p| p.into_inner());
                for item in page {
                    v.put_item(item);
                }
            }
        }
    }
    Ok(())
}
