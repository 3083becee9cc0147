//! Recommendation widgets inlined in a targeting decision: an experience's payload may hold a `recommendations`
//! query, answered with the same functions as the recommendation routes.

use affinity_core::Settings;
use affinity_views::ProjectView;
use serde_json::{Map, Value};

use super::Serving;
use super::answer::{RecommendQuery, for_customer, for_item, popular};

/// Answers `payload`'s `recommendations` object in place, if it has one:
/// `{"for":"customer"|"item"|"popular","n":…,"item":…,"category":…,"kind":…,"window":…}` gains `items` (the
/// answer's items), or `error` (why the query could not be answered). `for: "customer"` needs `customer` (else
/// popular items are answered); `for: "item"` takes `item`, else the context's `item`.
pub fn inline_recommendations(
    view: &ProjectView,
    model: Option<&Serving>,
    settings: &Settings,
    customer: Option<&str>,
    context: &Map<String, Value>,
    payload: &mut Value,
) {
    let Some(Value::Object(spec)) = payload.get_mut("recommendations") else { return };
    let text = |k: &str| spec.get(k).and_then(Value::as_str).map(String::from);
    let query = RecommendQuery {
        n: spec.get("n").and_then(Value::as_u64).map(|n| n as usize),
        category: text("category"),
        exclude: None,
        kind: text("kind"),
        window: text("window"),
        placement: text("placement"),
    };
    let answer = match (text("for").as_deref(), customer) {
        (Some("customer"), Some(c)) => for_customer(view, model, settings, c, &query).map_err(|e| e.to_string()),
        (Some("item"), _) => {
            match text("item").or_else(|| context.get("item").and_then(Value::as_str).map(String::from)) {
                Some(i) => for_item(view, model, &i, &query).map_err(|e| e.to_string()),
                None => Err("no item in the query or the context".to_string()),
            }
        }
        _ => popular(view, model, &query).map_err(|e| e.to_string()),
    };
    match answer {
        Ok(r) => match crate::serve::answer::stamp(r, query.placement.as_deref()) {
            Ok(r) => {
                spec.insert("recommendation_id".into(), Value::from(r.recommendation_id));
                spec.insert("items".into(), serde_json::to_value(&r.items).unwrap_or(Value::Null))
            }
            Err(e) => spec.insert("error".into(), Value::from(e.to_string())),
        },
        Err(message) => spec.insert("error".into(), Value::from(message)),
    };
}
