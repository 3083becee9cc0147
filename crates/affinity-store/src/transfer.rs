//! Moving a project between stores (SQLite ⇄ PostgreSQL): `affinity export` and `affinity restore`.
//!
//! The format is JSON Lines, one record per line, each with a `kind`: first a `header` (format version and the
//! project), then the project's active `key`s (hashes only: secrets are never stored), custom interaction `type`s,
//! catalog `item`s, `settings`, `audience`s, `experience`s and their `exposure`s, `alias`es (anonymous ids that stand for
//! customers), and `event`s (in log order), and
//! last a `footer` with the count of each
//! kind and the SHA-256 of every byte before the footer line. Trained models and import history are not moved: the
//! target retrains (a project with events and no model trains on its own).
//!
//! [`restore`] checks the footer's counts and checksum before writing anything, writes the project into the
//! target store, then exports it again from the target and requires the same counts and the same checksum as the
//! lines it read, re-serialized (so that an export of an older version, whose settings lack a newer field, checks
//! against what this version stores): what was read is what is stored.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use affinity_core::{ApiKey, Audience, Event, Experience, InteractionType, Item, Project, Scope, Settings};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Alias, Exposure, Store, StoreError};

/// The export format's version (the header's `version`); versions 1 (before experiences) and 2 (before aliases)
/// are still read.
pub const FORMAT_VERSION: u32 = 3;

/// Events read from the store, and written to it, per call.
const PAGE: usize = 20_000;

/// One line of an export.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Line {
    Header { format: String, version: u32, project: ProjectLine },
    Key { id: String, scope: Scope, hash: String, created_at: i64 },
    Type { interaction: InteractionType },
    Item { item: Item },
    Settings { settings: Settings },
    Audience { audience: Audience },
    Experience { experience: Experience },
    Exposure { experience: String, variant: String, customer: String, at: i64 },
    Alias { anonymous_id: String, customer: String, created_at: i64 },
    Event(EventLine),
    Footer { counts: BTreeMap<String, u64>, sha256: String },
}

#[derive(Debug, Serialize, Deserialize)]
struct ProjectLine {
    id: String,
    name: String,
    created_at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct EventLine {
    event: String,
    customer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    item: Option<String>,
    ts: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quantity: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    params: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    order_id: Option<String>,
}

/// What an export or a restore moved: the count per kind and the checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub counts: BTreeMap<String, u64>,
    /// SHA-256 (hex) of the export's bytes before its footer.
    pub sha256: String,
}

/// Why an export or a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: {reason}")]
    Malformed { line: u64, reason: String },
    #[error("project {0} not found")]
    NoProject(String),
    #[error("project {0} already exists in the target store; restore into a store without it")]
    Exists(String),
    #[error("verification failed: {0}")]
    Mismatch(String),
}

/// Writes lines, hashing every byte.
struct Hashed<W: Write> {
    out: W,
    hash: Sha256,
    counts: BTreeMap<String, u64>,
}

impl<W: Write> Hashed<W> {
    fn line(&mut self, kind: &str, line: &Line) -> Result<(), TransferError> {
        let mut bytes = serde_json::to_vec(line).map_err(|e| std::io::Error::other(e.to_string()))?;
        bytes.push(b'\n');
        self.hash.update(&bytes);
        self.out.write_all(&bytes)?;
        *self.counts.entry(kind.to_string()).or_default() += 1;
        Ok(())
    }
}

