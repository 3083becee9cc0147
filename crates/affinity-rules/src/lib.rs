//! Rules evaluated over a project's view: audience membership (issue 5) — whether one customer is a member, and
//! every member — targeting decisions ([`decide`], issue 8) and experiment reports ([`report`]).
//!
//! Evaluation is on demand against the view as it is now and the clock passed in, so membership is as fresh as
//! the views (an accepted event counts at once) and a customer whose events age out of a window leaves as soon as
//! they do, with no job to run. "Did not do X" (`count eq 0`) holds for every known customer without such events.
//! Only customers with at least one stored event are known.

pub mod decide;
pub mod error;
pub mod report;

pub use decide::{Decided, Decision, Exposed, Visit, decide, exposed_variant};
pub use error::RulesError;
pub use report::{ExperimentReport, VariantReport, report, two_proportion_p};

/// A day in ms (UTC days).
const DAY_MS: i64 = 86_400_000;
use affinity_core::rule::{ItemAttr, ItemCond, Leaf, Measure, ParamCond, Quantity, Rule, ValueTest, Window};
use affinity_views::{Detail, Details, Entry, ProjectView};
use rayon::prelude::*;
use serde_json::{Map, Value};

/// Evaluates rules for one project at one instant.
pub struct Evaluator<'a> {
    view: &'a ProjectView,
    /// Epoch ms UTC: windows and `within_last` count back from it.
    now: i64,
    /// The rules of the project's audiences, for `{"audience": …}` leaves.
    audiences: &'a (dyn Fn(&str) -> Option<Rule> + Sync),
    /// The request being decided (targeting rules); `None` for audiences, where context, time and session leaves
    /// never hold (the checker refuses them there).
    request: Option<&'a Request<'a>>,
}

/// The customer slot standing for a visitor with no stored events (anonymous, or an id never seen): every
/// interaction leaf sees no events, and audience membership never holds.
const ANONYMOUS: u32 = u32::MAX;

/// What a targeting rule reads of the request besides the customer: its context attributes and its local time.
pub struct Request<'r> {
    /// The attributes the storefront sent (`page`, `item`, `device`…).
    pub context: &'r Map<String, Value>,
    /// The request's local date in the project's time zone, as days since 1970-01-01.
    pub day: i32,
    /// Its local day of the week, 0 Monday … 6 Sunday.
    pub weekday: u8,
    /// Its local minute of the day, 0 … 1439.
    pub minute: u16,
    /// A session ends after this long without events (ms).
    pub session_gap_ms: i64,
}

impl<'r> Request<'r> {
    /// The request at `now` (epoch ms) in time zone `tz`.
    pub fn new(context: &'r Map<String, Value>, now: i64, tz: &jiff::tz::TimeZone, session_gap_ms: i64) -> Self {
        let local = jiff::Timestamp::from_millisecond(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH).to_zoned(tz.clone());
        let date = local.date();
        let day = date.since(jiff::civil::date(1970, 1, 1)).map(|s| s.get_days()).unwrap_or(0);
        let weekday = date.weekday().to_monday_zero_offset() as u8;
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        Request { context, day, weekday, minute, session_gap_ms }
    }
}

/// How `{"audience": …}` leaves are answered.
trait Refs {
    fn member(&mut self, ev: &Evaluator, id: &str, c: u32, depth: usize) -> bool;
}

/// Member masks computed beforehand (for all members).
struct Masks<'m>(&'m std::collections::HashMap<String, Vec<bool>>);

impl Refs for Masks<'_> {
    fn member(&mut self, _: &Evaluator, id: &str, c: u32, _: usize) -> bool {
        self.0.get(id).and_then(|m| m.get(c as usize)).copied().unwrap_or(false)
    }
}

/// Answers computed on first use (for one customer).
struct Cached(std::collections::HashMap<String, bool>);

impl Refs for Cached {
    fn member(&mut self, ev: &Evaluator, id: &str, c: u32, depth: usize) -> bool {
        if c == ANONYMOUS {
            return false;
        }
        if let Some(&known) = self.0.get(id) {
            return known;
        }
        let answer =
            depth < MAX_REFERENCE_DEPTH && (ev.audiences)(id).is_some_and(|r| ev.matches(&r, c, self, depth + 1));
        self.0.insert(id.to_string(), answer);
        answer
    }
}

