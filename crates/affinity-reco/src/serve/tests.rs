//! Serving on a hand-made view: two disjoint taste clusters (customers of cluster A view items a0..a3, those of
//! B items b0..b3, each customer all but one of their cluster's items), so the right answers are known by hand.

use std::sync::Arc;

use affinity_core::{Code, ErrorCode, Event, ProblemKind, Settings};
use affinity_views::ProjectView;

use super::*;
use crate::error::RecoError;
use crate::extract;

use crate::test_data::clusters;

fn event(kind: &str, customer: &str, item: &str, ts: i64) -> Event {
    Event::new(kind, customer, item, ts)
}

fn trained(v: &ProjectView) -> Serving {
    let settings = Settings::default();
    Serving::new(Trained::train(extract(v, &settings), &settings, 0), v)
}

fn query(n: usize) -> RecommendQuery {
    RecommendQuery { n: Some(n), ..RecommendQuery::default() }
}

fn ids(r: &Recommendations) -> Vec<&str> {
    r.items.iter().map(|i| i.item.as_str()).collect()
}

#[test]
fn a_customer_gets_their_cluster_first_with_reasons_then_popular_items() {
    let v = clusters();
    let model = trained(&v);
    let r = for_customer(&v, Some(&model), &Settings::default(), "a-c0", &query(8)).expect("an answer");
    assert_eq!(r.fallback, None);
    assert_eq!(r.model.as_deref(), Some(model.info.model.as_str()));
    assert_eq!(r.items.len(), 8, "topped up to n with every popular item: {:?}", ids(&r));
    let first_b = r.items.iter().position(|i| i.item.starts_with('b')).expect("b items topped up");
    assert!(first_b >= 1 && r.items[..first_b].iter().all(|i| i.item.starts_with('a')), "{:?}", ids(&r));
    assert_eq!(r.items[0].item, "a0", "the one cluster item a-c0 has not seen ranks first: {:?}", ids(&r));
    let reason = r.items[0].reason.as_deref().unwrap_or("");
    assert!(reason.starts_with("because you viewed a"), "{reason}");
    assert!(r.items[first_b..].iter().all(|i| i.reason.as_deref() == Some("popular")), "{:?}", r.items);
}

#[test]
fn items_of_excluded_types_are_left_out_live() {
    let mut v = clusters();
    let model = trained(&v);
    // Bought after training: the default `exclude` (purchase) leaves it out at once.
    v.apply(100, &event("purchase", "a-c0", "a0", 100));
    let settings = Settings::default();
    let r = for_customer(&v, Some(&model), &settings, "a-c0", &query(8)).expect("an answer");
    assert!(!ids(&r).contains(&"a0"), "{:?}", ids(&r));
    assert_eq!(r.items.len(), 7);
    let reason = r.items[0].reason.as_deref().unwrap_or("");
    assert!(reason.starts_with("because you "), "{reason}");
    let q = RecommendQuery { exclude: Some("view".into()), ..query(8) };
    let r = for_customer(&v, Some(&model), &settings, "a-c0", &q).expect("an answer");
    assert_eq!(ids(&r).first(), Some(&"a0"), "the query's list wins: {:?}", ids(&r));
    assert!(!ids(&r).contains(&"a2"), "viewed items excluded: {:?}", ids(&r));
}

#[test]
fn a_customer_without_history_falls_back_to_popular_items() {
    let v = clusters();
    let model = trained(&v);
    let r = for_customer(&v, Some(&model), &Settings::default(), "nobody", &query(3)).expect("an answer");
    assert_eq!((r.fallback.as_deref(), r.model.as_deref()), (Some("popular"), Some("popular")));
    assert_eq!(r.items.len(), 3);
    assert!(r.items.iter().all(|i| i.reason.as_deref() == Some("popular")));
    let untrained = for_customer(&v, None, &Settings::default(), "a-c0", &query(3)).expect("an answer");
    assert_eq!((untrained.fallback.as_deref(), untrained.model, untrained.items.len()), (Some("popular"), None, 3));
}

#[test]
fn n_out_of_range_names_the_field_n() {
    let v = clusters();
    let model = trained(&v);
    for n in [0, MAX_N + 1] {
        let e = for_customer(&v, Some(&model), &Settings::default(), "a-c0", &query(n)).expect_err("refused");
        assert_eq!(e, RecoError::N(n));
        assert_eq!((e.error_code(), e.error_field().as_deref()), (Code::Problem(ProblemKind::InvalidField), Some("n")));
        assert_eq!(e.to_string(), format!("Invalid n: {n} (1-1000)"));
        assert_eq!(popular(&v, None, &query(n)), Err(RecoError::N(n)), "checked before the model");
    }
    assert_eq!(
        for_customer(&v, Some(&model), &Settings::default(), "a-c0", &RecommendQuery::default()).map(|r| r.items.len()),
        Ok(DEFAULT_N.min(8))
    );
}

