//! Issue 15, §3 over HTTP: `identify` makes an anonymous id a customer's alias; the anonymous id's events, past
//! and future, are the customer's for read-back, recommendations, audiences and erasure, after a restart too;
//! one customer per anonymous id, no chains.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const P: &str = "/v1/projects/shop-1";

/// The items of a read-back, newest first, with the anonymous id each was sent under (or `-`).
async fn readback(s: &Server, k: &Keys, customer: &str) -> Vec<(String, String)> {
    let (status, body) = s.get(&format!("{P}/customers/{customer}/interactions?limit=100"), &k.admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["interactions"]
        .as_array()
        .expect("interactions")
        .iter()
        .map(|i| (str_of(&i["item"]), i["anonymous_id"].as_str().unwrap_or("-").to_string()))
        .collect()
}

async fn send(s: &Server, key: &str, data: Value) {
    let (status, r) = s.post("/feedback", key, json!({"project":"shop-1","data":data})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert!(r["status"] == "ok" || r["failed"] == 0, "{r}");
}

async fn identify(s: &Server, key: &str, anonymous_id: &str, customer: &str) -> (StatusCode, Value) {
    s.post(&format!("{P}/identify"), key, json!({"anonymous_id":anonymous_id,"customer":customer})).await
}

#[tokio::test]
async fn an_identified_visitor_s_anonymous_events_are_the_customer_s_before_and_after_and_after_a_restart() {
    let (s, k) = shop().await;
    let pk = public_key(&s, &k).await;
    send(
        &s,
        &pk,
        json!([{"event":"view","customer":"a-1","item":"sku-1","date":days_ago(3)},
               {"event":"cart","customer":"a-1","item":"sku-2","date":days_ago(2)},
               {"event":"purchase","customer":"u-42","item":"sku-9","date":days_ago(10),"price":5}]),
    )
    .await;
    let (status, done) = identify(&s, &k.ingest, "a-1", "u-42").await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!((done["anonymous_id"].as_str(), done["customer"].as_str()), (Some("a-1"), Some("u-42")));
    assert_eq!(done["created"], true);
    let (status, again) = identify(&s, &k.ingest, "a-1", "u-42").await;
    assert_eq!((status, again["created"].as_bool()), (StatusCode::OK, Some(false)), "{again}");
    // A second device of the same customer.
    send(&s, &pk, json!({"event":"view","customer":"a-2","item":"sku-3","date":days_ago(1)})).await;
    assert_eq!(identify(&s, &k.ingest, "a-2", "u-42").await.0, StatusCode::OK);
    // Later events of the anonymous id are the customer's too.
    send(&s, &pk, json!({"event":"view","customer":"a-1","item":"sku-4","date":days_ago(0)})).await;

    let expected: Vec<(String, String)> =
        [("sku-4", "a-1"), ("sku-3", "a-2"), ("sku-2", "a-1"), ("sku-1", "a-1"), ("sku-9", "-")]
            .map(|(i, a)| (i.to_string(), a.to_string()))
            .to_vec();
    assert_eq!(readback(&s, &k, "u-42").await, expected);
    assert_eq!(readback(&s, &k, "a-1").await, expected, "the anonymous id reads as its customer");

    // Audiences: the customer is a member through the anonymous id's cart; the anonymous id is no member of its own.
    let rule = json!({"interaction":"cart","window":{"last":{"n":7,"unit":"day"}}});
    let (status, a) =
        s.post(&format!("{P}/audiences"), &k.admin, json!({"id":"carts","name":"Carts","rule":rule})).await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    let (_, page) = s.get(&format!("{P}/audiences/carts/members"), &k.admin).await;
    assert_eq!(page["members"], json!(["u-42"]), "{page}");

    // Recommendations for the anonymous id are the customer's.
    train(&s, &k).await;
    let (_, by_customer) = s.get(&format!("{P}/recommendations/users/u-42?n=5"), &pk).await;
    let (_, by_anonymous) = s.get(&format!("{P}/recommendations/users/a-1?n=5"), &pk).await;
    assert_eq!(by_customer["items"], by_anonymous["items"], "{by_customer} {by_anonymous}");

    // Replayed after a restart: the aliases are loaded before the events.
    let s = s.restart();
    assert_eq!(readback(&s, &k, "u-42").await, expected);
    let (_, page) = s.get(&format!("{P}/audiences/carts/members"), &k.admin).await;
    assert_eq!(page["members"], json!(["u-42"]), "{page}");
}

#[tokio::test]
async fn an_anonymous_id_belongs_to_one_customer_and_aliases_do_not_chain() {
    let (s, k) = shop().await;
    let pk = public_key(&s, &k).await;
    assert_eq!(identify(&s, &k.ingest, "a-1", "u-1").await.0, StatusCode::OK);
    assert_eq!(identify(&s, &k.ingest, "a-2", "u-1").await.0, StatusCode::OK, "a customer may have many devices");

    let taken = identify(&s, &k.ingest, "a-1", "u-2").await;
    assert_error(&taken, StatusCode::CONFLICT, "identity_conflict", Some("anonymous_id"));
    assert!(str_of(&taken.1["error"]["message"]).contains("u-1"), "{}", taken.1);
    let alias_as_customer = identify(&s, &k.ingest, "a-9", "a-1").await;
    assert_error(&alias_as_customer, StatusCode::CONFLICT, "identity_conflict", Some("customer"));
    let customer_as_alias = identify(&s, &k.ingest, "u-1", "u-7").await;
    assert_error(&customer_as_alias, StatusCode::CONFLICT, "identity_conflict", Some("anonymous_id"));

    // A web page's key may only identify the tracker's anonymous ids: else it could merge any two customers.
    let victim = identify(&s, &pk, "u-9", "attacker").await;
    assert_error(&victim, StatusCode::BAD_REQUEST, "invalid_id", Some("anonymous_id"));
    assert_eq!(identify(&s, &pk, "a-0123456789abcdef01234567", "u-9").await.0, StatusCode::OK);

    assert_error(&identify(&s, &k.ingest, "u-5", "u-5").await, StatusCode::BAD_REQUEST, "invalid_id", Some("customer"));
    let missing = s.post(&format!("{P}/identify"), &k.ingest, json!({"anonymous_id":"a-3"})).await;
    assert_error(&missing, StatusCode::BAD_REQUEST, "missing_field", Some("customer"));
    let number = s.post(&format!("{P}/identify"), &k.ingest, json!({"anonymous_id":7,"customer":"u-1"})).await;
    assert_error(&number, StatusCode::BAD_REQUEST, "invalid_field", Some("anonymous_id"));
    let empty = identify(&s, &k.ingest, "", "u-1").await;
    assert_error(&empty, StatusCode::BAD_REQUEST, "invalid_id", Some("anonymous_id"));
    assert_error(&identify(&s, "afy_pk_nope", "a-5", "u-1").await, StatusCode::UNAUTHORIZED, "unauthorized", None);

    // Still one customer per anonymous id after a restart.
    let s = s.restart();
    let taken = identify(&s, &k.ingest, "a-1", "u-2").await;
    assert_error(&taken, StatusCode::CONFLICT, "identity_conflict", Some("anonymous_id"));
}

#[tokio::test]
async fn erasing_a_customer_erases_the_events_of_their_anonymous_ids_and_the_aliases() {
    let (s, k) = shop().await;
    let pk = public_key(&s, &k).await;
    send(&s, &pk, json!({"event":"view","customer":"a-1","item":"sku-1","date":days_ago(2)})).await;
    send(&s, &pk, json!({"event":"view","customer":"u-42","item":"sku-2","date":days_ago(1)})).await;
    send(&s, &pk, json!({"event":"view","customer":"bystander","item":"sku-1","date":days_ago(1)})).await;
    assert_eq!(identify(&s, &k.ingest, "a-1", "u-42").await.0, StatusCode::OK);
    send(&s, &pk, json!({"event":"view","customer":"a-1","item":"sku-3","date":days_ago(0)})).await;

    let (status, erased) = s.delete(&format!("{P}/customers/u-42"), &k.admin).await;
    assert_eq!((status, erased["deleted"].as_u64()), (StatusCode::OK, Some(3)), "{erased}");
    assert!(readback(&s, &k, "u-42").await.is_empty());
    assert!(readback(&s, &k, "a-1").await.is_empty(), "nothing of the anonymous id is left");
    assert_eq!(readback(&s, &k, "bystander").await.len(), 1);
    // The alias went with the customer: the anonymous id is free again.
    assert_eq!(identify(&s, &k.ingest, "a-1", "u-7").await.0, StatusCode::OK);
    // And nothing comes back after a restart.
    let s = s.restart();
    assert!(readback(&s, &k, "u-42").await.is_empty());
    assert!(readback(&s, &k, "a-1").await.is_empty());
}
