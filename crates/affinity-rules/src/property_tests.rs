//! The type checker never accepts a rule the evaluator cannot run: random rule-shaped JSON, built from the rule
//! vocabulary so that many trees are accepted, is checked; every accepted rule is evaluated for every customer of a
//! small project without panicking, and `members` agrees with `is_member`.

use affinity_core::catalog::{InteractionType, ParamType, Parameter, builtins};
use affinity_core::rule::{Context, parse_rule};
use affinity_core::{Event, Item};
use affinity_views::ProjectView;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::Evaluator;

fn types() -> Vec<InteractionType> {
    let mut t = builtins();
    let p = |id: &str, kind| Parameter { id: id.into(), kind, required: false };
    t.push(InteractionType {
        id: "loan".into(),
        name: "Loan".into(),
        parameters: vec![
            p("amount", ParamType::Number),
            p("ok", ParamType::Boolean),
            p("why", ParamType::Text),
            p("when", ParamType::Date),
            p("what", ParamType::Item),
        ],
        builtin: false,
        archived: false,
    });
    t
}

fn view() -> ProjectView {
    let mut v = ProjectView::default();
    v.put_item(Item {
        id: "i1".into(),
        title: Some("Shoe".into()),
        categories: vec!["shoes".into()],
        price: Some(10.0),
        available: true,
        properties: [("size".to_string(), json!("M")), ("weight".to_string(), json!(2))].into_iter().collect(),
    });
    let events = [
        ("view", "a", Some("i1"), None, None),
        ("purchase", "a", Some("i2"), Some(3.0), None),
        (
            "loan",
            "b",
            None,
            None,
            Some(r#"{"amount":5,"ok":true,"why":"car","when":"2026-01-01T00:00:00Z","what":"i1"}"#),
        ),
        ("cart", "c", Some("i1"), Some(1.5), None),
    ];
    for (seq, (kind, customer, item, price, params)) in events.into_iter().enumerate() {
        v.apply(
            seq as u64 + 1,
            &Event {
                event: kind.into(),
                customer: customer.into(),
                item: item.map(Into::into),
                ts: 1_767_000_000_000 + seq as i64 * 3_600_000,
                quantity: price.map(|_| 2.0),
                price,
                params: params.map(Into::into),
                client_id: None,
                order_id: None,
            },
        );
    }
    v
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(5)),
        Just(json!(-1.5)),
        Just(json!("car")),
        Just(json!("M")),
        Just(json!("2026-01-01")),
        Just(json!(true)),
        Just(json!(null)),
        Just(json!([1, 2])),
        Just(json!(["a", "i1"])),
        Just(json!([2, 1])),
        Just(json!({"n":2,"unit":"day"})),
        Just(json!({"n":0,"unit":"year"})),
    ]
}

fn condition(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let ops = prop::sample::select(vec![
        "eq",
        "neq",
        "gt",
        "gte",
        "lt",
        "lte",
        "between",
        "in",
        "not_in",
        "contains",
        "not_contains",
        "starts_with",
        "is_set",
        "is_not_set",
        "before",
        "after",
        "on",
        "within_last",
        "more_than_ago",
        "is_true",
        "is_false",
        "nope",
    ]);
    (prop::sample::select(keys.to_vec()), ops, scalar(), any::<bool>()).prop_map(|(k, op, v, with_value)| {
        let mut c = json!({"op": op});
        c[if k.starts_with('@') { "attr" } else { "param" }] = json!(k.trim_start_matches('@'));
        if with_value {
            c["value"] = v;
        }
        c
    })
}

fn leaf() -> impl Strategy<Value = Value> {
    let interaction = prop::sample::select(vec!["view", "cart", "purchase", "like", "loan", "nothing"]);
    let window = prop_oneof![
        Just(json!(null)),
        Just(json!({"last":{"n":2,"unit":"hour"}})),
        Just(json!({"last":{"n":1,"unit":"month"}})),
        Just(json!({"between":{"from":"2025-12-29","to":"2026-01-02"}})),
        Just(json!({"since":"2025-12-01"})),
        Just(json!({"last":{"n":-1,"unit":"day"}})),
    ];
    let measure = prop_oneof![
        Just(json!(null)),
        Just(json!({"agg":"count"})),
        Just(json!({"agg":"distinct_items"})),
        Just(json!({"agg":"distinct_days"})),
        Just(json!({"agg":"sum","param":"value"})),
        Just(json!({"agg":"avg","param":"amount"})),
        Just(json!({"agg":"min","param":"price"})),
        Just(json!({"agg":"max","param":"quantity"})),
        Just(json!({"agg":"first_at"})),
        Just(json!({"agg":"last_at"})),
        Just(json!({"agg":"sum","param":"why"})),
    ];
    let cmp = prop_oneof![
        Just(json!(null)),
        Just(json!({"op":"eq","value":0})),
        Just(json!({"op":"gte","value":2})),
        Just(json!({"op":"between","value":[1, 10]})),
        Just(json!({"op":"lt","value":"2026-01-01"})),
        Just(json!({"op":"gt"})),
    ];
    let params =
        prop::collection::vec(condition(&["amount", "ok", "why", "when", "what", "price", "quantity", "x"]), 0..2);
    let items = prop::collection::vec(
        condition(&["@category", "@price", "@title", "@available", "@id", "@size", "@weight"]),
        0..3,
    );
    (interaction, window, measure, cmp, params, items).prop_map(|(i, w, m, c, p, it)| {
        let mut l = json!({"interaction": i});
        for (k, v) in [("window", w), ("measure", m), ("cmp", c)] {
            if !v.is_null() {
                l[k] = v;
            }
        }
        if !p.is_empty() {
            l["where"] = Value::Array(p);
        }
        if !it.is_empty() {
            l["item"] = Value::Array(it);
        }
        l
    })
}

fn rule() -> impl Strategy<Value = Value> {
    let base =
        prop_oneof![4 => leaf(), 1 => Just(json!({"audience":"known"})), 1 => Just(json!({"audience":"unknown"}))];
    base.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| json!({"all": v})),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| json!({"any": v})),
            inner.prop_map(|r| json!({"not": r})),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn accepted_rules_always_evaluate(raw in rule()) {
        let types = types();
        let references = |id: &str| (id == "known").then(Vec::new);
        let cx = Context { types: &types, references: &references, saving: None, targeting: false };
        if let Ok(rule) = parse_rule(&raw, &cx, "rule") {
            let view = view();
            let known = parse_rule(&json!({"interaction":"view"}), &cx, "rule").expect("a valid rule");
            let audiences = move |id: &str| (id == "known").then(|| known.clone());
            let e = Evaluator::new(&view, 1_767_100_000_000, &audiences);
            let members = e.members(&rule);
            for c in 0..view.customers_len() as u32 {
                prop_assert_eq!(members.contains(&c), e.is_member(&rule, view.customer_name(c)));
            }
        }
    }
}
