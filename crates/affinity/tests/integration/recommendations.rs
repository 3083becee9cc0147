//! Issue 4 over HTTP: catalog, settings, training, every recommendation endpoint with fallback, filters and the
//! live-history rule.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

/// Two taste clusters (customers a-* view items a0..a3, b-* items b0..b3, each all but one), and baskets where
/// rice always goes with curry.
async fn clustered_shop(s: &Server, k: &Keys) {
    let mut data = Vec::new();
    for cluster in ["a", "b"] {
        for c in 0..4 {
            for i in (0..4).filter(|&i| i != c) {
                data.push(json!({"event":"view","customer":format!("{cluster}-{c}"),"item":format!("{cluster}{i}"),
                                 "date":format!("2026-01-0{}T10:00:00Z", i + 1)}));
            }
        }
    }
    for c in 0..3 {
        data.push(json!({"event":"purchase","customer":format!("p-{c}"),"item":"rice","date":"2026-01-05T10:00:00Z"}));
        data.push(json!({"event":"purchase","customer":format!("p-{c}"),"item":"curry","date":"2026-01-05T10:05:00Z"}));
    }
    let (status, report) = s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    assert_eq!((status, report["failed"].as_u64()), (StatusCode::OK, Some(0)), "{report}");
}

#[tokio::test]
async fn recommendations_follow_tastes_baskets_and_live_history() {
    let (s, k) = shop().await;
    clustered_shop(&s, &k).await;
    let trained = train(&s, &k).await;
    assert_eq!(trained["models"]["personalized"]["model"], "ease_ials", "EASE blended with iALS by default");
    assert_eq!(trained["models"]["personalized"]["customers"], 11);

    // A customer of cluster A gets the A item they have not seen first, with a reason.
    let (status, r) = s.get("/v1/projects/shop-1/recommendations/users/a-0?n=1", &k.ingest).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(item_ids(&r), ["a0"]);
    assert_eq!(r["model"], "ease_ials");
    assert!(r["fallback"].is_null());
    assert!(str_of(&r["items"][0]["reason"]).starts_with("because you viewed a"), "{r}");

    // Live: a new customer views b1 and at once gets B items, without retraining.
    let (_, before) = s.get("/v1/projects/shop-1/recommendations/users/newbie?n=3", &k.ingest).await;
    assert_eq!(before["fallback"], "popular", "no history yet");
    assert_eq!(item_ids(&before).len(), 3);
    s.event("shop-1", &k.ingest, json!({"event":"view","customer":"newbie","item":"b1","date":"2026-01-06"})).await;
    let (_, after) = s.get("/v1/projects/shop-1/recommendations/users/newbie?n=3", &k.ingest).await;
    assert!(after["fallback"].is_null(), "{after}");
    assert!(item_ids(&after).iter().all(|i| i.starts_with('b') && i != "b1"), "{after}");

    // Purchased items are left out by default, kept with exclude=.
    let (_, p) = s.get("/v1/projects/shop-1/recommendations/users/p-0?n=20", &k.ingest).await;
    assert!(!item_ids(&p).contains(&"rice".to_string()));
    let (_, p) = s.get("/v1/projects/shop-1/recommendations/users/p-0?n=20&exclude=", &k.ingest).await;
    assert!(item_ids(&p).contains(&"rice".to_string()), "{p}");

    // Items: similar and bought together.
    let (_, sim) = s.get("/v1/projects/shop-1/recommendations/items/a1?n=3", &k.ingest).await;
    assert_eq!(sim["model"], "similar");
    assert!(item_ids(&sim).iter().all(|i| i.starts_with('a') && i != "a1"), "{sim}");
    let (_, bt) = s.get("/v1/projects/shop-1/recommendations/items/rice?kind=bought_together&n=1", &k.ingest).await;
    assert_eq!(item_ids(&bt), ["curry"]);
    assert_eq!(str_of(&bt["items"][0]["reason"]), "bought together with rice");
    let (_, unknown) = s.get("/v1/projects/shop-1/recommendations/items/nothing?n=2", &k.ingest).await;
    assert_eq!((unknown["fallback"].as_str(), item_ids(&unknown).len()), (Some("popular"), 2));

    // Popular: purchases weigh 4, views 1.
    let (_, pop) = s.get("/v1/projects/shop-1/recommendations/popular?n=2", &k.ingest).await;
    let mut top = item_ids(&pop);
    top.sort();
    assert_eq!(top, ["curry", "rice"]);
    let bad = s.get("/v1/projects/shop-1/recommendations/popular?window=2w", &k.ingest).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_field", Some("window"));

    // Session: an anonymous cart holding a2.
    let (_, sess) =
        s.post("/v1/projects/shop-1/recommendations/session", &k.ingest, json!({"items":["a2"],"n":2})).await;
    assert!(item_ids(&sess).iter().all(|i| i.starts_with('a') && i != "a2"), "{sess}");
}