#[test]
fn item_and_session_answers_stay_in_the_cluster_and_check_their_parameters() {
    let v = clusters();
    let model = trained(&v);
    let r = for_item(&v, Some(&model), "a0", &query(3)).expect("an answer");
    assert_eq!(ids(&r), vec!["a1", "a2", "a3"]);
    assert!(r.items.iter().all(|i| i.reason.as_deref() == Some("similar to a0")));
    assert_eq!(r.model.as_deref(), Some("similar"));
    let bad = RecommendQuery { kind: Some("nope".into()), ..query(3) };
    let e = for_item(&v, Some(&model), "a0", &bad).expect_err("refused");
    assert_eq!(
        (e.error_field().as_deref(), e.to_string()),
        (Some("kind"), "Invalid kind: nope (similar or bought_together)".into())
    );
    let unknown = for_item(&v, Some(&model), "zz", &query(2)).expect("an answer");
    assert_eq!((unknown.fallback.as_deref(), unknown.items.len()), (Some("popular"), 2));

    let s = for_session(&v, Some(&model), &["b1".into(), "b2".into()], &query(2)).expect("an answer");
    assert_eq!(s.fallback, None);
    assert!(s.items.iter().all(|i| i.item == "b0" || i.item == "b3"), "session items left out: {:?}", ids(&s));
    let reason = s.items[0].reason.as_deref().unwrap_or("");
    assert!(reason.ends_with(" is in the session"), "{reason}");

    let w = RecommendQuery { window: Some("2d".into()), ..query(2) };
    assert_eq!(popular(&v, Some(&model), &w), Err(RecoError::Window("2d".into())));
    let p = popular(&v, Some(&model), &query(8)).expect("an answer");
    assert_eq!((p.fallback, p.model.as_deref(), p.items.len()), (None, Some("popular"), 8));
}

#[test]
fn the_policy_trains_a_new_project_then_waits_for_its_pause_and_new_events() {
    let v = clusters();
    let models = ProjectModels::default();
    let mut settings = Settings::default();
    settings.retrain.after_events = Some(10);
    settings.retrain.every_minutes = None;
    assert!(!due(&settings, &models, 0, 1_000), "no events, no training");
    assert!(due(&settings, &models, 5, 1_000), "events and no model");
    let mut off = settings.clone();
    off.retrain.after_events = None;
    assert!(!due(&off, &models, 5, 1_000), "both triggers off: only on demand, even without a model");
    models.start_training(1_000);
    assert!(!due(&settings, &models, 5, 1_000) && models.is_training(), "one training at a time");
    let serving = Serving::new(Trained::train(extract(&v, &settings), &settings, 1_000), &v);
    models.install(Arc::new(serving), 24);
    models.stop_training();
    assert!(models.current().is_some() && !models.is_training());
    let later = 1_000 + MIN_RETRAIN_PAUSE_MS;
    assert!(!due(&settings, &models, 40, later - 1), "within the pause");
    assert!(!due(&settings, &models, 33, later), "9 new events of the 10 asked");
    assert!(due(&settings, &models, 34, later), "10 new events after the pause");
}

#[test]
fn recommendation_ids_carry_their_model_and_placement_and_forged_ones_do_not_read() {
    let mut v = ProjectView::default();
    v.apply(1, &event("purchase", "u", "i", 1));
    let answer = popular(&v, None, &query(3)).unwrap();
    let placed = stamp(answer.clone(), Some("home.top-1")).unwrap();
    let id = placed.recommendation_id.clone().unwrap();
    let read = parse_recommendation_id(&id).unwrap();
    assert_eq!((read.model.as_deref(), read.placement.as_deref()), (answer.model.as_deref(), Some("home.top-1")));
    let bare = stamp(answer, None).unwrap().recommendation_id.unwrap();
    assert_eq!(parse_recommendation_id(&bare).unwrap().placement, None);
    assert_ne!(bare.split('.').next(), id.split('.').next(), "random per answer");
    for forged in [
        "",
        "rec_",
        "rec_12.ease",
        "rec_zzzzzzzzzzzzzzzzzzzzzzzz.ease",
        "rec_0123456789abcdef01234567.Ease",
        "rec_0123456789abcdef01234567.made_up",
        "rec_0123456789abcdef01234567.ease.bad placement",
        "rec_0123456789abcdef01234567é.ease",
    ] {
        assert_eq!(parse_recommendation_id(forged), None, "{forged}");
    }
    assert!(parse_recommendation_id("rec_0123456789abcdef01234567.none").is_some_and(|r| r.model.is_none()));
    for model in MODELS {
        assert!(parse_recommendation_id(&format!("rec_0123456789abcdef01234567.{model}.p")).is_some(), "{model}");
    }
}
