//! One edit lock per project catalog (issue 13 §3): edits that refer to each other, sent at the same instant,
//! never leave the catalog with a reference to something deleted or changed away. Each round sends a pair of
//! conflicting requests concurrently, then reads the catalog back and checks every reference.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const ROUNDS: usize = 30;

fn experience(id: &str, audience: &str) -> Value {
    json!({"id": id, "name": id, "rule": {"audience": audience}, "variants": [{"id": "a", "weight": 1}]})
}

#[tokio::test]
async fn deleting_an_audience_and_targeting_it_never_both_succeed() {
    let (s, k) = shop().await;
    let base = "/v1/projects/shop-1";
    let (mut deleted, mut targeted) = (0, 0);
    for round in 0..ROUNDS {
        let a = format!("a{round}");
        let rule = json!({"id": a, "name": a, "rule": {"interaction": "view"}});
        assert_eq!(s.post(&format!("{base}/audiences"), &k.admin, rule).await.0, StatusCode::CREATED);
        let (one, all) = (format!("{base}/audiences/{a}"), format!("{base}/experiences"));
        let (delete, create) =
            tokio::join!(s.delete(&one, &k.admin), s.post(&all, &k.admin, experience(&format!("e{round}"), &a)));
        let audience = s.get(&format!("{base}/audiences/{a}"), &k.admin).await.0;
        let target = s.get(&format!("{base}/experiences/e{round}"), &k.admin).await.0;
        // Exactly one wins: the delete (then the experience's rule names no audience) or the experience (then
        // the audience is in use).
        match (delete.0, create.0) {
            (StatusCode::NO_CONTENT, StatusCode::BAD_REQUEST) => {
                assert_eq!(create.1["error"]["code"], "invalid_rule", "{}", create.1);
                assert_eq!((audience, target), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
                deleted += 1;
            }
            (StatusCode::CONFLICT, StatusCode::CREATED) => {
                assert_eq!(delete.1["error"]["code"], "audience_in_use", "{}", delete.1);
                assert_eq!((audience, target), (StatusCode::OK, StatusCode::OK));
                targeted += 1;
            }
            other => panic!("round {round}: delete and create ended {other:?}: {} / {}", delete.1, create.1),
        }
    }
    assert_eq!(deleted + targeted, ROUNDS);
}

#[tokio::test]
async fn deleting_an_audience_and_referring_to_it_never_both_succeed() {
    let (s, k) = shop().await;
    let base = "/v1/projects/shop-1/audiences";
    for round in 0..ROUNDS {
        let (a, b) = (format!("a{round}"), format!("b{round}"));
        let first = json!({"id": a, "name": a, "rule": {"interaction": "view"}});
        assert_eq!(s.post(base, &k.admin, first).await.0, StatusCode::CREATED);
        let second = json!({"id": b, "name": b, "rule": {"not": {"audience": a}}});
        let one = format!("{base}/{a}");
        let (delete, create) = tokio::join!(s.delete(&one, &k.admin), s.post(base, &k.admin, second));
        let (after_a, after_b) =
            (s.get(&format!("{base}/{a}"), &k.admin).await.0, s.get(&format!("{base}/{b}"), &k.admin).await.0);
        match (delete.0, create.0) {
            (StatusCode::NO_CONTENT, StatusCode::BAD_REQUEST) => {
                assert_eq!((after_a, after_b), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND), "round {round}");
            }
            (StatusCode::CONFLICT, StatusCode::CREATED) => {
                assert_eq!((after_a, after_b), (StatusCode::OK, StatusCode::OK), "round {round}");
            }
            other => panic!("round {round}: delete and create ended {other:?}: {} / {}", delete.1, create.1),
        }
    }
}

#[tokio::test]
async fn removing_a_parameter_and_using_it_never_both_succeed() {
    let (s, k) = shop().await;
    let base = "/v1/projects/shop-1";
    for round in 0..ROUNDS {
        // A type with no events: its parameters may be removed.
        let t = format!("quote_{round}");
        let def = json!({"id": t, "name": t, "parameters": [{"id": "amount", "type": "number"}]});
        assert_eq!(s.post(&format!("{base}/interactions"), &k.admin, def).await.0, StatusCode::CREATED);
        let without = json!({"name": t, "parameters": []});
        let uses = json!({"id": format!("q{round}"), "name": "big quotes",
            "rule": {"interaction": t, "where": [{"param": "amount", "op": "gte", "value": 100}]}});
        let (ty, audiences) = (format!("{base}/interactions/{t}"), format!("{base}/audiences"));
        let (update, create) = tokio::join!(s.put(&ty, &k.admin, without), s.post(&audiences, &k.admin, uses));
        let (_, ty) = s.get(&format!("{base}/interactions/{t}"), &k.admin).await;
        let has_amount = ty["parameters"].as_array().is_some_and(|p| p.iter().any(|p| p["id"] == "amount"));
        let audience = s.get(&format!("{base}/audiences/q{round}"), &k.admin).await.0;
        match (update.0, create.0) {
            // The type changed first: the audience's rule names a parameter it no longer has.
            (StatusCode::OK, StatusCode::BAD_REQUEST) => {
                assert!(!has_amount && audience == StatusCode::NOT_FOUND, "round {round}: {ty}");
            }
            // The audience came first: the change would break it.
            (StatusCode::CONFLICT, StatusCode::CREATED) => {
                assert_eq!(update.1["error"]["code"], "interaction_in_use", "{}", update.1);
                assert!(has_amount && audience == StatusCode::OK, "round {round}: {ty}");
            }
            other => panic!("round {round}: update and create ended {other:?}: {} / {}", update.1, create.1),
        }
    }
}