/// Writes `project` of `store` to `out` in the export format. Reads a consistent view only if nothing writes to
/// the project meanwhile (stop the nodes, or accept that later writes are left out or partly in).
pub fn export(store: &dyn Store, project: &str, out: impl Write) -> Result<Summary, TransferError> {
    let p = store
        .projects()?
        .into_iter()
        .find(|p| p.id == project)
        .ok_or_else(|| TransferError::NoProject(project.into()))?;
    let mut w = Hashed { out, hash: Sha256::new(), counts: BTreeMap::new() };
    let header = ProjectLine { id: p.id.clone(), name: p.name.clone(), created_at: p.created_at };
    w.line("header", &Line::Header { format: "affinity-export".into(), version: FORMAT_VERSION, project: header })?;
    for k in store.active_keys()?.into_iter().filter(|k| k.project == project) {
        let hash = k.hash.iter().map(|b| format!("{b:02x}")).collect();
        w.line("key", &Line::Key { id: k.id, scope: k.scope, hash, created_at: k.created_at })?;
    }
    let mut types: Vec<InteractionType> =
        store.interaction_types()?.into_iter().filter(|(p, _)| p == project).map(|(_, t)| t).collect();
    types.sort_by(|a, b| a.id.cmp(&b.id));
    for t in types {
        w.line("type", &Line::Type { interaction: t })?;
    }
    let mut after: Option<String> = None;
    loop {
        let page = store.items(project, after.as_deref(), PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        for item in page {
            w.line("item", &Line::Item { item })?;
        }
    }
    if let Some(settings) = store.settings(project)? {
        w.line("settings", &Line::Settings { settings })?;
    }
    for audience in store.audiences(project)? {
        w.line("audience", &Line::Audience { audience })?;
    }
    let experiences = store.experiences(project)?;
    let ids: Vec<String> = experiences.iter().map(|e| e.id.clone()).collect();
    for experience in experiences {
        w.line("experience", &Line::Experience { experience })?;
    }
    for id in ids {
        for x in store.exposures(project, &id)? {
            let line = Line::Exposure { experience: x.experience, variant: x.variant, customer: x.customer, at: x.at };
            w.line("exposure", &line)?;
        }
    }
    for a in store.aliases(project)? {
        let line = Line::Alias { anonymous_id: a.anonymous_id, customer: a.customer, created_at: a.created_at };
        w.line("alias", &line)?;
    }
    let mut after = 0;
    loop {
        let page = store.scan_events(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for entry in page.into_iter().filter(|e| e.project == project) {
            let e = entry.event;
            let line = EventLine {
                event: e.event,
                customer: e.customer,
                item: e.item,
                ts: e.ts,
                quantity: e.quantity,
                price: e.price,
                params: e.params,
                client_id: e.client_id,
                order_id: e.order_id,
            };
            w.line("event", &Line::Event(line))?;
        }
    }
    let sha256 = hex(&w.hash.clone().finalize());
    let summary = Summary { counts: w.counts.clone(), sha256: sha256.clone() };
    let footer = serde_json::to_vec(&Line::Footer { counts: w.counts, sha256 })
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    w.out.write_all(&footer)?;
    w.out.write_all(b"\n")?;
    w.out.flush()?;
    Ok(summary)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let bytes: Option<Vec<u8>> =
        (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    bytes?.try_into().ok()
}

/// Reads an export from `input`, checks its footer, writes the project into `store` (which must not have it),
/// then exports it again from `store` and compares: counts and checksum must be equal. Returns the summary.
///
/// The whole export is held in memory between the check and the write (nothing is written from an export that
/// does not check): about the export's size.
///
/// `project`, when given, must be the export's project.
pub fn restore(store: &dyn Store, input: impl BufRead, project: Option<&str>) -> Result<Summary, TransferError> {
    let mut hash = Sha256::new();
    let mut canonical = Sha256::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut lines: Vec<Line> = Vec::new();
    let mut footer = None;
    let mut number = 0u64;
    for raw in input.split(b'\n') {
        let raw = raw?;
        number += 1;
        if raw.is_empty() {
            continue;
        }
        let malformed = |reason: String| TransferError::Malformed { line: number, reason };
        if footer.is_some() {
            return Err(malformed("a line after the footer".into()));
        }
        let line: Line = serde_json::from_slice(&raw).map_err(|e| malformed(e.to_string()))?;
        let kind = match &line {
            Line::Header { format, version, project: p } => {
                if number != 1 || format != "affinity-export" || !(1..=FORMAT_VERSION).contains(version) {
                    return Err(malformed(format!("expected an affinity-export header of version {FORMAT_VERSION}")));
                }
                if let Some(wanted) = project.filter(|w| *w != p.id) {
                    return Err(malformed(format!("the export is of project {}, not {wanted}", p.id)));
                }
                "header"
            }
            _ if number == 1 => return Err(malformed("the first line must be the header".into())),
            Line::Key { .. } => "key",
            Line::Type { .. } => "type",
            Line::Item { .. } => "item",
            Line::Settings { .. } => "settings",
            Line::Audience { .. } => "audience",
            Line::Experience { .. } => "experience",
            Line::Exposure { .. } => "exposure",
            Line::Alias { .. } => "alias",
            Line::Event(_) => "event",
            Line::Footer { counts: c, sha256 } => {
                footer = Some((c.clone(), sha256.clone()));
                continue;
            }
        };
        hash.update(&raw);
        hash.update(b"\n");
        // What an export of this version would hold for this line (the header at this version).
        let current = match &line {
            Line::Header { project, .. } => serde_json::to_vec(&Line::Header {
                format: "affinity-export".into(),
                version: FORMAT_VERSION,
                project: ProjectLine {
                    id: project.id.clone(),
                    name: project.name.clone(),
                    created_at: project.created_at,
                },
            }),
            other => serde_json::to_vec(other),
        };
        canonical.update(current.map_err(|e| std::io::Error::other(e.to_string()))?);
        canonical.update(b"\n");
        *counts.entry(kind.to_string()).or_default() += 1;
        lines.push(line);
    }
    let Some((expected_counts, expected_sha)) = footer else {
        return Err(TransferError::Mismatch("no footer: the export is truncated".into()));
    };
    let read = Summary { counts, sha256: hex(&hash.finalize()) };
    if read.counts != expected_counts || read.sha256 != expected_sha {
        return Err(TransferError::Mismatch(format!(
            "the export's footer says {expected_counts:?} / {expected_sha}, its lines are {:?} / {}",
            read.counts, read.sha256
        )));
    }
    let project = write(store, lines)?;
    let mut sink = std::io::sink();
    let stored = export(store, &project, &mut sink)?;
    if stored.counts != read.counts || stored.sha256 != hex(&canonical.finalize()) {
        return Err(TransferError::Mismatch(format!(
            "the target store holds {:?} / {}, the export {:?} / {}",
            stored.counts, stored.sha256, read.counts, read.sha256
        )));
    }
    Ok(stored)
}

/// Writes the checked lines into `store`; returns the project id.
fn write(store: &dyn Store, lines: Vec<Line>) -> Result<String, TransferError> {
    let mut lines = lines.into_iter();
    let Some(Line::Header { project: p, .. }) = lines.next() else {
        return Err(TransferError::Malformed { line: 1, reason: "no header".into() });
    };
    let mut keys = Vec::new();
    let mut rest = Vec::new();
    for line in lines {
        match line {
            Line::Key { id, scope, hash, created_at } => {
                let hash = unhex(&hash).ok_or_else(|| TransferError::Mismatch(format!("key {id}: bad hash")))?;
                keys.push(ApiKey { id, project: p.id.clone(), scope, hash, created_at });
            }
            other => rest.push(other),
        }
    }
    let project = Project { id: p.id.clone(), name: p.name, created_at: p.created_at };
    store.create_project(&project, &keys).map_err(|e| match e {
        StoreError::Conflict(_) => TransferError::Exists(p.id.clone()),
        other => other.into(),
    })?;
    let id = p.id;
    let mut items: Vec<Item> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    let mut exposures: Vec<Exposure> = Vec::new();
    let flush_events = |events: &mut Vec<Event>| -> Result<(), StoreError> {
        let rows: Vec<(&str, Option<&str>, &Event)> = events.iter().map(|e| (id.as_str(), None, e)).collect();
        store.append_events(&rows, affinity_core::date::now_ms())?;
        events.clear();
        Ok(())
    };
    for line in rest {
        match line {
            Line::Type { interaction } => store.insert_interaction_type(&id, &interaction)?,
            Line::Item { item } => {
                items.push(item);
                if items.len() == PAGE {
                    store.put_items(&id, &items, affinity_core::date::now_ms())?;
                    items.clear();
                }
            }
            Line::Settings { settings } => store.put_settings(&id, &settings, affinity_core::date::now_ms())?,
            Line::Audience { audience } => store.insert_audience(&id, &audience)?,
            Line::Experience { experience } => store.insert_experience(&id, &experience)?,
            Line::Exposure { experience, variant, customer, at } => {
                exposures.push(Exposure { experience, variant, customer, at });
                if exposures.len() == PAGE {
                    store.add_exposures(&id, &exposures)?;
                    exposures.clear();
                }
            }
            Line::Alias { anonymous_id, customer, created_at } => {
                store.insert_alias(&id, &Alias { anonymous_id, customer, created_at })?;
            }
            Line::Event(e) => {
                // Items come before events in an export: the catalog is complete before the first event.
                if !items.is_empty() {
                    store.put_items(&id, &items, affinity_core::date::now_ms())?;
                    items.clear();
                }
                events.push(Event {
                    event: e.event,
                    customer: e.customer,
                    item: e.item,
                    ts: e.ts,
                    quantity: e.quantity,
                    price: e.price,
                    params: e.params,
                    client_id: e.client_id,
                    order_id: e.order_id,
                });
                if events.len() == PAGE {
                    flush_events(&mut events)?;
                }
            }
            Line::Header { .. } | Line::Key { .. } | Line::Footer { .. } => {}
        }
    }
    if !items.is_empty() {
        store.put_items(&id, &items, affinity_core::date::now_ms())?;
    }
    if !exposures.is_empty() {
        store.add_exposures(&id, &exposures)?;
    }
    if !events.is_empty() {
        flush_events(&mut events)?;
    }
    Ok(id)
}
