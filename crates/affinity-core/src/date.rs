//! Reading and printing dates.
//!
//! Accepted forms, for event dates and `date` parameters alike:
//! - RFC 3339 with an offset: `2026-11-20T10:00:00Z`, `2026-11-20T11:00:00+01:00`;
//! - an ISO 8601 date-time without offset, taken as UTC: `2026-11-20T10:00:00`, `2026-11-20 10:00:00.250`;
//! - a plain date, taken as midnight UTC: `2026-11-20`;
//! - a number (JSON number or a string of digits) of epoch seconds, or of epoch milliseconds when its absolute value
//!   is at least 10^11 (seconds that large would be after the year 5000).
//!
//! Everything becomes milliseconds since the Unix epoch, UTC.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use serde_json::Value;

/// Epoch numbers at or above this magnitude are milliseconds, below it seconds.
const MILLIS_THRESHOLD: f64 = 1e11;

/// Why a date could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("Timestamp format invalid")]
    Format,
    #[error("Timestamp out of range")]
    Range,
}

/// Parses a date given as JSON (string or number) into epoch milliseconds, UTC.
///
/// Errors: [`DateError::Format`] for any other JSON type or an unreadable string; [`DateError::Range`] for a number
/// outside jiff's supported range (years -9999..=9999).
pub fn parse_json(value: &Value) -> Result<i64, DateError> {
    match value {
        Value::String(s) => parse_text(s),
        Value::Number(n) => match n.as_i64() {
            Some(i) => epoch_int(i),
            None => n.as_f64().ok_or(DateError::Format).and_then(epoch_float),
        },
        _ => Err(DateError::Format),
    }
}

/// Parses a date given as text (see the module docs for the forms) into epoch milliseconds, UTC.
pub fn parse_text(text: &str) -> Result<i64, DateError> {
    let s = text.trim();
    if s.is_empty() || s.len() > 64 {
        return Err(DateError::Format);
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().map_err(|_| DateError::Range).and_then(epoch_int);
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    if let Ok(dt) = s.parse::<DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|_| DateError::Range);
    }
    if let Ok(d) = s.parse::<Date>() {
        return d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|_| DateError::Range);
    }
    Err(DateError::Format)
}

fn epoch_int(n: i64) -> Result<i64, DateError> {
    let ms =
        if n.unsigned_abs() as f64 >= MILLIS_THRESHOLD { n } else { n.checked_mul(1000).ok_or(DateError::Range)? };
    Timestamp::from_millisecond(ms).map(|t| t.as_millisecond()).map_err(|_| DateError::Range)
}

fn epoch_float(f: f64) -> Result<i64, DateError> {
    if !f.is_finite() {
        return Err(DateError::Format);
    }
    let ms = if f.abs() >= MILLIS_THRESHOLD { f } else { f * 1000.0 };
    if ms.abs() > 1e17 {
        return Err(DateError::Range);
    }
    Timestamp::from_millisecond(ms.round() as i64).map(|t| t.as_millisecond()).map_err(|_| DateError::Range)
}

/// Formats epoch milliseconds as RFC 3339 in UTC (`2026-11-20T10:00:00Z`, with `.250` when there are milliseconds).
pub fn format_ms(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t.to_string(),
        Err(_) => ms.to_string(),
    }
}

/// The current time in epoch milliseconds, UTC.
pub fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const T: i64 = 1_763_632_800_000; // 2025-11-20T10:00:00Z

    #[test]
    fn every_documented_form() {
        assert_eq!(parse_text("2025-11-20T10:00:00Z"), Ok(T));
        assert_eq!(parse_text("2025-11-20T11:00:00+01:00"), Ok(T));
        assert_eq!(parse_text("2025-11-20T10:00:00"), Ok(T));
        assert_eq!(parse_text("2025-11-20 10:00:00"), Ok(T));
        assert_eq!(parse_text("2025-11-20T10:00:00.250"), Ok(T + 250));
        assert_eq!(parse_text("2025-11-20"), Ok(T - 10 * 3_600_000));
        assert_eq!(parse_json(&json!(T / 1000)), Ok(T));
        assert_eq!(parse_json(&json!(T)), Ok(T));
        assert_eq!(parse_json(&json!(1_763_632_800.5)), Ok(T + 500));
        assert_eq!(parse_json(&json!("1763632800")), Ok(T));
    }

    #[test]
    fn refusals() {
        for bad in ["", "yesterday", "2025-13-01", "2025-11-20T25:00:00Z", "20/11/2025", "2025-11-20Tnope"] {
            assert_eq!(parse_text(bad), Err(DateError::Format), "{bad}");
        }
        assert_eq!(parse_json(&json!(true)), Err(DateError::Format));
        assert_eq!(parse_json(&json!(null)), Err(DateError::Format));
        assert_eq!(parse_json(&json!(i64::MAX)), Err(DateError::Range));
        assert_eq!(parse_json(&json!(1e300)), Err(DateError::Range));
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_ms(T), "2025-11-20T10:00:00Z");
        assert_eq!(format_ms(T + 250), "2025-11-20T10:00:00.25Z");
    }

    proptest! {
        #[test]
        fn never_panics_on_text(s in "\\PC{0,80}") {
            let _ = parse_text(&s);
        }

        #[test]
        fn never_panics_on_numbers(i in any::<i64>(), f in any::<f64>()) {
            let _ = parse_json(&json!(i));
            let _ = parse_json(&json!(f));
        }

        #[test]
        fn round_trips_milliseconds(ms in -62_000_000_000_000i64..250_000_000_000_000i64) {
            prop_assert_eq!(parse_text(&format_ms(ms)), Ok(ms));
        }
    }
}
