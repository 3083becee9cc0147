//! The ingest pipeline's write side: validated events become durable, indexed events.
//!
//! Three stages, so that the one thread that must be single (the SQLite writer) does nothing but write:
//!
//! 1. **claim**, on the request's own thread: under the project view's lock, each event is checked for duplicates
//!    against stored *and in-flight* events and claimed, and the request is queued before the lock is let go, so
//!    the writer sees requests in claim order. An event is a duplicate when an event with the same client `id`, or
//!    an identical event (type, customer, item, date, quantity, price, parameters), is stored or claimed.
//! 2. **write**, on the writer thread: everything queued (up to [`MAX_GROUP_EVENTS`]) is appended in **one
//!    transaction, one fsync** (group commit). Throughput comes from batching, not from weakening durability.
//! 3. **apply**, on the applier thread: committed events are added to the views, their claims end, and only then
//!    is each request answered. An answered event is on disk and visible to reads; a `Duplicate` answer is given
//!    only once the event it duplicates is applied (it came earlier in the queue), and the request fails instead
//!    if that event was not stored after all.
//!
//! Claiming and queueing happen with no `.await` between them, so a request dropped by its client never leaves a
//! claim behind or an event unapplied. Erasures pass through both threads in order with appends.
//!
//! On a shared store (PostgreSQL, several nodes) the writer also **follows the log**: every [`FOLLOW_EVERY`] it
//! reads the events other nodes committed since the last one it knows and hands them to the applier. The store
//! commits in sequence order, so reading `seq > last known` misses nothing. Each append also names the last
//! sequence number this node knows: the store reads the newer events of other nodes under its append lock, leaves
//! out the rows that duplicate one of them, and returns them, and the applier adds them ahead of this node's own.
//! So duplicate checks hold across nodes too.

use std::hash::BuildHasher;
use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use affinity_core::Event;
use affinity_store::{LogEntry, Store, StoreError};
use affinity_views::{ProjectView, Views};
use tokio::sync::oneshot;

use crate::error::IngestError;

/// Most events committed in one transaction.
pub const MAX_GROUP_EVENTS: usize = 50_000;

/// On a shared store, how often the writer reads other nodes' events when it is not writing.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(200);

/// Events read from the shared log per query.
const FOLLOW_PAGE: usize = 10_000;

/// What became of one submitted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored with this sequence number.
    Stored(u64),
    /// Already stored, or claimed by an event stored at the same time; not stored again.
    Duplicate,
}

/// The answer to an append: the outcomes, and the events handed back so that the requesting task, not the
/// applier, pays for freeing them.
type AppendResult = Result<(Vec<Outcome>, Vec<Event>), IngestError>;
type AppendReply = oneshot::Sender<AppendResult>;

/// Events of one request on their way through the pipeline.
struct Claimed {
    view: Arc<RwLock<ProjectView>>,
    project: Arc<str>,
    /// The import storing these events, if any.
    import: Option<Arc<str>>,
    events: Vec<Event>,
    fingerprints: Vec<u64>,
    /// Per event: its customer slot when claimed, `None` for a duplicate.
    claims: Vec<Option<u32>>,
    /// The log position the views had when these events were claimed: the store checks them against every event
    /// of other nodes after it (which the claims could not see).
    seen: u64,
    reply: AppendReply,
}

enum Job {
    Append(Claimed),
    Erase {
        project: Arc<str>,
        customer: String,
        reply: oneshot::Sender<Result<usize, IngestError>>,
    },
    /// Another node erased a customer's events up to `upto` (from the change feed).
    FollowedErase {
        project: Arc<str>,
        customer: String,
        upto: u64,
    },
}

enum Applied {
    /// A committed group with, per claimed event in order, its sequence number or `None` when another node had
    /// stored it (it is among the foreign events sent just before); or the store's error.
    Group(Vec<Claimed>, Result<Vec<Option<u64>>, IngestError>),
    Erase {
        project: Arc<str>,
        customer: String,
        reply: oneshot::Sender<Result<usize, IngestError>>,
    },
    /// Events other nodes committed, in log order.
    Foreign(Vec<LogEntry>),
    FollowedErase {
        project: Arc<str>,
        customer: String,
        upto: u64,
    },
}

/// Handle to the pipeline; cheap to clone. Its threads end when the last handle is dropped.
#[derive(Clone)]
pub struct Ingest {
    views: Arc<Views>,
    tx: mpsc::Sender<Job>,
}

