//! In-memory views of the event log, one per project, rebuilt from the store at start (by `affinity-ingest`) and then kept current by
//! applying each committed event in sequence order.
//!
//! They answer what must be fast and must not cost an index on the log: a customer's history (newest first),
//! duplicate checks (an identical event is found in O(log n) in its customer's time-sorted history), idempotency by
//! client event id, and counters. Customer, item and interaction type ids are interned to dense integers.

mod interner;
mod project;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub use interner::Interner;
pub use project::{Activity, AliasRefusal, Detail, Details, Entry, HistoryCursor, ProjectView, Sizes, Stats};

/// All projects' views.
#[derive(Default)]
pub struct Views {
    projects: RwLock<HashMap<String, Arc<RwLock<ProjectView>>>>,
    /// The highest sequence number applied to any view: every event of the log up to it is in the views (events
    /// are applied in log order).
    applied_seq: std::sync::atomic::AtomicU64,
}

impl Views {
    /// The highest sequence number applied so far (see the field).
    pub fn applied_seq(&self) -> u64 {
        self.applied_seq.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Records that the log is applied up to `seq`.
    pub fn note_applied(&self, seq: u64) {
        self.applied_seq.fetch_max(seq, std::sync::atomic::Ordering::AcqRel);
    }

    /// Adds events committed by another node (read from the shared log), in log order.
    pub fn apply_foreign(&self, entries: &[affinity_core::LogEntry]) {
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

    /// Lays every view out in customer order ([`ProjectView::compact`]): after a rebuild, one view at a time.
    pub fn compact(&self) {
        let views: Vec<Arc<RwLock<ProjectView>>> =
            self.projects.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for v in views {
            v.write().unwrap_or_else(|p| p.into_inner()).compact();
        }
    }

    /// `f` of every project's view, by project id, sorted: one short read lock per view (for `/metrics`).
    fn per_project<T>(&self, f: impl Fn(&ProjectView) -> T) -> Vec<(String, T)> {
        let views: Vec<(String, Arc<RwLock<ProjectView>>)> = self
            .projects
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(p, v)| (p.clone(), v.clone()))
            .collect();
        let mut out: Vec<(String, T)> =
            views.into_iter().map(|(p, v)| (p, f(&v.read().unwrap_or_else(|e| e.into_inner())))).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// About how many bytes every project's view holds on the heap ([`ProjectView::heap_bytes`]), by project id.
    pub fn heap_bytes(&self) -> Vec<(String, u64)> {
        self.per_project(ProjectView::heap_bytes)
    }

    /// Every project's [`Sizes`], by project id: one short read lock per view (for `/metrics`).
    pub fn sizes(&self) -> Vec<(String, Sizes)> {
        self.per_project(ProjectView::sizes)
    }

    /// The view of `project`, created empty if it has none yet.
    pub fn project(&self, project: &str) -> Arc<RwLock<ProjectView>> {
        if let Some(v) = self.projects.read().unwrap_or_else(|p| p.into_inner()).get(project) {
            return v.clone();
        }
        self.projects.write().unwrap_or_else(|p| p.into_inner()).entry(project.to_string()).or_default().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use affinity_core::{Event, LogEntry};

    fn entry(seq: u64, project: &str, customer: &str, item: &str) -> LogEntry {
        let event = Event {
            event: "view".into(),
            customer: customer.into(),
            item: Some(item.into()),
            ts: seq as i64,
            quantity: None,
            price: None,
            params: None,
            client_id: None,
            order_id: None,
        };
        LogEntry { seq, project: project.into(), event }
    }

    #[test]
    fn sizes_per_project_follow_the_applied_log() {
        let views = Views::default();
        assert!(views.sizes().is_empty());
        views.apply_foreign(&[entry(1, "b", "u", "i"), entry(2, "b", "u", "j"), entry(3, "a", "w", "i")]);
        views.apply_foreign(&[entry(4, "b", "v", "i")]);
        assert_eq!(views.applied_seq(), 4);
        assert_eq!(
            views.sizes(),
            [
                ("a".to_string(), Sizes { events: 1, customers: 1, items: 1 }),
                ("b".to_string(), Sizes { events: 3, customers: 2, items: 2 }),
            ]
        );
    }
}
