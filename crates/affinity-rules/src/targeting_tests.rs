//! Targeting leaves (issue 8): context attributes, local time across a time zone and a DST change, sessions, and
//! anonymous visitors — with the clock passed in.

use affinity_core::Event;
use affinity_core::catalog::builtins;
use affinity_core::rule::{Context, Rule, parse_rule};
use affinity_views::ProjectView;
use serde_json::{Value, json};

use super::*;

const MIN: i64 = 60_000;

fn rule(v: Value) -> Rule {
    let types = builtins();
    let refs = |id: &str| (id == "viewers").then(Vec::new);
    parse_rule(&v, &Context { types: &types, references: &refs, saving: None, targeting: true }, "rule")
        .expect("a valid targeting rule")
}

fn ms(s: &str) -> i64 {
    affinity_core::date::parse_text(s).expect("a date")
}

fn view(events: &[(&str, &str, i64)]) -> ProjectView {
    let mut v = ProjectView::default();
    for (seq, (kind, customer, ts)) in events.iter().enumerate() {
        let e = Event {
            event: (*kind).into(),
            customer: (*customer).into(),
            item: Some("sku".into()),
            ts: *ts,
            quantity: None,
            price: None,
            params: None,
            client_id: None,
            order_id: None,
        };
        v.apply(seq as u64 + 1, &e);
    }
    v
}

/// Whether `r` holds for `customer` at `now` in time zone `tz` with `context`.
fn holds(v: &ProjectView, r: &Rule, customer: Option<&str>, now: i64, tz: &str, context: Value) -> bool {
    let Value::Object(context) = context else { panic!("an object") };
    let tz = jiff::tz::TimeZone::get(tz).expect("a time zone");
    let request = Request::new(&context, now, &tz, 30 * MIN);
    let audiences = |id: &str| (id == "viewers").then(|| rule(json!({"interaction":"view"})));
    Evaluator::for_request(v, now, &audiences, &request).decides(r, customer)
}

#[test]
fn context_attributes_are_typed_by_their_values() {
    let v = view(&[]);
    let now = ms("2026-11-23T12:00:00Z");
    let check = |r: Value, context: Value| holds(&v, &rule(r), None, now, "UTC", context);
    assert!(check(json!({"context":"device","op":"eq","value":"mobile"}), json!({"device":"mobile"})));
    assert!(!check(json!({"context":"device","op":"eq","value":"mobile"}), json!({"device":"desktop"})));
    assert!(!check(json!({"context":"device","op":"eq","value":"mobile"}), json!({})), "absent");
    assert!(check(json!({"context":"device","op":"neq","value":"mobile"}), json!({})), "absent is not mobile");
    assert!(check(json!({"context":"country","op":"in","value":["FR","DE"]}), json!({"country":"DE"})));
    assert!(check(json!({"context":"cart_total","op":"gte","value":50}), json!({"cart_total":75.5})));
    assert!(
        !check(json!({"context":"cart_total","op":"gte","value":50}), json!({"cart_total":"75"})),
        "a text is no number"
    );
    assert!(check(json!({"context":"logged_in","op":"is_true"}), json!({"logged_in":true})));
    assert!(check(
        json!({"context":"referrer","op":"contains","value":"google"}),
        json!({"referrer":"https://www.google.com/"})
    ));
    assert!(check(json!({"context":"page","op":"is_set"}), json!({"page":"product"})));
}