/// Targeting rules decided for one customer and request, sharing audience answers (see [`Evaluator::decider`]).
pub struct Decider<'e, 'a> {
    ev: &'e Evaluator<'a>,
    c: u32,
    cache: Cached,
}

impl Decider<'_, '_> {
    /// Whether `rule` holds.
    pub fn holds(&mut self, rule: &Rule) -> bool {
        self.ev.matches(rule, self.c, &mut self.cache, 0)
    }
}

/// Deepest chain of audience references followed (cycles are refused when rules are saved; this is a guard).
const MAX_REFERENCE_DEPTH: usize = 32;

impl<'a> Evaluator<'a> {
    pub fn new(view: &'a ProjectView, now: i64, audiences: &'a (dyn Fn(&str) -> Option<Rule> + Sync)) -> Self {
        Evaluator { view, now, audiences, request: None }
    }

    /// An evaluator of targeting rules for `request`.
    pub fn for_request(
        view: &'a ProjectView,
        now: i64,
        audiences: &'a (dyn Fn(&str) -> Option<Rule> + Sync),
        request: &'a Request<'a>,
    ) -> Self {
        Evaluator { view, now, audiences, request: Some(request) }
    }

    /// Whether a targeting rule holds for this request and `customer` (`None`, or a customer with no stored
    /// events: an anonymous visitor, decided on context and time alone).
    pub fn decides(&self, rule: &Rule, customer: Option<&str>) -> bool {
        self.decider(customer).holds(rule)
    }

