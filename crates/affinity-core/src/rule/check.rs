//! Reading a rule from JSON and type-checking it in the same pass. Every error names the node by its path from
//! `rule` and says why, e.g. `rule.all[0].where[1]: operator "contains" does not apply to number parameter "amount"`.

use serde_json::{Map, Value};

use super::{Cmp, ItemAttr, ItemCond, Leaf, Measure, ParamCond, Quantity, Rule, Unit, ValueTest, Window};
use crate::catalog::{InteractionType, ParamType};
use crate::date;

/// Deepest nesting of `all` / `any` / `not`.
pub const MAX_DEPTH: usize = 32;
/// Most leaves and groups in one rule.
pub const MAX_NODES: usize = 1000;

/// A rule that cannot be saved: where (`rule.any[2].cmp`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct RuleError {
    pub path: String,
    pub reason: String,
}

fn err<T>(path: &str, reason: impl Into<String>) -> Result<T, RuleError> {
    Err(RuleError { path: path.to_string(), reason: reason.into() })
}

/// What the check needs to know besides the rule.
pub struct Context<'a> {
    /// The project's interaction types.
    pub types: &'a [InteractionType],
    /// The audiences another audience refers to, `None` for an unknown audience.
    pub references: &'a dyn Fn(&str) -> Option<Vec<String>>,
    /// The audience being saved, if any: a reference leading back to it is a cycle.
    pub saving: Option<&'a str>,
    /// Whether the rule targets requests (issue 8): then context, time and session leaves are allowed.
    pub targeting: bool,
}

/// Reads and checks `value` as a rule; `path` names it in errors (`rule`).
pub fn parse_rule(value: &Value, cx: &Context, path: &str) -> Result<Rule, RuleError> {
    let mut nodes = 0;
    node(value, cx, path, 0, &mut nodes)
}

fn node(value: &Value, cx: &Context, path: &str, depth: usize, nodes: &mut usize) -> Result<Rule, RuleError> {
    *nodes += 1;
    if *nodes > MAX_NODES {
        return err(path, format!("a rule has at most {MAX_NODES} nodes"));
    }
    if depth > MAX_DEPTH {
        return err(path, format!("rules nest at most {MAX_DEPTH} deep"));
    }
    let Value::Object(o) = value else { return err(path, "expected an object") };
    if let Some(kind) = ["all", "any"].into_iter().find(|k| o.contains_key(*k)) {
        only(o, &[kind], path)?;
        let Some(Value::Array(items)) = o.get(kind) else { return err(&format!("{path}.{kind}"), "expected an array") };
        if items.is_empty() {
            return err(&format!("{path}.{kind}"), "expected at least one rule");
        }
        let rules = items
            .iter()
            .enumerate()
            .map(|(i, r)| node(r, cx, &format!("{path}.{kind}[{i}]"), depth + 1, nodes))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(if kind == "all" { Rule::All(rules) } else { Rule::Any(rules) });
    }
    if let Some(inner) = o.get("not") {
        only(o, &["not"], path)?;
        return Ok(Rule::Not(Box::new(node(inner, cx, &format!("{path}.not"), depth + 1, nodes)?)));
    }
    if let Some(a) = o.get("audience") {
        only(o, &["audience"], path)?;
        let Value::String(id) = a else { return err(&format!("{path}.audience"), "expected an audience id") };
        check_reference(id, cx, &format!("{path}.audience"))?;
        return Ok(Rule::Audience(id.clone()));
    }
    if o.contains_key("interaction") {
        return Ok(Rule::Interaction(Box::new(leaf(o, cx, path)?)));
    }
    if let Some(kind) = ["context", "time", "session"].into_iter().find(|k| o.contains_key(*k)) {
        if !cx.targeting {
            return err(path, format!("\"{kind}\" conditions apply to targeting rules only, not to audiences"));
        }
        return match kind {
            "context" => super::targeting::context(o, path),
            "time" => super::targeting::time(o, path),
            _ => {
                only(o, &["session"], path)?;
                let inner_path = format!("{path}.session");
                let Some(Value::Object(inner)) = o.get("session") else {
                    return err(&inner_path, "expected an interaction condition");
                };
                if inner.contains_key("window") {
                    return err(
                        &format!("{inner_path}.window"),
                        "a session condition has no window: the session is it",
                    );
                }
                Ok(Rule::Session(Box::new(leaf(inner, cx, &inner_path)?)))
            }
        };
    }
    let expected = if cx.targeting {
        "expected one of all, any, not, interaction, audience, context, time, session"
    } else {
        "expected one of all, any, not, interaction, audience"
    };
    err(path, expected)
}

