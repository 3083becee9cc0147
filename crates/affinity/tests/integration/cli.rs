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

#[tokio::test]
async fn import_prints_the_report_and_exits_by_outcome() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    let dir = tempfile::tempdir().unwrap();
    let run = |file: &str, interaction: &str| {
        Command::new(env!("CARGO_BIN_EXE_affinity"))
            .args(["import", "--project", "shop-1", "--interaction", interaction, "--url", &s.url, "--key", &k.admin])
            .arg(dir.path().join(file))
            .output()
            .expect("running affinity import")
    };
    std::fs::write(dir.path().join("good.csv"), "user_id,item_id\nu1,i1\nu2,i2\n").unwrap();
    std::fs::write(
        dir.path().join("some_bad.jsonl"),
        "{\"user_id\":\"u3\",\"item_id\":\"i3\"}\n{\"user_id\":\"u4\"}\n",
    )
    .unwrap();
    let out = run("good.csv", "view");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the report on stdout");
    assert_eq!((report["processed"].as_u64(), report["succeeded"].as_u64()), (Some(2), Some(2)));
    let out = run("some_bad.jsonl", "view");
    assert_eq!(out.status.code(), Some(2), "some rows failed: {}", String::from_utf8_lossy(&out.stdout));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the report on stdout");
    assert_eq!(report["failed_items"][0]["error"], "Missing required field: item_id");
    // A gzip file by its name, and a dry run that stores nothing.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, b"user_id,item_id\nz1,i1\n").unwrap();
    std::fs::write(dir.path().join("more.csv.gz"), gz.finish().unwrap()).unwrap();
    let dry = Command::new(env!("CARGO_BIN_EXE_affinity"))
        .args([
            "import",
            "--project",
            "shop-1",
            "--interaction",
            "view",
            "--dry-run",
            "--url",
            &s.url,
            "--key",
            &k.admin,
        ])
        .arg(dir.path().join("more.csv.gz"))
        .output()
        .expect("running affinity import --dry-run");
    assert_eq!(dry.status.code(), Some(0), "{}", String::from_utf8_lossy(&dry.stderr));
    let report: serde_json::Value = serde_json::from_slice(&dry.stdout).expect("the report on stdout");
    assert_eq!(report["succeeded"], 1);
    assert_eq!(run("more.csv.gz", "view").status.code(), Some(0));
    let out = run("good.csv", "teleport");
    assert_eq!(out.status.code(), Some(1), "the import itself failed");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown_event"));
    let (_, stats) = s.get("/v1/projects/shop-1/stats", &k.admin).await;
    assert_eq!(stats["events"], 4, "2 + 1 from the JSON Lines file + 1 from the gzip file; the dry run stored nothing");
}

#[tokio::test]
async fn evaluate_prints_a_table_or_json_from_a_test_file_or_a_split() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    let mut data = Vec::new();
    for c in 0..6 {
        for i in 0..4 {
            data.push(serde_json::json!({"event":"view","customer":format!("c{c}"),"item":format!("i{i}"),
                                         "date":format!("2026-01-0{}", i + 1)}));
        }
    }
    s.post("/feedback", &k.ingest, serde_json::json!({"project":"shop-1","data":data})).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("test.csv"), "user_id,item_id\nc0,i9\n").unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_affinity"))
            .args(["evaluate", "--project", "shop-1", "--url", &s.url, "--key", &k.admin, "--k", "5"])
            .args(extra)
            .output()
            .expect("running affinity evaluate")
    };
    let test = dir.path().join("test.csv");
    let table = run(&["--test", test.to_str().unwrap()]);
    assert_eq!(table.status.code(), Some(0), "{}", String::from_utf8_lossy(&table.stderr));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.lines().next().is_some_and(|h| h.contains("recall") && h.contains("ndcg")), "{text}");
    assert!(text.contains("popular"), "{text}");
    let json = run(&["--split", "time", "--test-fraction", "0.25", "--json"]);
    assert_eq!(json.status.code(), Some(0), "{}", String::from_utf8_lossy(&json.stderr));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
    assert_eq!(v["test_rows"], 6, "the newest quarter: each customer's i3");
    let neither = run(&[]);
    assert_ne!(neither.status.code(), Some(0), "a test file or a split is required");
}
