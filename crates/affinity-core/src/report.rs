//! The per-row report of seed `001`: what was processed, stored (succeeded), skipped as duplicates and refused
//! (failed), with the failed rows. Used by `POST /feedback` batches (a row is a position in `data`) and, later, by
//! file uploads.

use serde::Serialize;

use crate::date;

/// How many failed rows the report of a `POST /feedback` batch or a `PUT …/items` batch lists (a batch has at
/// most 10,000 rows); `has_more_failures` says whether more failed.
pub const BATCH_MAX_FAILURES: usize = 1000;

/// How many failed rows a file import's report lists unless the upload's `max_failures` says otherwise (every
/// failed row is in the failures CSV whatever this is).
pub const IMPORT_MAX_FAILURES: usize = 100;

/// The report, exactly the seed's shape.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Report {
    pub processed: u64,
    pub succeeded: u64,
    pub skipped: u64,
    pub failed: u64,
    /// succeeded / processed, as `"80.00%"` (`"0.00%"` when nothing was processed).
    pub success_rate: String,
    /// (succeeded + skipped) / processed, as `"90.00%"`.
    pub completion_rate: String,
    pub failed_items: Vec<FailedItem>,
    pub has_more_failures: bool,
    /// Columns of an uploaded file that mean nothing to affinity and were ignored (uploads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored_columns: Option<Vec<String>>,
}

/// One refused row.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct FailedItem {
    /// 1-based position of the row (array element, data record).
    pub row_number: u64,
    /// The row's customer, when it could be read.
    pub user_id: Option<String>,
    /// The row's item, when it could be read.
    pub item_id: Option<String>,
    /// A sentence a merchandiser understands ("Missing required field: item").
    pub error: String,
    /// When the failure was recorded, RFC 3339 UTC.
    pub timestamp: String,
    /// The stable error code (`missing_field`…), an addition to the seed's shape.
    pub code: String,
    /// The field concerned, when known.
    pub field: Option<String>,
}

/// Accumulates outcomes row by row; keeps at most `max_failures` failed rows.
#[derive(Debug, Clone)]
pub struct ReportBuilder {
    report: Report,
    max_failures: usize,
}

impl ReportBuilder {
    pub fn new(max_failures: usize) -> Self {
        ReportBuilder {
            report: Report {
                processed: 0,
                succeeded: 0,
                skipped: 0,
                failed: 0,
                success_rate: String::new(),
                completion_rate: String::new(),
                failed_items: Vec::new(),
                has_more_failures: false,
                ignored_columns: None,
            },
            max_failures,
        }
    }

    pub fn succeeded(&mut self) {
        self.report.processed += 1;
        self.report.succeeded += 1;
    }

    pub fn skipped(&mut self) {
        self.report.processed += 1;
        self.report.skipped += 1;
    }

    /// Records a failed row; `item` is built lazily so that rows past the cap cost nothing.
    pub fn failed(&mut self, item: impl FnOnce(String) -> FailedItem) {
        self.report.processed += 1;
        self.report.failed += 1;
        if self.report.failed_items.len() < self.max_failures {
            self.report.failed_items.push(item(date::format_ms(date::now_ms())));
        } else {
            self.report.has_more_failures = true;
        }
    }

    /// The report so far, without its failed rows (for progress while an import runs).
    pub fn counts(&self) -> Report {
        let mut r = Report { failed_items: Vec::new(), ..self.report.clone() };
        r.success_rate = percent(r.succeeded, r.processed);
        r.completion_rate = percent(r.succeeded + r.skipped, r.processed);
        r
    }

    pub fn finish(mut self) -> Report {
        let r = &mut self.report;
        r.success_rate = percent(r.succeeded, r.processed);
        r.completion_rate = percent(r.succeeded + r.skipped, r.processed);
        self.report
    }
}

/// `part / whole` as a percentage with two decimals and a `%` sign; `"0.00%"` when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.00%".to_string();
    }
    format!("{:.2}%", part as f64 * 100.0 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(row: u64) -> impl FnOnce(String) -> FailedItem {
        move |timestamp| FailedItem {
            row_number: row,
            user_id: None,
            item_id: None,
            error: "x".into(),
            timestamp,
            code: "missing_field".into(),
            field: None,
        }
    }

    #[test]
    fn the_seed_figures() {
        let mut b = ReportBuilder::new(3);
        for _ in 0..120 {
            b.succeeded();
        }
        for _ in 0..15 {
            b.skipped();
        }
        for i in 0..15 {
            b.failed(fail(i + 1));
        }
        let r = b.finish();
        assert_eq!((r.processed, r.success_rate.as_str(), r.completion_rate.as_str()), (150, "80.00%", "90.00%"));
        assert_eq!(r.failed_items.len(), 3);
        assert!(r.has_more_failures);
    }

    #[test]
    fn empty_and_rounding() {
        assert_eq!(ReportBuilder::new(1).finish().success_rate, "0.00%");
        assert_eq!(percent(2, 3), "66.67%");
        assert_eq!(percent(1, 1), "100.00%");
    }
}