#[tokio::test]
async fn the_catalog_decides_what_is_recommended() {
    let (s, k) = shop().await;
    clustered_shop(&s, &k).await;
    let items = json!([
        {"id":"a0","title":"A zero","categories":["alpha"],"available":true},
        {"id":"a1","categories":["alpha"],"available":false},
        {"id":"a2","categories":["alpha"],"price":3.5,"properties":{"brand":"Acme"}},
        {"id":"a3","categories":["beta"]},
        {"id":"b0"},{"id":"b1"},{"id":"b2"},{"id":"b3"},{"id":"rice"},
        {"id":"bad","price":-1}
    ]);
    let (status, report) = s.put("/v1/projects/shop-1/items", &k.admin, items).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["succeeded"].as_u64(), report["failed"].as_u64()), (Some(9), Some(1)));
    assert_eq!(report["failed_items"][0]["field"], "[9].price");
    let (_, a2) = s.get("/v1/projects/shop-1/items/a2", &k.admin).await;
    assert_eq!(a2["properties"]["brand"], "Acme");
    let (_, page) = s.get("/v1/projects/shop-1/items?limit=5", &k.admin).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    let (_, rest) =
        s.get(&format!("/v1/projects/shop-1/items?cursor={}", str_of(&page["next_cursor"])), &k.admin).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 4);
    assert!(rest["next_cursor"].is_null());

    train(&s, &k).await;
    // a1 is unavailable and curry is not in the catalog: neither is ever recommended.
    let (_, r) = s.get("/v1/projects/shop-1/recommendations/users/a-1?n=50&exclude=", &k.ingest).await;
    let got = item_ids(&r);
    assert!(!got.contains(&"a1".to_string()) && !got.contains(&"curry".to_string()), "{r}");
    let (_, alpha) = s.get("/v1/projects/shop-1/recommendations/users/a-3?n=50&category=alpha", &k.ingest).await;
    let mut got = item_ids(&alpha);
    got.sort();
    assert_eq!(got, ["a0", "a2"], "{alpha}");
    assert_eq!(s.delete("/v1/projects/shop-1/items/a0", &k.admin).await.0, StatusCode::NO_CONTENT);
    let (_, alpha) = s.get("/v1/projects/shop-1/recommendations/users/a-3?n=50&category=alpha", &k.ingest).await;
    assert_eq!(item_ids(&alpha), ["a2"]);
    assert_eq!(s.get("/v1/projects/shop-1/items/a0", &k.admin).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn settings_are_checked_and_change_the_weights() {
    let (s, k) = shop().await;
    let (status, defaults) = s.get("/v1/projects/shop-1/settings", &k.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(defaults["exclude"], json!("auto"), "purchases out of discovery, back through the tuned repeat weight");
    let bad = s.put("/v1/projects/shop-1/settings", &k.admin, json!({"weights":{"loan":1}})).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "unknown_event", Some("weights.loan"));
    let bad = s.put("/v1/projects/shop-1/settings", &k.admin, json!({"half_life_days":-3})).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_field", Some("half_life_days"));
    // Views outweigh purchases once the weights say so.
    let (status, _) =
        s.put("/v1/projects/shop-1/settings", &k.admin, json!({"weights":{"view":10,"purchase":1}})).await;
    assert_eq!(status, StatusCode::OK);
    let data = json!([
        {"event":"purchase","customer":"u1","item":"bought","date":"2026-01-01"},
        {"event":"purchase","customer":"u2","item":"bought","date":"2026-01-01"},
        {"event":"view","customer":"u3","item":"seen","date":"2026-01-01"}
    ]);
    s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    train(&s, &k).await;
    let (_, pop) = s.get("/v1/projects/shop-1/recommendations/popular?n=1", &k.ingest).await;
    assert_eq!(item_ids(&pop), ["seen"]);
    let s = s.restart();
    let (_, kept) = s.get("/v1/projects/shop-1/settings", &k.admin).await;
    assert_eq!(kept["weights"]["view"], 10.0, "settings survive a restart");
}

#[tokio::test]
async fn before_any_training_popular_items_come_from_the_views() {
    let (s, k) = shop().await;
    let (_, empty) = s.get("/v1/projects/shop-1/recommendations/users/u1", &k.ingest).await;
    assert_eq!(item_ids(&empty).len(), 0, "no items exist yet");
    s.event("shop-1", &k.ingest, json!({"event":"view","customer":"u1","item":"i1","date":"2026-01-01"})).await;
    let (status, r) = s.get("/v1/projects/shop-1/recommendations/users/u2", &k.ingest).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((item_ids(&r), r["fallback"].as_str()), (vec!["i1".to_string()], Some("popular")));
    // A customer's purchases stay out, trained or not.
    s.event("shop-1", &k.ingest, json!({"event":"purchase","customer":"u3","item":"i2","date":"2026-01-01"})).await;
    let (_, r) = s.get("/v1/projects/shop-1/recommendations/users/u3", &k.ingest).await;
    assert_eq!(item_ids(&r), ["i1"], "{r}");
}

#[tokio::test]
async fn evaluation_scores_held_out_items() {
    let (s, k) = shop().await;
    clustered_shop(&s, &k).await;
    train(&s, &k).await;
    // Each customer of a cluster lacks exactly the item EASE ranks first for them; "nobody" has no history.
    let test = "user_id,item_id\na-0,a0\na-1,a1\nb-2,b2\nnobody,a0\n";
    let (status, r) =
        s.raw("/v1/projects/shop-1/models/evaluate?k=1,5", &k.admin, Some("text/csv"), test.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!((r["test_rows"].as_u64(), r["skipped_customers"].as_u64()), (Some(4), Some(1)));
    let ease_at_1 = r["results"].as_array().unwrap().iter().find(|x| x["model"] == "ease_ials" && x["k"] == 1).unwrap();
    assert_eq!((ease_at_1["recall"].as_f64(), ease_at_1["ndcg"].as_f64()), (Some(1.0), Some(1.0)), "{r}");
    assert_eq!(ease_at_1["customers"], 3);
    let s = s.restart();
    let (_, status) = s.get("/v1/projects/shop-1/models", &k.admin).await;
    assert_eq!(status["last_evaluation"]["results"], r["results"], "the last evaluation survives a restart");
    let bad =
        s.raw("/v1/projects/shop-1/models/evaluate", &k.admin, Some("text/csv"), b"who,what\n1,2\n".to_vec()).await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST);
    let bad =
        s.raw("/v1/projects/shop-1/models/evaluate?k=0", &k.admin, Some("text/csv"), test.as_bytes().to_vec()).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_field", Some("k"));
}

#[tokio::test]
async fn a_restart_serves_the_stored_model_at_once() {
    let (s, k) = shop().await;
    clustered_shop(&s, &k).await;
    let trained = train(&s, &k).await;
    let at = trained["models"]["personalized"]["trained_at"].clone();
    let (_, before) = s.get("/v1/projects/shop-1/recommendations/users/a-2?n=3", &k.ingest).await;
    let s = s.restart();
    let (status, models) = s.get("/v1/projects/shop-1/models", &k.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(models["models"]["personalized"]["trained_at"], at, "the same model, not a new training: {models}");
    let (_, after) = s.get("/v1/projects/shop-1/recommendations/users/a-2?n=3", &k.ingest).await;
    assert_eq!((after["model"].as_str(), item_ids(&after)), (Some("ease_ials"), item_ids(&before)));
}

#[tokio::test]
async fn evaluation_can_split_the_projects_own_events() {
    let (s, k) = shop().await;
    clustered_shop(&s, &k).await;
    let eval = |q: &'static str| {
        let s = &s;
        let admin = k.admin.clone();
        async move { s.raw(&format!("/v1/projects/shop-1/models/evaluate?{q}"), &admin, Some("text/csv"), vec![]).await }
    };
    // 30 events: views on days 1-4 (6 a day) and 6 purchases on day 5. The newest 20 % are the purchases, whose
    // customers bought nothing else: all held out, none scorable.
    let (status, time) = eval("split=time&test_fraction=0.2&k=5").await;
    assert_eq!(status, StatusCode::OK, "{time}");
    assert_eq!((time["test_rows"].as_u64(), time["skipped_customers"].as_u64()), (Some(6), Some(3)), "{time}");
    let (_, first) = eval("split=random&test_fraction=0.3&seed=7&k=5").await;
    let (_, again) = eval("split=random&test_fraction=0.3&seed=7&k=5").await;
    assert_eq!(first["results"], again["results"], "a seed gives the same split");
    let rows = first["test_rows"].as_u64().unwrap();
    assert!(rows > 0 && rows < 30, "{first}");
    let models: Vec<&str> = first["results"].as_array().unwrap().iter().map(|r| r["model"].as_str().unwrap()).collect();
    assert_eq!(models, ["ease_ials", "item_knn", "popular"]);
    let (_, status) = s.get("/v1/projects/shop-1/models", &k.admin).await;
    assert_eq!(status["last_evaluation"]["results"], first["results"], "GET models shows the last evaluation");
    assert!(str_of(&status["last_evaluation"]["test"]).starts_with("random split"), "{status}");
    let bad = eval("split=sideways").await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_field", Some("split"));
    let bad = eval("split=random&test_fraction=1").await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_field", Some("test_fraction"));
}

#[tokio::test]
async fn items_upload_as_csv_through_the_import_endpoint() {
    let (s, k) = shop().await;
    let file = "id;title;categories;price;available;brand\r\n\
                sku-1;Basmati rice 1kg;grocery|rice;3.5;true;Acme\r\n\
                sku-2;\"Curry, mild\";grocery|spices;2;yes;Spicy Co\r\n\
                sku-3;Soap;;cheap;true;\r\n\
                ;No id;;1;true;\r\n\
                sku-4;Gone;grocery;1;no;Acme\r\n";
    let (status, import) = s.upload("shop-1", &k.admin, "kind=items&wait=true", &[], file.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{import}");
    assert_eq!(import["status"], "done");
    let report = &import["report"];
    assert_eq!(
        (report["processed"].as_u64(), report["succeeded"].as_u64(), report["failed"].as_u64()),
        (Some(5), Some(3), Some(2))
    );
    assert_eq!(report["failed_items"][0]["row_number"], 3);
    assert_eq!(report["failed_items"][0]["error"], "Invalid price: \"cheap\"");
    assert_eq!(report["failed_items"][1]["error"], "Missing required field: id");
    let (_, item) = s.get("/v1/projects/shop-1/items/sku-2", &k.admin).await;
    assert_eq!(item["title"], "Curry, mild");
    assert_eq!(item["categories"], json!(["grocery", "spices"]));
    assert_eq!(item["properties"]["brand"], "Spicy Co");
    let (_, gone) = s.get("/v1/projects/shop-1/items/sku-4", &k.admin).await;
    assert_eq!(gone["available"], false);
    let id = str_of(&import["id"]);
    let (status, failures) = s.get_bytes(&format!("/v1/projects/shop-1/imports/{id}/failures"), &k.admin).await;
    assert_eq!(status, StatusCode::OK);
    let failures = String::from_utf8(failures).unwrap();
    assert!(failures.starts_with("id,title,categories,price,available,brand,row_number,error"), "{failures}");
    assert!(failures.contains("sku-3,Soap,,cheap,true,,3,"), "{failures}");

    // The same bytes as an item file and then as interactions: the item upload must not make them "already
    // imported".
    let both = b"user_id,item_id,event\nu1,i1,view\n".to_vec();
    let (_, as_items) = s.upload("shop-1", &k.admin, "kind=items&wait=true", &[], both.clone()).await;
    assert_eq!(as_items["report"]["succeeded"], 1, "{as_items}");
    let (_, as_events) = s.upload("shop-1", &k.admin, "wait=true", &[], both).await;
    assert_eq!(as_events["report"]["succeeded"], 1, "{as_events}");

    let refused = s.upload("shop-1", &k.admin, "kind=items", &[], b"sku,title\nx,y\n".to_vec()).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "missing_column", Some("id"));
    let refused = s.upload("shop-1", &k.admin, "kind=pets", &[], b"id\nx\n".to_vec()).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "invalid_field", Some("kind"));
}

