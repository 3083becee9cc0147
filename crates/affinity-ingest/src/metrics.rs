//! What the engine records for `GET /metrics` (through the `metrics` facade; the server installs the
//! Prometheus recorder). Recording costs a few atomic adds per batch, never per-event work under a lock.

use affinity_core::Report;

/// Counter: events stored. Labels `project`, `interaction` (the interaction type id).
pub const EVENTS_STORED_TOTAL: &str = "affinity_events_stored_total";
/// Counter: events skipped as duplicates (same client id, or identical to a stored event). Labels `project`,
/// `interaction`.
pub const EVENTS_SKIPPED_TOTAL: &str = "affinity_events_skipped_total";
/// Counter: rows of import files processed (dry runs excluded). Labels `project`, `outcome` (`stored`,
/// `skipped` or `failed`).
pub const IMPORT_ROWS_TOTAL: &str = "affinity_import_rows_total";

/// Per interaction type of one request: events stored and skipped, in first-seen order (a request has few types).
#[derive(Default)]
pub(crate) struct Tally<'a>(Vec<(&'a str, u64, u64)>);

impl<'a> Tally<'a> {
    pub(crate) fn add(&mut self, interaction: &'a str, stored: bool) {
        let at = match self.0.iter().position(|t| t.0 == interaction) {
            Some(at) => at,
            None => {
                self.0.push((interaction, 0, 0));
                self.0.len() - 1
            }
        };
        if stored { self.0[at].1 += 1 } else { self.0[at].2 += 1 }
    }

    /// Adds the counts to [`EVENTS_STORED_TOTAL`] and [`EVENTS_SKIPPED_TOTAL`].
    pub(crate) fn record(self, project: &str) {
        for (interaction, stored, skipped) in self.0 {
            let labels = [("project", project.to_string()), ("interaction", interaction.to_string())];
            if stored > 0 {
                metrics::counter!(EVENTS_STORED_TOTAL, &labels).increment(stored);
            }
            if skipped > 0 {
                metrics::counter!(EVENTS_SKIPPED_TOTAL, &labels).increment(skipped);
            }
        }
    }
}

/// Adds a finished import's rows to [`IMPORT_ROWS_TOTAL`].
pub(crate) fn import_rows(project: &str, report: &Report) {
    for (outcome, n) in [("stored", report.succeeded), ("skipped", report.skipped), ("failed", report.failed)] {
        metrics::counter!(IMPORT_ROWS_TOTAL, "project" => project.to_string(), "outcome" => outcome).increment(n);
    }
}
