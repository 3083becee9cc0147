//! The examples on hand-made histories, with the clock passed in (no sleeps).

use affinity_core::catalog::{InteractionType, ParamType, Parameter, builtins};
use affinity_core::rule::{Context, Rule, parse_rule};
use affinity_core::{Event, Item};
use affinity_views::ProjectView;
use serde_json::{Value, json};

use super::*;

const NOW: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const MIN: i64 = 60_000;

fn types() -> Vec<InteractionType> {
    let mut t = builtins();
    let p = |id: &str, kind| Parameter { id: id.into(), kind, required: false };
    t.push(InteractionType {
        id: "loan_application".into(),
        name: "Applied for a loan".into(),
        parameters: vec![
            p("amount", ParamType::Number),
            p("approved", ParamType::Boolean),
            p("product", ParamType::Item),
        ],
        builtin: false,
        archived: false,
    });
    t
}

fn rule(v: Value) -> Rule {
    let types = types();
    let refs = |id: &str| matches!(id, "a" | "b").then(Vec::new);
    parse_rule(&v, &Context { types: &types, references: &refs, saving: None, targeting: false }, "rule")
        .expect("a valid rule")
}

struct Shop {
    view: ProjectView,
    seq: u64,
}

impl Shop {
    fn new() -> Shop {
        let mut view = ProjectView::default();
        for (id, cats, size, brand) in
            [("shoe-1", "shoes", "M", "Nike"), ("shoe-2", "shoes", "L", "Nike"), ("hat", "hats", "M", "Acme")]
        {
            view.put_item(Item {
                id: id.into(),
                title: None,
                categories: vec![cats.into()],
                price: Some(50.0),
                available: true,
                properties: [("size".to_string(), json!(size)), ("brand".to_string(), json!(brand))]
                    .into_iter()
                    .collect(),
            });
        }
        Shop { view, seq: 0 }
    }

    fn add(
        &mut self,
        kind: &str,
        customer: &str,
        item: Option<&str>,
        ago_ms: i64,
        price: Option<f64>,
        params: Option<Value>,
    ) {
        self.seq += 1;
        let e = Event {
            event: kind.into(),
            customer: customer.into(),
            item: item.map(Into::into),
            ts: NOW - ago_ms,
            quantity: None,
            price,
            params: params.map(|p| p.to_string()),
            client_id: None,
            order_id: None,
        };
        self.view.apply(self.seq, &e);
    }

    fn members(&self, r: &Rule) -> Vec<String> {
        self.members_at(r, NOW)
    }

    fn members_at(&self, r: &Rule, now: i64) -> Vec<String> {
        let audiences = |id: &str| match id {
            "a" => Some(rule(json!({"interaction":"view"}))),
            "b" => Some(rule(json!({"interaction":"purchase"}))),
            _ => None,
        };
        let e = Evaluator::new(&self.view, now, &audiences);
        let mut m: Vec<String> = e.members(r).into_iter().map(|c| self.view.customer_name(c).to_string()).collect();
        m.sort();
        m
    }
}

const DAY: i64 = 86_400_000;

#[test]
fn loans_in_the_last_two_months_with_amount_and_approval() {
    let mut s = Shop::new();
    s.add("loan_application", "recent", None, 10 * DAY, None, Some(json!({"amount":6000,"approved":true})));
    s.add("loan_application", "small", None, 10 * DAY, None, Some(json!({"amount":100,"approved":true})));
    s.add("loan_application", "old", None, 61 * DAY, None, Some(json!({"amount":9000,"approved":true})));
    s.add("loan_application", "refused", None, DAY, None, Some(json!({"amount":9000,"approved":false})));
    s.add("view", "never", Some("hat"), DAY, None, None);
    let two_months = rule(json!({"interaction":"loan_application","window":{"last":{"n":2,"unit":"month"}}}));
    assert_eq!(s.members(&two_months), ["recent", "refused", "small"]);
    let big = rule(json!({"interaction":"loan_application","where":[
        {"param":"amount","op":"gte","value":5000},{"param":"approved","op":"is_true"}]}));
    assert_eq!(s.members(&big), ["old", "recent"]);
    let never = rule(json!({"interaction":"loan_application","cmp":{"op":"eq","value":0}}));
    assert_eq!(s.members(&never), ["never"], "did not do X: exact, known customers only");
    // Expiry with no new event: 50 days on, "recent" and "small" are out of the window; "refused" stays.
    assert_eq!(s.members_at(&two_months, NOW + 51 * DAY), ["refused"]);
}