/// Events of a dry run so far, for duplicate checks within the file.
#[derive(Default)]
///
/// Keeps 64-bit hashes, not the events: 8 bytes a row (a false duplicate needs a 64-bit collision).
pub struct DryRunSeen {
    ids: std::collections::HashSet<u64>,
    events: std::collections::HashSet<u64>,
}

/// A batch queued by [`Ingest::submit`].
pub struct Submitted(oneshot::Receiver<AppendResult>);

impl Submitted {
    /// Waits for the outcomes, one per event, in order.
    pub async fn wait(self) -> Result<Vec<Outcome>, IngestError> {
        let (outcomes, _events) = self.0.await.map_err(|_| IngestError::Stopped)??;
        Ok(outcomes)
    }

    /// The same, for a blocking thread.
    pub fn wait_blocking(self) -> Result<Vec<Outcome>, IngestError> {
        let (outcomes, _events) = self.0.blocking_recv().map_err(|_| IngestError::Stopped)??;
        Ok(outcomes)
    }
}

impl Ingest {
    /// Starts the writer and applier threads. `last_seq` is the newest event the views hold (where following the
    /// shared log starts).
    pub fn start(store: Arc<dyn Store>, views: Arc<Views>, last_seq: u64) -> Ingest {
        let (tx, rx) = mpsc::channel();
        let (applied_tx, applied_rx) = mpsc::channel();
        let writer_store = store.clone();
        std::thread::Builder::new()
            .name("affinity-writer".into())
            .spawn(move || write(&*writer_store, rx, applied_tx, last_seq))
            .expect("spawning the writer thread");
        let applier_views = views.clone();
        std::thread::Builder::new()
            .name("affinity-applier".into())
            .spawn(move || apply(&*store, &applier_views, applied_rx))
            .expect("spawning the applier thread");
        Ingest { views, tx }
    }

    /// Stores `events` of `project` durably; one outcome per event, in order.
    pub async fn append(&self, project: Arc<str>, events: Vec<Event>) -> Result<Vec<Outcome>, IngestError> {
        self.submit(project, None, events)?.wait().await
    }

    /// Claims `events` and queues them for writing without waiting; the answer comes through the returned
    /// [`Submitted`]. Lets a caller keep several batches in flight (file imports).
    pub fn submit(
        &self,
        project: Arc<str>,
        import: Option<Arc<str>>,
        events: Vec<Event>,
    ) -> Result<Submitted, IngestError> {
        let fingerprints: Vec<u64> = events.iter().map(Event::fingerprint).collect();
        let view = self.views.project(&project);
        let (reply, rx) = oneshot::channel();
        // Read before claiming: the claims see at least the events up to here.
        let seen = self.views.applied_seq();
        // Claim and queue under one lock: requests reach the writer in the order they claimed.
        let mut v = view.write().unwrap_or_else(|e| e.into_inner());
        let claims = events.iter().zip(&fingerprints).map(|(e, &fp)| v.claim(e, fp)).collect();
        let job =
            Job::Append(Claimed { view: view.clone(), project, import, events, fingerprints, claims, seen, reply });
        if let Err(mpsc::SendError(Job::Append(c))) = self.tx.send(job) {
            for ((e, &fp), claim) in c.events.iter().zip(&c.fingerprints).zip(&c.claims) {
                if let Some(slot) = claim {
                    v.release(*slot, e, fp);
                }
            }
            return Err(IngestError::Stopped);
        }
        Ok(Submitted(rx))
    }

    /// Which of `events` would be skipped as duplicates of stored events or of `seen` (events of the same dry run
    /// so far, which this call extends); nothing is claimed or stored.
    pub fn check(&self, project: &str, events: &[Event], seen: &mut DryRunSeen) -> Vec<bool> {
        let view = self.views.project(project);
        let v = view.read().unwrap_or_else(|e| e.into_inner());
        events
            .iter()
            .map(|e| {
                let fp = e.fingerprint();
                let hasher = foldhash::fast::FixedState::with_seed(7);
                let key = hasher.hash_one((&e.customer, fp));
                let id = e.client_id.as_ref().map(|id| hasher.hash_one(id));
                let duplicate =
                    v.is_stored(e) || id.is_some_and(|id| seen.ids.contains(&id)) || seen.events.contains(&key);
                if !duplicate {
                    seen.ids.extend(id);
                    seen.events.insert(key);
                }
                duplicate
            })
            .collect()
    }

    /// Applies another node's erasure of `customer`'s events up to seq `upto` to the views, in order with the log:
    /// the writer first follows the log, so events read before the erasure cannot come back after it.
    pub fn followed_erase(&self, project: Arc<str>, customer: String, upto: u64) {
        let _ = self.tx.send(Job::FollowedErase { project, customer, upto });
    }

