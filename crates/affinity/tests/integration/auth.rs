use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

fn view() -> Value {
    json!({"event":"view","item":"sku-1","customer":"u-1","date":"2026-01-01T00:00:00Z"})
}

/// Every way of not being allowed gets the same 401 body.
#[tokio::test]
async fn the_401_matrix() {
    let s = Server::start();
    let shop = s.project("shop-1").await;
    let other = s.project("shop-2").await;
    let (status, revoked) = s.post("/v1/projects/shop-1/keys", &shop.admin, json!({"scope":"admin"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = s.delete(&format!("/v1/projects/shop-1/keys/{}", str_of(&revoked["id"])), &shop.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let revoked = str_of(&revoked["key"]);

    let feedback = Some(json!({"project":"shop-1","data": view()}));
    // Bodies are empty objects on purpose: the key is checked before the body.
    let admin_routes: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::GET, "/v1/projects/shop-1/interactions", None),
        (Method::POST, "/v1/projects/shop-1/interactions", Some(json!({}))),
        (Method::GET, "/v1/projects/shop-1/interactions/view", None),
        (Method::PUT, "/v1/projects/shop-1/interactions/view", Some(json!({}))),
        (Method::DELETE, "/v1/projects/shop-1/interactions/view", None),
        (Method::GET, "/v1/projects/shop-1/keys", None),
        (Method::POST, "/v1/projects/shop-1/keys", Some(json!({}))),
        (Method::DELETE, "/v1/projects/shop-1/keys/key_0000000000000000", None),
        (Method::GET, "/v1/projects/shop-1/stats", None),
        (Method::GET, "/v1/projects/shop-1/customers/u-1/interactions", None),
        (Method::DELETE, "/v1/projects/shop-1/customers/u-1", None),
    ];
    let ingest_routes: Vec<(Method, &str, Option<Value>)> =
        vec![(Method::POST, "/v1/projects/shop-1/feedback", Some(json!({})))];
    let master_routes: Vec<(Method, &str, Option<Value>)> =
        vec![(Method::GET, "/v1/projects", None), (Method::POST, "/v1/projects", Some(json!({})))];

    let mut first: Option<Value> = None;
    let mut check = |got: (StatusCode, Value), what: &str| {
        assert_eq!(got.0, StatusCode::UNAUTHORIZED, "{what}: {}", got.1);
        match &first {
            None => first = Some(got.1),
            Some(body) => assert_eq!(&got.1, body, "{what}: the same body whatever the reason"),
        }
    };
    let bad_keys: [(&str, Option<&str>); 4] = [
        ("no key", None),
        ("wrong key", Some("afy_nope")),
        ("revoked key", Some(&revoked)),
        ("other project's key", Some(&other.admin)),
    ];
    for (what, key) in bad_keys {
        check(s.send(Method::POST, "/feedback", key, feedback.clone()).await, &format!("feedback, {what}"));
        for (m, path, body) in admin_routes.iter().chain(&ingest_routes).chain(&master_routes) {
            check(s.send(m.clone(), path, key, body.clone()).await, &format!("{m} {path}, {what}"));
        }
    }
    // The master key manages projects and nothing else.
    check(s.send(Method::POST, "/feedback", Some(MASTER), feedback.clone()).await, "feedback, master key");
    for (m, path, body) in admin_routes.iter().chain(&ingest_routes) {
        check(s.send(m.clone(), path, Some(MASTER), body.clone()).await, &format!("{m} {path}, master key"));
    }
    for (m, path, body) in &admin_routes {
        check(s.send(m.clone(), path, Some(&shop.ingest), body.clone()).await, &format!("{m} {path}, ingest key"));
    }
    for (m, path, body) in &master_routes {
        check(s.send(m.clone(), path, Some(&shop.admin), body.clone()).await, &format!("{m} {path}, admin key"));
    }
    // The body's project decides: shop-2's key cannot send events to shop-1.
    check(
        s.post("/feedback", &other.ingest, json!({"project":"shop-1","data": view()})).await,
        "other project in body",
    );
    // And the valid keys work.
    let (status, _) = s.event("shop-1", &shop.ingest, view()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        s.event("shop-1", &shop.admin, json!({"event":"like","item":"s","customer":"u","date":"2026-01-01"})).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn keys_are_created_listed_and_revoked_at_once() {
    let s = Server::start();
    let shop = s.project("shop-1").await;
    let (status, created) = s.post("/v1/projects/shop-1/keys", &shop.admin, json!({"scope":"ingest"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (id, key) = (str_of(&created["id"]), str_of(&created["key"]));
    assert!(id.starts_with("key_"));
    assert_eq!(created["scope"], "ingest");

    let (status, list) = s.get("/v1/projects/shop-1/keys", &shop.admin).await;
    assert_eq!(status, StatusCode::OK);
    let keys = list["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| k.get("key").is_none() && k["scope"].is_string()));
    for secret in [&key, &shop.admin, &shop.ingest] {
        assert!(!list.to_string().contains(secret.as_str()), "secrets are never listed");
    }

    let (status, _) =
        s.event("shop-1", &key, json!({"event":"view","item":"a","customer":"u","date":"2026-01-01"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.delete(&format!("/v1/projects/shop-1/keys/{id}"), &shop.admin).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) =
        s.event("shop-1", &key, json!({"event":"view","item":"b","customer":"u","date":"2026-01-01"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revocation is effective immediately");
    let got = s.delete(&format!("/v1/projects/shop-1/keys/{id}"), &shop.admin).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found", None);
    let got = s.post("/v1/projects/shop-1/keys", &shop.admin, json!({"scope":"root"})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_json", None);

    // Revocation survives a restart.
    let s = s.restart();
    let (status, _) =
        s.event("shop-1", &key, json!({"event":"view","item":"c","customer":"u","date":"2026-01-01"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) =
        s.event("shop-1", &shop.ingest, json!({"event":"view","item":"c","customer":"u","date":"2026-01-01"})).await;
    assert_eq!(status, StatusCode::OK);
}

/// Wrong keys are answered 401 however often and however many at once, while the store is asked about unknown
/// keys (a key created a moment ago is honoured at once).
#[tokio::test]
async fn wrong_keys_get_401_and_new_keys_work_at_once() {
    let s = Server::start();
    let shop = s.project("shop-1").await;
    let path = "/v1/projects/shop-1/interactions";
    for _ in 0..3 {
        let got = s.get(path, "afy_0123456789abcdef").await;
        assert_error(&got, StatusCode::UNAUTHORIZED, "unauthorized", None);
    }
    let mut at_once = tokio::task::JoinSet::new();
    for n in 0..20 {
        let url = format!("{}{path}", s.url);
        at_once.spawn(async move {
            let key = format!("afy_wrong_{}", n % 5);
            reqwest::Client::new().get(url).header("x-api-key", key).send().await.expect("request").status()
        });
    }
    let statuses = at_once.join_all().await;
    assert_eq!(statuses, vec![StatusCode::UNAUTHORIZED; 20]);
    let (status, created) = s.post("/v1/projects/shop-1/keys", &shop.admin, json!({"scope":"admin"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(s.get(path, &str_of(&created["key"])).await.0, StatusCode::OK);
}