fn only(o: &Map<String, Value>, allowed: &[&str], path: &str) -> Result<(), RuleError> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => err(path, format!("unknown field \"{k}\" (expected {})", allowed.join(", "))),
        None => Ok(()),
    }
}

/// Unknown audiences and references that lead back to the audience being saved are refused.
fn check_reference(id: &str, cx: &Context, path: &str) -> Result<(), RuleError> {
    if cx.saving == Some(id) {
        return err(path, format!("audience \"{id}\" refers to itself"));
    }
    let Some(mut stack) = (cx.references)(id) else { return err(path, format!("unknown audience \"{id}\"")) };
    let mut seen = vec![id.to_string()];
    while let Some(next) = stack.pop() {
        if cx.saving == Some(next.as_str()) {
            return err(path, format!("audience \"{id}\" leads back to \"{next}\": a cycle"));
        }
        if seen.contains(&next) {
            continue;
        }
        stack.extend((cx.references)(&next).unwrap_or_default());
        seen.push(next);
    }
    Ok(())
}

fn leaf(o: &Map<String, Value>, cx: &Context, path: &str) -> Result<Leaf, RuleError> {
    only(o, &["interaction", "where", "item", "window", "measure", "cmp"], path)?;
    let Some(Value::String(id)) = o.get("interaction") else {
        return err(&format!("{path}.interaction"), "expected an interaction type id");
    };
    let Some(ty) = cx.types.iter().find(|t| t.id == *id) else {
        return err(&format!("{path}.interaction"), format!("unknown interaction type \"{id}\""));
    };
    let params = list(o.get("where"), &format!("{path}.where"))?
        .iter()
        .enumerate()
        .map(|(i, c)| param_cond(c, ty, &format!("{path}.where[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let item = list(o.get("item"), &format!("{path}.item"))?
        .iter()
        .enumerate()
        .map(|(i, c)| item_cond(c, &format!("{path}.item[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let window = match o.get("window") {
        None | Some(Value::Null) => Window::All,
        Some(w) => window(w, &format!("{path}.window"))?,
    };
    let measure = match o.get("measure") {
        None | Some(Value::Null) => Measure::Count,
        Some(m) => measure(m, ty, &format!("{path}.measure"))?,
    };
    let cmp = match o.get("cmp") {
        None | Some(Value::Null) => Cmp::Gte(1.0),
        Some(c) => cmp(c, measure.is_date(), &format!("{path}.cmp"))?,
    };
    Ok(Leaf { interaction: id.clone(), params, item, window, measure, cmp })
}

fn list<'v>(v: Option<&'v Value>, path: &str) -> Result<&'v [Value], RuleError> {
    match v {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => err(path, "expected an array of conditions"),
    }
}

fn fields<'v>(v: &'v Value, allowed: &[&str], path: &str) -> Result<&'v Map<String, Value>, RuleError> {
    let Value::Object(o) = v else { return err(path, "expected an object") };
    only(o, allowed, path)?;
    Ok(o)
}

fn text_field<'v>(o: &'v Map<String, Value>, name: &str, path: &str) -> Result<&'v str, RuleError> {
    match o.get(name) {
        Some(Value::String(s)) => Ok(s),
        _ => err(path, format!("expected \"{name}\" as text")),
    }
}

