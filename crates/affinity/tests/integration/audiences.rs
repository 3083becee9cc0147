//! Issue 5 over HTTP: audiences checked at save, membership fresh from the views, edits, references, export.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const A: &str = "/v1/projects/shop-1/audiences";

/// Epoch ms `days_ago` days before now (the API takes epoch milliseconds as a date).
fn today(days_ago: i64) -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    now - days_ago * 86_400_000
}

async fn loans(s: &Server, k: &Keys) {
    let data = json!([
        {"event":"loan_application","customer":"big","date":today(10),"params":{"amount":6000,"approved":true}},
        {"event":"loan_application","customer":"small","date":today(10),"params":{"amount":100,"approved":true}},
        {"event":"loan_application","customer":"old","date":today(70),"params":{"amount":9000,"approved":true}},
        {"event":"loan_application","customer":"refused","date":today(1),"params":{"amount":9000,"approved":false}},
        {"event":"view","customer":"browser","item":"sku-1","date":today(1)}
    ]);
    let (status, r) = s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    assert_eq!((status, r["succeeded"].as_u64()), (StatusCode::OK, Some(5)), "{r}");
}

fn members(v: &Value) -> Vec<String> {
    let mut m: Vec<String> = v["members"].as_array().expect("members").iter().map(str_of).collect();
    m.sort();
    m
}

#[tokio::test]
async fn audiences_are_checked_computed_and_fresh() {
    let (s, k) = shop().await;
    loans(&s, &k).await;
    let rule = json!({"interaction":"loan_application","window":{"last":{"n":2,"unit":"month"}},
                      "where":[{"param":"amount","op":"gte","value":5000},{"param":"approved","op":"is_true"}]});
    let (status, created) =
        s.post(A, &k.admin, json!({"id":"loan_2m","name":"Big approved loans, 2 months","rule":rule})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["size"], 1);
    let (_, page) = s.get(&format!("{A}/loan_2m/members"), &k.admin).await;
    assert_eq!(members(&page), ["big"]);
    let (_, yes) = s.get(&format!("{A}/loan_2m/members/big"), &k.ingest).await;
    let (_, no) = s.get(&format!("{A}/loan_2m/members/old"), &k.ingest).await;
    assert_eq!((yes["member"].as_bool(), no["member"].as_bool()), (Some(true), Some(false)));

    // Fresh: an accepted event counts in the very next answer.
    s.event(
        "shop-1",
        &k.ingest,
        json!({"event":"loan_application","customer":"new","date":today(0),
                                         "params":{"amount":7000,"approved":true}}),
    )
    .await;
    let (_, now) = s.get(&format!("{A}/loan_2m/members/new"), &k.ingest).await;
    assert_eq!(now["member"], true);
    let (_, of) = s.get("/v1/projects/shop-1/customers/new/audiences", &k.ingest).await;
    assert_eq!(of["audiences"], json!(["loan_2m"]));

    // "Did not apply": exact, every known customer without a loan application.
    let never = json!({"interaction":"loan_application","cmp":{"op":"eq","value":0}});
    let (_, preview) = s.post(&format!("{A}/preview"), &k.admin, json!({"rule":never})).await;
    assert_eq!((preview["size"].as_u64(), preview["sample"].clone()), (Some(1), json!(["browser"])));

    // Editing drops members who no longer match.
    let stricter = json!({"interaction":"loan_application","where":[{"param":"amount","op":"gte","value":6500}]});
    let (status, edited) = s.put(&format!("{A}/loan_2m"), &k.admin, json!({"rule":stricter})).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    let (_, page) = s.get(&format!("{A}/loan_2m/members"), &k.admin).await;
    assert_eq!(members(&page), ["new", "old", "refused"], "big (6000) is out");
    assert_eq!(edited["name"], "Big approved loans, 2 months", "the name is kept");

    let (status, csv) = s.get_bytes(&format!("{A}/loan_2m/members.csv"), &k.admin).await;
    assert_eq!(status, StatusCode::OK);
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().next(), Some("customer"));
    assert_eq!(csv.lines().count(), 4);

    // Audiences survive a restart.
    let s = s.restart();
    let (_, list) = s.get(A, &k.admin).await;
    assert_eq!(list["audiences"][0]["id"], "loan_2m");
    assert_eq!(list["audiences"][0]["size"], 3);
}

