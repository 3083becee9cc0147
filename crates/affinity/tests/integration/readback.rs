use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_customers_history_pages_newest_first() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    // Sent out of time order, on purpose.
    let days = [5, 1, 9, 3, 7, 2, 8];
    for d in days {
        let date = format!("2026-01-{d:02}T00:00:00Z");
        let (status, _) = s
            .event(
                "shop-1",
                &k.ingest,
                json!({"event":"view","item":format!("d{d}"),"customer":"u-1","date":date,"id":format!("e{d}")}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    s.event("shop-1", &k.ingest, json!({"event":"view","item":"x","customer":"u-2","date":"2026-01-04"})).await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let (status, page) =
            s.get(&format!("/v1/projects/shop-1/customers/u-1/interactions?limit=3&cursor={cursor}"), &k.admin).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        seen.extend(page["interactions"].as_array().unwrap().iter().map(|i| str_of(&i["id"])));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["e9", "e8", "e7", "e5", "e3", "e2", "e1"]);
    let (_, first) = s.get("/v1/projects/shop-1/customers/u-1/interactions?limit=1", &k.admin).await;
    assert_eq!(
        first["interactions"][0],
        json!({"id":"e9","event":"view","item":"d9","date":"2026-01-09T00:00:00Z","quantity":null,"price":null,"order_id":null,"params":null})
    );
    let (_, nobody) = s.get("/v1/projects/shop-1/customers/nobody/interactions", &k.admin).await;
    assert_eq!(nobody, json!({"interactions":[],"next_cursor":null}));
    let got = s.get("/v1/projects/shop-1/customers/u-1/interactions?limit=0", &k.admin).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", Some("limit"));
    let got = s.get("/v1/projects/shop-1/customers/u-1/interactions?cursor=zzz", &k.admin).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", Some("cursor"));
}

#[tokio::test]
async fn stats_count_types_customers_and_items() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    let data = json!([
        {"event":"view","item":"a","customer":"u1","date":"2026-01-01"},
        {"event":"view","item":"b","customer":"u1","date":"2026-01-02"},
        {"event":"purchase","item":"a","customer":"u2","date":"2026-01-03","quantity":2,"price":3.5},
        {"event":"like","item":"c","customer":"u3","date":"2026-01-03"}
    ]);
    s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    let (status, stats) = s.get("/v1/projects/shop-1/stats", &k.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stats,
        json!({"events":4,"events_by_type":{"cart":0,"like":1,"purchase":1,"view":2},"customers":3,"items":3})
    );
}

#[tokio::test]
async fn erasure_removes_a_customer_for_good() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    for (c, item, id) in [("u1", "a", "x1"), ("u1", "b", "x2"), ("u2", "a", "x3")] {
        s.event("shop-1", &k.ingest, json!({"event":"view","item":item,"customer":c,"date":"2026-01-01","id":id}))
            .await;
    }
    let (status, body) = s.delete("/v1/projects/shop-1/customers/u1", &k.admin).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"deleted":2})));
    let (_, again) = s.delete("/v1/projects/shop-1/customers/u1", &k.admin).await;
    assert_eq!(again, json!({"deleted":0}));
    assert!(all_interaction_ids(&s, "shop-1", &k.admin, "u1").await.is_empty());
    let (_, stats) = s.get("/v1/projects/shop-1/stats", &k.admin).await;
    assert_eq!(
        (stats["events"].as_u64(), stats["customers"].as_u64(), stats["items"].as_u64()),
        (Some(1), Some(1), Some(1))
    );
    let s = s.restart();
    assert!(all_interaction_ids(&s, "shop-1", &k.admin, "u1").await.is_empty(), "erased for good, also after restart");
    assert_eq!(all_interaction_ids(&s, "shop-1", &k.admin, "u2").await, ["x3"]);
}

#[tokio::test]
async fn activity_counts_events_per_day_and_type() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    let day = 86_400_000;
    let now = affinity_core::date::now_ms();
    let date = |ms: i64| affinity_core::date::format_ms(ms);
    let data = json!([
        {"event":"view","customer":"u","item":"a","date":date(now)},
        {"event":"view","customer":"w","item":"a","date":date(now - 60_000)},
        {"event":"purchase","customer":"u","item":"a","date":date(now - day)},
        {"event":"view","customer":"u","item":"b","date":date(now - 40 * day)},
    ]);
    let (status, _) = s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, a) = s.get("/v1/projects/shop-1/activity?days=30", &k.admin).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let days = a["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(days[29], json!(date(now)[..10].to_string()), "the last day is today (UTC)");
    let views: Vec<u64> = a["series"]["view"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    let purchases: Vec<u64> = a["series"]["purchase"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    // The 40-day-old view is outside the window; a view just before midnight may fall on yesterday.
    assert_eq!(views.iter().sum::<u64>(), 2, "{a}");
    assert_eq!(views[29] + views[28], 2, "{a}");
    assert_eq!((purchases.iter().sum::<u64>(), purchases[28]), (1, 1), "{a}");
    assert!(a["series"].get("cart").is_none(), "types without events in the window are left out: {a}");
    let got = s.get("/v1/projects/shop-1/activity?days=0", &k.admin).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", Some("days"));
    let (status, _) = s.get("/v1/projects/shop-1/activity", &k.ingest).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "admin only");
}