#[test]
fn time_rules_follow_the_project_time_zone_across_a_dst_change() {
    let v = view(&[]);
    let sunday = rule(json!({"time":"day_of_week","op":"in","value":["sat","sun"]}));
    let night = rule(json!({"time":"time_of_day","op":"between","value":["02:00","03:00"]}));
    let late = rule(json!({"time":"time_of_day","op":"between","value":["22:00","06:00"]}));
    let after = rule(json!({"time":"date","op":"after","value":"2026-10-24"}));
    // 2026-10-24T22:30Z is Saturday in UTC and already Sunday 00:30 in Paris (CEST, UTC+2).
    let t = ms("2026-10-24T22:30:00Z");
    assert!(holds(&v, &after, None, t, "Europe/Paris", json!({})));
    assert!(!holds(&v, &after, None, t, "UTC", json!({})), "still the 24th in UTC");
    assert!(holds(&v, &sunday, None, t, "UTC", json!({})) && holds(&v, &sunday, None, t, "Europe/Paris", json!({})));
    assert!(holds(&v, &late, None, t, "Europe/Paris", json!({})), "00:30 is between 22:00 and 06:00");
    // Paris leaves summer time at 03:00 CEST = 01:00Z on 2026-10-25: 02:30 local happens twice.
    assert!(holds(&v, &night, None, ms("2026-10-25T00:30:00Z"), "Europe/Paris", json!({})), "02:30 CEST");
    assert!(holds(&v, &night, None, ms("2026-10-25T01:30:00Z"), "Europe/Paris", json!({})), "02:30 CET");
    assert!(!holds(&v, &night, None, ms("2026-10-25T02:30:00Z"), "Europe/Paris", json!({})), "03:30 CET");
    assert!(!holds(&v, &night, None, ms("2026-10-25T00:30:00Z"), "UTC", json!({})), "00:30 UTC");
    let weekdays = rule(json!({"time":"day_of_week","op":"not_in","value":["sat","sun"]}));
    assert!(!holds(&v, &weekdays, None, ms("2026-10-25T12:00:00Z"), "America/New_York", json!({})));
    assert!(holds(&v, &weekdays, None, ms("2026-10-26T12:00:00Z"), "America/New_York", json!({})));
    let on = rule(json!({"time":"date","op":"between","value":["2026-12-01","2026-12-24"]}));
    assert!(holds(&v, &on, None, ms("2026-12-24T22:00:00Z"), "UTC", json!({})));
    assert!(!holds(&v, &on, None, ms("2026-12-24T23:30:00Z"), "Asia/Tokyo", json!({})), "already the 25th in Tokyo");
}

#[test]
fn sessions_end_after_thirty_minutes_without_events() {
    let now = ms("2026-11-23T12:00:00Z");
    // u: a view 70 minutes ago, then (35 minutes later: a new session) views 35 and 10 minutes ago.
    // w: a view 31 minutes ago only: no current session.
    let v = view(&[
        ("view", "u", now - 70 * MIN),
        ("view", "u", now - 35 * MIN),
        ("cart", "u", now - 34 * MIN),
        ("view", "u", now - 10 * MIN),
        ("view", "w", now - 31 * MIN),
        ("view", "x", now - 30 * MIN),
    ]);
    let views = |n: u64| rule(json!({"session":{"interaction":"view","cmp":{"op":"gte","value":n}}}));
    assert!(holds(&v, &views(2), Some("u"), now, "UTC", json!({})));
    assert!(!holds(&v, &views(3), Some("u"), now, "UTC", json!({})), "the 70-minute-old view is another session");
    let cart = rule(json!({"session":{"interaction":"cart"}}));
    assert!(holds(&v, &cart, Some("u"), now, "UTC", json!({})), "has items in the cart this session");
    assert!(!holds(&v, &views(1), Some("w"), now, "UTC", json!({})), "31 minutes without events: no session");
    assert!(holds(&v, &views(1), Some("x"), now, "UTC", json!({})), "exactly 30 minutes: still the session");
    let none = rule(json!({"session":{"interaction":"view","cmp":{"op":"eq","value":0}}}));
    assert!(holds(&v, &none, Some("w"), now, "UTC", json!({})) && holds(&v, &none, None, now, "UTC", json!({})));
}

#[test]
fn anonymous_visitors_are_decided_on_context_and_session_alone() {
    let now = ms("2026-11-23T12:00:00Z");
    let v = view(&[("view", "known", now - 60 * MIN)]);
    let r = rule(json!({"all":[{"context":"page","op":"eq","value":"home"},
                               {"interaction":"purchase","cmp":{"op":"eq","value":0}}]}));
    assert!(holds(&v, &r, None, now, "UTC", json!({"page":"home"})));
    assert!(holds(&v, &r, Some("never-seen"), now, "UTC", json!({"page":"home"})));
    assert!(!holds(&v, &r, None, now, "UTC", json!({"page":"cart"})));
    let member = rule(json!({"audience":"viewers"}));
    assert!(holds(&v, &member, Some("known"), now, "UTC", json!({})));
    assert!(!holds(&v, &member, None, now, "UTC", json!({})), "an anonymous visitor is in no audience");
    assert!(holds(&v, &rule(json!({"not":{"audience":"viewers"}})), None, now, "UTC", json!({})));
}