    /// Deletes every event of `customer` in `project`; returns how many were deleted.
    pub async fn erase(&self, project: Arc<str>, customer: String) -> Result<usize, IngestError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Job::Erase { project, customer, reply }).map_err(|_| IngestError::Stopped)?;
        rx.await.map_err(|_| IngestError::Stopped)?
    }
}

fn release(c: &Claimed) {
    let mut v = c.view.write().unwrap_or_else(|e| e.into_inner());
    for ((e, &fp), claim) in c.events.iter().zip(&c.fingerprints).zip(&c.claims) {
        if let Some(slot) = claim {
            v.release(*slot, e, fp);
        }
    }
}

/// Sends the applier the events other nodes committed after `known`; advances `known`. A failed read is logged
/// and retried at the next call.
fn follow(store: &dyn Store, applied: &mpsc::Sender<Applied>, known: &mut u64, foreign: &mut u64) {
    loop {
        let page = match store.scan_events(*known, FOLLOW_PAGE) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "reading other nodes' events failed; will retry");
                return;
            }
        };
        let done = page.len() < FOLLOW_PAGE;
        let Some(last) = page.last() else { return };
        (*known, *foreign) = (last.seq, last.seq);
        if applied.send(Applied::Foreign(page)).is_err() || done {
            return;
        }
    }
}

