//! Events: one customer's interaction with an item, and the one set of rules that decides whether an incoming event
//! is valid. `POST /feedback` and file uploads both go through [`validate`].

use std::collections::BTreeMap;
use std::hash::BuildHasher;

use serde::Serialize;
use serde_json::Value;

use crate::catalog::{InteractionType, ParamType, takes_quantity_and_price};
use crate::date::{self, DateError};
use crate::ids::{GENERATED_EVENT_ID_PREFIX, check_opaque_id};
use crate::problem::{Problem, ProblemKind};
pub use crate::raw::RawEvent;

/// Longest text parameter value, in bytes.
pub const MAX_TEXT_BYTES: usize = 4096;
/// How far in the future an event date may be: 24 h, in milliseconds.
pub const MAX_FUTURE_MS: i64 = 24 * 3_600_000;

/// A validated event, ready to store. Times are epoch milliseconds, UTC.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Interaction type id (`view`, `purchase`, `loan_application`…).
    pub event: String,
    pub customer: String,
    /// Absent only for custom types sent without an item.
    pub item: Option<String>,
    /// When the interaction happened (the request's `date`), epoch ms UTC.
    pub ts: i64,
    /// Units, > 0 (`cart`, `purchase`).
    pub quantity: Option<f64>,
    /// Unit price, >= 0, in the project's currency (`cart`, `purchase`).
    pub price: Option<f64>,
    /// Custom parameters as canonical JSON (keys sorted, dates as RFC 3339 UTC), or `None` when there are none.
    pub params: Option<String>,
    /// The client's event id, for idempotency.
    pub client_id: Option<String>,
    /// The order this line belongs to (`cart`, `purchase`): the lines of one order form one basket.
    pub order_id: Option<String>,
}

impl Event {
    /// An event of type `kind` by `customer` on `item` at `ts` (epoch ms UTC), with no quantity, price,
    /// parameters or client id: what hand-made test data and simple callers need.
    pub fn new(kind: &str, customer: &str, item: &str, ts: i64) -> Event {
        Event {
            event: kind.into(),
            customer: customer.into(),
            item: Some(item.into()),
            ts,
            quantity: None,
            price: None,
            params: None,
            client_id: None,
            order_id: None,
        }
    }

    /// A 64-bit hash of everything that makes two events "identical" (type, item, date, quantity, price,
    /// parameters, order); the customer is not included because duplicates are looked up within one customer's
    /// history. Stable across processes and versions of this crate's dependencies (fixed-seed foldhash); an event
    /// without an order id hashes as it did before order ids existed.
    pub fn fingerprint(&self) -> u64 {
        let content =
            fingerprint(&self.event, self.item.as_deref(), self.ts, self.quantity, self.price, self.params.as_deref());
        match &self.order_id {
            None => content,
            Some(order) => foldhash::fast::FixedState::with_seed(0x0aff_1417).hash_one((content, order.as_str())),
        }
    }
}

/// See [`Event::fingerprint`].
pub fn fingerprint(
    event: &str,
    item: Option<&str>,
    ts: i64,
    quantity: Option<f64>,
    price: Option<f64>,
    params: Option<&str>,
) -> u64 {
    foldhash::fast::FixedState::with_seed(0x0aff_1417).hash_one((
        event,
        item,
        ts,
        quantity.map(f64::to_bits),
        price.map(f64::to_bits),
        params,
    ))
}

/// A typed parameter value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    Text(String),
    Number(f64),
    /// Epoch ms UTC; serialised as RFC 3339.
    #[serde(serialize_with = "ser_date")]
    Date(i64),
    Boolean(bool),
    Item(String),
}

fn ser_date<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&date::format_ms(*ms))
}

/// Validates one incoming event against the project's interaction types.
///
/// `types` are the project's interaction types (built-in and custom); `now_ms` is the current time (dates more
/// than 24 h after it are refused). Field paths in errors are relative (`item`, `params.amount`); callers prefix
/// them (`data.`, `data[3].`).
///
/// Errors, first problem found: `missing_field`, `unknown_field`, `unknown_event`, `archived_event`, `invalid_id`
/// (customer, item, id, order_id; `order_id` also on a type other than `cart` and `purchase`), `invalid_date`,
/// `invalid_quantity`, `invalid_price`, `unknown_parameter`, `invalid_parameter`.
pub fn validate(mut raw: RawEvent, types: &[InteractionType], now_ms: i64) -> Result<Event, Problem> {
    validate_mut(&mut raw, types, now_ms)
}