#[tokio::test]
async fn personalized_model_large_trains_ials_and_serves_the_same_tastes() {
    let (s, k) = shop().await;
    clustered_shop(&s, &k).await;
    let bad = s.put("/v1/projects/shop-1/settings", &k.admin, json!({"personalized_model":"huge"})).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_field", Some("personalized_model"));
    let (status, body) = s.put("/v1/projects/shop-1/settings", &k.admin, json!({"personalized_model":"large"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let trained = train(&s, &k).await;
    assert_eq!(trained["models"]["personalized"]["model"], "ials", "{trained}");
    let (status, r) = s.get("/v1/projects/shop-1/recommendations/users/b-1?n=1", &k.ingest).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!((r["model"].as_str(), item_ids(&r)), (Some("ials"), vec!["b1".to_string()]), "{r}");
    // The stored model serves again after a restart.
    let s = s.restart();
    let (_, again) = s.get("/v1/projects/shop-1/recommendations/users/b-1?n=1", &k.ingest).await;
    assert_eq!(again["items"], r["items"], "{again}");
    let (_, auto) = s.put("/v1/projects/shop-1/settings", &k.admin, json!({"personalized_model":"ease"})).await;
    assert_eq!(auto["personalized_model"], "ease");
    assert_eq!(train(&s, &k).await["models"]["personalized"]["model"], "ease");
}