    /// Decides several targeting rules for one request and customer: each audience they refer to is evaluated
    /// once, however many rules name it.
    pub fn decider<'e>(&'e self, customer: Option<&str>) -> Decider<'e, 'a> {
        let c = customer.and_then(|c| self.view.customer_id(c)).filter(|&c| !self.view.history_of(c).is_empty());
        Decider { ev: self, c: c.unwrap_or(ANONYMOUS), cache: Cached(std::collections::HashMap::new()) }
    }

    /// Whether `customer` matches `rule` (an unknown customer matches nothing). Each referenced audience is
    /// evaluated once for the call, however often the rule refers to it.
    pub fn is_member(&self, rule: &Rule, customer: &str) -> bool {
        match self.view.customer_id(customer) {
            Some(c) if !self.view.history_of(c).is_empty() => {
                self.matches(rule, c, &mut Cached(std::collections::HashMap::new()), 0)
            }
            _ => false,
        }
    }

    /// The dense ids of every member, ascending. Referenced audiences are computed once each, bottom up, as
    /// member masks; the rule is then evaluated for every customer in parallel.
    pub fn members(&self, rule: &Rule) -> Vec<u32> {
        let mut masks = std::collections::HashMap::new();
        self.masks_for(rule, &mut masks, 0);
        (0..self.view.customers_len() as u32)
            .into_par_iter()
            .filter(|&c| !self.view.history_of(c).is_empty() && self.matches(rule, c, &mut Masks(&masks), 0))
            .collect()
    }

    /// Fills `masks` with the member mask of every audience `rule` refers to, directly or not.
    fn masks_for(&self, rule: &Rule, masks: &mut std::collections::HashMap<String, Vec<bool>>, depth: usize) {
        match rule {
            Rule::All(rules) | Rule::Any(rules) => rules.iter().for_each(|r| self.masks_for(r, masks, depth)),
            Rule::Not(r) => self.masks_for(r, masks, depth),
            Rule::Interaction(_) | Rule::Context(..) | Rule::Time(_) | Rule::Session(_) => {}
            Rule::Audience(id) => {
                if masks.contains_key(id) || depth >= MAX_REFERENCE_DEPTH {
                    return;
                }
                let Some(inner) = (self.audiences)(id) else {
                    masks.insert(id.clone(), Vec::new());
                    return;
                };
                self.masks_for(&inner, masks, depth + 1);
                let done: &std::collections::HashMap<String, Vec<bool>> = masks;
                let mask = (0..self.view.customers_len() as u32)
                    .into_par_iter()
                    .map(|c| !self.view.history_of(c).is_empty() && self.matches(&inner, c, &mut Masks(done), 0))
                    .collect();
                masks.insert(id.clone(), mask);
            }
        }
    }

    fn matches(&self, rule: &Rule, c: u32, refs: &mut dyn Refs, depth: usize) -> bool {
        match rule {
            Rule::All(rules) => rules.iter().all(|r| self.matches(r, c, refs, depth)),
            Rule::Any(rules) => rules.iter().any(|r| self.matches(r, c, refs, depth)),
            Rule::Not(r) => !self.matches(r, c, refs, depth),
            Rule::Audience(id) => refs.member(self, id, c, depth),
            Rule::Interaction(leaf) => self.leaf(leaf, c, leaf.window),
            Rule::Context(attr, t) => {
                self.request.is_some_and(|r| test(t, r.context.get(attr.as_str()).filter(|v| !v.is_null()), self.now))
            }
            Rule::Time(t) => self.request.is_some_and(|r| t.holds(r.day, r.weekday, r.minute)),
            Rule::Session(leaf) => match (self.request, self.session_start(c)) {
                (Some(_), Some(start)) => self.leaf(leaf, c, Window::Between { from: start, to: self.now }),
                // No session: the leaf is measured over no events (so "has no X in this session" holds).
                (Some(_), None) => self.leaf(leaf, ANONYMOUS, Window::All),
                (None, _) => false,
            },
        }
    }

    /// When the customer's current session began: their events back from the newest, while each is within the
    /// session gap of the next and the newest is within the gap of now. `None` without a current session.
    fn session_start(&self, c: u32) -> Option<i64> {
        let gap = self.request?.session_gap_ms;
        let history = if c == ANONYMOUS { &[][..] } else { self.view.history_of(c) };
        let newest = history.iter().rev().find(|e| e.ts() <= self.now)?;
        if self.now - newest.ts() > gap {
            return None;
        }
        let mut start = newest.ts();
        for e in history.iter().rev().filter(|e| e.ts() <= newest.ts()) {
            if start - e.ts() > gap {
                break;
            }
            start = e.ts();
        }
        Some(start)
    }

    fn leaf(&self, leaf: &Leaf, c: u32, window: Window) -> bool {
        let kind = (0..self.view.kinds_len() as u32).find(|&k| self.view.kind_name(k) == leaf.interaction);
        let (history, details) =
            if c == ANONYMOUS { (&[][..], Details::EMPTY) } else { (self.view.history_of(c), self.view.details_of(c)) };
        let mut acc = Acc::default();
        // Price and quantity are top-level fields of cart and purchase events; other types carry `params`.
        let priced = affinity_core::catalog::takes_quantity_and_price(&leaf.interaction);
        let custom = |p: &str| !(priced && (p == "price" || p == "quantity"));
        let needs_params = leaf.params.iter().any(|p| custom(&p.param))
            || matches!(&leaf.measure, Measure::Sum(Quantity::Param(p)) | Measure::Avg(Quantity::Param(p))
                | Measure::Min(Quantity::Param(p)) | Measure::Max(Quantity::Param(p)) if custom(p));
        if let Some(kind) = kind {
            for (at, e) in history.iter().enumerate() {
                if e.kind() != kind || !self.in_window(window, e.ts()) {
                    continue;
                }
                let detail = details.get(at);
                let params = needs_params
                    .then(|| detail.and_then(|d| self.view.params_of(&d)))
                    .flatten()
                    .and_then(|p| serde_json::from_str::<Map<String, Value>>(p).ok());
                if !leaf.params.iter().all(|p| self.param_holds(p, priced, detail, params.as_ref())) {
                    continue;
                }
                if !leaf.item.iter().all(|cond| self.item_holds(cond, e)) {
                    continue;
                }
                acc.add(&leaf.measure, e, priced, detail, params.as_ref());
            }
        }
        acc.result(&leaf.measure).is_some_and(|x| leaf.cmp.holds(x))
    }

    fn in_window(&self, window: Window, ts: i64) -> bool {
        match window {
            Window::All => true,
            Window::Last { ms } => self.now - ms <= ts && ts <= self.now,
            Window::Between { from, to } => from <= ts && ts <= to,
            Window::Since(from) => ts >= from,
        }
    }

    fn param_holds(
        &self,
        cond: &ParamCond,
        priced: bool,
        detail: Option<Detail>,
        params: Option<&Map<String, Value>>,
    ) -> bool {
        let value = match cond.param.as_str() {
            "price" if priced => detail.map(|d| d.price).filter(|p| !p.is_nan()).map(Value::from),
            "quantity" if priced => detail.map(|d| d.quantity).filter(|q| !q.is_nan()).map(Value::from),
            name => params.and_then(|p| p.get(name)).filter(|v| !v.is_null()).cloned(),
        };
        if let ValueTest::Item(conds) = &cond.test {
            // The parameter names an item: look it up and test it against the catalog.
            let Some(id) = value.as_ref().and_then(Value::as_str) else { return false };
            let i = self.view.item_id(id);
            return i.is_some() && conds.iter().all(|c| self.item_id_holds(c, i));
        }
        test(&cond.test, value.as_ref(), self.now)
    }

    fn item_holds(&self, cond: &ItemCond, e: &Entry) -> bool {
        self.item_id_holds(cond, e.item())
    }

    /// Whether the item with dense id `i` (`None`: no item) meets `cond`.
    fn item_id_holds(&self, cond: &ItemCond, i: Option<u32>) -> bool {
        let Some(i) = i else { return test(&cond.test, None, self.now) };
        let item = self.view.catalog_item(i);
        match &cond.attr {
            ItemAttr::Id => test(&cond.test, Some(&Value::from(self.view.item_name(i))), self.now),
            ItemAttr::Category => {
                let categories = item.map_or(&[][..], |it| &it.categories[..]);
                // Negative tests hold when no category fails them; the others when one category passes.
                match &cond.test {
                    ValueTest::TextNeq(_) | ValueTest::TextNotIn(_) | ValueTest::NotContains(_) => {
                        categories.iter().all(|c| test(&cond.test, Some(&Value::from(c.as_str())), self.now))
                    }
                    ValueTest::IsSet => !categories.is_empty(),
                    ValueTest::IsNotSet => categories.is_empty(),
                    t => categories.iter().any(|c| test(t, Some(&Value::from(c.as_str())), self.now)),
                }
            }
            ItemAttr::Title => {
                test(&cond.test, item.and_then(|it| it.title.clone()).map(Value::from).as_ref(), self.now)
            }
            ItemAttr::Price => test(&cond.test, item.and_then(|it| it.price).map(Value::from).as_ref(), self.now),
            ItemAttr::Available => test(&cond.test, item.map(|it| Value::from(it.available)).as_ref(), self.now),
            ItemAttr::Property(name) => test(&cond.test, item.and_then(|it| it.properties.get(name)), self.now),
        }
    }
}

