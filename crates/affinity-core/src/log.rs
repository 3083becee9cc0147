//! The event log's unit: one stored event with its position.

use crate::event::Event;

/// One event of the log with its sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Position in the log: unique, increasing, never reused.
    pub seq: u64,
    pub project: String,
    pub event: Event,
}