/// The writer thread: groups queued requests and appends their claimed events in one transaction; on a shared
/// store, also follows the log (see the module's docs). `known` is the newest sequence number the views hold.
fn write(store: &dyn Store, rx: mpsc::Receiver<Job>, applied: mpsc::Sender<Applied>, mut known: u64) {
    let shared = store.shared();
    // The newest sequence number of another node's event this writer has handed on: every event after it up to
    // `known` is this node's own, already checked against its claims.
    let mut foreign = 0;
    let mut followed = Instant::now();
    let mut next = None;
    loop {
        if shared && followed.elapsed() >= FOLLOW_EVERY {
            follow(store, &applied, &mut known, &mut foreign);
            followed = Instant::now();
        }
        let job = match next.take() {
            Some(j) => j,
            None if shared => match rx.recv_timeout(FOLLOW_EVERY.saturating_sub(followed.elapsed())) {
                Ok(j) => j,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
            None => match rx.recv() {
                Ok(j) => j,
                Err(_) => return,
            },
        };
        let message = match job {
            Job::Erase { project, customer, reply } => Applied::Erase { project, customer, reply },
            Job::FollowedErase { project, customer, upto } => {
                if shared {
                    follow(store, &applied, &mut known, &mut foreign);
                }
                Applied::FollowedErase { project, customer, upto }
            }
            Job::Append(first) => {
                let mut total = first.events.len();
                let mut group = vec![first];
                while total < MAX_GROUP_EVENTS {
                    match rx.try_recv() {
                        Ok(Job::Append(c)) => {
                            total += c.events.len();
                            group.push(c);
                        }
                        Ok(erase) => {
                            next = Some(erase);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let rows: Vec<(&str, Option<&str>, &Event)> = group
                    .iter()
                    .flat_map(|c| {
                        let source = (&*c.project, c.import.as_deref());
                        c.events
                            .iter()
                            .zip(&c.claims)
                            .filter(|(_, k)| k.is_some())
                            .map(move |(e, _)| (source.0, source.1, e))
                    })
                    .collect();
                let result = if rows.is_empty() {
                    Ok(Vec::new())
                } else {
                    // Checked against other nodes' events after the oldest position any of these claims saw,
                    // including events already followed but not yet in the views when they were claimed.
                    // Past the views (which lag this writer), only other nodes' events need reading: when none
                    // is newer than the oldest position, every event up to `known` is this node's own, and
                    // reading them back (a whole group's worth, inside the lock) would check nothing.
                    let since = group.iter().map(|c| c.seen).min().unwrap_or(known).min(known);
                    let since = if foreign <= since { known } else { since };
                    match store.append_new_events(since, &rows, affinity_core::date::now_ms()) {
                        Ok(a) if a.seqs.len() == rows.len() => {
                            // Only those not sent to the applier yet; they reach the views before this group.
                            let new: Vec<LogEntry> = a.foreign.into_iter().filter(|e| e.seq > known).collect();
                            if let Some(last) = new.last() {
                                known = known.max(last.seq);
                                foreign = known;
                                if applied.send(Applied::Foreign(new)).is_err() {
                                    return;
                                }
                            }
                            Ok(a.seqs)
                        }
                        Ok(a) => Err(IngestError::ShortAppend { got: a.seqs.len(), sent: rows.len() }),
                        Err(e) => Err(IngestError::from(e)),
                    }
                };
                if let Err(e) = &result {
                    tracing::error!(error = %e, events = rows.len(), "append failed; nothing acknowledged");
                }
                if let Ok(seqs) = &result
                    && let Some(&last) = seqs.iter().flatten().max()
                {
                    known = known.max(last);
                }
                drop(rows);
                Applied::Group(group, result)
            }
        };
        if applied.send(message).is_err() {
            return;
        }
    }
}

/// The applier thread: adds committed events to the views and answers the requests.
fn apply(store: &dyn Store, views: &Views, rx: mpsc::Receiver<Applied>) {
    for message in rx {
        match message {
            Applied::Erase { project, customer, reply } => {
                let _ = reply.send(erase(store, views, &project, &customer).map_err(IngestError::from));
            }
            Applied::Foreign(entries) => views.apply_foreign(&entries),
            Applied::FollowedErase { project, customer, upto } => {
                views.project(&project).write().unwrap_or_else(|e| e.into_inner()).erase_upto(&customer, upto);
            }
            Applied::Group(group, Err(e)) => {
                for c in group {
                    release(&c);
                    let _ = c.reply.send(Err(e.clone()));
                }
            }
            Applied::Group(group, Ok(seqs)) => {
                let top = seqs.iter().flatten().max().copied();
                let mut seqs = seqs.into_iter();
                for c in group {
                    let mut outcomes = Vec::with_capacity(c.events.len());
                    let mut lost = false;
                    {
                        let mut v = c.view.write().unwrap_or_else(|e| e.into_inner());
                        for ((e, &fp), claim) in c.events.iter().zip(&c.fingerprints).zip(&c.claims) {
                            let Some(slot) = claim else {
                                // What it duplicates came earlier in the queue: it must be stored by now.
                                lost |= !v.is_stored(e);
                                outcomes.push(Outcome::Duplicate);
                                continue;
                            };
                            match seqs.next() {
                                Some(Some(seq)) => {
                                    v.apply_claimed(*slot, seq, e, fp);
                                    outcomes.push(Outcome::Stored(seq));
                                }
                                // Another node stored it first (applied just before this group), or, not reached,
                                // the store returned too few seqs (the writer checks there is one per event).
                                Some(None) | None => {
                                    v.release(*slot, e, fp);
                                    outcomes.push(Outcome::Duplicate);
                                }
                            }
                        }
                    }
                    let mut tally = crate::metrics::Tally::default();
                    for (e, o) in c.events.iter().zip(&outcomes) {
                        tally.add(&e.event, matches!(o, Outcome::Stored(_)));
                    }
                    tally.record(&c.project);
                    let answer = if lost { Err(IngestError::DuplicateLost) } else { Ok((outcomes, c.events)) };
                    let _ = c.reply.send(answer);
                }
                if let Some(top) = top {
                    views.note_applied(top);
                }
            }
        }
    }
}

/// Erases a customer: every event applied so far (all earlier appends are) is deleted from the store, then from
/// the view.
///
/// An anonymous id with an alias is its customer: erasing it erases the customer, with every anonymous id's events
/// and the aliases.
fn erase(store: &dyn Store, views: &Views, project: &str, customer: &str) -> Result<usize, StoreError> {
    let view = views.project(project);
    let customer = view.read().unwrap_or_else(|e| e.into_inner()).alias_of(customer).unwrap_or(customer).to_string();
    let customer = customer.as_str();
    // Aliases another node made that this one has not followed yet: applied first, so that the seqs below hold
    // the anonymous ids' events too.
    let aliases = store.customer_aliases(project, customer)?;
    let seqs = {
        let mut v = view.write().unwrap_or_else(|e| e.into_inner());
        for a in &aliases {
            if let Err(refusal) = v.alias(&a.anonymous_id, &a.customer) {
                tracing::warn!(project, anonymous_id = %a.anonymous_id, %refusal, "a stored alias was left out");
            }
        }
        v.customer_seqs(customer)
    };
    // Also when the view has none: the customer's exposures, and other nodes' newest events, go too.
    let deleted = store.delete_events(project, customer, &seqs, views.applied_seq())?;
    view.write().unwrap_or_else(|e| e.into_inner()).erase(customer);
    Ok(deleted)
}
