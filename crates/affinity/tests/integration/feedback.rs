use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn the_seed_example_then_its_duplicate() {
    let (s, k) = shop().await;
    let body = json!({"project":"shop-1","data":{"event":"view","item":"sku-1","customer":"u-42","date":"2026-11-20T10:00:00Z"}});
    let (status, first) = s.post("/feedback", &k.ingest, body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["status"], "ok");
    assert!(first["id"].as_str().is_some_and(|id| !id.is_empty()));
    let (status, again) = s.post("/feedback", &k.ingest, body).await;
    assert_eq!((status, again), (StatusCode::OK, json!({"status":"skipped","reason":"duplicate"})));
    // The same event at another time is a new event.
    let (_, other) = s
        .event(
            "shop-1",
            &k.ingest,
            json!({"event":"view","item":"sku-1","customer":"u-42","date":"2026-11-20T10:00:01Z"}),
        )
        .await;
    assert_eq!(other["status"], "ok");
    assert_eq!(all_interaction_ids(&s, "shop-1", &k.admin, "u-42").await.len(), 2);
}

#[tokio::test]
async fn client_ids_make_resends_idempotent() {
    let (s, k) = shop().await;
    let ev = |price: f64| json!({"event":"purchase","item":"sku-1","customer":"u","date":"2026-01-01","price":price,"quantity":1,"id":"order-7-line-1"});
    let (_, first) = s.event("shop-1", &k.ingest, ev(10.0)).await;
    assert_eq!(first, json!({"status":"ok","id":"order-7-line-1"}));
    let (_, again) = s.event("shop-1", &k.ingest, ev(12.0)).await;
    assert_eq!(again["status"], "skipped", "same client id, even with other content");
    let s = s.restart();
    let (_, after_restart) = s.event("shop-1", &k.ingest, ev(10.0)).await;
    assert_eq!(after_restart["status"], "skipped", "idempotency survives a restart");
    assert_eq!(all_interaction_ids(&s, "shop-1", &k.admin, "u").await, vec!["order-7-line-1"]);
}

#[tokio::test]
async fn every_bad_field_is_named() {
    let (s, k) = shop().await;
    let base = json!({"event":"purchase","item":"sku-1","customer":"u","date":"2026-01-01T00:00:00Z"});
    let with = |key: &str, v: Value| {
        let mut b = base.clone();
        b[key] = v;
        b
    };
    let without = |key: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(key);
        b
    };
    let future = two_days_from_now();
    let cases: Vec<(Value, &str, &str)> = vec![
        (without("event"), "missing_field", "data.event"),
        (without("item"), "missing_field", "data.item"),
        (without("customer"), "missing_field", "data.customer"),
        (without("date"), "missing_field", "data.date"),
        (with("event", json!("teleport")), "unknown_event", "data.event"),
        (with("date", json!("next tuesday")), "invalid_date", "data.date"),
        (with("date", json!(future)), "invalid_date", "data.date"),
        (with("quantity", json!(0)), "invalid_quantity", "data.quantity"),
        (with("quantity", json!(-1)), "invalid_quantity", "data.quantity"),
        (with("price", json!(-5)), "invalid_price", "data.price"),
        (with("price", json!("cheap")), "invalid_price", "data.price"),
        (with("customer", json!("")), "invalid_id", "data.customer"),
        (with("item", json!("x".repeat(300))), "invalid_id", "data.item"),
        (with("id", json!(["a"])), "invalid_id", "data.id"),
        (with("costumer", json!("u")), "unknown_field", "data.costumer"),
        (with("params", json!({"colour":"red"})), "unknown_parameter", "data.params.colour"),
        (
            json!({"event":"view","item":"i","customer":"u","date":"2026-01-01","price":1}),
            "invalid_price",
            "data.price",
        ),
        (json!({"event":"loan_application","customer":"u","date":"2026-01-01"}), "missing_field", "data.params.amount"),
        (
            json!({"event":"loan_application","customer":"u","date":"2026-01-01","params":{"amount":"lots"}}),
            "invalid_parameter",
            "data.params.amount",
        ),
        (
            json!({"event":"loan_application","customer":"u","date":"2026-01-01","params":{"amount":1,"due":"someday"}}),
            "invalid_parameter",
            "data.params.due",
        ),
        (
            json!({"event":"loan_application","customer":"u","date":"2026-01-01","params":{"amount":1,"approved":"perhaps"}}),
            "invalid_parameter",
            "data.params.approved",
        ),
        (
            json!({"event":"loan_application","customer":"u","date":"2026-01-01","params":{"amount":1,"product":""}}),
            "invalid_parameter",
            "data.params.product",
        ),
        (
            json!({"event":"loan_application","customer":"u","date":"2026-01-01","params":{"amount":1,"zip":"1"}}),
            "unknown_parameter",
            "data.params.zip",
        ),
    ];
    for (data, code, field) in cases {
        let got = s.event("shop-1", &k.ingest, data.clone()).await;
        assert_error(&got, StatusCode::BAD_REQUEST, code, Some(field));
    }
    let got = s.post("/feedback", &k.ingest, json!({"project":"shop-1"})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "missing_field", Some("data"));
    let got = s.post("/feedback", &k.ingest, json!({"data": base.clone()})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "missing_field", Some("project"));
    let got =
        s.raw("/feedback", &k.ingest, Some("application/json"), b"{\"project\":\"shop-1\",\"data\":{".to_vec()).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_json", None);
    // (`text/plain` is read as JSON here since issue 15: it is what `navigator.sendBeacon` sends.)
    let got = s.raw("/feedback", &k.ingest, Some("text/csv"), base.to_string().into_bytes()).await;
    assert_error(&got, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None);
    let got = s.post("/v1/projects/shop-1/feedback", &k.ingest, json!({"project":"shop-2","data": base.clone()})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "project_mismatch", Some("project"));
    let (status, _) = s.post("/v1/projects/shop-1/feedback", &k.ingest, json!({"data": base.clone()})).await;
    assert_eq!(status, StatusCode::OK);
    // Nothing refused was stored: only the one accepted event is there.
    let (_, stats) = s.get("/v1/projects/shop-1/stats", &k.admin).await;
    assert_eq!(stats["events"], 1, "{stats}");
}

