//! Events as `POST /feedback` sends them: checked with the project's interaction types
//! ([`affinity_core::event::validate`]), stored through the pipeline, answered one by one or row by row in the
//! seed's report.

use std::sync::Arc;

use affinity_core::event::{validate, validate_mut};
use affinity_core::ids::GENERATED_EVENT_ID_PREFIX;
use affinity_core::raw::{RawEvent, RawRow};
use affinity_core::report::BATCH_MAX_FAILURES;
use affinity_core::{Code, ErrorCode, Event, FailedItem, Problem, ProblemKind, Report, ReportBuilder};
use serde_json::Value;

use crate::catalog::ProjectEntry;
use crate::engine::Engine;
use crate::error::IngestError;
use crate::pipeline::Outcome;

/// What became of one event sent alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Stored under this id: the client's `id`, or `evt_<seq>`.
    Stored(String),
    /// An identical event, or one with the same client id, is stored already.
    Duplicate,
}

/// Why an event sent alone was refused or not stored.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// The event breaks a rule; the field is its path under `data`.
    #[error(transparent)]
    Invalid(#[from] Problem),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

impl ErrorCode for ReceiveError {
    fn error_code(&self) -> Code {
        match self {
            ReceiveError::Invalid(p) => p.error_code(),
            ReceiveError::Ingest(e) => e.error_code(),
        }
    }

    fn error_field(&self) -> Option<String> {
        match self {
            ReceiveError::Invalid(p) => p.error_field(),
            ReceiveError::Ingest(_) => None,
        }
    }
}

/// A customer or item id as the row gave it, for the report.
fn shown(v: &Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

impl Engine {
    /// Checks one event of `entry`'s project at time `now` (epoch ms) and stores it durably. Errors: the
    /// event's first problem (field under `data`), or the pipeline's failure (nothing stored).
    pub async fn receive_one(&self, entry: &ProjectEntry, raw: RawEvent, now: i64) -> Result<Received, ReceiveError> {
        let event = validate(raw, &entry.types(), now).map_err(|p| p.under("data"))?;
        let client_id = event.client_id.clone();
        let outcome = self.append(entry.project.id.as_str().into(), vec![event]).await?;
        Ok(match outcome.first() {
            Some(Outcome::Stored(seq)) => {
                Received::Stored(client_id.unwrap_or_else(|| format!("{GENERATED_EVENT_ID_PREFIX}{seq}")))
            }
            _ => Received::Duplicate,
        })
    }

    /// Checks each row of a batch on its own, stores the valid ones in one group, and reports row by row (the
    /// seed's report; failed rows numbered from 1, fields under `data[i]`, at most [`BATCH_MAX_FAILURES`]
    /// listed). Errors: the pipeline's failure only (nothing of the batch stored).
    pub async fn receive_batch(
        &self,
        entry: &ProjectEntry,
        rows: Vec<RawRow>,
        now: i64,
    ) -> Result<Report, IngestError> {
        let types = entry.types();
        let mut events: Vec<Event> = Vec::with_capacity(rows.len());
        let mut results: Vec<Result<(), FailedItem>> = Vec::with_capacity(rows.len());
        for (i, row) in rows.into_iter().enumerate() {
            let failed = |p: Problem, user_id, item_id| FailedItem {
                row_number: i as u64 + 1,
                user_id,
                item_id,
                error: p.message.clone(),
                timestamp: String::new(),
                code: p.kind.code().to_string(),
                field: p.under(&format!("data[{i}]")).field,
            };
            let mut raw = match row {
                RawRow::Event(r) => r,
                RawRow::NotAnObject(found) => {
                    let message = format!("Invalid event: expected an object, found {found}");
                    let p = Problem { kind: ProblemKind::InvalidJson, field: None, message };
                    results.push(Err(failed(p, None, None)));
                    continue;
                }
            };
            match validate_mut(&mut raw, &types, now) {
                Ok(e) => {
                    events.push(e);
                    results.push(Ok(()));
                }
                Err(p) => results.push(Err(failed(p, shown(&raw.customer), shown(&raw.item)))),
            }
        }
        let project: Arc<str> = entry.project.id.as_str().into();
        let outcomes = if events.is_empty() { Vec::new() } else { self.append(project, events).await? };
        let mut outcomes = outcomes.into_iter();
        let mut report = ReportBuilder::new(BATCH_MAX_FAILURES);
        for r in results {
            match r {
                Ok(()) => match outcomes.next() {
                    Some(Outcome::Stored(_)) => report.succeeded(),
                    _ => report.skipped(),
                },
                Err(item) => report.failed(|timestamp| FailedItem { timestamp, ..item }),
            }
        }
        Ok(report.finish())
    }
}
