//! Issue 14 over HTTP: repeat purchases (`kind=buy_again`, the blended default answer), `order_id` baskets, the
//! repeat weight tuned at training (and pinned by the settings, and kept across a restart), and the next-basket
//! protocol over HTTP and the CLI.

use std::process::Command;

use affinity_core::date::{format_ms, now_ms};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const DAY: i64 = 86_400_000;

fn score_of(v: &Value, item: &str) -> Option<f64> {
    v["items"].as_array()?.iter().find(|i| i["item"] == item).and_then(|i| i["score"].as_f64())
}

/// A grocery: ten customers buy milk and bread every 7 days for six weeks, each order under its own order id;
/// each bought one television, once. Customer `due` last shopped 7 days ago, `fresh` yesterday; a few others
/// browse electronics so that discovery has something to offer.
async fn grocery(s: &Server, k: &Keys) {
    let now = now_ms();
    let mut data = Vec::new();
    let mut order = 0;
    for c in 0..10 {
        let customer = match c {
            0 => "due".to_string(),
            1 => "fresh".to_string(),
            c => format!("g-{c}"),
        };
        let last = if c == 1 { now - DAY } else { now - 7 * DAY - c * 3_600_000 };
        for week in 0..6 {
            let date = format_ms(last - week * 7 * DAY);
            order += 1;
            for item in ["milk", "bread"] {
                data.push(json!({"event":"purchase","customer":customer,"item":item,"date":date,
                                 "order_id":format!("o-{order}")}));
            }
        }
        data.push(json!({"event":"purchase","customer":customer,"item":format!("tv-{}", c % 3),
                         "date":format_ms(last - 20 * DAY),"order_id":format!("tv-{c}")}));
        data.push(json!({"event":"view","customer":customer,"item":"radio","date":format_ms(last - 2 * DAY)}));
    }
    let (status, report) = s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    assert_eq!((status, report["failed"].as_u64()), (StatusCode::OK, Some(0)), "{report}");
}

#[tokio::test]
async fn weekly_milk_comes_back_after_a_week_and_a_television_never() {
    let (s, k) = shop().await;
    grocery(&s, &k).await;
    let trained = train(&s, &k).await;
    let tuning = &trained["models"]["tuning"];
    assert_eq!(tuning["source"], "tuned", "{trained}");
    assert!(tuning["repeat_weight"].as_f64().unwrap() > 0.0, "repeats help a grocery: {tuning}");
    assert!(tuning["recall"].as_f64().is_some() && tuning["p_topfreq_recall"].as_f64().is_some(), "{tuning}");

    let (status, due) = s.get("/v1/projects/shop-1/recommendations/users/due?kind=buy_again&n=10", &k.ingest).await;
    assert_eq!(status, StatusCode::OK, "{due}");
    assert_eq!(due["model"], "buy_again");
    let mut got = item_ids(&due);
    got.sort();
    assert_eq!(got, ["bread", "milk"], "the television bought once is not offered again: {due}");
    assert_eq!(due["items"][0]["reason"], "you buy this about every 7 days", "{due}");
    let (_, fresh) = s.get("/v1/projects/shop-1/recommendations/users/fresh?kind=buy_again", &k.ingest).await;
    let (due_milk, fresh_milk) = (score_of(&due, "milk").unwrap(), score_of(&fresh, "milk").unwrap());
    assert!(due_milk > 10.0 * fresh_milk, "due after a week ({due_milk}), not the day after ({fresh_milk})");

    // The default answer blends: milk and bread lead for the customer they are due for; the television they
    // bought (tv-0) does not come back.
    let (_, default) = s.get("/v1/projects/shop-1/recommendations/users/due?n=3", &k.ingest).await;
    let top = item_ids(&default);
    assert_eq!(top[..2], ["milk", "bread"], "{default}");
    assert!(!top.contains(&"tv-0".to_string()), "{default}");
    // An explicit exclusion still wins over the tuning.
    let (_, excluded) = s.get("/v1/projects/shop-1/recommendations/users/due?n=3&exclude=purchase", &k.ingest).await;
    assert!(!item_ids(&excluded).contains(&"milk".to_string()), "{excluded}");

    let bad = s.get("/v1/projects/shop-1/recommendations/users/due?kind=similar", &k.ingest).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_field", Some("kind"));

    // The chosen values are stored with the models and survive a restart.
    let s = s.restart();
    let (_, models) = s.get("/v1/projects/shop-1/models", &k.admin).await;
    assert_eq!(&models["models"]["tuning"], tuning, "{models}");
}