/// Epoch seconds two days from now.
fn two_days_from_now() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs() + 2 * 86_400;
    secs.to_string()
}

#[tokio::test]
async fn every_date_form_is_stored_as_utc() {
    let (s, k) = shop().await;
    let forms = [
        (json!("2026-11-20T11:00:00+01:00"), "2026-11-20T10:00:00Z"),
        (json!("2026-11-19T10:00:00"), "2026-11-19T10:00:00Z"),
        (json!("2026-11-18"), "2026-11-18T00:00:00Z"),
        (json!(1_763_373_600), "2025-11-17T10:00:00Z"),
        (json!(1_763_287_200_000_i64), "2025-11-16T10:00:00Z"),
    ];
    for (i, (date, _)) in forms.iter().enumerate() {
        let (status, body) = s
            .event("shop-1", &k.ingest, json!({"event":"view","item":format!("i{i}"),"customer":"u","date":date}))
            .await;
        assert_eq!(status, StatusCode::OK, "{date}: {body}");
    }
    let (_, page) = s.get("/v1/projects/shop-1/customers/u/interactions", &k.admin).await;
    let dates: Vec<String> = page["interactions"].as_array().unwrap().iter().map(|i| str_of(&i["date"])).collect();
    assert_eq!(dates, forms.iter().map(|(_, want)| want.to_string()).collect::<Vec<_>>());
}