/// Whether `value` (absent: `None`) passes `t`. An absent value passes only `is_not_set` and the negative tests
/// (text or number `neq`, `not_in`, `not_contains`).
pub fn test(t: &ValueTest, value: Option<&Value>, now: i64) -> bool {
    let Some(v) = value else {
        return matches!(
            t,
            ValueTest::IsNotSet | ValueTest::TextNeq(_) | ValueTest::TextNotIn(_) | ValueTest::NotContains(_)
        );
    };
    let text = v.as_str();
    let number = v.as_f64();
    let date = || affinity_core::date::parse_json(v).ok();
    match t {
        ValueTest::IsSet => true,
        ValueTest::IsNotSet => false,
        ValueTest::TextEq(x) => text == Some(x.as_str()),
        ValueTest::TextNeq(x) => text != Some(x.as_str()),
        ValueTest::TextIn(xs) => text.is_some_and(|t| xs.iter().any(|x| x == t)),
        ValueTest::TextNotIn(xs) => !text.is_some_and(|t| xs.iter().any(|x| x == t)),
        ValueTest::Contains(x) => text.is_some_and(|t| t.contains(x.as_str())),
        ValueTest::NotContains(x) => !text.is_some_and(|t| t.contains(x.as_str())),
        ValueTest::StartsWith(x) => text.is_some_and(|t| t.starts_with(x.as_str())),
        ValueTest::Number(cmp) => number.is_some_and(|n| cmp.holds(n)),
        ValueTest::NumberIn(xs) => number.is_some_and(|n| xs.contains(&n)),
        ValueTest::Before(d) => date().is_some_and(|x| x < *d),
        ValueTest::After(d) => date().is_some_and(|x| x > *d),
        ValueTest::On(d) => date().is_some_and(|x| x.div_euclid(DAY_MS) == d.div_euclid(DAY_MS)),
        ValueTest::DateBetween(a, b) => date().is_some_and(|x| *a <= x && x <= *b),
        ValueTest::WithinLast(ms) => date().is_some_and(|x| now - ms <= x && x <= now),
        ValueTest::MoreThanAgo(ms) => date().is_some_and(|x| x < now - ms),
        ValueTest::IsTrue => v.as_bool() == Some(true),
        ValueTest::IsFalse => v.as_bool() == Some(false),
        // Item conditions need the view; the evaluator answers them before calling this.
        ValueTest::Item(_) => false,
    }
}

