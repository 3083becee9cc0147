//! The ingest pipeline's write side: one writer thread that turns validated events into durable, indexed ones.
//!
//! Requests hand their validated events to the writer and wait. The writer takes everything queued (up to
//! [`MAX_GROUP_EVENTS`]), drops duplicates, checked against the views and within the group: an event with a client
//! `id` is a duplicate when that id is stored already; an event without one is a duplicate when an identical event
//! (type, customer, item, date, quantity, price, parameters) is stored already. It appends the rest in **one
//! transaction, one fsync** (group commit), applies them to the views, and only then answers every waiting
//! request. Throughput comes from batching, not from weakening durability: an answered event is on disk and
//! visible to reads.
//!
//! Erasures go through the same thread, so they are ordered with appends.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc;

use affinity_core::Event;
use affinity_store::{Store, StoreError};
use affinity_views::{ProjectView, Views};
use foldhash::fast::RandomState;
use tokio::sync::oneshot;

/// Most events committed in one transaction.
pub const MAX_GROUP_EVENTS: usize = 50_000;

/// What became of one submitted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored with this sequence number.
    Stored(u64),
    /// Already stored (or earlier in the same group); not stored again.
    Duplicate,
}

/// The answer to an append: the outcomes, and the events handed back so that the requesting task, not the
/// writer, pays for freeing them.
type AppendReply = oneshot::Sender<Result<(Vec<Outcome>, Vec<Event>), String>>;

enum Job {
    Append { project: Arc<str>, events: Vec<Event>, fingerprints: Vec<u64>, reply: AppendReply },
    Erase { project: Arc<str>, customer: String, reply: oneshot::Sender<Result<usize, String>> },
}

/// Handle to the writer thread; cheap to clone. The thread ends when the last handle is dropped.
#[derive(Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Job>,
}

/// The writer thread stopped or the store failed; nothing of the request was acknowledged.
#[derive(Debug, thiserror::Error)]
#[error("ingest failed: {0}")]
pub struct IngestError(String);

impl Ingest {
    /// Starts the writer thread.
    pub fn start(store: Arc<dyn Store>, views: Arc<Views>) -> Ingest {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("affinity-writer".into())
            .spawn(move || Writer { store, views }.run(rx))
            .expect("spawning the writer thread");
        Ingest { tx }
    }

    /// Stores `events` of `project` durably; one outcome per event, in order.
    pub async fn append(&self, project: Arc<str>, events: Vec<Event>) -> Result<Vec<Outcome>, IngestError> {
        // Hashing happens here, on the request's thread, to keep the single writer thread lean.
        let fingerprints = events.iter().map(Event::fingerprint).collect();
        let (reply, rx) = oneshot::channel();
        let job = Job::Append { project, events, fingerprints, reply };
        self.tx.send(job).map_err(|_| IngestError("writer stopped".into()))?;
        let (outcomes, _events) = rx.await.map_err(|_| IngestError("writer stopped".into()))?.map_err(IngestError)?;
        Ok(outcomes)
    }

    /// Deletes every event of `customer` in `project`; returns how many were deleted.
    pub async fn erase(&self, project: Arc<str>, customer: String) -> Result<usize, IngestError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Job::Erase { project, customer, reply }).map_err(|_| IngestError("writer stopped".into()))?;
        rx.await.map_err(|_| IngestError("writer stopped".into()))?.map_err(IngestError)
    }
}

struct Writer {
    store: Arc<dyn Store>,
    views: Arc<Views>,
}

struct Pending {
    project: Arc<str>,
    events: Vec<Event>,
    fingerprints: Vec<u64>,
    reply: AppendReply,
}