fn param_cond(v: &Value, ty: &InteractionType, path: &str) -> Result<ParamCond, RuleError> {
    let o = fields(v, &["param", "op", "value", "item"], path)?;
    let param = text_field(o, "param", path)?;
    let Some(p) = ty.parameters.iter().find(|p| p.id == param) else {
        return err(path, format!("unknown parameter \"{param}\" of interaction type \"{}\"", ty.id));
    };
    // An item parameter may carry item conditions instead of an operator: the item it names must meet them all.
    if let Some(conds) = o.get("item") {
        if p.kind != ParamType::Item {
            return err(path, format!("item conditions apply to item parameters; \"{param}\" is {}", p.kind.as_str()));
        }
        if o.contains_key("op") || o.contains_key("value") {
            return err(path, "give either \"item\" conditions or an \"op\", not both");
        }
        let conds = list(Some(conds), &format!("{path}.item"))?
            .iter()
            .enumerate()
            .map(|(i, c)| item_cond(c, &format!("{path}.item[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(ParamCond { param: param.to_string(), test: ValueTest::Item(conds) });
    }
    let op = text_field(o, "op", path)?;
    let kind = match p.kind {
        ParamType::Item => ValueKind::Item,
        ParamType::Text => ValueKind::Text,
        ParamType::Number => ValueKind::Number,
        ParamType::Date => ValueKind::Date,
        ParamType::Boolean => ValueKind::Boolean,
    };
    let test = value_test(kind, op, o.get("value")).map_err(|reason| RuleError {
        path: path.to_string(),
        reason: reason.replace("{what}", &format!("{} parameter \"{param}\"", p.kind.as_str())),
    })?;
    Ok(ParamCond { param: param.to_string(), test })
}

fn item_cond(v: &Value, path: &str) -> Result<ItemCond, RuleError> {
    let o = fields(v, &["attr", "op", "value"], path)?;
    let attr = text_field(o, "attr", path)?;
    let op = text_field(o, "op", path)?;
    let value = o.get("value");
    let (attr, kind) = match attr {
        "id" => (ItemAttr::Id, ValueKind::Text),
        "category" | "categories" => (ItemAttr::Category, ValueKind::Text),
        "title" => (ItemAttr::Title, ValueKind::Text),
        "price" => (ItemAttr::Price, ValueKind::Number),
        "available" => (ItemAttr::Available, ValueKind::Boolean),
        name => {
            // A property is typed by the condition's value (the catalog has no schema).
            let kind = match (op, value) {
                ("is_true" | "is_false", _) => ValueKind::Boolean,
                (_, Some(Value::Number(_))) => ValueKind::Number,
                (_, Some(Value::Array(a))) if a.first().is_some_and(Value::is_number) => ValueKind::Number,
                _ => ValueKind::Text,
            };
            (ItemAttr::Property(name.to_string()), kind)
        }
    };
    let what = format!("{} item attribute \"{}\"", kind.name(), text_field(o, "attr", path)?);
    let test = value_test(kind, op, value)
        .map_err(|reason| RuleError { path: path.to_string(), reason: reason.replace("{what}", &what) })?;
    Ok(ItemCond { attr, test })
}

#[derive(Clone, Copy)]
pub(super) enum ValueKind {
    Text,
    Number,
    Date,
    Boolean,
    Item,
}

impl ValueKind {
    pub(super) fn name(self) -> &'static str {
        match self {
            ValueKind::Text => "text",
            ValueKind::Number => "number",
            ValueKind::Date => "date",
            ValueKind::Boolean => "boolean",
            ValueKind::Item => "item",
        }
    }

    fn operators(self) -> &'static [&'static str] {
        match self {
            ValueKind::Text => {
                &["eq", "neq", "in", "not_in", "contains", "not_contains", "starts_with", "is_set", "is_not_set"]
            }
            ValueKind::Number => &["eq", "neq", "gt", "gte", "lt", "lte", "between", "in", "is_set", "is_not_set"],
            ValueKind::Date => &["before", "after", "on", "between", "within_last", "more_than_ago", "is_set"],
            ValueKind::Boolean => &["is_true", "is_false", "is_set"],
            ValueKind::Item => &["in", "not_in", "is_set"],
        }
    }
}

/// The test of `op` on a value of `kind`; errors use `{what}` for the thing tested.
pub(super) fn value_test(kind: ValueKind, op: &str, value: Option<&Value>) -> Result<ValueTest, String> {
    if !kind.operators().contains(&op) {
        return Err(format!(
            "operator \"{op}\" does not apply to {{what}} (operators: {})",
            kind.operators().join(", ")
        ));
    }
    let none = |test: ValueTest| match value {
        None | Some(Value::Null) => Ok(test),
        Some(_) => Err(format!("operator \"{op}\" takes no value")),
    };
    let text = || match value {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(format!("operator \"{op}\" on {{what}} needs a text value")),
    };
    let texts = || {
        match value {
            Some(Value::Array(a)) if !a.is_empty() => {
                a.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<_>>>().ok_or(())
            }
            _ => Err(()),
        }
        .map_err(|()| format!("operator \"{op}\" on {{what}} needs a non-empty array of texts"))
    };
    let number = || match value.and_then(Value::as_f64) {
        Some(n) if n.is_finite() => Ok(n),
        _ => Err(format!("operator \"{op}\" on {{what}} needs a number")),
    };
    let pair = |as_num: &dyn Fn(&Value) -> Option<f64>| match value {
        Some(Value::Array(a)) if a.len() == 2 => match (as_num(&a[0]), as_num(&a[1])) {
            (Some(x), Some(y)) if x <= y => Ok((x, y)),
            _ => Err(format!("operator \"{op}\" on {{what}} needs [low, high] with low <= high")),
        },
        _ => Err(format!("operator \"{op}\" on {{what}} needs [low, high]")),
    };
    let date =
        || value.and_then(|v| date::parse_json(v).ok()).ok_or(format!("operator \"{op}\" on {{what}} needs a date"));
    Ok(match (kind, op) {
        (_, "is_set") => none(ValueTest::IsSet)?,
        (_, "is_not_set") => none(ValueTest::IsNotSet)?,
        (ValueKind::Text, "eq") => ValueTest::TextEq(text()?),
        (ValueKind::Text, "neq") => ValueTest::TextNeq(text()?),
        (ValueKind::Text | ValueKind::Item, "in") => ValueTest::TextIn(texts()?),
        (ValueKind::Text | ValueKind::Item, "not_in") => ValueTest::TextNotIn(texts()?),
        (ValueKind::Text, "contains") => ValueTest::Contains(text()?),
        (ValueKind::Text, "not_contains") => ValueTest::NotContains(text()?),
        (ValueKind::Text, "starts_with") => ValueTest::StartsWith(text()?),
        (ValueKind::Number, "eq") => ValueTest::Number(Cmp::Eq(number()?)),
        (ValueKind::Number, "neq") => ValueTest::Number(Cmp::Neq(number()?)),
        (ValueKind::Number, "gt") => ValueTest::Number(Cmp::Gt(number()?)),
        (ValueKind::Number, "gte") => ValueTest::Number(Cmp::Gte(number()?)),
        (ValueKind::Number, "lt") => ValueTest::Number(Cmp::Lt(number()?)),
        (ValueKind::Number, "lte") => ValueTest::Number(Cmp::Lte(number()?)),
        (ValueKind::Number, "between") => {
            let (a, b) = pair(&|v| v.as_f64().filter(|n| n.is_finite()))?;
            ValueTest::Number(Cmp::Between(a, b))
        }
        (ValueKind::Number, "in") => match value {
            Some(Value::Array(a)) if !a.is_empty() => ValueTest::NumberIn(
                a.iter()
                    .map(|v| v.as_f64().filter(|n| n.is_finite()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or(format!("operator \"{op}\" on {{what}} needs a non-empty array of numbers"))?,
            ),
            _ => return Err(format!("operator \"{op}\" on {{what}} needs a non-empty array of numbers")),
        },
        (ValueKind::Date, "before") => ValueTest::Before(date()?),
        (ValueKind::Date, "after") => ValueTest::After(date()?),
        (ValueKind::Date, "on") => ValueTest::On(date()?),
        (ValueKind::Date, "between") => {
            let (a, b) = pair(&|v| date::parse_json(v).ok().map(|d| d as f64))?;
            ValueTest::DateBetween(a as i64, b as i64)
        }
        (ValueKind::Date, "within_last") => ValueTest::WithinLast(duration(value).map_err(|r| r.replace("{op}", op))?),
        (ValueKind::Date, "more_than_ago") => {
            ValueTest::MoreThanAgo(duration(value).map_err(|r| r.replace("{op}", op))?)
        }
        (ValueKind::Boolean, "is_true") => none(ValueTest::IsTrue)?,
        (ValueKind::Boolean, "is_false") => none(ValueTest::IsFalse)?,
        _ => return Err(format!("operator \"{op}\" does not apply to {{what}}")),
    })
}

/// `{"n": 2, "unit": "month"}` as ms.
fn duration(value: Option<&Value>) -> Result<i64, String> {
    let bad = || {
        "operator \"{op}\" on {what} needs {\"n\": a whole number >= 1, \"unit\": minute|hour|day|week|month}"
            .to_string()
    };
    let Some(Value::Object(o)) = value else { return Err(bad()) };
    let n = o.get("n").and_then(Value::as_u64).filter(|n| (1..=100_000).contains(n)).ok_or_else(bad)?;
    let unit = o.get("unit").and_then(Value::as_str).and_then(Unit::parse).ok_or_else(bad)?;
    Ok(n as i64 * unit.ms())
}

fn window(v: &Value, path: &str) -> Result<Window, RuleError> {
    let Value::Object(o) = v else { return err(path, "expected {\"last\"…}, {\"between\"…} or {\"since\"…}") };
    only(o, &["last", "between", "since"], path)?;
    if o.len() != 1 {
        return err(path, "expected exactly one of last, between, since");
    }
    if let Some(last) = o.get("last") {
        let ms = duration(Some(last)).map_err(|r| RuleError {
            path: format!("{path}.last"),
            reason: r.replace("operator \"{op}\" on {what} needs ", "expected "),
        })?;
        return Ok(Window::Last { ms });
    }
    if let Some(b) = o.get("between") {
        let p = format!("{path}.between");
        let o = fields(b, &["from", "to"], &p)?;
        let at = |k: &str| o.get(k).and_then(|v| date::parse_json(v).ok());
        return match (at("from"), at("to")) {
            (Some(from), Some(to)) if from <= to => Ok(Window::Between { from, to }),
            (Some(_), Some(_)) => err(&p, "\"from\" is after \"to\""),
            _ => err(&p, "expected dates \"from\" and \"to\""),
        };
    }
    match o.get("since").and_then(|v| date::parse_json(v).ok()) {
        Some(from) => Ok(Window::Since(from)),
        None => err(&format!("{path}.since"), "expected a date"),
    }
}

fn measure(v: &Value, ty: &InteractionType, path: &str) -> Result<Measure, RuleError> {
    let o = fields(v, &["agg", "param"], path)?;
    let agg = text_field(o, "agg", path)?;
    let quantity = || -> Result<Quantity, RuleError> {
        match o.get("param").and_then(Value::as_str) {
            Some("value") if crate::catalog::takes_quantity_and_price(&ty.id) => Ok(Quantity::Value),
            Some("value") => err(
                path,
                format!("\"value\" (price × quantity) needs an interaction type with prices, not \"{}\"", ty.id),
            ),
            Some(p) => match ty.parameters.iter().find(|x| x.id == p) {
                Some(x) if x.kind == ParamType::Number => Ok(Quantity::Param(p.to_string())),
                Some(x) => err(path, format!("\"{agg}\" needs a number parameter; \"{p}\" is {}", x.kind.as_str())),
                None => err(path, format!("unknown parameter \"{p}\" of interaction type \"{}\"", ty.id)),
            },
            None => err(path, format!("\"{agg}\" needs \"param\": a number parameter or \"value\"")),
        }
    };
    let plain = |m: Measure| match o.get("param") {
        None | Some(Value::Null) => Ok(m),
        Some(_) => err(path, format!("\"{agg}\" takes no \"param\"")),
    };
    match agg {
        "count" => plain(Measure::Count),
        "distinct_items" => plain(Measure::DistinctItems),
        "distinct_days" => plain(Measure::DistinctDays),
        "first_at" => plain(Measure::FirstAt),
        "last_at" => plain(Measure::LastAt),
        "sum" => Ok(Measure::Sum(quantity()?)),
        "avg" => Ok(Measure::Avg(quantity()?)),
        "min" => Ok(Measure::Min(quantity()?)),
        "max" => Ok(Measure::Max(quantity()?)),
        other => err(
            path,
            format!(
                "unknown agg \"{other}\" (count, distinct_items, distinct_days, sum, avg, min, max, first_at, last_at)"
            ),
        ),
    }
}

fn cmp(v: &Value, dates: bool, path: &str) -> Result<Cmp, RuleError> {
    let o = fields(v, &["op", "value"], path)?;
    let op = text_field(o, "op", path)?;
    let scalar = |v: &Value| -> Option<f64> {
        if dates { date::parse_json(v).ok().map(|d| d as f64) } else { v.as_f64().filter(|n| n.is_finite()) }
    };
    let what = if dates { "a date" } else { "a number" };
    let value = o.get("value");
    let one = || {
        value.and_then(scalar).ok_or_else(|| RuleError { path: path.into(), reason: format!("\"{op}\" needs {what}") })
    };
    Ok(match op {
        "eq" => Cmp::Eq(one()?),
        "neq" => Cmp::Neq(one()?),
        "gt" => Cmp::Gt(one()?),
        "gte" => Cmp::Gte(one()?),
        "lt" => Cmp::Lt(one()?),
        "lte" => Cmp::Lte(one()?),
        "between" => match value {
            Some(Value::Array(a)) if a.len() == 2 => match (scalar(&a[0]), scalar(&a[1])) {
                (Some(x), Some(y)) if x <= y => Cmp::Between(x, y),
                _ => return err(path, format!("\"between\" needs [low, high] of {what}s with low <= high")),
            },
            _ => return err(path, format!("\"between\" needs [low, high] of {what}s")),
        },
        other => return err(path, format!("unknown op \"{other}\" (eq, neq, gt, gte, lt, lte, between)")),
    })
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;

impl crate::error_code::ErrorCode for RuleError {
    fn error_code(&self) -> crate::error_code::Code {
        crate::error_code::Code::InvalidRule
    }

    fn error_field(&self) -> Option<String> {
        Some(self.path.clone())
    }
}
