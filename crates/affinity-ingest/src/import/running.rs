//! The imports running on this node: their live progress, a way to wait for one, and the background task that
//! runs a job ([`Engine::run_import`]).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use affinity_core::{ImportRecord, ImportStatus, Report};

use super::{ImportJob, Progress, stopped};
use crate::Engine;

/// Running imports, with their live progress and a way to wait for them.
#[derive(Default)]
pub struct Imports {
    running: Mutex<HashMap<String, Running>>,
}

#[derive(Clone)]
struct Running {
    project: String,
    progress: Arc<Progress>,
    done: tokio::sync::watch::Receiver<Option<ImportRecord>>,
}

impl Imports {
    /// Registers a starting import with its live counters; returns the sender that announces its final record.
    fn track(
        &self,
        project: &str,
        id: &str,
        progress: Arc<Progress>,
    ) -> tokio::sync::watch::Sender<Option<ImportRecord>> {
        let (done_tx, done_rx) = tokio::sync::watch::channel(None);
        let running = Running { project: project.to_string(), progress, done: done_rx };
        self.running.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), running);
        done_tx
    }

    /// Forgets a finished import.
    fn finished(&self, id: &str) {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }

    /// Whether an import of `project` runs on this node now.
    pub fn running_for(&self, project: &str) -> bool {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).values().any(|r| r.project == project)
    }

    /// Live counters of a running import.
    pub fn progress(&self, id: &str) -> Option<Arc<Progress>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).get(id).map(|r| r.progress.clone())
    }

    /// Waits until a running import ends and returns its final record; `None` if it is not running here.
    pub async fn wait(&self, id: &str) -> Option<ImportRecord> {
        let mut done = self.running.lock().unwrap_or_else(|p| p.into_inner()).get(id)?.done.clone();
        done.wait_for(Option::is_some).await.ok()?.clone()
    }

    /// `record` as it stands now: while it runs on this node, its row and byte counts and a report of the counts
    /// so far (without failed rows) from the live counters.
    pub fn live(&self, mut record: ImportRecord) -> ImportRecord {
        if record.status != ImportStatus::Running {
            return record;
        }
        let Some(p) = self.progress(&record.id) else { return record };
        let load = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed);
        (record.rows, record.bytes) = (load(&p.rows), load(&p.bytes));
        let (s, k, f) = (load(&p.succeeded), load(&p.skipped), load(&p.failed));
        let processed = s + k + f;
        let counts = Report {
            processed,
            succeeded: s,
            skipped: k,
            failed: f,
            success_rate: affinity_core::report::percent(s, processed),
            completion_rate: affinity_core::report::percent(s + k, processed),
            failed_items: Vec::new(),
            has_more_failures: false,
            ignored_columns: None,
        };
        record.report = serde_json::to_string(&counts).ok();
        record
    }
}

impl Engine {
    /// Runs `job` on a blocking thread in the background, tracked in [`Engine::imports`] until it ends (a job
    /// that panics is saved `failed`). Returns its record as saved at the start (`running`).
    pub fn run_import(&self, job: ImportJob) -> ImportRecord {
        let (record, kind) = (job.record().clone(), job.kind());
        let done_tx = self.imports.track(&record.project, &record.id, job.progress());
        let (imports, store, started) = (self.imports.clone(), self.store.clone(), record.clone());
        tokio::spawn(async move {
            let id = started.id.clone();
            let finished = match tokio::task::spawn_blocking(move || job.run()).await {
                Ok(finished) => finished,
                Err(e) => {
                    tracing::error!(import = %id, error = %e, "import job panicked");
                    stopped(&*store, started, kind, &e)
                }
            };
            let _ = done_tx.send(Some(finished));
            imports.finished(&id);
        });
        record
    }
}
