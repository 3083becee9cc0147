use super::*;
use crate::catalog::{Parameter, builtins};
use proptest::prelude::*;
use serde_json::json;

const NOW: i64 = 1_763_632_800_000; // 2025-11-20T10:00:00Z

fn catalog() -> Vec<InteractionType> {
    let mut types = builtins();
    let p = |id: &str, kind, required| Parameter { id: id.into(), kind, required };
    types.push(InteractionType {
        id: "loan_application".into(),
        name: "Loan application".into(),
        parameters: vec![
            p("amount", ParamType::Number, true),
            p("product", ParamType::Item, false),
            p("approved", ParamType::Boolean, false),
            p("due", ParamType::Date, false),
            p("channel", ParamType::Text, false),
        ],
        builtin: false,
        archived: false,
    });
    types.push(InteractionType {
        id: "old".into(),
        name: "Old".into(),
        parameters: vec![],
        builtin: false,
        archived: true,
    });
    types
}

fn shared_catalog() -> &'static [InteractionType] {
    static CATALOG: std::sync::OnceLock<Vec<InteractionType>> = std::sync::OnceLock::new();
    CATALOG.get_or_init(catalog)
}

fn check(v: Value) -> Result<Event, Problem> {
    let types = shared_catalog();
    let raw: RawEvent = serde_json::from_value(v).expect("object");
    validate(raw, types, NOW)
}

fn kind(v: Value) -> (ProblemKind, String) {
    let p = check(v).expect_err("refused");
    (p.kind, p.field.unwrap_or_default())
}

#[test]
fn the_seed_example() {
    let e = check(json!({"event":"view","item":"sku-1","customer":"u-42","date":"2025-11-20T10:00:00Z"})).unwrap();
    assert_eq!(
        e,
        Event {
            event: "view".into(),
            customer: "u-42".into(),
            item: Some("sku-1".into()),
            ts: NOW,
            quantity: None,
            price: None,
            params: None,
            client_id: None,
            order_id: None,
        }
    );
}

#[test]
fn purchases_with_amounts_and_numeric_ids() {
    let e =
        check(json!({"event":"purchase","item":123,"customer":"u","date":NOW,"quantity":2,"price":"9.5","id":"o-1"}))
            .unwrap();
    assert_eq!(
        (e.item.as_deref(), e.quantity, e.price, e.client_id.as_deref()),
        (Some("123"), Some(2.0), Some(9.5), Some("o-1"))
    );
}