#[tokio::test]
async fn a_shop_without_repeats_tunes_the_repeat_weight_to_zero_and_settings_can_pin_it() {
    let (s, k) = shop().await;
    let mut data = Vec::new();
    for c in 0..6 {
        for (n, item) in ["coat", "boots", "scarf", "hat"].iter().enumerate().filter(|(n, _)| *n != c % 4) {
            let date = format!("2026-0{}-10T10:00:00Z", n + 1);
            data.push(json!({"event":"purchase","customer":format!("f-{c}"),"item":item,"date":date}));
        }
    }
    let (status, _) = s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    assert_eq!(status, StatusCode::OK);
    let trained = train(&s, &k).await;
    assert_eq!(trained["models"]["tuning"]["source"], "no_repeats", "{trained}");
    assert_eq!(trained["models"]["tuning"]["repeat_weight"], 0.0);
    let (_, r) = s.get("/v1/projects/shop-1/recommendations/users/f-0?n=4", &k.ingest).await;
    assert_eq!(item_ids(&r), ["coat"], "purchased items stay out as before, and only coat is left to discover: {r}");

    let (status, body) = s.put("/v1/projects/shop-1/settings", &k.admin, json!({"repeat_weight":0.5})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let trained = train(&s, &k).await;
    assert_eq!(trained["models"]["tuning"]["source"], "pinned");
    assert_eq!(trained["models"]["tuning"]["repeat_weight"], 0.5);
    let bad = s.put("/v1/projects/shop-1/settings", &k.admin, json!({"repeat_weight":2})).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_field", Some("repeat_weight"));
}

#[tokio::test]
async fn order_ids_are_stored_read_back_and_make_baskets() {
    let (s, k) = shop().await;
    // 10:00 and 12:00 UTC of the day ten days ago: one day.
    let day = (now_ms() / DAY - 10) * DAY;
    let (ten_days_ago, two_hours_later) = (format_ms(day + 10 * 3_600_000), format_ms(day + 12 * 3_600_000));
    // Two orders the same day: two baskets of eggs. Without order ids, the same lines are one basket (one day).
    let data = json!([
        {"event":"purchase","customer":"u","item":"eggs","date":ten_days_ago,"order_id":"A"},
        {"event":"purchase","customer":"u","item":"eggs","date":two_hours_later,"order_id":"B"},
        {"event":"purchase","customer":"w","item":"flour","date":ten_days_ago},
        {"event":"purchase","customer":"w","item":"flour","date":two_hours_later},
    ]);
    let (status, report) = s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    assert_eq!((status, report["succeeded"].as_u64()), (StatusCode::OK, Some(4)), "{report}");
    let bad = s
        .post(
            "/feedback",
            &k.ingest,
            json!({"project":"shop-1","data":{"event":"view","customer":"u","item":"eggs",
                                              "date":ten_days_ago,"order_id":"A"}}),
        )
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_id", Some("data.order_id"));
    let (_, page) = s.get("/v1/projects/shop-1/customers/u/interactions", &k.admin).await;
    assert_eq!(page["interactions"][0]["order_id"], "B", "{page}");

    // An upload's order_id column.
    let csv = format!("user_id,item_id,timestamp,order_id\nx,jam,{ten_days_ago},C\n");
    let (status, import) = s.upload("shop-1", &k.admin, "interaction=purchase&wait=true", &[], csv.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{import}");
    let (_, page) = s.get("/v1/projects/shop-1/customers/x/interactions", &k.admin).await;
    assert_eq!(page["interactions"][0]["order_id"], "C", "{page}");

    train(&s, &k).await;
    let (_, eggs) = s.get("/v1/projects/shop-1/recommendations/users/u?kind=buy_again", &k.ingest).await;
    assert_eq!(item_ids(&eggs), ["eggs"], "two orders, two baskets: eggs are bought again: {eggs}");
    let (_, flour) = s.get("/v1/projects/shop-1/recommendations/users/w?kind=buy_again", &k.ingest).await;
    assert_eq!(item_ids(&flour), Vec::<String>::new(), "one day without order ids is one basket: {flour}");
}

#[tokio::test]
async fn the_next_basket_protocol_over_http_and_the_cli() {
    let (s, k) = shop().await;
    grocery(&s, &k).await;
    let (status, e) = s.post("/v1/projects/shop-1/models/evaluate?split=next_basket&k=2", &k.admin, json!(null)).await;
    assert_eq!(status, StatusCode::OK, "{e}");
    let rows = e["next_basket"].as_array().expect("next-basket figures");
    let models: Vec<&str> = rows.iter().map(|r| r["model"].as_str().unwrap()).collect();
    assert_eq!(models, ["affinity", "buy_again", "ease_ials", "g_topfreq", "p_topfreq"]);
    let p_topfreq = &rows[4];
    // Every customer's last order is milk and bread, which they bought in every earlier order: P-TopFreq's top 2.
    assert_eq!((p_topfreq["recall"].as_f64(), p_topfreq["phr"].as_f64()), (Some(1.0), Some(1.0)), "{e}");
    assert_eq!(p_topfreq["customers"], 10);
    assert!(rows[0]["recall"].as_f64().unwrap() >= 0.99, "the default answer finds them too: {e}");

    let out = Command::new(env!("CARGO_BIN_EXE_affinity"))
        .args(["evaluate", "--project", "shop-1", "--protocol", "next-basket", "--k", "2", "--url", &s.url])
        .args(["--key", &k.admin])
        .output()
        .expect("running affinity evaluate");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("phr") && table.contains("p_topfreq") && table.contains("g_topfreq"), "{table}");
}

#[tokio::test]
async fn discovery_parameters_are_tuned_on_the_last_baskets_shown_and_pinned_by_the_settings() {
    let (s, k) = shop().await;
    let (_, settings) = s.get("/v1/projects/shop-1/settings", &k.admin).await;
    for field in ["ease_lambda", "ease_dropout", "half_life_days"] {
        assert_eq!(settings[field], "auto", "{settings}");
    }
    // 200 customers whose tastes moved from one cluster of twenty items to the other 200 days ago; each one's last
    // order holds two more items of the recent cluster: recency predicts it, so tuning picks a half-life.
    let day0 = now_ms() - 210 * DAY;
    let mut csv = String::from("user_id,item_id,timestamp\n");
    for c in 0..200usize {
        let (old, new) = if c % 2 == 0 { ("a", "b") } else { ("b", "a") };
        let mut picks: Vec<usize> = (0..20).collect();
        picks.sort_by_key(|&i| (i * 7919 + c * 104_729) % 211);
        let days = [0, 0, 0, 0, 200, 200, 201, 201, 202, 202];
        for (n, (&i, day)) in picks.iter().zip(days).enumerate() {
            let cluster = if n < 4 { old } else { new };
            csv.push_str(&format!("c{c},{cluster}{i},{}\n", format_ms(day0 + day * DAY)));
        }
    }
    let (status, import) = s.upload("shop-1", &k.admin, "interaction=purchase&wait=true", &[], csv.into_bytes()).await;
    assert_eq!((status, import["report"]["succeeded"].as_u64()), (StatusCode::OK, Some(2_000)), "{import}");
    let trained = train(&s, &k).await;
    let tuning = &trained["models"]["tuning"];
    assert_eq!(
        (tuning["discovery_source"].as_str(), tuning["discovery_customers"].as_u64()),
        (Some("tuned"), Some(200))
    );
    assert!(tuning["half_life_days"].as_f64().is_some(), "{tuning}");
    assert!(tuning["discovery_recall"].as_f64() > tuning["discovery_default_recall"].as_f64(), "{tuning}");
    assert!(tuning["ease_lambda"].as_f64().is_some() && tuning["ease_dropout"].as_f64().is_some(), "{tuning}");

    let pinned = json!({"ease_lambda":800,"ease_dropout":0.1,"half_life_days":null});
    let (status, body) = s.put("/v1/projects/shop-1/settings", &k.admin, pinned).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["ease_lambda"].as_f64(), body["half_life_days"].is_null()), (Some(800.0), true), "{body}");
    let trained = train(&s, &k).await;
    let tuning = &trained["models"]["tuning"];
    assert_eq!(tuning["discovery_source"], "pinned", "{tuning}");
    assert_eq!((tuning["ease_lambda"].as_f64(), tuning["ease_dropout"].as_f64()), (Some(800.0), Some(0.1)));
    assert!(tuning["half_life_days"].is_null(), "{tuning}");

    let bad = s.put("/v1/projects/shop-1/settings", &k.admin, json!({"ease_lambda":0})).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_field", Some("ease_lambda"));
    let bad = s.put("/v1/projects/shop-1/settings", &k.admin, json!({"ease_dropout":"fast"})).await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST, "{}", bad.1);
    assert!(bad.1["error"]["message"].as_str().unwrap_or("").contains("auto"), "{}", bad.1);
}
