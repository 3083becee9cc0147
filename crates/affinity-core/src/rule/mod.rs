//! Audience rules (issue 5): a tree of `all` / `any` / `not` over interaction leaves ("purchased at least 3 times in
//! the last 90 days") and audience references, read from JSON and type-checked against the project's interaction
//! catalog in one pass ([`check::parse_rule`]). A rule that passes the check is fully typed: every parameter
//! condition carries an operator valid for its parameter's type and values of that type, dates are epoch ms, so the
//! evaluator never meets a rule it cannot run.

pub mod check;
pub mod targeting;

pub use check::{Context, RuleError, parse_rule};
pub use targeting::TimeTest;

/// A checked rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    All(Vec<Rule>),
    Any(Vec<Rule>),
    Not(Box<Rule>),
    Interaction(Box<Leaf>),
    /// Membership of another audience of the project.
    Audience(String),
    /// Targeting only (issue 8): an attribute of the request's context, typed by the condition's value.
    Context(String, ValueTest),
    /// Targeting only: the request's time in the project's time zone.
    Time(TimeTest),
    /// Targeting only: the customer's events of the current session (the leaf has no window: the session is it).
    Session(Box<Leaf>),
}

/// "Customers whose events of `interaction`, filtered by `params` and `item`, within `window`, measure `cmp`."
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    pub interaction: String,
    pub params: Vec<ParamCond>,
    pub item: Vec<ItemCond>,
    pub window: Window,
    pub measure: Measure,
    pub cmp: Cmp,
}

/// Which events count, by date.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    All,
    /// The last `n` units before now (months are 30 days).
    Last {
        ms: i64,
    },
    /// From and to, epoch ms, both included.
    Between {
        from: i64,
        to: i64,
    },
    /// From, epoch ms, included.
    Since(i64),
}

/// A unit of time, for windows and `within_last` / `more_than_ago`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Minute,
    Hour,
    Day,
    Week,
    Month,
}

impl Unit {
    pub fn parse(s: &str) -> Option<Unit> {
        Some(match s {
            "minute" | "minutes" => Unit::Minute,
            "hour" | "hours" => Unit::Hour,
            "day" | "days" => Unit::Day,
            "week" | "weeks" => Unit::Week,
            "month" | "months" => Unit::Month,
            _ => return None,
        })
    }

    /// Its length in ms; a month is 30 days.
    pub fn ms(self) -> i64 {
        match self {
            Unit::Minute => 60_000,
            Unit::Hour => 3_600_000,
            Unit::Day => 86_400_000,
            Unit::Week => 7 * 86_400_000,
            Unit::Month => 30 * 86_400_000,
        }
    }
}

/// What is measured over the matching events.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    Count,
    DistinctItems,
    DistinctDays,
    Sum(Quantity),
    Avg(Quantity),
    Min(Quantity),
    Max(Quantity),
    /// The first matching event's date (compared with dates).
    FirstAt,
    LastAt,
}

impl Measure {
    /// Whether the measure is a date (then `cmp` values are dates).
    pub fn is_date(&self) -> bool {
        matches!(self, Measure::FirstAt | Measure::LastAt)
    }
}

/// The number summed or averaged: a number parameter, or `value` (price × quantity, quantity 1 when absent).
#[derive(Debug, Clone, PartialEq)]
pub enum Quantity {
    Param(String),
    Value,
}

/// A comparison of the measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    Eq(f64),
    Neq(f64),
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    /// Both ends included.
    Between(f64, f64),
}

impl Cmp {
    pub fn holds(self, x: f64) -> bool {
        match self {
            Cmp::Eq(v) => x == v,
            Cmp::Neq(v) => x != v,
            Cmp::Gt(v) => x > v,
            Cmp::Gte(v) => x >= v,
            Cmp::Lt(v) => x < v,
            Cmp::Lte(v) => x <= v,
            Cmp::Between(a, b) => a <= x && x <= b,
        }
    }
}

/// A condition on one parameter of the event, typed by the parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamCond {
    pub param: String,
    pub test: ValueTest,
}

/// A test of one value; which tests exist depends on the value's type (see [`check`]).
#[derive(Debug, Clone, PartialEq)]
pub enum ValueTest {
    IsSet,
    IsNotSet,
    TextEq(String),
    TextNeq(String),
    TextIn(Vec<String>),
    TextNotIn(Vec<String>),
    Contains(String),
    NotContains(String),
    StartsWith(String),
    Number(Cmp),
    NumberIn(Vec<f64>),
    /// Dates, epoch ms: before / after (strict), on (the same UTC day), between (both included).
    Before(i64),
    After(i64),
    On(i64),
    DateBetween(i64, i64),
    /// Within the last `ms` before now / more than `ms` before now.
    WithinLast(i64),
    MoreThanAgo(i64),
    IsTrue,
    IsFalse,
    /// An item parameter: the catalog item it names meets every condition.
    Item(Vec<ItemCond>),
}

/// A condition on the event's item, over the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemCond {
    pub attr: ItemAttr,
    pub test: ValueTest,
}

/// An attribute of a catalog item.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemAttr {
    /// The item's id.
    Id,
    /// Its categories: a text test holds when it holds for one of them (`not_in` / `neq`: for none).
    Category,
    Title,
    Price,
    Available,
    /// A catalog property, typed by the condition's value.
    Property(String),
}
