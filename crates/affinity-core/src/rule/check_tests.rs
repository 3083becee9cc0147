use serde_json::{Value, json};

use super::*;
use crate::catalog::{Parameter, builtins};

fn types() -> Vec<InteractionType> {
    let mut t = builtins();
    let p = |id: &str, kind| Parameter { id: id.into(), kind, required: false };
    t.push(InteractionType {
        id: "loan_application".into(),
        name: "Applied for a loan".into(),
        parameters: vec![
            p("amount", ParamType::Number),
            p("approved", ParamType::Boolean),
            p("purpose", ParamType::Text),
            p("decided_on", ParamType::Date),
            p("product", ParamType::Item),
        ],
        builtin: false,
        archived: false,
    });
    t
}

/// Audiences "a" (refers to nothing), "b" (refers to "c"), "c" (refers to "saving").
fn references(id: &str) -> Option<Vec<String>> {
    match id {
        "a" => Some(vec![]),
        "b" => Some(vec!["c".into()]),
        "c" => Some(vec!["saving".into()]),
        _ => None,
    }
}

fn check(rule: Value) -> Result<Rule, RuleError> {
    let types = types();
    let cx = Context { types: &types, references: &references, saving: Some("saving"), targeting: false };
    parse_rule(&rule, &cx, "rule")
}

fn error(rule: Value) -> String {
    check(rule).expect_err("refused").to_string()
}

#[test]
fn the_issue_examples_are_accepted_and_typed() {
    let loan = check(json!({"interaction":"loan_application","window":{"last":{"n":2,"unit":"month"}}})).unwrap();
    let Rule::Interaction(leaf) = loan else { panic!("a leaf") };
    assert_eq!(
        (leaf.window, leaf.measure.clone(), leaf.cmp),
        (Window::Last { ms: 60 * 86_400_000 }, Measure::Count, Cmp::Gte(1.0))
    );
    let abandoned = json!({"all":[
        {"interaction":"cart","window":{"last":{"n":30,"unit":"minute"}}},
        {"interaction":"purchase","window":{"last":{"n":30,"unit":"minute"}},"measure":{"agg":"count"},"cmp":{"op":"eq","value":0}}
    ]});
    assert!(matches!(check(abandoned).unwrap(), Rule::All(r) if r.len() == 2));
    let nike = json!({"interaction":"view","item":[{"attr":"brand","op":"eq","value":"Nike"}],
                      "window":{"last":{"n":30,"unit":"day"}},"cmp":{"op":"gte","value":10}});
    let Rule::Interaction(leaf) = check(nike).unwrap() else { panic!("a leaf") };
    assert_eq!(
        leaf.item,
        [ItemCond { attr: ItemAttr::Property("brand".into()), test: ValueTest::TextEq("Nike".into()) }]
    );
    let shoes = json!({"interaction":"cart","item":[{"attr":"category","op":"in","value":["shoes"]}],
                       "measure":{"agg":"distinct_items"},"cmp":{"op":"gte","value":2}});
    assert!(check(shoes).is_ok());
    let value = json!({"interaction":"purchase","window":{"last":{"n":90,"unit":"day"}},
                       "measure":{"agg":"sum","param":"value"},"cmp":{"op":"gte","value":500}});
    let Rule::Interaction(leaf) = check(value).unwrap() else { panic!("a leaf") };
    assert_eq!(leaf.measure, Measure::Sum(Quantity::Value));
    let big_loan = json!({"interaction":"loan_application","where":[
        {"param":"amount","op":"gte","value":5000},{"param":"approved","op":"is_true"}]});
    let Rule::Interaction(leaf) = check(big_loan).unwrap() else { panic!("a leaf") };
    assert_eq!(leaf.params[1].test, ValueTest::IsTrue);
    assert!(check(json!({"all":[{"audience":"a"},{"not":{"audience":"b2"}}]})).is_err(), "unknown audience");
    assert!(check(json!({"not":{"all":[{"audience":"a"},{"not":{"interaction":"view"}}]}})).is_ok(), "top-level not");
}

