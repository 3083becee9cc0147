use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

fn loan() -> Value {
    json!({"id":"loan_application","name":"Loan application","parameters":[
        {"id":"amount","type":"number","required":true},
        {"id":"product","type":"item"},
        {"id":"approved","type":"boolean"},
        {"id":"due","type":"date"},
        {"id":"channel","type":"text"}]})
}

const PATH: &str = "/v1/projects/shop-1/interactions";

#[tokio::test]
async fn builtins_are_there() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    let (status, list) = s.get(PATH, &k.admin).await;
    assert_eq!(status, StatusCode::OK);
    let got: Vec<(String, String, bool)> = list["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (str_of(&t["id"]), str_of(&t["name"]), t["builtin"].as_bool().unwrap()))
        .collect();
    let want = [("view", "View item"), ("cart", "Add to cart"), ("like", "Add to favorite"), ("purchase", "Purchase")];
    assert_eq!(got, want.iter().map(|(i, n)| (i.to_string(), n.to_string(), true)).collect::<Vec<_>>());
    let (_, purchase) = s.get(&format!("{PATH}/purchase"), &k.admin).await;
    let params: Vec<&str> =
        purchase["parameters"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(params, ["quantity", "price"]);
    let got = s.delete(&format!("{PATH}/view"), &k.admin).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "builtin_interaction", None);
    let got = s.put(&format!("{PATH}/view"), &k.admin, json!({"name":"Seen"})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "builtin_interaction", None);
}

#[tokio::test]
async fn custom_types_are_created_and_checked() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    let (status, created) = s.post(PATH, &k.admin, loan()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["parameters"][0], json!({"id":"amount","type":"number","required":true}));
    assert_eq!(created["parameters"][2]["type"], "boolean");
    assert_eq!(
        (created["builtin"].as_bool(), created["archived"].as_bool(), created["events"].as_u64()),
        (Some(false), Some(false), Some(0))
    );

    let got = s.post(PATH, &k.admin, loan()).await;
    assert_error(&got, StatusCode::CONFLICT, "interaction_exists", Some("id"));
    let got = s.post(PATH, &k.admin, json!({"id":"purchase","name":"Mine"})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_id", Some("id"));
    let got = s.post(PATH, &k.admin, json!({"id":"Bad-Id","name":"X"})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_id", Some("id"));
    let got = s.post(PATH, &k.admin, json!({"id":"x","name":"X","parameters":[{"id":"a","type":"money"}]})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", Some("parameters[0].type"));
    let got = s
        .post(
            PATH,
            &k.admin,
            json!({"id":"x","name":"X","parameters":[{"id":"a","type":"text"},{"id":"a","type":"date"}]}),
        )
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", Some("parameters[1].id"));
    let got = s.post(PATH, &k.admin, json!({"id":"x","name":"X","parameters":[{"id":"A b","type":"text"}]})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_id", Some("parameters[0].id"));
    let got = s.post(PATH, &k.admin, json!({"name":"X"})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "missing_field", Some("id"));

    let (status, one) = s.get(&format!("{PATH}/loan_application"), &k.admin).await;
    assert_eq!((status, one["name"].as_str()), (StatusCode::OK, Some("Loan application")));
    let got = s.get(&format!("{PATH}/nothing"), &k.admin).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found", None);

    // The catalog survives a restart.
    let s = s.restart();
    let (_, list) = s.get(PATH, &k.admin).await;
    assert_eq!(list["interactions"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn updates_are_refused_only_while_events_exist() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    s.post(PATH, &k.admin, loan()).await;
    let one = format!("{PATH}/loan_application");
    // Without events anything goes, even removing a parameter.
    let mut fewer = loan();
    fewer["parameters"].as_array_mut().unwrap().pop();
    let (status, body) = s.put(&one, &k.admin, fewer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    s.put(&one, &k.admin, loan()).await;

    let (status, body) = s
        .event(
            "shop-1",
            &k.ingest,
            json!({"event":"loan_application","customer":"u","date":"2026-01-01","params":{"amount":5000}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let mut renamed = loan();
    renamed["name"] = json!("Loan request");
    renamed["parameters"].as_array_mut().unwrap().push(json!({"id":"branch","type":"text"}));
    let (status, body) = s.put(&one, &k.admin, renamed).await;
    assert_eq!(
        (status, body["name"].as_str(), body["events"].as_u64()),
        (StatusCode::OK, Some("Loan request"), Some(1))
    );

    let mut retyped = loan();
    retyped["parameters"][4]["type"] = json!("number");
    assert_error(&s.put(&one, &k.admin, retyped).await, StatusCode::CONFLICT, "interaction_in_use", None);
    let mut removed = loan();
    removed["parameters"].as_array_mut().unwrap().remove(1);
    assert_error(&s.put(&one, &k.admin, removed).await, StatusCode::CONFLICT, "interaction_in_use", None);
    let mut required = loan();
    required["parameters"].as_array_mut().unwrap().push(json!({"id":"branch","type":"text","required":true}));
    assert_error(&s.put(&one, &k.admin, required).await, StatusCode::CONFLICT, "interaction_in_use", None);
}

#[tokio::test]
async fn archived_types_refuse_new_events_and_keep_old_ones() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    s.post(PATH, &k.admin, json!({"id":"quote","name":"Quote"})).await;
    let ev = |item: &str| json!({"event":"quote","customer":"u","item":item,"date":"2026-01-01"});
    assert_eq!(s.event("shop-1", &k.ingest, ev("a")).await.0, StatusCode::OK);
    let (status, body) = s.delete(&format!("{PATH}/quote"), &k.admin).await;
    assert_eq!((status, body["archived"].as_bool()), (StatusCode::OK, Some(true)));
    let got = s.event("shop-1", &k.ingest, ev("b")).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "archived_event", Some("data.event"));
    let s = s.restart();
    let got = s.event("shop-1", &k.ingest, ev("c")).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "archived_event", Some("data.event"));
    let ids = all_interaction_ids(&s, "shop-1", &k.admin, "u").await;
    assert_eq!(ids.len(), 1, "the stored event stays");
}