#[test]
fn catalog_conditions_counts_and_distinct_items() {
    let mut s = Shop::new();
    for i in 0..10 {
        s.add("view", "fan", Some(if i % 2 == 0 { "shoe-1" } else { "shoe-2" }), i * DAY, None, None);
    }
    for i in 0..9 {
        s.add("view", "almost", Some("shoe-1"), i * DAY, None, None);
    }
    s.add("view", "almost", Some("shoe-1"), 31 * DAY, None, None);
    let nike = rule(json!({"interaction":"view","item":[{"attr":"brand","op":"eq","value":"Nike"}],
                           "window":{"last":{"n":30,"unit":"day"}},"cmp":{"op":"gte","value":10}}));
    assert_eq!(s.members(&nike), ["fan"]);
    s.add("cart", "two", Some("shoe-1"), DAY, None, None);
    s.add("cart", "two", Some("shoe-2"), DAY, None, None);
    s.add("cart", "one", Some("shoe-1"), DAY, None, None);
    s.add("cart", "one", Some("shoe-1"), 2 * DAY, None, None);
    s.add("cart", "one", Some("hat"), DAY, None, None);
    let shoes = rule(json!({"interaction":"cart","item":[{"attr":"category","op":"in","value":["shoes"]}],
                            "window":{"last":{"n":30,"unit":"day"}},"measure":{"agg":"distinct_items"},"cmp":{"op":"gte","value":2}}));
    assert_eq!(s.members(&shoes), ["two"]);
    for (who, n) in [("m3", 3), ("m2", 2)] {
        for i in 0..n {
            s.add("purchase", who, Some("hat"), i * DAY, Some(10.0), None);
        }
    }
    s.add("purchase", "m2", Some("shoe-2"), DAY, Some(10.0), None);
    let size_m = rule(
        json!({"interaction":"purchase","item":[{"attr":"size","op":"eq","value":"M"}],"cmp":{"op":"gte","value":3}}),
    );
    assert_eq!(s.members(&size_m), ["m3"]);
}

#[test]
fn values_windows_at_their_edges_and_abandoned_carts() {
    let mut s = Shop::new();
    s.add("purchase", "big", Some("hat"), 10 * DAY, Some(300.0), None);
    s.add("purchase", "big", Some("hat"), 89 * DAY, Some(200.0), None);
    s.add("purchase", "late", Some("hat"), 10 * DAY, Some(300.0), None);
    s.add("purchase", "late", Some("hat"), 91 * DAY, Some(200.0), None);
    let value = rule(json!({"interaction":"purchase","window":{"last":{"n":90,"unit":"day"}},
                            "measure":{"agg":"sum","param":"value"},"cmp":{"op":"gte","value":500}}));
    assert_eq!(s.members(&value), ["big"]);
    // An event exactly at the window's start counts; a millisecond earlier does not.
    s.add("view", "edge", Some("hat"), 7 * DAY, None, None);
    s.add("view", "outside", Some("hat"), 7 * DAY + 1, None, None);
    let week = rule(json!({"interaction":"view","window":{"last":{"n":1,"unit":"week"}}}));
    assert_eq!(s.members(&week), ["edge"]);
    for i in 0..5 {
        s.add("purchase", "five", Some("hat"), i * DAY, Some(1.0), None);
    }
    let more_than_4 =
        rule(json!({"interaction":"purchase","window":{"last":{"n":3,"unit":"week"}},"cmp":{"op":"gt","value":4}}));
    assert_eq!(s.members(&more_than_4), ["five"]);
    s.add("cart", "abandoned", Some("hat"), 10 * MIN, None, None);
    s.add("cart", "bought", Some("hat"), 10 * MIN, None, None);
    s.add("purchase", "bought", Some("hat"), 5 * MIN, Some(1.0), None);
    let abandoned = rule(json!({"all":[
        {"interaction":"cart","window":{"last":{"n":30,"unit":"minute"}}},
        {"interaction":"purchase","window":{"last":{"n":30,"unit":"minute"}},"cmp":{"op":"eq","value":0}}]}));
    assert_eq!(s.members(&abandoned), ["abandoned"]);
    assert_eq!(s.members_at(&abandoned, NOW + 30 * MIN), Vec::<String>::new(), "the cart aged out");
}