#[tokio::test]
async fn custom_parameters_are_stored_typed() {
    let (s, k) = shop().await;
    let (status, body) = s
        .event(
            "shop-1",
            &k.ingest,
            json!({"event":"loan_application","customer":"u","date":"2026-01-01",
            "params":{"amount":5000,"approved":true,"due":"2026-03-01","channel":"web","product":"loan-30y"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, page) = s.get("/v1/projects/shop-1/customers/u/interactions", &k.admin).await;
    let got = &page["interactions"][0];
    assert_eq!(got["item"], Value::Null);
    assert_eq!(
        got["params"],
        json!({"amount":5000.0,"approved":true,"due":"2026-03-01T00:00:00Z","channel":"web","product":"loan-30y"})
    );
}

#[tokio::test]
async fn batches_report_row_by_row() {
    let (s, k) = shop().await;
    let ok = |n: u32| json!({"event":"cart","item":format!("sku-{n}"),"customer":"u","date":"2026-01-01","quantity":1});
    let data = json!([ok(1), {"event":"cart","customer":"u","date":"2026-01-01"}, ok(1), ok(2), "not an event",
        {"event":"purchase","item":"sku-9","customer":"u","date":"2026-01-01","price":-5}]);
    let (status, report) = s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (
            report["processed"].as_u64(),
            report["succeeded"].as_u64(),
            report["skipped"].as_u64(),
            report["failed"].as_u64()
        ),
        (Some(6), Some(2), Some(1), Some(3))
    );
    assert_eq!((report["success_rate"].as_str(), report["completion_rate"].as_str()), (Some("33.33%"), Some("50.00%")));
    let failed = report["failed_items"].as_array().unwrap();
    let rows: Vec<u64> = failed.iter().map(|f| f["row_number"].as_u64().unwrap()).collect();
    assert_eq!(rows, [2, 5, 6]);
    assert_eq!(failed[0]["error"], "Missing required field: item");
    assert_eq!(failed[0]["user_id"], "u");
    assert_eq!(failed[0]["field"], "data[1].item");
    assert_eq!(failed[2]["item_id"], "sku-9");
    assert!(failed.iter().all(|f| f["timestamp"].as_str().is_some_and(|t| t.ends_with('Z'))));
    assert_eq!(report["has_more_failures"], false);
    assert_eq!(all_interaction_ids(&s, "shop-1", &k.admin, "u").await.len(), 2);
}

#[tokio::test]
async fn limits_answer_413() {
    let (s, k) = shop().await;
    let tiny = json!({"event":"view","item":"i","customer":"u","date":1});
    let rows: Vec<Value> = (0..10_001).map(|_| tiny.clone()).collect();
    let got = s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":rows})).await;
    assert_error(&got, StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large", Some("data"));
    let big = json!({"project":"shop-1","data":{"event":"view","item":"i","customer":"x".repeat(1 << 20),"date":1}});
    let got = s.post("/feedback", &k.ingest, big).await;
    assert_error(&got, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None);
    let rows: Vec<Value> = (0..10_000).map(|i| json!({"event":"view","item":i,"customer":"u","date":1})).collect();
    let (status, report) = s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":rows})).await;
    assert_eq!((status, report["succeeded"].as_u64()), (StatusCode::OK, Some(10_000)), "10,000 is allowed");
}

#[tokio::test]
async fn identical_content_is_a_duplicate_whatever_its_id() {
    let (s, k) = shop().await;
    let ev = |id: Option<&str>| {
        let mut e =
            json!({"event":"purchase","item":"sku-1","customer":"u","date":"2026-01-01T12:00:00Z","quantity":1});
        if let Some(id) = id {
            e["id"] = json!(id);
        }
        e
    };
    assert_eq!(s.event("shop-1", &k.ingest, ev(Some("order-1"))).await.1["status"], "ok");
    // Same client id, or identical type, customer, item, date, quantity, price and parameters: skipped.
    assert_eq!(s.event("shop-1", &k.ingest, ev(Some("order-2"))).await.1["status"], "skipped");
    assert_eq!(s.event("shop-1", &k.ingest, ev(None)).await.1["status"], "skipped");
    assert_eq!(all_interaction_ids(&s, "shop-1", &k.admin, "u").await, ["order-1"]);
}

/// Many clients send the same events at once: each is stored exactly once, and every answer is given only when
/// the event it concerns is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_are_stored_once() {
    let (s, k) = shop().await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (url, key) = (s.url.clone(), k.ingest.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let data: Vec<Value> = (0..200)
                .map(|i| json!({"event":"view","item":format!("i{i}"),"customer":"u","date":"2026-01-01"}))
                .collect();
            let resp = client
                .post(format!("{url}/feedback"))
                .header("x-api-key", key)
                .json(&json!({"project":"shop-1","data":data}))
                .send()
                .await;
            resp.expect("sent").json::<Value>().await.expect("report")
        }));
    }
    let (mut succeeded, mut skipped) = (0, 0);
    for t in tasks {
        let report = t.await.expect("task");
        succeeded += report["succeeded"].as_u64().expect("succeeded");
        skipped += report["skipped"].as_u64().expect("skipped");
    }
    assert_eq!((succeeded, skipped), (200, 1400));
    assert_eq!(all_interaction_ids(&s, "shop-1", &k.admin, "u").await.len(), 200);
}