/// The running measure of a leaf.
#[derive(Default)]
struct Acc {
    count: u64,
    items: Vec<u32>,
    days: Vec<i64>,
    sum: f64,
    n: u64,
    min: Option<f64>,
    max: Option<f64>,
    first: Option<i64>,
    last: Option<i64>,
}

impl Acc {
    fn add(
        &mut self,
        m: &Measure,
        e: &Entry,
        priced: bool,
        detail: Option<Detail>,
        params: Option<&Map<String, Value>>,
    ) {
        self.count += 1;
        match m {
            Measure::DistinctItems => self.items.extend(e.item()),
            Measure::DistinctDays => self.days.push(e.ts().div_euclid(DAY_MS)),
            Measure::FirstAt => self.first = Some(self.first.map_or(e.ts(), |f| f.min(e.ts()))),
            Measure::LastAt => self.last = Some(self.last.map_or(e.ts(), |l| l.max(e.ts()))),
            Measure::Sum(q) | Measure::Avg(q) | Measure::Min(q) | Measure::Max(q) => {
                let x = match q {
                    Quantity::Value => detail.and_then(|d| d.value()),
                    Quantity::Param(p) if priced && p == "price" => detail.map(|d| d.price).filter(|x| !x.is_nan()),
                    Quantity::Param(p) if priced && p == "quantity" => {
                        detail.map(|d| d.quantity).filter(|x| !x.is_nan())
                    }
                    Quantity::Param(p) => params.and_then(|m| m.get(p)).and_then(Value::as_f64),
                };
                if let Some(x) = x {
                    self.sum += x;
                    self.n += 1;
                    self.min = Some(self.min.map_or(x, |m| m.min(x)));
                    self.max = Some(self.max.map_or(x, |m| m.max(x)));
                }
            }
            Measure::Count => {}
        }
    }

    /// The measure, `None` when it has no value (an average, minimum or date of no events).
    fn result(mut self, m: &Measure) -> Option<f64> {
        match m {
            Measure::Count => Some(self.count as f64),
            Measure::DistinctItems => {
                self.items.sort_unstable();
                self.items.dedup();
                Some(self.items.len() as f64)
            }
            Measure::DistinctDays => {
                self.days.sort_unstable();
                self.days.dedup();
                Some(self.days.len() as f64)
            }
            Measure::Sum(_) => Some(self.sum),
            Measure::Avg(_) => (self.n > 0).then(|| self.sum / self.n as f64),
            Measure::Min(_) => self.min,
            Measure::Max(_) => self.max,
            Measure::FirstAt => self.first.map(|t| t as f64),
            Measure::LastAt => self.last.map(|t| t as f64),
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod property_tests;

#[cfg(test)]
mod targeting_tests;

#[cfg(test)]
mod decide_tests;