#[test]
fn audiences_nest_and_negate() {
    let mut s = Shop::new();
    s.add("view", "viewer", Some("hat"), DAY, None, None);
    s.add("view", "buyer", Some("hat"), DAY, None, None);
    s.add("purchase", "buyer", Some("hat"), DAY, Some(1.0), None);
    s.add("purchase", "only_buyer", Some("hat"), DAY, Some(1.0), None);
    let a_not_b = rule(json!({"all":[{"audience":"a"},{"not":{"audience":"b"}}]}));
    assert_eq!(s.members(&a_not_b), ["viewer"]);
    let top_not = rule(json!({"not":{"audience":"a"}}));
    assert_eq!(s.members(&top_not), ["only_buyer"]);
    let any = rule(json!({"any":[{"audience":"a"},{"audience":"b"}]}));
    assert_eq!(s.members(&any).len(), 3);
    let e = Evaluator::new(&s.view, NOW, &|_: &str| None);
    assert!(
        !e.is_member(&rule(json!({"interaction":"view","cmp":{"op":"eq","value":0}})), "stranger"),
        "unknown customers are in nothing"
    );
}

#[test]
fn every_value_test_on_present_and_absent_values() {
    use affinity_core::rule::{Cmp, ValueTest as T};
    let d = |s: &str| affinity_core::date::parse_text(s).unwrap();
    let day = json!("2025-12-31T10:00:00Z"); // 14 h before NOW
    let cases: Vec<(T, Value, bool)> = vec![
        (T::IsSet, json!(1), true),
        (T::IsNotSet, json!(1), false),
        (T::TextEq("car".into()), json!("car"), true),
        (T::TextNeq("car".into()), json!("car"), false),
        (T::TextIn(vec!["a".into(), "car".into()]), json!("car"), true),
        (T::TextNotIn(vec!["car".into()]), json!("car"), false),
        (T::Contains("ar".into()), json!("car"), true),
        (T::NotContains("ar".into()), json!("car"), false),
        (T::StartsWith("ca".into()), json!("car"), true),
        (T::StartsWith("ar".into()), json!("car"), false),
        (T::Number(Cmp::Gte(5.0)), json!(5), true),
        (T::Number(Cmp::Gt(5.0)), json!(5), false),
        (T::Number(Cmp::Between(1.0, 5.0)), json!(5), true),
        (T::Number(Cmp::Neq(5.0)), json!(5), false),
        (T::NumberIn(vec![1.0, 5.0]), json!(5), true),
        (T::Number(Cmp::Eq(5.0)), json!("5"), false),
        (T::Before(d("2026-01-01")), day.clone(), true),
        (T::After(d("2026-01-01")), day.clone(), false),
        (T::On(d("2025-12-31")), day.clone(), true),
        (T::On(d("2026-01-01")), day.clone(), false),
        (T::DateBetween(d("2025-12-01"), d("2026-01-01")), day.clone(), true),
        (T::WithinLast(DAY), day.clone(), true),
        (T::WithinLast(DAY / 2), day.clone(), false),
        (T::MoreThanAgo(DAY / 2), day.clone(), true),
        (T::MoreThanAgo(DAY), day, false),
        (T::IsTrue, json!(true), true),
        (T::IsFalse, json!(true), false),
        (T::IsTrue, json!("true"), false),
    ];
    for (t, v, want) in cases {
        assert_eq!(test(&t, Some(&v), NOW), want, "{t:?} on {v}");
    }
    // An absent value passes is_not_set and the negative tests only.
    for (t, want) in [
        (T::IsNotSet, true),
        (T::TextNeq("x".into()), true),
        (T::TextNotIn(vec!["x".into()]), true),
        (T::NotContains("x".into()), true),
        (T::IsSet, false),
        (T::TextEq("x".into()), false),
        (T::Number(Cmp::Lt(1.0)), false),
        (T::IsFalse, false),
        (T::WithinLast(DAY), false),
    ] {
        assert_eq!(test(&t, None, NOW), want, "{t:?} on nothing");
    }
}

