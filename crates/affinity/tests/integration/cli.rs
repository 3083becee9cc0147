use std::process::Command;

use reqwest::StatusCode;

use crate::common::*;

#[tokio::test]
async fn project_create_prints_the_project_and_its_keys() {
    let s = Server::start();
    let out = Command::new(env!("CARGO_BIN_EXE_affinity"))
        .args(["project", "create", "shop-1", "--name", "My shop", "--url", &s.url, "--master-key", MASTER])
        .env_remove("AFFINITY_MASTER_KEY")
        .output()
        .expect("running affinity project create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!((body["id"].as_str(), body["name"].as_str()), (Some("shop-1"), Some("My shop")));
    let admin = str_of(&body["keys"]["admin"]);
    let (status, _) = s.get("/v1/projects/shop-1/stats", &admin).await;
    assert_eq!(status, StatusCode::OK, "the printed admin key works");

    let out = Command::new(env!("CARGO_BIN_EXE_affinity"))
        .args(["project", "create", "shop-1", "--url", &s.url, "--master-key", "wrong"])
        .output()
        .expect("running affinity project create");
    assert!(!out.status.success(), "a wrong master key fails");
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));

    // Without --master-key, the CLI reads master.key from the data directory.
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(dir.path(), None);
    let out = Command::new(env!("CARGO_BIN_EXE_affinity"))
        .args(["project", "create", "shop-2", "--url", &s.url, "--data-dir"])
        .arg(dir.path())
        .env_remove("AFFINITY_MASTER_KEY")
        .output()
        .expect("running affinity project create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
