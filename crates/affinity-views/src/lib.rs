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
pub use project::{Detail, Entry, HistoryCursor, ProjectView, Stats};

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

    /// The view of `project`, created empty if it has none yet.
    pub fn project(&self, project: &str) -> Arc<RwLock<ProjectView>> {
        if let Some(v) = self.projects.read().unwrap_or_else(|p| p.into_inner()).get(project) {
            return v.clone();
        }
        self.projects.write().unwrap_or_else(|p| p.into_inner()).entry(project.to_string()).or_default().clone()
    }
}
