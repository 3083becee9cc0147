//! Experiences and targeting (issue 8) over HTTP: checked at save, decided per request on interactions, audiences,
//! context and time, with stable variants, exposures and a report computed on hand-made events.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const PATH: &str = "/v1/projects/shop-1/experiences";

fn ids(decision: &Value) -> Vec<String> {
    decision["experiences"].as_array().map_or_else(Vec::new, |a| a.iter().map(|e| str_of(&e["id"])).collect())
}

#[tokio::test]
async fn experiences_are_checked_decided_exposed_and_reported() {
    let (s, k) = shop().await;
    let now = affinity_core::date::now_ms();
    let date = |ago_min: i64| affinity_core::date::format_ms(now - ago_min * 60_000);
    let data = json!([
        {"event":"loan_application","customer":"borrower","date":date(60 * 24),"params":{"amount":9000}},
        {"event":"view","customer":"shopper","item":"shoe","date":date(5)},
        {"event":"view","customer":"shopper","item":"hat","date":date(3)},
    ]);
    let (status, report) = s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    assert_eq!((status, &report["failed"]), (StatusCode::OK, &json!(0)), "{report}");

    // Checked at save: a bad rule names its node; ids are unique; variants are checked.
    let loan = json!({"id":"loan_banner","name":"Loan offer banner","priority":10,
        "rule":{"all":[{"interaction":"loan_application","window":{"last":{"n":2,"unit":"month"}}},
                       {"context":"device","op":"eq","value":"mobile"}]},
        "variants":[{"id":"a","weight":50,"payload":{"text":"Rates from 3 %"}},{"id":"b","weight":50,"payload":{"text":"Apply today"}}]});
    let (status, created) = s.post(PATH, &k.admin, loan.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let got = s.post(PATH, &k.admin, loan.clone()).await;
    assert_error(&got, StatusCode::CONFLICT, "experience_exists", Some("id"));
    let mut bad = loan.clone();
    bad["id"] = json!("bad");
    bad["rule"] = json!({"all":[{"context":"device","op":"gt","value":"mobile"}]});
    let got = s.post(PATH, &k.admin, bad.clone()).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_rule", Some("rule.all[0]"));
    bad["rule"] = json!({"interaction":"view"});
    bad["variants"] = json!([{"id":"a","weight":0}]);
    let got = s.post(PATH, &k.admin, bad).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", Some("variants"));

    // A session rule with a widget payload, lower priority; a paused one; one scheduled in the future.
    let browsing = json!({"id":"browsing","name":"Still browsing","priority":5,
        "rule":{"session":{"interaction":"view","cmp":{"op":"gte","value":2}}},
        "variants":[{"id":"only","weight":1,"payload":{"recommendations":{"for":"popular","n":2}}}]});
    assert_eq!(s.post(PATH, &k.admin, browsing).await.0, StatusCode::CREATED);
    let paused = json!({"id":"paused","name":"Paused","status":"paused","rule":{"context":"page","op":"is_set"},
        "variants":[{"id":"a","weight":1}]});
    assert_eq!(s.post(PATH, &k.admin, paused).await.0, StatusCode::CREATED);
    let later = json!({"id":"later","name":"Next year","schedule":{"start":"2099-01-01"},"rule":{"context":"page","op":"is_set"},
        "variants":[{"id":"a","weight":1}]});
    assert_eq!(s.post(PATH, &k.admin, later).await.0, StatusCode::CREATED);
    let (_, list) = s.get(PATH, &k.admin).await;
    assert_eq!(list["experiences"].as_array().map(Vec::len), Some(4));

    // Deciding: rule, context, priority, stable variant; anonymous visitors on context alone.
    let decide = |body: Value| s.post("/v1/projects/shop-1/experiences/decide", &k.ingest, body);
    let (status, d) = decide(json!({"customer":"borrower","context":{"device":"mobile","page":"home"}})).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(ids(&d), ["loan_banner"], "paused and future experiences are not shown: {d}");
    let variant = d["experiences"][0]["variant"].clone();
    for _ in 0..3 {
        let (_, again) = decide(json!({"customer":"borrower","context":{"device":"mobile"}})).await;
        assert_eq!(again["experiences"][0]["variant"], variant, "the same variant every time");
    }
    let (_, d) = decide(json!({"customer":"borrower","context":{"device":"desktop"}})).await;
    assert!(ids(&d).is_empty(), "{d}");
    let (_, d) = decide(json!({"customer":"shopper","context":{"device":"mobile"}})).await;
    assert_eq!(ids(&d), ["browsing"], "two views in this session: {d}");
    let items = d["experiences"][0]["payload"]["recommendations"]["items"].as_array().map(Vec::len);
    assert_eq!(items, Some(2), "the widget's recommendations are inlined: {d}");
    let id = d["experiences"][0]["payload"]["recommendations"]["recommendation_id"].as_str().unwrap_or("");
    assert!(id.starts_with("rec_"), "an inlined widget has its recommendation id too: {d}");
    let (_, d) = decide(json!({"context":{"device":"mobile"}})).await;
    assert!(ids(&d).is_empty(), "an anonymous visitor has no loan application and no session: {d}");
    let got = decide(json!({"customer":"x","n":0})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", Some("n"));

    // Editing: the loan banner for every device now, variant b only.
    let mut edited = loan.clone();
    edited["rule"] = json!({"interaction":"loan_application"});
    edited["variants"] =
        json!([{"id":"a","weight":0,"payload":{}},{"id":"b","weight":1,"payload":{"text":"Apply today"}}]);
    let (status, body) = s.put(&format!("{PATH}/loan_banner"), &k.admin, edited).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, d) = decide(json!({"customer":"borrower","context":{"device":"desktop"},"expose":true})).await;
    assert_eq!((ids(&d), d["experiences"][0]["variant"].clone()), (vec!["loan_banner".to_string()], json!("b")));

    // Report: exposures (through decide above and the exposures route), purchases within the window after them.
    for (customer, variant) in [("c1", "a"), ("c2", "a"), ("c3", "b"), ("c4", "b"), ("c5", "b")] {
        let (status, body) = s
            .post(&format!("{PATH}/loan_banner/exposures"), &k.ingest, json!({"customer":customer,"variant":variant}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let purchases = json!([
        {"event":"purchase","customer":"c1","item":"i","price":10,"quantity":2,"date":affinity_core::date::format_ms(now + 60_000)},
        {"event":"purchase","customer":"c3","item":"i","price":5,"date":affinity_core::date::format_ms(now + 60_000)},
        {"event":"purchase","customer":"c4","item":"i","price":7,"date":date(24 * 60)},
    ]);
    let (status, _) = s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":purchases})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, r) = s.get(&format!("{PATH}/loan_banner/report?window_days=7"), &k.admin).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let a = &r["variants"][0];
    let b = &r["variants"][1];
    assert_eq!(
        (a["id"].clone(), a["exposed"].clone(), a["converted"].clone(), a["revenue"].clone()),
        (json!("a"), json!(2), json!(1), json!(20.0)),
        "{r}"
    );
    // b: borrower (decide), c3, c4, c5; c4's purchase was before the exposure.
    assert_eq!(
        (b["exposed"].clone(), b["converted"].clone(), b["revenue"].clone()),
        (json!(4), json!(1), json!(5.0)),
        "{r}"
    );
    assert!(a["p_value"].is_null() && b["p_value"].as_f64().is_some_and(|p| p > 0.0 && p <= 1.0), "{r}");
    let got = s.get(&format!("{PATH}/loan_banner/report?window_days=0"), &k.admin).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", Some("window_days"));

    // An audience an experience targets cannot be deleted from under it.
    let (status, _) = s
        .post(
            "/v1/projects/shop-1/audiences",
            &k.admin,
            json!({"id":"vip","name":"VIP","rule":{"interaction":"purchase"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let vip = json!({"id":"vip_banner","name":"VIP","rule":{"audience":"vip"},"variants":[{"id":"a","weight":1}]});
    assert_eq!(s.post(PATH, &k.admin, vip).await.0, StatusCode::CREATED);
    let got = s.delete("/v1/projects/shop-1/audiences/vip", &k.admin).await;
    assert_error(&got, StatusCode::CONFLICT, "audience_in_use", None);
    assert_eq!(s.delete(&format!("{PATH}/vip_banner"), &k.admin).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.delete("/v1/projects/shop-1/audiences/vip", &k.admin).await.0, StatusCode::NO_CONTENT);

    // Delete; unknown ids answer 404; experiences survive a restart.
    assert_eq!(s.delete(&format!("{PATH}/paused"), &k.admin).await.0, StatusCode::NO_CONTENT);
    assert_error(&s.get(&format!("{PATH}/paused"), &k.admin).await, StatusCode::NOT_FOUND, "not_found", None);
    let s = s.restart();
    let (_, list) = s.get(PATH, &k.admin).await;
    assert_eq!(list["experiences"].as_array().map(Vec::len), Some(3));
    let (_, d) = s.post("/v1/projects/shop-1/experiences/decide", &k.ingest, json!({"customer":"borrower"})).await;
    assert_eq!(ids(&d), ["loan_banner"]);
}

#[tokio::test]
async fn time_rules_use_the_project_time_zone() {
    let (s, k) = shop().await;
    let (status, body) = s.put("/v1/projects/shop-1/settings", &k.admin, json!({"time_zone":"Mars/Olympus"})).await;
    assert_eq!((status, body["error"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("time_zone")), "{body}");
    let today_utc = affinity_core::date::format_ms(affinity_core::date::now_ms())[..10].to_string();
    // A zone 14 hours ahead of UTC is always on a later date than UTC, or the same one.
    let e = json!({"id":"today","name":"Today","rule":{"time":"date","op":"on","value":today_utc},
                   "variants":[{"id":"a","weight":1}]});
    assert_eq!(s.post(PATH, &k.admin, e).await.0, StatusCode::CREATED);
    let shown = |s: &Server| {
        let key = k.ingest.clone();
        let url = format!("{}/v1/projects/shop-1/experiences/decide", s.url);
        async move {
            let body: Value = reqwest::Client::new()
                .post(url)
                .header("x-api-key", key)
                .json(&json!({}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            !ids(&body).is_empty()
        }
    };
    assert!(shown(&s).await, "today in UTC");
    let (status, _) = s.put("/v1/projects/shop-1/settings", &k.admin, json!({"time_zone":"Pacific/Kiritimati"})).await;
    assert_eq!(status, StatusCode::OK);
    let hour_utc: u32 = affinity_core::date::format_ms(affinity_core::date::now_ms())[11..13].parse().unwrap_or(0);
    // Kiritimati is UTC+14: from 10:00 UTC on it is already tomorrow there.
    assert_eq!(shown(&s).await, hour_utc < 10, "at {hour_utc}:xx UTC");
}