#[test]
fn targeting_leaves_are_checked_and_kept_out_of_audiences() {
    let types = builtins();
    let refs = |_: &str| None;
    let check = |v: Value, targeting: bool| {
        parse_rule(&v, &Context { types: &types, references: &refs, saving: None, targeting }, "rule")
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let context = json!({"context":"device","op":"eq","value":"mobile"});
    assert!(check(context.clone(), true).is_ok());
    let refused = check(context, false).unwrap_err();
    assert!(refused.contains("targeting rules only"), "{refused}");
    let e = check(json!({"time":"day_of_week","op":"in","value":["mon","someday"]}), true).unwrap_err();
    assert!(e.starts_with("rule.value: unknown day"), "{e}");
    let e = check(json!({"time":"time_of_day","op":"between","value":["25:00","26:00"]}), true).unwrap_err();
    assert!(e.starts_with("rule.value"), "{e}");
    let e = check(json!({"time":"date","op":"contains","value":"x"}), true).unwrap_err();
    assert!(e.starts_with("rule.op: operator \"contains\" does not apply"), "{e}");
    let e = check(json!({"session":{"interaction":"view","window":{"last":{"n":1,"unit":"day"}}}}), true).unwrap_err();
    assert!(e.starts_with("rule.session.window"), "{e}");
    let e = check(json!({"context":"device","op":"gt","value":"mobile"}), true).unwrap_err();
    assert!(e.contains("does not apply to text context attribute \"device\""), "{e}");
}

/// Every operator of every context attribute type, with the attribute present (matching and not) and absent.
#[test]
fn every_context_operator_on_every_type() {
    let v = view(&[]);
    let now = ms("2026-11-23T12:00:00Z");
    // (condition, context value that holds, one that does not, whether an absent attribute holds)
    let cases: Vec<(Value, Value, Value, bool)> = vec![
        (json!({"op":"eq","value":"fr"}), json!("fr"), json!("de"), false),
        (json!({"op":"neq","value":"fr"}), json!("de"), json!("fr"), true),
        (json!({"op":"in","value":["fr","de"]}), json!("de"), json!("it"), false),
        (json!({"op":"not_in","value":["fr","de"]}), json!("it"), json!("fr"), true),
        (json!({"op":"contains","value":"shoe"}), json!("/shoes/nike"), json!("/hats"), false),
        (json!({"op":"not_contains","value":"shoe"}), json!("/hats"), json!("/shoes"), true),
        (json!({"op":"starts_with","value":"/sale"}), json!("/sale/42"), json!("/new/sale"), false),
        (json!({"op":"is_set"}), json!("x"), Value::Null, false),
        (json!({"op":"is_not_set"}), Value::Null, json!("x"), true),
        (json!({"op":"eq","value":3}), json!(3), json!(4), false),
        (json!({"op":"neq","value":3}), json!(4), json!(3), false),
        (json!({"op":"gt","value":3}), json!(3.5), json!(3), false),
        (json!({"op":"gte","value":3}), json!(3), json!(2.9), false),
        (json!({"op":"lt","value":3}), json!(2), json!(3), false),
        (json!({"op":"lte","value":3}), json!(3), json!(3.1), false),
        (json!({"op":"between","value":[1,3]}), json!(1), json!(3.5), false),
        (json!({"op":"in","value":[1,2]}), json!(2), json!(3), false),
        (json!({"op":"is_true"}), json!(true), json!(false), false),
        (json!({"op":"is_false"}), json!(false), json!(true), false),
    ];
    for (cond, yes, no, absent) in cases {
        let mut leaf = cond.clone();
        leaf["context"] = json!("attr");
        let r = rule(leaf);
        let with = |value: &Value| if value.is_null() { json!({}) } else { json!({"attr": value}) };
        assert!(holds(&v, &r, None, now, "UTC", with(&yes)), "{cond} should hold for {yes}");
        assert!(!holds(&v, &r, None, now, "UTC", with(&no)), "{cond} should not hold for {no}");
        assert_eq!(holds(&v, &r, None, now, "UTC", json!({})), absent, "{cond} without the attribute");
    }
}
