//! `decide` and the experiment report on hand-made experiences and events, with the clock passed in.

use affinity_core::catalog::builtins;
use affinity_core::rule::{Context, Rule, parse_rule};
use affinity_core::{Code, ErrorCode, Event, Experience, ProblemKind, Settings};
use affinity_views::ProjectView;
use serde_json::{Map, Value, json};

use crate::decide::{DEFAULT_DECIDED, MAX_DECIDED, Visit, decide, exposed_variant};
use crate::error::RulesError;
use crate::report::{report, two_proportion_p};

const DAY: i64 = 86_400_000;
const NOW: i64 = 1_800_000_000_000;

fn rule(v: Value) -> Rule {
    let types = builtins();
    let refs = |_: &str| None;
    parse_rule(&v, &Context { types: &types, references: &refs, saving: None, targeting: true }, "rule")
        .expect("a valid targeting rule")
}

/// An experience with two equal variants whose payloads name them.
fn experience(id: &str, priority: i64, extra: Value) -> Experience {
    let mut e = json!({"id": id, "name": id, "priority": priority, "rule": {},
        "variants": [{"id":"a","weight":1,"payload":{"v":"a"}}, {"id":"b","weight":1,"payload":{"v":"b"}}]});
    if let (Value::Object(o), Value::Object(x)) = (&mut e, extra) {
        o.extend(x);
    }
    serde_json::from_value(e).expect("an experience")
}

fn event(kind: &str, customer: &str, ts: i64, price: Option<f64>, quantity: Option<f64>) -> Event {
    Event {
        event: kind.into(),
        customer: customer.into(),
        item: Some("sku".into()),
        ts,
        quantity,
        price,
        params: None,
        client_id: None,
        order_id: None,
    }
}

fn view(events: &[Event]) -> ProjectView {
    let mut v = ProjectView::default();
    for (seq, e) in events.iter().enumerate() {
        v.apply(seq as u64 + 1, e);
    }
    v
}

fn no_audiences(_: &str) -> Option<Rule> {
    None
}

/// The ids decided for `customer` (and `context`) over `experiences`, each with an always-true rule unless given.
fn decided(v: &ProjectView, experiences: &[(Experience, Rule)], customer: Option<&str>, context: Value) -> Vec<String> {
    let Value::Object(context) = context else { panic!("an object") };
    let visit = Visit { customer, context: &context, n: None, now: NOW };
    let d = decide(experiences.iter().map(|(e, r)| (e, r)), &no_audiences, v, &Settings::default(), &visit);
    d.expect("a decision").experiences.into_iter().map(|d| d.id).collect()
}

fn always() -> Rule {
    rule(json!({"context":"never_sent","op":"is_not_set"}))
}

#[test]
fn experiences_come_highest_priority_first_ties_by_id() {
    let v = view(&[]);
    let all = vec![
        (experience("low_b", 1, json!({})), always()),
        (experience("top", 5, json!({})), always()),
        (experience("low_a", 1, json!({})), always()),
        (experience("negative", -3, json!({})), always()),
    ];
    assert_eq!(decided(&v, &all, None, json!({})), vec!["top", "low_a", "low_b", "negative"]);
    let Value::Object(context) = json!({}) else { return };
    let two = Visit { customer: None, context: &context, n: Some(2), now: NOW };
    let d = decide(all.iter().map(|(e, r)| (e, r)), &no_audiences, &v, &Settings::default(), &two).expect("decided");
    assert_eq!(d.experiences.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), vec!["top", "low_a"]);
}

#[test]
fn only_active_experiences_in_their_schedule_whose_rule_holds_are_decided() {
    let v = view(&[event("view", "viewer", NOW - DAY, None, None)]);
    let at = |ms: i64| affinity_core::date::format_ms(ms);
    let all = vec![
        (experience("paused", 0, json!({"status":"paused"})), always()),
        (experience("not_yet", 0, json!({"schedule":{"start": at(NOW + 1)}})), always()),
        (experience("ended", 0, json!({"schedule":{"end": at(NOW)}})), always()),
        (experience("running", 0, json!({"schedule":{"start": at(NOW), "end": at(NOW + DAY)}})), always()),
        (experience("viewers", 0, json!({})), rule(json!({"interaction":"view"}))),
        (experience("mobile", 0, json!({})), rule(json!({"context":"device","op":"eq","value":"mobile"}))),
    ];
    assert_eq!(decided(&v, &all, Some("viewer"), json!({})), vec!["running", "viewers"]);
    assert_eq!(decided(&v, &all, None, json!({"device":"mobile"})), vec!["mobile", "running"]);
    assert_eq!(decided(&v, &all, Some("stranger"), json!({})), vec!["running"], "no events: no view");
}

#[test]
fn variants_are_stable_per_visitor_and_anonymous_visitors_use_their_anonymous_id() {
    let v = view(&[]);
    let e = experience("banner", 0, json!({}));
    let all = [(e.clone(), always())];
    let variant = |customer: Option<&str>, context: &Map<String, Value>| {
        let visit = Visit { customer, context, n: None, now: NOW };
        let d = decide(all.iter().map(|(e, r)| (e, r)), &no_audiences, &v, &Settings::default(), &visit);
        let d = d.expect("decided").experiences.remove(0);
        assert_eq!(d.payload, json!({"v": d.variant}), "the variant's payload");
        d.variant
    };
    let empty = Map::new();
    let mut anonymous = Map::new();
    anonymous.insert("anonymous_id".into(), json!("anon-7"));
    for visitor in ["c1", "c2", "c3", "c4"] {
        assert_eq!(variant(Some(visitor), &empty), e.variant_for(visitor).id);
        assert_eq!(variant(Some(visitor), &empty), variant(Some(visitor), &empty), "the same on every request");
        assert_eq!(variant(Some(visitor), &anonymous), e.variant_for(visitor).id, "the customer wins");
    }
    assert_eq!(variant(None, &anonymous), e.variant_for("anon-7").id);
    assert_eq!(variant(None, &empty), e.variant_for("").id);
    let visit = Visit { customer: None, context: &anonymous, n: None, now: NOW };
    assert_eq!(visit.visitor(), Some("anon-7"));
    assert_eq!(Visit { customer: Some("c1"), ..visit }.visitor(), Some("c1"));
    assert_eq!(Visit { context: &empty, ..visit }.visitor(), None);
}

