//! Targeting leaves (issue 8): conditions on the request being decided rather than on the customer's history —
//! its context attributes, its time in the project's time zone, and the customer's current session. Accepted only
//! in targeting rules ([`super::Context::targeting`]); an audience rule naming one is refused at save.

use serde_json::{Map, Value};

use super::Rule;
use super::check::{RuleError, ValueKind, value_test};

/// A test of the request's time, in the project's time zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeTest {
    /// The local date, as days since 1970-01-01: before / after (strict), on, between (both included).
    DateBefore(i32),
    DateAfter(i32),
    DateOn(i32),
    DateBetween(i32, i32),
    /// The local day of the week is (not) one of a set: bit 0 Monday … bit 6 Sunday.
    DayOfWeek {
        days: u8,
        negate: bool,
    },
    /// The local time of day, minutes after midnight: `from` included, `to` excluded; `from > to` spans
    /// midnight (22:00–06:00).
    TimeOfDay {
        from: u16,
        to: u16,
        negate: bool,
    },
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn err<T>(path: &str, reason: impl Into<String>) -> Result<T, RuleError> {
    Err(RuleError { path: path.to_string(), reason: reason.into() })
}

fn fields(o: &Map<String, Value>, allowed: &[&str], path: &str) -> Result<(), RuleError> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => err(path, format!("unknown field \"{k}\" (expected {})", allowed.join(", "))),
        None => Ok(()),
    }
}

fn op<'a>(o: &'a Map<String, Value>, path: &str) -> Result<&'a str, RuleError> {
    o.get("op")
        .and_then(Value::as_str)
        .ok_or_else(|| RuleError { path: format!("{path}.op"), reason: "expected an operator".into() })
}

/// `{"context":"device","op":"eq","value":"mobile"}`: typed by its value (a number, `true`/`false` tests, or text).
pub(super) fn context(o: &Map<String, Value>, path: &str) -> Result<Rule, RuleError> {
    fields(o, &["context", "op", "value"], path)?;
    let Some(Value::String(attr)) = o.get("context") else {
        return err(&format!("{path}.context"), "expected the name of a context attribute");
    };
    if attr.is_empty() || attr.len() > 64 {
        return err(&format!("{path}.context"), "a context attribute name has 1 to 64 characters");
    }
    let op = op(o, path)?;
    let value = o.get("value");
    let kind = match (op, value) {
        ("is_true" | "is_false", _) => ValueKind::Boolean,
        (_, Some(Value::Number(_))) => ValueKind::Number,
        (_, Some(Value::Array(a))) if a.first().is_some_and(Value::is_number) => ValueKind::Number,
        _ => ValueKind::Text,
    };
    let what = format!("{} context attribute \"{attr}\"", kind.name());
    let test = value_test(kind, op, value)
        .map_err(|reason| RuleError { path: path.to_string(), reason: reason.replace("{what}", &what) })?;
    Ok(Rule::Context(attr.clone(), test))
}

fn local_date(v: &Value, path: &str) -> Result<i32, RuleError> {
    let parsed = v.as_str().and_then(|s| s.parse::<jiff::civil::Date>().ok());
    let Some(d) = parsed else { return err(path, "expected a date YYYY-MM-DD (in the project's time zone)") };
    let days = d.since(jiff::civil::date(1970, 1, 1)).map(|span| span.get_days()).unwrap_or(0);
    Ok(days)
}

fn minutes(v: &Value, path: &str) -> Result<u16, RuleError> {
    let parsed = v.as_str().and_then(|s| s.parse::<jiff::civil::Time>().ok());
    let Some(t) = parsed else { return err(path, "expected a time of day HH:MM") };
    Ok(t.hour() as u16 * 60 + t.minute() as u16)
}

/// `{"time":"date"|"day_of_week"|"time_of_day","op":…,"value":…}`.
pub(super) fn time(o: &Map<String, Value>, path: &str) -> Result<Rule, RuleError> {
    fields(o, &["time", "op", "value"], path)?;
    let what = o.get("time").and_then(Value::as_str).unwrap_or_default();
    let op = op(o, path)?;
    let value = o.get("value").unwrap_or(&Value::Null);
    let vpath = format!("{path}.value");
    let pair = |path: &str| -> Result<(&Value, &Value), RuleError> {
        match value {
            Value::Array(a) if a.len() == 2 => Ok((&a[0], &a[1])),
            _ => err(path, "expected [from, to]"),
        }
    };
    let bad_op =
        |ops: &str| err(&format!("{path}.op"), format!("operator \"{op}\" does not apply to time \"{what}\" ({ops})"));
    let test = match what {
        "date" => match op {
            "before" => TimeTest::DateBefore(local_date(value, &vpath)?),
            "after" => TimeTest::DateAfter(local_date(value, &vpath)?),
            "on" => TimeTest::DateOn(local_date(value, &vpath)?),
            "between" => {
                let (a, b) = pair(&vpath)?;
                TimeTest::DateBetween(local_date(a, &vpath)?, local_date(b, &vpath)?)
            }
            _ => return bad_op("before, after, on, between"),
        },
        "day_of_week" => {
            let negate = match op {
                "in" => false,
                "not_in" => true,
                _ => return bad_op("in, not_in"),
            };
            let Value::Array(names) = value else { return err(&vpath, "expected a list of days: mon … sun") };
            let mut days = 0u8;
            for n in names {
                let Some(i) = n.as_str().and_then(|s| DAYS.iter().position(|d| d.eq_ignore_ascii_case(s))) else {
                    return err(&vpath, format!("unknown day {n} (mon, tue, wed, thu, fri, sat, sun)"));
                };
                days |= 1 << i;
            }
            TimeTest::DayOfWeek { days, negate }
        }
        "time_of_day" => match op {
            "between" | "not_between" => {
                let (a, b) = pair(&vpath)?;
                TimeTest::TimeOfDay { from: minutes(a, &vpath)?, to: minutes(b, &vpath)?, negate: op == "not_between" }
            }
            "before" => TimeTest::TimeOfDay { from: 0, to: minutes(value, &vpath)?, negate: false },
            "after" => TimeTest::TimeOfDay { from: minutes(value, &vpath)?, to: 24 * 60, negate: false },
            _ => return bad_op("between, not_between, before, after"),
        },
        _ => return err(&format!("{path}.time"), "expected date, day_of_week or time_of_day"),
    };
    Ok(Rule::Time(test))
}

impl TimeTest {
    /// Whether it holds at local date `day` (days since 1970-01-01), weekday `weekday` (0 Monday) and `minute` of the
    /// day.
    pub fn holds(self, day: i32, weekday: u8, minute: u16) -> bool {
        match self {
            TimeTest::DateBefore(d) => day < d,
            TimeTest::DateAfter(d) => day > d,
            TimeTest::DateOn(d) => day == d,
            TimeTest::DateBetween(a, b) => a <= day && day <= b,
            TimeTest::DayOfWeek { days, negate } => (days & (1 << weekday) != 0) != negate,
            TimeTest::TimeOfDay { from, to, negate } => {
                let inside = if from <= to { from <= minute && minute < to } else { minute >= from || minute < to };
                inside != negate
            }
        }
    }
}