/// [`validate`], taking the fields it uses out of `raw`. On error, `raw.customer` and `raw.item` are left as
/// they were sent (for reports that name the row's customer and item without copying them first).
pub fn validate_mut(raw: &mut RawEvent, types: &[InteractionType], now_ms: i64) -> Result<Event, Problem> {
    if let Some(field) = raw.unknown.take() {
        return Err(Problem::new(ProblemKind::UnknownField, field.clone(), format!("Unknown field: {field}")));
    }
    let event = match non_null(raw.event.take()) {
        None => return Err(Problem::missing("event", "event")),
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(Problem::new(ProblemKind::UnknownEvent, "event", "Invalid event: must be a string"));
        }
    };
    let Some(ty) = types.iter().find(|t| t.id == event) else {
        return Err(Problem::new(ProblemKind::UnknownEvent, "event", format!("Unknown event: {}", clip(&event))));
    };
    if ty.archived {
        return Err(Problem::new(
            ProblemKind::ArchivedEvent,
            "event",
            format!("Interaction type {event} is archived and accepts no new events"),
        ));
    }
    match raw.customer.as_ref().filter(|v| !v.is_null()) {
        None => return Err(Problem::missing("customer", "customer")),
        Some(v) => check_id(v, "customer")?,
    }
    let has_item = match raw.item.as_ref().filter(|v| !v.is_null()) {
        None if ty.builtin => return Err(Problem::missing("item", "item")),
        None => false,
        Some(v) => {
            check_id(v, "item")?;
            true
        }
    };
    let ts = match non_null(raw.date.take()) {
        None => return Err(Problem::missing("date", "date")),
        Some(v) => event_date(&v, now_ms)?,
    };
    let amounts = takes_quantity_and_price(&ty.id);
    let quantity = amount(raw.quantity.take(), amounts, &event, "quantity", ProblemKind::InvalidQuantity, |q| q > 0.0)?;
    let price = amount(raw.price.take(), amounts, &event, "price", ProblemKind::InvalidPrice, |p| p >= 0.0)?;
    let params = params(non_null(raw.params.take()), ty)?;
    let client_id = match non_null(raw.id.take()) {
        None => None,
        Some(v) => {
            let id = opaque_id(v, "id")?;
            if id.starts_with(GENERATED_EVENT_ID_PREFIX) {
                return Err(Problem::new(
                    ProblemKind::InvalidId,
                    "id",
                    format!("Invalid id: the prefix {GENERATED_EVENT_ID_PREFIX} is reserved for generated ids"),
                ));
            }
            Some(id)
        }
    };
    let order_id = match non_null(raw.order_id.take()) {
        None => None,
        Some(_) if !amounts => {
            let message = format!("Invalid order_id: {event} events take no order_id (cart and purchase do)");
            return Err(Problem::new(ProblemKind::InvalidId, "order_id", message));
        }
        Some(v) => Some(opaque_id(v, "order_id")?),
    };
    let customer = id_text(raw.customer.take());
    let item = if has_item { Some(id_text(raw.item.take())) } else { None };
    Ok(Event { event, customer, item, ts, quantity, price, params, client_id, order_id })
}

/// Checks an id given as JSON without copying it: a string or an integer, then [`check_opaque_id`].
fn check_id(v: &Value, field: &str) -> Result<(), Problem> {
    match v {
        Value::String(s) => check_opaque_id(s, field),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(()),
        _ => {
            Err(Problem::new(ProblemKind::InvalidId, field, format!("Invalid {field}: must be a string or an integer")))
        }
    }
}