#[test]
fn n_out_of_range_is_refused_with_the_field_n() {
    let v = view(&[]);
    let context = Map::new();
    for n in [0, MAX_DECIDED + 1] {
        let visit = Visit { customer: None, context: &context, n: Some(n), now: NOW };
        let e = decide([], &no_audiences, &v, &Settings::default(), &visit).expect_err("refused");
        assert_eq!(e, RulesError::N(n));
        assert_eq!((e.error_code(), e.error_field().as_deref()), (Code::Problem(ProblemKind::InvalidField), Some("n")));
        assert_eq!(e.to_string(), format!("Invalid n: {n} (1 to 100)"));
    }
    let many: Vec<(Experience, Rule)> =
        (0..12).map(|i| (experience(&format!("e{i:02}"), 0, json!({})), always())).collect();
    assert_eq!(decided(&v, &many, None, json!({})).len(), DEFAULT_DECIDED);
}

#[test]
fn exposures_take_a_known_variant_or_the_customers_own() {
    let e = experience("banner", 0, json!({}));
    assert_eq!(exposed_variant(&e, "c1", None).map(|x| x.variant), Ok(e.variant_for("c1").id.clone()));
    assert_eq!(
        exposed_variant(&e, "c1", Some("b".into())).map(|x| (x.experience, x.variant)),
        Ok(("banner".into(), "b".into()))
    );
    let unknown = exposed_variant(&e, "c1", Some("z".into())).expect_err("refused");
    assert_eq!(
        (unknown.error_field().as_deref(), unknown.to_string()),
        (Some("variant"), "Unknown variant z of experience banner".into())
    );
    let missing = exposed_variant(&e, "", None).expect_err("refused");
    assert_eq!(
        (missing.error_code(), missing.error_field().as_deref()),
        (Code::Problem(ProblemKind::MissingField), Some("customer"))
    );
}

#[test]
fn the_report_counts_first_exposures_and_purchases_within_the_window() {
    let t = NOW - 30 * DAY;
    let v = view(&[
        event("purchase", "c1", t + DAY, Some(10.0), Some(2.0)), // control, converts: revenue 20
        event("purchase", "c2", t - DAY, Some(99.0), None),      // control, bought before exposure
        event("purchase", "c3", t + 2 * DAY, Some(5.0), None),   // treatment, converts: 5
        event("purchase", "c4", t + 7 * DAY, Some(1.5), Some(2.0)), // treatment, on the window's last instant: 3
        event("purchase", "c5", t + 8 * DAY, Some(50.0), None),  // treatment, after the window
        event("view", "c6", t + DAY, None, None),                // treatment, no purchase
    ]);
    let mut e = experience("banner", 0, json!({}));
    e.variants[0].id = "control".into();
    e.variants[1].id = "treatment".into();
    let exposures = [
        ("c1", "control", t),
        ("c2", "control", t),
        ("c1", "treatment", t + 3 * DAY), // c1 counts once, in its first variant
        ("c3", "treatment", t),
        ("c4", "treatment", t),
        ("c5", "treatment", t),
        ("gone", "retired_variant", t),
    ];
    let r = report(&e, exposures, &v, 7, NOW);
    assert_eq!((r.experience.as_str(), r.window_days), ("banner", 7));
    assert_eq!(r.computed_at, affinity_core::date::format_ms(NOW));
    let rows: Vec<(&str, u64, u64, f64)> =
        r.variants.iter().map(|x| (x.id.as_str(), x.exposed, x.converted, x.revenue)).collect();
    assert_eq!(rows, vec![("control", 2, 1, 20.0), ("treatment", 3, 2, 8.0)]);
    assert_eq!(r.variants[0].conversion_rate, 0.5);
    assert!((r.variants[1].conversion_rate - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(r.variants[0].p_value, None, "no test for the first variant");
    // 1/2 against 2/3: pooled 3/5, z = 0.3727, two-sided p = 0.70939 (Python's math.erfc).
    let p = r.variants[1].p_value.unwrap_or(0.0);
    assert!((p - 0.709_39).abs() < 0.000_01, "{p}");
    let json = serde_json::to_value(&r.variants[0]).expect("JSON");
    assert_eq!(
        json,
        json!({"id":"control","exposed":2,"converted":1,"conversion_rate":0.5,"revenue":20.0,"p_value":null})
    );
}

#[test]
fn two_proportion_test_matches_known_values() {
    // 200/1000 against 250/1000: pooled p 0.225, z = 2.6774, two-sided p = 0.00742 (Python's math.erfc).
    let p = two_proportion_p(200, 1000, 250, 1000).unwrap_or(1.0);
    assert!((p - 0.007_42).abs() < 0.000_01, "{p}");
    assert!((two_proportion_p(50, 100, 50, 100).unwrap_or(0.0) - 1.0).abs() < 1e-12, "equal rates");
    assert_eq!(two_proportion_p(0, 100, 0, 100), None, "no conversions at all");
    assert_eq!(two_proportion_p(1, 0, 1, 10), None);
}
