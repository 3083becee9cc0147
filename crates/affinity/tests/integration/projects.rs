use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn create_and_list_projects() {
    let s = Server::start();
    let (status, body) = s.post("/v1/projects", MASTER, json!({"id":"shop-1","name":"My shop"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((body["id"].as_str(), body["name"].as_str()), (Some("shop-1"), Some("My shop")));
    let (ingest, admin) = (str_of(&body["keys"]["ingest"]), str_of(&body["keys"]["admin"]));
    assert_ne!(ingest, admin);
    // At least 128 bits of randomness: more than 32 hex digits.
    assert!(ingest.len() > 32 && admin.len() > 32);
    let (status, list) = s.get("/v1/projects", MASTER).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["projects"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["projects"][0]["id"], "shop-1");
    assert!(list.to_string().find(&ingest).is_none(), "keys never listed");
}

#[tokio::test]
async fn taken_and_invalid_ids() {
    let s = Server::start();
    s.project("shop-1").await;
    let got = s.post("/v1/projects", MASTER, json!({"id":"shop-1","name":"Again"})).await;
    assert_error(&got, StatusCode::CONFLICT, "project_exists", Some("id"));
    for bad in ["", "shop 1", "shop/1", &"x".repeat(65)] {
        let got = s.post("/v1/projects", MASTER, json!({"id": bad})).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_id", Some("id"));
    }
    let got = s.post("/v1/projects", MASTER, json!({"name":"no id"})).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "invalid_json", None);
    let (status, _) = s.post("/v1/projects", MASTER, json!({"id": "A_b-9"})).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn master_key_file_is_generated_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(dir.path(), None);
    let path = dir.path().join("master.key");
    let key = std::fs::read_to_string(&path).expect("master.key written").trim().to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let (status, _) = s.post("/v1/projects", &key, json!({"id":"p"})).await;
    assert_eq!(status, StatusCode::CREATED);
    s.stop();
    let s = Server::start_in(dir.path(), None);
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), key, "the key is reused, not regenerated");
    let (status, list) = s.get("/v1/projects", &key).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["projects"][0]["id"], "p");
}
