//! Issue 15, §4 over HTTP: impressions and clicks of recommendation answers, purchases attributed to the clicks
//! within the window (through an anonymous id's alias too), and the report per placement, model and day, which
//! survives a restart.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const P: &str = "/v1/projects/shop-1";

async fn send(s: &Server, key: &str, data: Value) {
    let (status, r) = s.post("/feedback", key, json!({"project":"shop-1","data":data})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
}

async fn rec_event(s: &Server, key: &str, id: &str, body: Value) -> (StatusCode, Value) {
    s.post(&format!("{P}/recommendations/{id}/events"), key, body).await
}

/// The report's row of `placement`.
fn row<'a>(report: &'a Value, placement: &str) -> &'a Value {
    report["placements"]
        .as_array()
        .expect("placements")
        .iter()
        .find(|p| p["placement"] == placement)
        .unwrap_or_else(|| panic!("no {placement} in {report}"))
}

#[tokio::test]
async fn clicked_recommendations_earn_the_purchases_that_follow_and_the_report_shows_them() {
    let (s, k) = shop().await;
    let pk = public_key(&s, &k).await;
    send(
        &s,
        &k.ingest,
        json!([{"event":"purchase","customer":"old","item":"sku-1","date":days_ago(5),"price":2},
               {"event":"purchase","customer":"old","item":"sku-2","date":days_ago(5),"price":3}]),
    )
    .await;
    train(&s, &k).await;
    let (status, home) = s.get(&format!("{P}/recommendations/popular?placement=home_top"), &pk).await;
    assert_eq!(status, StatusCode::OK, "{home}");
    let home_id = str_of(&home["recommendation_id"]);
    let (_, pdp) = s.get(&format!("{P}/recommendations/items/sku-1?placement=pdp_similar"), &pk).await;
    let pdp_id = str_of(&pdp["recommendation_id"]);
    s.get(&format!("{P}/recommendations/popular?placement=home_top"), &pk).await;

    // An anonymous visitor sees the home widget (twice: counted once) and clicks sku-1, then logs in and buys it.
    for _ in 0..2 {
        let (status, got) = rec_event(&s, &pk, &home_id, json!({"type":"impression","customer":"a-1"})).await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!((got["placement"].as_str(), got["type"].as_str()), (Some("home_top"), Some("impression")));
    }
    let (status, clicked) = rec_event(&s, &pk, &home_id, json!({"type":"click","item":"sku-1","customer":"a-1"})).await;
    assert_eq!(status, StatusCode::OK, "{clicked}");
    let ok = s.post(&format!("{P}/identify"), &k.ingest, json!({"anonymous_id":"a-1","customer":"u-42"})).await;
    assert_eq!(ok.0, StatusCode::OK);
    send(
        &s,
        &pk,
        json!([{"event":"purchase","customer":"u-42","item":"sku-1","date":days_ago(0),"price":10,"quantity":2},
               {"event":"purchase","customer":"u-42","item":"sku-2","date":days_ago(0),"price":99}]),
    )
    .await;
    // The item widget is shown and clicked, but what was clicked was bought before the click: nothing to attribute.
    rec_event(&s, &pk, &pdp_id, json!({"type":"impression","customer":"b-1"})).await;
    rec_event(&s, &pk, &pdp_id, json!({"type":"click","item":"sku-2","customer":"old"})).await;

    let (status, report) = s.get(&format!("{P}/recommendations/report?days=30"), &k.admin).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["days"].as_i64(), report["attribution_window_days"].as_i64()), (Some(30), Some(7)));
    let home = row(&report, "home_top");
    assert_eq!(home["model"], "popular", "{home}");
    let figures = |r: &Value| {
        (
            r["requests"].as_u64(),
            r["impressions"].as_u64(),
            r["clicks"].as_u64(),
            r["ctr"].as_f64(),
            r["attributed_purchases"].as_u64(),
            r["revenue"].as_f64(),
        )
    };
    assert_eq!(figures(home), (Some(2), Some(1), Some(1), Some(1.0), Some(1), Some(20.0)), "{home}");
    let days = home["days"].as_array().expect("days");
    assert_eq!(days.len(), 30);
    assert_eq!(figures(&days[29]), figures(home), "all of it today: {home}");
    assert_eq!(days[29]["date"], report["to"]);
    let pdp = row(&report, "pdp_similar");
    assert_eq!(figures(pdp), (Some(1), Some(1), Some(1), Some(1.0), Some(0), Some(0.0)), "{pdp}");
    assert_eq!(report["totals"]["revenue"], 20.0);

    // The counts are stored: the same report after a restart.
    let s = s.restart();
    let (_, again) = s.get(&format!("{P}/recommendations/report?days=30"), &k.admin).await;
    assert_eq!(again, report);

    // The window is a setting, checked.
    let (status, _) = s.put(&format!("{P}/settings"), &k.admin, json!({"attribution_window_days":1})).await;
    assert_eq!(status, StatusCode::OK);
    let bad = s.put(&format!("{P}/settings"), &k.admin, json!({"attribution_window_days":0})).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_field", Some("attribution_window_days"));
}

#[tokio::test]
async fn recommendation_events_name_what_is_wrong() {
    let (s, k) = shop().await;
    let pk = public_key(&s, &k).await;
    let (_, answer) = s.get(&format!("{P}/recommendations/popular"), &pk).await;
    let id = str_of(&answer["recommendation_id"]);
    let forged = rec_event(&s, &pk, "rec_nothing", json!({"type":"click","item":"i"})).await;
    assert_error(&forged, StatusCode::BAD_REQUEST, "invalid_id", Some("recommendation_id"));
    let hover = rec_event(&s, &pk, &id, json!({"type":"hover"})).await;
    assert_error(&hover, StatusCode::BAD_REQUEST, "invalid_field", Some("type"));
    let untyped = rec_event(&s, &pk, &id, json!({"item":"i"})).await;
    assert_error(&untyped, StatusCode::BAD_REQUEST, "missing_field", Some("type"));
    let no_item = rec_event(&s, &pk, &id, json!({"type":"click"})).await;
    assert_error(&no_item, StatusCode::BAD_REQUEST, "missing_field", Some("item"));
    let number = rec_event(&s, &pk, &id, json!({"type":"click","item":5})).await;
    assert_error(&number, StatusCode::BAD_REQUEST, "invalid_field", Some("item"));
    let empty = rec_event(&s, &pk, &id, json!({"type":"click","item":""})).await;
    assert_error(&empty, StatusCode::BAD_REQUEST, "invalid_id", Some("item"));
    let days = s.get(&format!("{P}/recommendations/report?days=0"), &k.admin).await;
    assert_error(&days, StatusCode::BAD_REQUEST, "invalid_field", Some("days"));
    let public = s.get(&format!("{P}/recommendations/report"), &pk).await;
    assert_error(&public, StatusCode::UNAUTHORIZED, "unauthorized", None);
    // Nothing refused was counted.
    let (_, report) = s.get(&format!("{P}/recommendations/report?days=1"), &k.admin).await;
    assert_eq!((report["totals"]["impressions"].as_u64(), report["totals"]["clicks"].as_u64()), (Some(0), Some(0)));
    assert_eq!(report["totals"]["requests"], 1, "{report}");
}