#[tokio::test]
async fn bad_rules_name_the_node_and_references_are_guarded() {
    let (s, k) = shop().await;
    let bad = json!({"all":[{"interaction":"loan_application","where":[
        {"param":"amount","op":"gte","value":1},{"param":"amount","op":"contains","value":"5"}]}]});
    let got = s.post(A, &k.admin, json!({"id":"bad","name":"Bad","rule":bad})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_rule", Some("rule.all[0].where[1]"));
    assert!(
        str_of(&got.1["error"]["message"])
            .starts_with("rule.all[0].where[1]: operator \"contains\" does not apply to number parameter \"amount\"")
    );
    let got = s.post(A, &k.admin, json!({"id":"x","name":"X","rule":{"interaction":"loan"}})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_rule", Some("rule.interaction"));

    let view = json!({"interaction":"view"});
    assert_eq!(s.post(A, &k.admin, json!({"id":"a","name":"A","rule":view})).await.0, StatusCode::CREATED);
    let got = s.post(A, &k.admin, json!({"id":"a","name":"A","rule":view})).await;
    assert_error(&got, StatusCode::CONFLICT, "audience_exists", Some("id"));
    let b = json!({"all":[{"audience":"a"},{"not":{"interaction":"purchase"}}]});
    assert_eq!(s.post(A, &k.admin, json!({"id":"b","name":"B","rule":b})).await.0, StatusCode::CREATED);
    // a -> b -> a would be a cycle.
    let got = s.put(&format!("{A}/a"), &k.admin, json!({"rule":{"audience":"b"}})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_rule", Some("rule.audience"));
    let got = s.delete(&format!("{A}/a"), &k.admin).await;
    assert_error(&got, StatusCode::CONFLICT, "audience_in_use", None);
    assert_eq!(s.delete(&format!("{A}/b"), &k.admin).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.delete(&format!("{A}/a"), &k.admin).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.get(&format!("{A}/a"), &k.admin).await.0, StatusCode::NOT_FOUND);
    let got = s.post(A, &k.admin, json!({"id":"Bad Id","name":"X","rule":view})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_id", Some("id"));
}

#[tokio::test]
async fn a_type_change_that_breaks_a_saved_rule_is_refused() {
    let (s, k) = shop().await;
    let rule = json!({"interaction":"loan_application","where":[{"param":"channel","op":"eq","value":"web"}]});
    assert_eq!(s.post(A, &k.admin, json!({"id":"web","name":"Web","rule":rule})).await.0, StatusCode::CREATED);
    // No events of the type, so the catalog alone would allow dropping "channel"; the audience does not.
    let without_channel = json!({"name":"Loan application","parameters":[
        {"id":"amount","type":"number","required":true},{"id":"product","type":"item"},
        {"id":"approved","type":"boolean"},{"id":"due","type":"date"}]});
    let got = s.put("/v1/projects/shop-1/interactions/loan_application", &k.admin, without_channel).await;
    assert_error(&got, StatusCode::CONFLICT, "interaction_in_use", None);
    assert!(str_of(&got.1["error"]["message"]).contains("Audience web"), "{}", got.1);
}

/// Epoch ms `minutes_ago` minutes before now.
fn minutes(minutes_ago: i64) -> i64 {
    today(0) - minutes_ago * 60_000
}

#[tokio::test]
async fn the_issues_examples_over_http() {
    let (s, k) = shop().await;
    let items = json!([
        {"id":"nike-shoe","categories":["shoes"],"properties":{"brand":"Nike","size":"M"}},
        {"id":"puma-shoe","categories":["shoes"],"properties":{"brand":"Puma","size":"L"}},
        {"id":"m-shirt","categories":["shirts"],"properties":{"brand":"Acme","size":"M"}}
    ]);
    assert_eq!(s.put("/v1/projects/shop-1/items", &k.admin, items).await.0, StatusCode::OK);
    let ev = |kind: &str, who: &str, item: &str, date: i64, price: Option<f64>| {
        let mut e = json!({"event":kind,"customer":who,"item":item,"date":date});
        if let Some(p) = price {
            e["price"] = json!(p);
        }
        e
    };
    let mut data = Vec::new();
    for i in 0..10 {
        data.push(ev("view", "nike_fan", "nike-shoe", today(i), None));
    }
    for i in 0..9 {
        data.push(ev("view", "nike_9", "nike-shoe", today(i), None));
    }
    data.push(ev("view", "nike_9", "nike-shoe", today(40), None));
    data.push(ev("cart", "two_shoes", "nike-shoe", today(2), None));
    data.push(ev("cart", "two_shoes", "puma-shoe", today(3), None));
    data.push(ev("cart", "one_shoe", "nike-shoe", today(2), None));
    data.push(ev("cart", "one_shoe", "m-shirt", today(2), None));
    for i in 0..3 {
        data.push(ev("purchase", "size_m", if i == 0 { "m-shirt" } else { "nike-shoe" }, today(i + 1), Some(100.0)));
    }
    data.push(ev("purchase", "big_spender", "puma-shoe", today(5), Some(300.0)));
    data.push(ev("purchase", "big_spender", "puma-shoe", today(80), Some(250.0)));
    for i in 0..5 {
        data.push(ev("purchase", "frequent", "puma-shoe", today(i * 4), Some(1.0)));
    }
    data.push(ev("cart", "abandoner", "puma-shoe", minutes(10), None));
    data.push(ev("cart", "buyer", "puma-shoe", minutes(10), None));
    data.push(ev("purchase", "buyer", "puma-shoe", minutes(5), Some(1.0)));
    let (status, r) = s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    assert_eq!((status, r["failed"].as_u64()), (StatusCode::OK, Some(0)), "{r}");

    let cases = [
        (
            "nike_10",
            json!({"interaction":"view","item":[{"attr":"brand","op":"eq","value":"Nike"}],
            "window":{"last":{"n":30,"unit":"day"}},"cmp":{"op":"gte","value":10}}),
            vec!["nike_fan"],
        ),
        (
            "shoes_2",
            json!({"interaction":"cart","item":[{"attr":"category","op":"in","value":["shoes"]}],
            "window":{"last":{"n":30,"unit":"day"}},"measure":{"agg":"distinct_items"},"cmp":{"op":"gte","value":2}}),
            vec!["two_shoes"],
        ),
        (
            "size_m_3",
            json!({"interaction":"purchase","item":[{"attr":"size","op":"eq","value":"M"}],
            "cmp":{"op":"gte","value":3}}),
            vec!["size_m"],
        ),
        (
            "value_500",
            json!({"interaction":"purchase","window":{"last":{"n":90,"unit":"day"}},
            "measure":{"agg":"sum","param":"value"},"cmp":{"op":"gte","value":500}}),
            vec!["big_spender"],
        ),
        (
            "more_than_4",
            json!({"interaction":"purchase","window":{"last":{"n":3,"unit":"week"}},
            "cmp":{"op":"gt","value":4}}),
            vec!["frequent"],
        ),
        (
            "abandoned",
            json!({"all":[{"interaction":"cart","window":{"last":{"n":30,"unit":"minute"}}},
            {"interaction":"purchase","window":{"last":{"n":30,"unit":"minute"}},"cmp":{"op":"eq","value":0}}]}),
            vec!["abandoner"],
        ),
        ("purchasers", json!({"interaction":"purchase"}), vec!["big_spender", "buyer", "frequent", "size_m"]),
        (
            "a_not_b",
            json!({"all":[{"audience":"purchasers"},{"not":{"audience":"value_500"}}]}),
            vec!["buyer", "frequent", "size_m"],
        ),
    ];
    for (id, rule, want) in cases {
        let (status, created) = s.post(A, &k.admin, json!({"id":id,"name":id,"rule":rule})).await;
        assert_eq!(status, StatusCode::CREATED, "{id}: {created}");
        let (_, page) = s.get(&format!("{A}/{id}/members"), &k.admin).await;
        assert_eq!(members(&page), want, "{id}");
    }
}
