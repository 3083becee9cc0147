//! The item catalog (issue 4): what a merchant sells, with the attributes recommendations filter on.
//!
//! An item is `{"id":"sku-1","title":"Basmati rice 1kg","categories":["grocery","rice"],"price":3.5,
//! "available":true,"properties":{"brand":"Acme","size":"M"}}`. Only `id` is required; `available` defaults to
//! true. Property values are text, number or boolean (a date is text in RFC 3339 or `YYYY-MM-DD` form).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::check_opaque_id;
use crate::problem::{Problem, ProblemKind};

/// Longest title, in bytes.
pub const MAX_TITLE_BYTES: usize = 1024;
/// Most categories per item.
pub const MAX_CATEGORIES: usize = 64;
/// Most properties per item.
pub const MAX_PROPERTIES: usize = 64;
/// Longest text property value, in bytes.
pub const MAX_PROPERTY_BYTES: usize = 1024;

/// One catalog item, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Item {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    /// In the merchant's currency, >= 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// Unavailable items are never recommended.
    pub available: bool,
    /// Text, number or boolean values, by property name.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub properties: BTreeMap<String, Value>,
}

fn invalid(field: &str, message: impl Into<String>) -> Problem {
    Problem::new(ProblemKind::InvalidField, field, message)
}

fn text(v: &Value, field: &str, max: usize) -> Result<String, Problem> {
    match v {
        Value::String(s) if s.len() <= max && !s.chars().any(char::is_control) => Ok(s.clone()),
        Value::String(_) => Err(invalid(field, format!("Invalid {field}: at most {max} bytes, no control characters"))),
        _ => Err(invalid(field, format!("Invalid {field}: expected text"))),
    }
}

/// A property name: 1–64 bytes of letters, digits, `_` and `-`.
fn check_property_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Checks one item of a request body. Errors name the field (`title`, `categories[2]`, `properties.size`).
pub fn validate_item(v: &Value) -> Result<Item, Problem> {
    let Value::Object(o) = v else {
        return Err(Problem {
            kind: ProblemKind::InvalidJson,
            field: None,
            message: "Invalid item: expected an object".into(),
        });
    };
    item_from(o)
}

fn item_from(o: &Map<String, Value>) -> Result<Item, Problem> {
    if let Some(k) =
        o.keys().find(|k| !matches!(k.as_str(), "id" | "title" | "categories" | "price" | "available" | "properties"))
    {
        return Err(Problem::new(ProblemKind::UnknownField, k.clone(), format!("Unknown field: {k}")));
    }
    let id = match o.get("id") {
        None | Some(Value::Null) => return Err(Problem::missing("id", "id")),
        Some(Value::String(s)) => {
            check_opaque_id(s, "id")?;
            s.clone()
        }
        Some(_) => return Err(Problem::new(ProblemKind::InvalidId, "id", "Invalid item id: expected text")),
    };
    let title = match o.get("title") {
        None | Some(Value::Null) => None,
        Some(v) => Some(text(v, "title", MAX_TITLE_BYTES)?),
    };
    let categories = match o.get("categories") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.len() <= MAX_CATEGORIES => a
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let field = format!("categories[{i}]");
                match c {
                    Value::String(s) => check_opaque_id(s, &field).map(|()| s.clone()),
                    _ => Err(invalid(&field, "Invalid category: expected text")),
                }
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(invalid(
                "categories",
                format!("Invalid categories: expected an array of at most {MAX_CATEGORIES} texts"),
            ));
        }
    };
    let price = match o.get("price") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(p) if p.is_finite() && p >= 0.0 => Some(p),
            _ => return Err(Problem::new(ProblemKind::InvalidPrice, "price", format!("Invalid price: {n}"))),
        },
        Some(v) => return Err(Problem::new(ProblemKind::InvalidPrice, "price", format!("Invalid price: {v}"))),
    };
    let available = match o.get("available") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("available", "Invalid available: expected true or false")),
    };
    let properties = match o.get("properties") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(p)) if p.len() <= MAX_PROPERTIES => p
            .iter()
            .map(|(k, v)| {
                let field = format!("properties.{k}");
                if !check_property_name(k) {
                    return Err(invalid(&field, format!("Invalid property name: {k} (1-64 letters, digits, _ or -)")));
                }
                let value = match v {
                    Value::String(_) => Value::String(text(v, &field, MAX_PROPERTY_BYTES)?),
                    Value::Number(_) | Value::Bool(_) => v.clone(),
                    _ => {
                        return Err(invalid(
                            &field,
                            format!("Invalid property {k}: expected text, a number or a boolean"),
                        ));
                    }
                };
                Ok((k.clone(), value))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(invalid(
                "properties",
                format!("Invalid properties: expected an object of at most {MAX_PROPERTIES} entries"),
            ));
        }
    };
    Ok(Item { id, title, categories, price, available, properties })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_full_item_round_trips() {
        let v = json!({"id":"sku-1","title":"Basmati rice 1kg","categories":["grocery","rice"],"price":3.5,
                       "available":false,"properties":{"brand":"Acme","size":"M","organic":true,"weight":1.0}});
        let item = validate_item(&v).unwrap();
        assert_eq!(item.categories, ["grocery", "rice"]);
        assert!(!item.available);
        assert_eq!(serde_json::to_value(&item).unwrap(), v);
    }

    #[test]
    fn only_the_id_is_required() {
        let item = validate_item(&json!({"id":"a"})).unwrap();
        assert!(item.available && item.categories.is_empty() && item.title.is_none());
        assert_eq!(validate_item(&json!({"title":"x"})).unwrap_err().field.as_deref(), Some("id"));
    }

    #[test]
    fn errors_name_the_field() {
        let field = |v: Value| validate_item(&v).unwrap_err().field;
        assert_eq!(field(json!({"id":"a","price":-1})), Some("price".into()));
        assert_eq!(field(json!({"id":"a","categories":["ok", 3]})), Some("categories[1]".into()));
        assert_eq!(field(json!({"id":"a","properties":{"size":{"x":1}}})), Some("properties.size".into()));
        assert_eq!(field(json!({"id":"a","properties":{"bad name":1}})), Some("properties.bad name".into()));
        assert_eq!(field(json!({"id":"a","available":"yes"})), Some("available".into()));
        assert_eq!(field(json!({"id":"a","colour":"red"})), Some("colour".into()));
        assert_eq!(field(json!({"id":""})), Some("id".into()));
        assert_eq!(validate_item(&json!([1])).unwrap_err().kind, ProblemKind::InvalidJson);
    }
}
