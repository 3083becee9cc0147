//! In-memory views of the event log, one per project, rebuilt from the store at start and then kept current by
//! applying each committed event in sequence order.
//!
//! They answer what must be fast and must not cost an index on the log: a customer's history (newest first),
//! duplicate checks (an identical event is found in O(log n) in its customer's time-sorted history), idempotency by
//! client event id, and counters. Customer, item and interaction type ids are interned to dense integers.

mod interner;
mod project;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use affinity_store::{Store, StoreError};

pub use interner::Interner;
pub use project::{Detail, Entry, HistoryCursor, ProjectView, Stats};

/// Events read per page when rebuilding from the store.
const REBUILD_PAGE: usize = 50_000;

/// All projects' views.
#[derive(Default)]
pub struct Views {
    projects: RwLock<HashMap<String, Arc<RwLock<ProjectView>>>>,
    /// The highest sequence number applied to any view: every event of the log up to it is in the views (events
    /// are applied in log order).
    applied_seq: std::sync::atomic::AtomicU64,
}

impl Views {
    /// Builds the views of every project from its catalog and the whole event log; returns them with the number
    /// of events read and the last sequence number read (0 for an empty log).
    pub fn rebuild(store: &dyn Store) -> Result<(Views, u64, u64), StoreError> {
        let views = Views::default();
        for project in store.projects()? {
            let view = views.project(&project.id);
            let mut view = view.write().unwrap_or_else(|p| p.into_inner());
            let mut after: Option<String> = None;
            loop {
                let page = store.items(&project.id, after.as_deref(), REBUILD_PAGE)?;
                let Some(last) = page.last() else { break };
                after = Some(last.id.clone());
                for item in page {
                    view.put_item(item);
                }
            }
        }
        let mut after = 0;
        let mut count = 0;
        loop {
            let page = store.scan_events(after, REBUILD_PAGE)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            count += page.len() as u64;
            let mut current: Option<(String, Arc<RwLock<ProjectView>>)> = None;
            for entry in &page {
                if current.as_ref().is_none_or(|(p, _)| *p != entry.project) {
                    current = Some((entry.project.clone(), views.project(&entry.project)));
                }
                if let Some((_, view)) = &current {
                    view.write().unwrap_or_else(|p| p.into_inner()).apply(entry.seq, &entry.event);
                }
            }
        }
        views.note_applied(after);
        Ok((views, count, after))
    }

    /// The highest sequence number applied so far (see the field).
    pub fn applied_seq(&self) -> u64 {
        self.applied_seq.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Records that the log is applied up to `seq`.
    pub fn note_applied(&self, seq: u64) {
        self.applied_seq.fetch_max(seq, std::sync::atomic::Ordering::AcqRel);
    }

    /// Adds events committed by another node (read from the shared log), in log order.
    pub fn apply_foreign(&self, entries: &[affinity_store::LogEntry]) {
        let mut current: Option<(&str, Arc<RwLock<ProjectView>>)> = None;
        for entry in entries {
            if current.as_ref().is_none_or(|(p, _)| *p != entry.project) {
                current = Some((&entry.project, self.project(&entry.project)));
            }
            if let Some((_, view)) = &current {
                view.write().unwrap_or_else(|p| p.into_inner()).apply(entry.seq, &entry.event);
            }
        }
        if let Some(last) = entries.last() {
            self.note_applied(last.seq);
        }
    }

    /// The view of `project`, created empty if it has none yet.
    pub fn project(&self, project: &str) -> Arc<RwLock<ProjectView>> {
        if let Some(v) = self.projects.read().unwrap_or_else(|p| p.into_inner()).get(project) {
            return v.clone();
        }
        self.projects.write().unwrap_or_else(|p| p.into_inner()).entry(project.to_string()).or_default().clone()
    }
}