#[test]
fn custom_sums_future_events_and_deep_references() {
    let mut s = Shop::new();
    s.add("loan_application", "rich", None, DAY, None, Some(json!({"amount":3000})));
    s.add("loan_application", "rich", None, 2 * DAY, None, Some(json!({"amount":2500})));
    s.add("loan_application", "poor", None, DAY, None, Some(json!({"amount":100})));
    let total = rule(
        json!({"interaction":"loan_application","measure":{"agg":"sum","param":"amount"},"cmp":{"op":"gte","value":5000}}),
    );
    assert_eq!(s.members(&total), ["rich"], "a sum of a custom parameter, with no where clause");
    // An event dated ahead (ingest accepts up to 24 h) is not "in the last 30 minutes" yet.
    s.add("cart", "ahead", Some("hat"), -20 * 60 * MIN, None, None);
    let recent = rule(json!({"interaction":"cart","window":{"last":{"n":30,"unit":"minute"}}}));
    assert_eq!(s.members(&recent), Vec::<String>::new());
    // a20 = all(a19, a19), …, a0 = any view: each audience is evaluated once, not 2^20 times.
    let deep = |id: &str| -> Option<Rule> {
        let k: u32 = id.strip_prefix('a')?.parse().ok()?;
        let types = types();
        let refs = |_: &str| Some(Vec::new());
        let cx = Context { types: &types, references: &refs, saving: None, targeting: false };
        let raw = if k == 0 {
            json!({"interaction":"view"})
        } else {
            json!({"all":[{"audience":format!("a{}", k - 1)},{"audience":format!("a{}", k - 1)}]})
        };
        parse_rule(&raw, &cx, "rule").ok()
    };
    s.add("view", "viewer", Some("hat"), DAY, None, None);
    let e = Evaluator::new(&s.view, NOW, &deep);
    let top = Rule::Audience("a20".into());
    let members: Vec<&str> = e.members(&top).into_iter().map(|c| s.view.customer_name(c)).collect();
    assert_eq!(members, ["viewer"]);
    assert!(e.is_member(&top, "viewer") && !e.is_member(&top, "rich"));
}

#[test]
fn item_parameters_meet_item_conditions() {
    let mut s = Shop::new();
    s.add("loan_application", "shoe_loan", None, DAY, None, Some(json!({"amount":100,"product":"shoe-1"})));
    s.add("loan_application", "hat_loan", None, DAY, None, Some(json!({"amount":100,"product":"hat"})));
    s.add("loan_application", "unknown_item", None, DAY, None, Some(json!({"amount":100,"product":"nothing"})));
    s.add("loan_application", "no_item", None, DAY, None, Some(json!({"amount":100})));
    let shoes = rule(json!({"interaction":"loan_application","where":[
        {"param":"product","item":[{"attr":"category","op":"in","value":["shoes"]},{"attr":"brand","op":"eq","value":"Nike"}]}]}));
    assert_eq!(s.members(&shoes), ["shoe_loan"]);
    let types = types();
    let refs = |_: &str| None;
    let cx = Context { types: &types, references: &refs, saving: None, targeting: false };
    let refused = |v: Value| parse_rule(&v, &cx, "rule").unwrap_err().reason;
    assert!(
        refused(json!({"interaction":"loan_application","where":[{"param":"amount","item":[]}]}))
            .contains("item parameters")
    );
    assert!(
        refused(
            json!({"interaction":"loan_application","where":[{"param":"product","op":"in","value":["x"],"item":[]}]})
        )
        .contains("not both")
    );
}

/// Fractional quantities compare as sent: `quantity eq 1.1` holds for an event stored with quantity 1.1 (an f32
/// would hold 1.10000002), and value sums use it unrounded.
#[test]
fn fractional_quantities_compare_exactly() {
    let mut shop = Shop::new();
    for (customer, quantity) in [("a", 1.1), ("b", 1.100_000_1), ("c", 0.3)] {
        shop.seq += 1;
        let e = Event {
            event: "purchase".into(),
            customer: customer.into(),
            item: Some("hat".into()),
            ts: NOW - MIN,
            quantity: Some(quantity),
            price: Some(10.0),
            params: None,
            client_id: None,
            order_id: None,
        };
        shop.view.apply(shop.seq, &e);
    }
    let eq = rule(json!({"interaction":"purchase","where":[{"param":"quantity","op":"eq","value":1.1}]}));
    assert_eq!(shop.members(&eq), ["a"]);
    let small = rule(json!({"interaction":"purchase","where":[{"param":"quantity","op":"lte","value":0.3}]}));
    assert_eq!(shop.members(&small), ["c"]);
    let value =
        rule(json!({"interaction":"purchase","measure":{"agg":"sum","param":"value"},"cmp":{"op":"eq","value":3.0}}));
    assert_eq!(shop.members(&value), ["c"], "10 × 0.3 is exactly 3 in f64");
}
