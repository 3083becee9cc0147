//! Item catalog files (issue 4, `?kind=items`): a CSV with an `id` column and optionally `title`, `categories`
//! (separated by `|`), `price` and `available` (`true`/`false`, `yes`/`no`, `1`/`0`); every other column becomes a
//! text property. Each row becomes the JSON object [`affinity_core::item::validate_item`] checks, so a row and a
//! `PUT …/items` element follow one set of rules.

use csv::ByteRecord;
use serde_json::{Map, Value};

/// Reads a row of an item file with header `names` as an item object; errors are the seed-style row errors
/// ("Row has 3 fields, header has 5", "Invalid UTF-8").
pub fn item_row(names: &[String], record: &ByteRecord) -> Result<Value, crate::RowError> {
    read_item(names, record).map_err(crate::RowError)
}

fn read_item(names: &[String], record: &ByteRecord) -> Result<Value, String> {
    if record.len() != names.len() {
        return Err(format!("Row has {} fields, header has {}", record.len(), names.len()));
    }
    let mut item = Map::new();
    let mut properties = Map::new();
    for (name, raw) in names.iter().zip(record.iter()) {
        let text = std::str::from_utf8(raw).map_err(|_| "Invalid UTF-8".to_string())?.trim();
        if text.is_empty() {
            continue;
        }
        let value = match name.to_ascii_lowercase().as_str() {
            "id" | "item_id" | "item" => ("id", Value::from(text)),
            "title" | "name" => ("title", Value::from(text)),
            "categories" | "category" => {
                let list: Vec<Value> =
                    text.split('|').map(str::trim).filter(|c| !c.is_empty()).map(Value::from).collect();
                ("categories", Value::Array(list))
            }
            // A number when it reads as one; otherwise the text, which the validator refuses by name.
            "price" => (
                "price",
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::from(text), Value::Number),
            ),
            "available" => (
                "available",
                match text.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "1" => Value::Bool(true),
                    "false" | "no" | "0" => Value::Bool(false),
                    _ => Value::from(text),
                },
            ),
            _ => {
                properties.insert(name.clone(), Value::from(text));
                continue;
            }
        };
        item.insert(value.0.to_string(), value.1);
    }
    if !properties.is_empty() {
        item.insert("properties".into(), Value::Object(properties));
    }
    Ok(Value::Object(item))
}

/// Whether the header has an id column.
pub fn has_id_column(names: &[String]) -> bool {
    names.iter().any(|n| matches!(n.to_ascii_lowercase().as_str(), "id" | "item_id" | "item"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn columns_map_to_the_item_fields() {
        let h = names(&["id", "title", "categories", "price", "available", "brand"]);
        let row = ByteRecord::from(vec!["sku-1", "Rice", "grocery| rice", "3.5", "no", "Acme"]);
        assert_eq!(
            item_row(&h, &row).unwrap(),
            json!({"id":"sku-1","title":"Rice","categories":["grocery","rice"],"price":3.5,"available":false,
                   "properties":{"brand":"Acme"}})
        );
        let sparse = ByteRecord::from(vec!["sku-2", "", "", "", "", ""]);
        assert_eq!(item_row(&h, &sparse).unwrap(), json!({"id":"sku-2"}));
        let bad_price = ByteRecord::from(vec!["sku-3", "", "", "cheap", "", ""]);
        assert_eq!(item_row(&h, &bad_price).unwrap()["price"], "cheap", "left for the validator to refuse");
        let short = ByteRecord::from(vec!["sku-4"]);
        assert_eq!(item_row(&h, &short).unwrap_err().0, "Row has 1 fields, header has 6");
        assert!(has_id_column(&h) && !has_id_column(&names(&["sku"])));
    }
}