/// The text of an id that passed [`check_id`].
fn id_text(v: Option<Value>) -> String {
    match v {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

fn non_null(v: Option<Value>) -> Option<Value> {
    v.filter(|v| !v.is_null())
}

fn clip(s: &str) -> String {
    if s.len() <= 64 { s.to_string() } else { format!("{}…", &s[..s.floor_char_boundary(64)]) }
}

/// An opaque id given as a string, or as an integer (storefronts often send numeric ids).
fn opaque_id(v: Value, field: &str) -> Result<String, Problem> {
    let s = match v {
        Value::String(s) => s,
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        _ => {
            return Err(Problem::new(
                ProblemKind::InvalidId,
                field,
                format!("Invalid {field}: must be a string or an integer"),
            ));
        }
    };
    check_opaque_id(&s, field)?;
    Ok(s)
}

fn event_date(v: &Value, now_ms: i64) -> Result<i64, Problem> {
    let ms = date::parse_json(v).map_err(|e| {
        let msg = match e {
            DateError::Format => "Timestamp format invalid".to_string(),
            DateError::Range => "Timestamp out of range".to_string(),
        };
        Problem::new(ProblemKind::InvalidDate, "date", msg)
    })?;
    if ms > now_ms.saturating_add(MAX_FUTURE_MS) {
        return Err(Problem::new(
            ProblemKind::InvalidDate,
            "date",
            format!("Timestamp more than 24 hours in the future: {}", date::format_ms(ms)),
        ));
    }
    Ok(ms)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => clip(s),
        other => clip(&other.to_string()),
    }
}

fn amount(
    v: Option<Value>,
    allowed: bool,
    event: &str,
    field: &str,
    kind: ProblemKind,
    ok: impl Fn(f64) -> bool,
) -> Result<Option<f64>, Problem> {
    let Some(v) = non_null(v) else {
        return Ok(None);
    };
    if !allowed {
        return Err(Problem::new(kind, field, format!("Invalid {field}: {event} events take no {field}")));
    }
    // The seed's words for a purchase's price: "Invalid purchase amount: -5".
    let label = if event == crate::catalog::PURCHASE && field == "price" { "purchase amount" } else { field };
    match number(&v) {
        Some(x) if ok(x) => Ok(Some(x)),
        _ => Err(Problem::new(kind, field, format!("Invalid {label}: {}", show(&v)))),
    }
}

fn params(v: Option<Value>, ty: &InteractionType) -> Result<Option<String>, Problem> {
    let given = match v {
        None => serde_json::Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(Problem::new(ProblemKind::InvalidParameter, "params", "Invalid params: must be an object"));
        }
    };
    let mut out: BTreeMap<String, ParamValue> = BTreeMap::new();
    for (key, value) in given {
        let field = format!("params.{key}");
        let declared = if ty.builtin { None } else { ty.parameter(&key) };
        let Some(p) = declared else {
            return Err(Problem::new(
                ProblemKind::UnknownParameter,
                field,
                format!("Unknown parameter: {}", clip(&key)),
            ));
        };
        if value.is_null() {
            continue;
        }
        out.insert(
            key,
            param_value(&value, p.kind, &p.id).map_err(|m| Problem::new(ProblemKind::InvalidParameter, field, m))?,
        );
    }
    if !ty.builtin
        && let Some(p) = ty.parameters.iter().find(|p| p.required && !out.contains_key(&p.id))
    {
        return Err(Problem::missing(format!("params.{}", p.id), &p.id));
    }
    if out.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::to_string(&out).unwrap_or_default()))
}

/// Reads one parameter value of type `kind`; strings are accepted for numbers, dates and yes/no (upload files carry
/// text). The error is the message, in the seed's style ("Invalid number for amount: abc").
pub(crate) fn param_value(v: &Value, kind: ParamType, id: &str) -> Result<ParamValue, String> {
    match kind {
        ParamType::Text => {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err(format!("Invalid text for {id}: must be a string")),
            };
            if s.len() > MAX_TEXT_BYTES {
                return Err(format!("Invalid text for {id}: longer than {MAX_TEXT_BYTES} bytes"));
            }
            Ok(ParamValue::Text(s))
        }
        ParamType::Number => {
            number(v).map(ParamValue::Number).ok_or_else(|| format!("Invalid number for {id}: {}", show(v)))
        }
        ParamType::Date => {
            date::parse_json(v).map(ParamValue::Date).map_err(|_| format!("Invalid date for {id}: {}", show(v)))
        }
        ParamType::Boolean => {
            let b = match v {
                Value::Bool(b) => Some(*b),
                Value::Number(n) => n.as_i64().and_then(|i| [false, true].get(usize::try_from(i).ok()?).copied()),
                Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                    "true" | "yes" | "1" => Some(true),
                    "false" | "no" | "0" => Some(false),
                    _ => None,
                },
                _ => None,
            };
            b.map(ParamValue::Boolean).ok_or_else(|| format!("Invalid yes/no for {id}: {}", show(v)))
        }
        ParamType::Item => opaque_id(v.clone(), id).map(ParamValue::Item).map_err(|p| p.message),
    }
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