impl Writer {
    fn run(self, rx: mpsc::Receiver<Job>) {
        let mut next = None;
        loop {
            let job = match next.take() {
                Some(j) => j,
                None => match rx.recv() {
                    Ok(j) => j,
                    Err(_) => return,
                },
            };
            match job {
                Job::Erase { project, customer, reply } => {
                    let _ = reply.send(self.erase(&project, &customer).map_err(|e| e.to_string()));
                }
                Job::Append { project, events, fingerprints, reply } => {
                    let mut total = events.len();
                    let mut group = vec![Pending { project, events, fingerprints, reply }];
                    while total < MAX_GROUP_EVENTS {
                        match rx.try_recv() {
                            Ok(Job::Append { project, events, fingerprints, reply }) => {
                                total += events.len();
                                group.push(Pending { project, events, fingerprints, reply });
                            }
                            Ok(erase) => {
                                next = Some(erase);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.commit(group);
                }
            }
        }
    }

    /// Dedupes, appends and applies one group, then answers its requests.
    fn commit(&self, group: Vec<Pending>) {
        let mut outcomes: Vec<Vec<Outcome>> = Vec::with_capacity(group.len());
        // (job, event, customer slot) of the events to store.
        let mut fresh: Vec<(usize, usize, u32)> = Vec::new();
        let mut seen_ids: HashSet<(&str, &str), RandomState> = HashSet::default();
        let mut seen_events: HashSet<(&str, u32, i64, u64), RandomState> = HashSet::default();
        let mut views = HashMap::new();
        for (j, p) in group.iter().enumerate() {
            let view = views.entry(p.project.clone()).or_insert_with(|| self.views.project(&p.project)).clone();
            let mut view = view.write().unwrap_or_else(|e| e.into_inner());
            let mut out = Vec::with_capacity(p.events.len());
            for (i, (e, &fp)) in p.events.iter().zip(&p.fingerprints).enumerate() {
                let c = view.customer_slot(&e.customer);
                // With a client id, the client decides identity; without, identical content does.
                let duplicate = match &e.client_id {
                    Some(id) => view.client_id(id).is_some() || !seen_ids.insert((&p.project, id)),
                    None => view.duplicate_in(c, e.ts, fp).is_some() || !seen_events.insert((&p.project, c, e.ts, fp)),
                };
                if duplicate {
                    out.push(Outcome::Duplicate);
                } else {
                    out.push(Outcome::Stored(0));
                    fresh.push((j, i, c));
                }
            }
            outcomes.push(out);
        }
        let rows: Vec<(&str, &Event)> =
            fresh.iter().map(|&(j, i, _)| (&*group[j].project, &group[j].events[i])).collect();
        let result = if rows.is_empty() {
            Ok(Vec::new())
        } else {
            self.store.append_events(&rows, affinity_core::date::now_ms())
        };
        let seqs = match result {
            Ok(seqs) => seqs,
            Err(e) => {
                tracing::error!(error = %e, events = rows.len(), "append failed; nothing acknowledged");
                for p in group {
                    let _ = p.reply.send(Err(e.to_string()));
                }
                return;
            }
        };
        let mut current: Option<(&Arc<str>, std::sync::RwLockWriteGuard<'_, ProjectView>)> = None;
        for (&(j, i, c), &seq) in fresh.iter().zip(&seqs) {
            outcomes[j][i] = Outcome::Stored(seq);
            let p = &group[j];
            if current.as_ref().is_none_or(|(project, _)| **project != p.project) {
                current = Some((&p.project, views[&p.project].write().unwrap_or_else(|e| e.into_inner())));
            }
            if let Some((_, view)) = current.as_mut() {
                view.apply_to(c, seq, &p.events[i], p.fingerprints[i]);
            }
        }
        drop(current);
        for (p, out) in group.into_iter().zip(outcomes) {
            let _ = p.reply.send(Ok((out, p.events)));
        }
    }

    fn erase(&self, project: &str, customer: &str) -> Result<usize, StoreError> {
        let view = self.views.project(project);
        let seqs = view.read().unwrap_or_else(|e| e.into_inner()).customer_seqs(customer);
        if seqs.is_empty() {
            return Ok(0);
        }
        let stored = self.store.events_by_seq(&seqs)?;
        let deleted = self.store.delete_events(&seqs)?;
        let client_ids = stored.iter().filter_map(|l| l.event.client_id.as_deref());
        view.write().unwrap_or_else(|e| e.into_inner()).erase(customer, client_ids);
        Ok(deleted)
    }
}