#[test]
fn custom_parameters_are_typed_and_canonical() {
    let e = check(json!({"event":"loan_application","customer":"u","date":"2025-11-01",
        "params":{"channel":"web","amount":"5000","approved":"yes","due":"2026-01-01","product":"p-1"}}))
    .unwrap();
    assert_eq!(e.item, None);
    assert_eq!(
        e.params.as_deref(),
        Some(r#"{"amount":5000.0,"approved":true,"channel":"web","due":"2026-01-01T00:00:00Z","product":"p-1"}"#)
    );
}

#[test]
fn every_refusal_names_its_field() {
    use ProblemKind::*;
    let base = || json!({"event":"purchase","item":"i","customer":"u","date":NOW});
    let with = |k: &str, v: Value| {
        let mut b = base();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = base();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    assert_eq!(kind(without("item")), (MissingField, "item".into()));
    assert_eq!(kind(without("customer")), (MissingField, "customer".into()));
    assert_eq!(kind(without("date")), (MissingField, "date".into()));
    assert_eq!(kind(without("event")), (MissingField, "event".into()));
    assert_eq!(kind(with("item", Value::Null)), (MissingField, "item".into()));
    assert_eq!(kind(with("event", json!("teleport"))), (UnknownEvent, "event".into()));
    assert_eq!(kind(with("event", json!("old"))), (ArchivedEvent, "event".into()));
    assert_eq!(kind(with("date", json!("yesterday"))), (InvalidDate, "date".into()));
    assert_eq!(kind(with("date", json!(NOW + MAX_FUTURE_MS + 1))), (InvalidDate, "date".into()));
    assert!(check(with("date", json!(NOW + MAX_FUTURE_MS))).is_ok());
    assert_eq!(kind(with("quantity", json!(0))), (InvalidQuantity, "quantity".into()));
    assert_eq!(kind(with("quantity", json!("many"))), (InvalidQuantity, "quantity".into()));
    assert_eq!(kind(with("price", json!(-5))), (InvalidPrice, "price".into()));
    assert!(check(with("price", json!(0))).is_ok());
    assert_eq!(kind(with("customer", json!(""))), (InvalidId, "customer".into()));
    assert_eq!(kind(with("item", json!({"a":1}))), (InvalidId, "item".into()));
    assert_eq!(kind(with("id", json!("evt_1"))), (InvalidId, "id".into()));
    assert_eq!(kind(with("colour", json!("red"))), (UnknownField, "colour".into()));
    assert_eq!(kind(with("params", json!({"x":1}))), (UnknownParameter, "params.x".into()));
    let view = json!({"event":"view","item":"i","customer":"u","date":NOW,"quantity":1});
    assert_eq!(kind(view), (InvalidQuantity, "quantity".into()));
    let loan = |params: Value| json!({"event":"loan_application","customer":"u","date":NOW,"params":params});
    assert_eq!(kind(loan(json!({}))), (MissingField, "params.amount".into()));
    assert_eq!(kind(loan(json!({"amount":"abc"}))), (InvalidParameter, "params.amount".into()));
    assert_eq!(kind(loan(json!({"amount":1,"approved":"maybe"}))), (InvalidParameter, "params.approved".into()));
    assert_eq!(kind(loan(json!({"amount":1,"due":"soon"}))), (InvalidParameter, "params.due".into()));
    assert_eq!(kind(loan(json!({"amount":1,"colour":"red"}))), (UnknownParameter, "params.colour".into()));
    assert_eq!(kind(loan(json!([1]))), (InvalidParameter, "params".into()));
}

#[test]
fn seed_style_messages() {
    let p = check(json!({"event":"purchase","customer":"u","date":NOW})).unwrap_err();
    assert_eq!(p.message, "Missing required field: item");
    let p = check(json!({"event":"purchase","item":"i","customer":"u","date":"x"})).unwrap_err();
    assert_eq!(p.message, "Timestamp format invalid");
    let p = check(json!({"event":"loan_application","customer":"u","date":NOW,"params":{"amount":"abc"}})).unwrap_err();
    assert_eq!(p.message, "Invalid number for amount: abc");
}

#[test]
fn fingerprints_separate_what_differs() {
    let a = check(json!({"event":"purchase","item":"i","customer":"u","date":NOW,"price":1})).unwrap();
    let b = check(json!({"event":"purchase","item":"i","customer":"other","date":NOW,"price":1.0,"id":"x"})).unwrap();
    let c = check(json!({"event":"purchase","item":"i","customer":"u","date":NOW,"price":2})).unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_ne!(a.fingerprint(), c.fingerprint());
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,40}".prop_map(Value::String),
        prop_oneof![Just("view"), Just("purchase"), Just("loan_application"), Just("old")].prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("amount".to_string()),
                    Just("due".to_string()),
                    Just("approved".to_string()),
                    Just("product".to_string()),
                    Just("channel".to_string()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn the_validator_never_panics(
        fields in prop::collection::btree_map(
            prop_oneof![Just("event"), Just("item"), Just("customer"), Just("date"), Just("quantity"),
                        Just("price"), Just("id"), Just("params"), Just("other")],
            arb_json(),
            0..9,
        )
    ) {
        let obj: serde_json::Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let text = Value::Object(obj).to_string();
        if let Ok(raw) = serde_json::from_str::<RawEvent>(&text) {
            let _ = validate(raw, shared_catalog(), NOW);
        }
    }

    #[test]
    fn raw_events_never_panic_on_bytes(s in "\\PC{0,200}") {
        let _ = serde_json::from_str::<RawEvent>(&s);
    }
}

#[test]
fn order_ids_belong_to_cart_and_purchase_lines() {
    let e =
        check(json!({"event":"purchase","item":"milk","customer":"u","date":"2025-11-20T10:00:00Z","order_id":"o-1"}))
            .unwrap();
    assert_eq!(e.order_id.as_deref(), Some("o-1"));
    let same_content = Event { order_id: None, ..e.clone() };
    assert_ne!(e.fingerprint(), same_content.fingerprint(), "two orders' identical lines are two events");
    assert_eq!(
        kind(json!({"event":"view","item":"milk","customer":"u","date":"2025-11-20T10:00:00Z","order_id":"o-1"})),
        (ProblemKind::InvalidId, "order_id".into())
    );
    assert_eq!(
        kind(json!({"event":"cart","item":"milk","customer":"u","date":"2025-11-20T10:00:00Z","order_id":[1]})),
        (ProblemKind::InvalidId, "order_id".into())
    );
}
