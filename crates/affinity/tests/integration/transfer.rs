//! `affinity export` / `affinity restore` move a project between PostgreSQL and SQLite with nothing lost (only in
//! the PostgreSQL suite, which has both).

use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

fn affinity(args: &[&str], stdin: Option<&[u8]>) -> (bool, Vec<u8>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_affinity"))
        .args(args)
        .env_remove("AFFINITY_DATABASE_URL")
        .env_remove("AFFINITY_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running affinity");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(bytes) = stdin {
        std::io::Write::write_all(&mut input, bytes).expect("writing stdin");
    }
    drop(input);
    let out = child.wait_with_output().expect("affinity output");
    (out.status.success(), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Everything a project holds, as the API shows it.
async fn snapshot(s: &Server, k: &Keys) -> serde_json::Value {
    let mut customers = Vec::new();
    // `a-1` is an anonymous id of u3: its read-back is u3's only while the alias is carried.
    for c in ["u1", "u2", "u3", "a-1"] {
        customers.push(s.get(&format!("/v1/projects/shop-1/customers/{c}/interactions?limit=100"), &k.admin).await.1);
    }
    let mut report = s.get("/v1/projects/shop-1/experiences/banner/report", &k.admin).await.1;
    report["computed_at"] = json!(null);
    let mut audience = s.get("/v1/projects/shop-1/audiences/big/members", &k.admin).await.1;
    audience["computed_at"] = json!(null);
    json!({
        "customers": customers,
        "items": s.get("/v1/projects/shop-1/items", &k.admin).await.1,
        "settings": s.get("/v1/projects/shop-1/settings", &k.admin).await.1,
        "interactions": s.get("/v1/projects/shop-1/interactions", &k.admin).await.1,
        "audience": audience,
        "stats": s.get("/v1/projects/shop-1/stats", &k.admin).await.1,
        "experiences": s.get("/v1/projects/shop-1/experiences", &k.admin).await.1,
        "report": report,
    })
}

#[tokio::test]
async fn a_project_moves_from_postgres_to_sqlite_and_back_with_nothing_lost() {
    let (mut s, k) = shop().await; // on PostgreSQL in this suite
    let (status, _) = s
        .put(
            "/v1/projects/shop-1/items",
            &k.admin,
            json!([{"id":"i1","title":"Rice, 1 kg","categories":["grocery"],
             "price":3.5,"properties":{"brand":"Acme"}},{"id":"i2","available":false}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.put("/v1/projects/shop-1/settings", &k.admin, json!({"half_life_days":30})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s
        .post(
            "/v1/projects/shop-1/audiences",
            &k.admin,
            json!({"id":"big","name":"Big loans","rule":{
            "interaction":"loan_application","where":[{"param":"amount","op":"gte","value":5000}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let data = json!([
        {"event":"purchase","customer":"u1","item":"i1","date":"2026-11-01T10:00:00.123Z","price":3.5,"quantity":2,"id":"e1"},
        {"event":"view","customer":"u1","item":"i2","date":"2026-11-02"},
        {"event":"loan_application","customer":"u2","date":"2026-11-03",
         "params":{"amount":9000.5,"product":"i1","approved":true,"due":"2027-01-01","channel":"web, \"app\""}},
        {"event":"cart","customer":"u3","item":"i9","date":"2020-02-29"},
    ]);
    let (status, report) = s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    assert_eq!((status, &report["failed"]), (StatusCode::OK, &json!(0)), "{report}");
    let banner = json!({"id":"banner","name":"Banner","rule":{"context":"page","op":"eq","value":"home"},
        "variants":[{"id":"a","weight":1,"payload":{"text":"Hello"}}]});
    assert_eq!(s.post("/v1/projects/shop-1/experiences", &k.admin, banner).await.0, StatusCode::CREATED);
    let (status, _) =
        s.post("/v1/projects/shop-1/experiences/banner/exposures", &k.ingest, json!({"customer":"u1"})).await;
    assert_eq!(status, StatusCode::OK);
    let alias = json!({"anonymous_id":"a-1","customer":"u3"});
    assert_eq!(s.post("/v1/projects/shop-1/identify", &k.ingest, alias).await.0, StatusCode::OK);
    let before = snapshot(&s, &k).await;
    assert_eq!(before["customers"][3], before["customers"][2], "{before}");
    let pg_url = database_for(&s.dir).expect("the PostgreSQL suite");
    s.stop();

    // PostgreSQL → file.
    let (ok, from_pg, err) = affinity(&["export", "--project", "shop-1", "--database-url", &pg_url], None);
    assert!(ok, "{err}");
    assert!(
        err.contains("4 event")
            && err.contains("2 item")
            && err.contains("1 experience")
            && err.contains("1 exposure")
            && err.contains("1 alias"),
        "{err}"
    );

    // A damaged file is refused before anything is written.
    let text = String::from_utf8(from_pg.clone()).expect("utf-8");
    let damaged = text.replacen("\"u3\"", "\"u4\"", 1);
    let sqlite_dir = tempfile::tempdir().expect("tempdir");
    let dir = sqlite_dir.path().to_str().expect("path");
    let (ok, _, err) = affinity(&["restore", "--data-dir", dir], Some(damaged.as_bytes()));
    assert!(!ok && err.contains("verification failed"), "{err}");
    let truncated = &from_pg[..from_pg.len() - 20];
    let (ok, _, err) = affinity(&["restore", "--data-dir", dir], Some(truncated));
    assert!(!ok, "a truncated export is refused: {err}");
    let (ok, _, err) = affinity(&["restore", "--project", "other", "--data-dir", dir], Some(&from_pg));
    assert!(!ok && err.contains("not other"), "{err}");

    // File → SQLite, verified; the SQLite server serves the same project with the same keys.
    let (ok, _, err) = affinity(&["restore", "--project", "shop-1", "--data-dir", dir], Some(&from_pg));
    assert!(ok && err.contains("verified"), "{err}");
    let (ok, _, err) = affinity(&["restore", "--data-dir", dir], Some(&from_pg));
    assert!(!ok && err.contains("already exists"), "restoring twice is refused: {err}");
    let sqlite = Server::start_on(sqlite_dir.path(), Some(MASTER), None);
    assert_eq!(sqlite.send(reqwest::Method::GET, "/health", None, None).await.1["store"], "sqlite");
    assert_eq!(snapshot(&sqlite, &k).await, before);
    drop(sqlite);

    // SQLite → file → a new PostgreSQL database: the same bytes all the way.
    let (ok, from_sqlite, err) = affinity(&["export", "--project", "shop-1", "--data-dir", dir], None);
    assert!(ok, "{err}");
    assert_eq!(from_sqlite, from_pg, "the SQLite export equals the PostgreSQL one, byte for byte");
    let pg2 = affinity_testpg::database();
    let (ok, _, err) = affinity(&["restore", "--database-url", &pg2], Some(&from_sqlite));
    assert!(ok, "{err}");
    let back = tempfile::tempdir().expect("tempdir");
    let again = Server::start_on(back.path(), Some(MASTER), Some(pg2));
    assert_eq!(snapshot(&again, &k).await, before);
}