#[test]
fn errors_name_the_node_and_the_reason() {
    assert_eq!(
        error(json!({"all":[{"interaction":"loan_application","where":[
            {"param":"amount","op":"gte","value":1},{"param":"amount","op":"contains","value":"5"}]}]})),
        "rule.all[0].where[1]: operator \"contains\" does not apply to number parameter \"amount\" \
         (operators: eq, neq, gt, gte, lt, lte, between, in, is_set, is_not_set)"
    );
    assert_eq!(error(json!({"interaction":"loan"})), "rule.interaction: unknown interaction type \"loan\"");
    assert!(
        error(json!({"interaction":"loan_application","where":[{"param":"colour","op":"eq","value":"x"}]}))
            .starts_with("rule.where[0]: unknown parameter \"colour\"")
    );
    assert!(
        error(json!({"interaction":"loan_application","where":[{"param":"amount","op":"gte","value":"big"}]}))
            .contains("needs a number")
    );
    assert!(
        error(json!({"interaction":"view","measure":{"agg":"sum","param":"value"}}))
            .contains("needs an interaction type with prices")
    );
    assert!(
        error(json!({"interaction":"loan_application","measure":{"agg":"sum","param":"purpose"}}))
            .contains("needs a number parameter")
    );
    assert!(error(json!({"interaction":"view","cmp":{"op":"gte"}})).starts_with("rule.cmp:"));
    assert!(
        error(json!({"interaction":"view","window":{"last":{"n":2,"unit":"fortnight"}}}))
            .starts_with("rule.window.last:")
    );
    assert!(error(json!({"any":[]})).starts_with("rule.any:"));
    assert!(error(json!({"interaction":"view","whre":[]})).contains("unknown field \"whre\""));
    assert!(
        error(json!({"interaction":"loan_application","where":[{"param":"approved","op":"is_true","value":1}]}))
            .contains("takes no value")
    );
}

#[test]
fn cycles_are_refused() {
    assert_eq!(error(json!({"audience":"saving"})), "rule.audience: audience \"saving\" refers to itself");
    assert!(error(json!({"any":[{"audience":"a"},{"audience":"b"}]})).contains("a cycle"), "b -> c -> saving");
    let types = types();
    let cx = Context { types: &types, references: &references, saving: Some("other"), targeting: false };
    assert!(parse_rule(&json!({"audience":"b"}), &cx, "rule").is_ok(), "no cycle for another audience");
}

#[test]
fn every_operator_on_every_type() {
    let ok = |param: &str, op: &str, value: Value| {
        let mut c = json!({"param":param,"op":op});
        if !value.is_null() {
            c["value"] = value;
        }
        check(json!({"interaction":"loan_application","where":[c]})).map(|_| ())
    };
    for (op, v) in [
        ("eq", json!("car")),
        ("neq", json!("car")),
        ("in", json!(["car"])),
        ("not_in", json!(["a", "b"])),
        ("contains", json!("ca")),
        ("not_contains", json!("x")),
        ("starts_with", json!("c")),
        ("is_set", Value::Null),
        ("is_not_set", Value::Null),
    ] {
        assert!(ok("purpose", op, v).is_ok(), "text {op}");
    }
    for (op, v) in [
        ("eq", json!(1)),
        ("neq", json!(1)),
        ("gt", json!(1)),
        ("gte", json!(1.5)),
        ("lt", json!(1)),
        ("lte", json!(1)),
        ("between", json!([1, 2])),
        ("in", json!([1, 2])),
        ("is_set", Value::Null),
        ("is_not_set", Value::Null),
    ] {
        assert!(ok("amount", op, v).is_ok(), "number {op}");
    }
    for (op, v) in [
        ("before", json!("2026-01-01")),
        ("after", json!("2026-01-01T10:00:00Z")),
        ("on", json!("2026-01-01")),
        ("between", json!(["2026-01-01", "2026-02-01"])),
        ("within_last", json!({"n":2,"unit":"week"})),
        ("more_than_ago", json!({"n":1,"unit":"hour"})),
        ("is_set", Value::Null),
    ] {
        assert!(ok("decided_on", op, v).is_ok(), "date {op}");
    }
    for op in ["is_true", "is_false", "is_set"] {
        assert!(ok("approved", op, Value::Null).is_ok(), "boolean {op}");
    }
    for (op, v) in [("in", json!(["sku-1"])), ("not_in", json!(["sku-1"])), ("is_set", Value::Null)] {
        assert!(ok("product", op, v).is_ok(), "item {op}");
    }
    // And the wrong ones.
    assert!(ok("approved", "eq", json!(true)).is_err());
    assert!(ok("decided_on", "gt", json!(1)).is_err());
    assert!(ok("purpose", "between", json!(["a", "b"])).is_err());
    assert!(ok("product", "contains", json!("x")).is_err());
    assert!(ok("amount", "between", json!([2, 1])).is_err(), "low > high");
    assert!(ok("decided_on", "before", json!("not a date")).is_err());
}
