use std::io::Write;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

/// Uploads a CSV for `purchase` and waits for the finished import.
async fn import(s: &Server, k: &Keys, query: &str, body: &[u8]) -> Value {
    let (status, body) = s.upload("shop-1", &k.admin, &format!("wait=true&{query}"), &[], body.to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "done", "{body}");
    body
}

fn counts(import: &Value) -> (u64, u64, u64, u64) {
    let r = &import["report"];
    let n = |k: &str| r[k].as_u64().unwrap_or(u64::MAX);
    (n("processed"), n("succeeded"), n("skipped"), n("failed"))
}

fn failures(import: &Value) -> Vec<(u64, String)> {
    import["report"]["failed_items"]
        .as_array()
        .expect("failed_items")
        .iter()
        .map(|f| (f["row_number"].as_u64().expect("row_number"), str_of(&f["error"])))
        .collect()
}

async fn stored(s: &Server, k: &Keys) -> u64 {
    s.get("/v1/projects/shop-1/stats", &k.admin).await.1["events"].as_u64().expect("events")
}

#[tokio::test]
async fn every_error_kind_row_by_row() {
    let (s, k) = shop().await;
    let mut csv = b"user_id,item_id,timestamp,quantity,price\n".to_vec();
    csv.extend_from_slice(b"u1,i1,2025-08-22T15:12:00Z,1,9.5\n"); // 1 ok
    csv.extend_from_slice(b"u2,,2025-08-22,1,1\n"); // 2 missing item
    csv.extend_from_slice(b"u3,i3,2025-08-22,1,-5\n"); // 3 price
    csv.extend_from_slice(b"u4,i4,yesterday,1,1\n"); // 4 timestamp
    csv.extend_from_slice(b"u5,i5,2025-08-22,0,1\n"); // 5 quantity
    csv.extend_from_slice(b"u6,i6,2025-08-22\n"); // 6 field count
    csv.extend_from_slice(b"u7,\xff\xfe,2025-08-22,1,1\n"); // 7 invalid UTF-8
    csv.extend_from_slice(b"u1,i1,2025-08-22T15:12:00Z,1,9.5\n"); // 8 duplicate of 1
    csv.extend_from_slice(b",i9,2025-08-22,1,1\n"); // 9 missing user
    let done = import(&s, &k, "interaction=purchase", &csv).await;
    assert_eq!(counts(&done), (9, 1, 1, 7));
    assert_eq!(done["report"]["success_rate"], "11.11%");
    assert_eq!(done["report"]["completion_rate"], "22.22%");
    assert_eq!(
        failures(&done),
        vec![
            (2, "Missing required field: item_id".to_string()),
            (3, "Invalid purchase amount: -5".to_string()),
            (4, "Timestamp format invalid".to_string()),
            (5, "Invalid quantity: 0".to_string()),
            (6, "Row has 3 fields, header has 5".to_string()),
            (7, "Invalid UTF-8".to_string()),
            (9, "Missing required field: user_id".to_string()),
        ]
    );
    let first = &done["report"]["failed_items"][0];
    assert_eq!((first["user_id"].as_str(), first["item_id"].as_str()), (Some("u2"), None));
    let short_row = &done["report"]["failed_items"][4];
    assert_eq!((short_row["user_id"].as_str(), short_row["item_id"].as_str()), (Some("u6"), Some("i6")));
    assert_eq!(short_row["code"], "invalid_row");
    assert!(first["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(stored(&s, &k).await, 1, "the report's counts equal what is stored");

    // The failed rows, with their original text, ready to fix and upload again.
    let id = str_of(&done["id"]);
    let (status, text) = s.get_bytes(&format!("/v1/projects/shop-1/imports/{id}/failures"), &k.admin).await;
    assert_eq!(status, StatusCode::OK);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(&text[..]);
    let header: Vec<String> = reader.headers().expect("header").iter().map(String::from).collect();
    assert_eq!(header, ["user_id", "item_id", "timestamp", "quantity", "price", "row_number", "error"]);
    let rows: Vec<csv::ByteRecord> = reader.byte_records().map(|r| r.expect("record")).collect();
    assert_eq!(rows.len(), 7);
    assert_eq!(
        rows[1],
        csv::ByteRecord::from(vec!["u3", "i3", "2025-08-22", "1", "-5", "3", "Invalid purchase amount: -5"])
    );
    assert_eq!(&rows[5][1], b"\xff\xfe", "the original bytes, even invalid UTF-8");

    // Imported events read back like any other.
    let (_, page) = s.get("/v1/projects/shop-1/customers/u1/interactions", &k.admin).await;
    assert_eq!(page["interactions"][0]["date"], "2025-08-22T15:12:00Z");
    assert_eq!(page["interactions"][0]["price"], 9.5);
}

#[tokio::test]
async fn formats_delimiters_and_encodings() {
    let (s, k) = shop().await;
    let semi = "\u{feff}user_id;item_id;price;note\r\nu1;\"a;b\";1;x\r\nu2;i2;2;\"line\nbreak, \"\"quoted\"\"\"\r\n";
    assert_eq!(
        counts(&import(&s, &k, "interaction=view&force=true", semi.as_bytes()).await),
        (2, 0, 0, 2),
        "view takes no price"
    );
    assert_eq!(counts(&import(&s, &k, "interaction=cart", semi.as_bytes()).await), (2, 2, 0, 0));
    let tab = "user_id\titem_id\nu3\t\"x,y\"\n\n";
    assert_eq!(
        counts(&import(&s, &k, "interaction=like", tab.as_bytes()).await),
        (1, 1, 0, 0),
        "blank lines are not rows"
    );
    let (_, page) = s.get("/v1/projects/shop-1/customers/u1/interactions", &k.admin).await;
    assert_eq!(page["interactions"][0]["item"], "a;b");

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"user_id,item_id\ng1,i1\ng2,i2\n").expect("gzip");
    let gz = gz.finish().expect("gzip");
    let (status, done) =
        s.upload("shop-1", &k.admin, "wait=true&interaction=view", &[("content-encoding", "gzip")], gz).await;
    assert_eq!((status, counts(&done)), (StatusCode::OK, (2, 2, 0, 0)), "{done}");

    let jsonl = b"{\"user_id\":\"j1\",\"item_id\":\"i1\",\"timestamp\":\"2025-01-01\"}\n{\"customer\":\"j2\",\"item\":\"i2\",\"colour\":\"red\"}\nnot json\n";
    let (status, done) = s
        .upload(
            "shop-1",
            &k.admin,
            "wait=true&interaction=view",
            &[("content-type", "application/x-ndjson")],
            jsonl.to_vec(),
        )
        .await;
    assert_eq!((status, counts(&done)), (StatusCode::OK, (3, 2, 0, 1)), "{done}");
    assert_eq!(done["report"]["ignored_columns"], json!(["colour"]));
    assert!(failures(&done)[0].1.starts_with("Invalid JSON"));
}

#[tokio::test]
async fn a_one_mebibyte_field_and_the_failure_cap() {
    let (s, k) = shop().await;
    let big = format!("user_id,item_id\nu1,\"{}\"\nu2,i2\n", "x".repeat(1 << 20));
    let done = import(&s, &k, "interaction=view", big.as_bytes()).await;
    assert_eq!(
        counts(&done),
        (2, 1, 0, 1),
        "a 1 MiB item id is refused (ids are at most 256 bytes), the next row stands"
    );

    let mut csv = String::from("user_id,item_id,quantity\n");
    for i in 0..150 {
        csv += &format!("u{i},i{i},0\n");
    }
    let done = import(&s, &k, "interaction=purchase", csv.as_bytes()).await;
    assert_eq!(done["report"]["failed"], 150);
    assert_eq!(done["report"]["failed_items"].as_array().map(Vec::len), Some(100));
    assert_eq!(done["report"]["has_more_failures"], true);
    let done = import(&s, &k, "interaction=purchase&force=true&max_failures=5", csv.as_bytes()).await;
    assert_eq!(done["report"]["failed_items"].as_array().map(Vec::len), Some(5));
    let id = str_of(&done["id"]);
    let (_, text) = s.get_bytes(&format!("/v1/projects/shop-1/imports/{id}/failures"), &k.admin).await;
    assert_eq!(
        String::from_utf8_lossy(&text).lines().count(),
        151,
        "every failed row is kept, not just the listed ones"
    );
}

#[tokio::test]
async fn empty_files_header_problems_and_unknown_types() {
    let (s, k) = shop().await;
    for body in [&b""[..], b"user_id,item_id\n"] {
        let done = import(&s, &k, "interaction=view&force=true", body).await;
        assert_eq!(counts(&done), (0, 0, 0, 0));
        assert_eq!(done["report"]["success_rate"], "0.00%");
    }
    let got = s.upload("shop-1", &k.admin, "interaction=view", &[], b"customer,sku,price\nu,i,1\n".to_vec()).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "missing_column", Some("item_id"));
    assert!(got.1["error"]["message"].as_str().is_some_and(|m| m.contains("customer, sku, price")), "{}", got.1);
    let got = s.upload("shop-1", &k.admin, "interaction=teleport", &[], b"user_id,item_id\n".to_vec()).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "unknown_event", Some("interaction"));
    let got = s.upload("shop-1", &k.admin, "", &[], b"user_id,item_id\nu,i\n".to_vec()).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "missing_column", Some("event"));
    assert_eq!(stored(&s, &k).await, 0, "refused files store nothing");
    let got = s.upload("shop-1", &k.ingest, "interaction=view", &[], b"user_id,item_id\n".to_vec()).await;
    assert_eq!(got.0, StatusCode::UNAUTHORIZED, "imports need an admin key");
}

#[tokio::test]
async fn mixed_files_and_every_parameter_type() {
    let (s, k) = shop().await;
    let csv = "event,user_id,item_id,amount,product,approved,due,channel,quantity\n\
               view,u1,sku-1,,,,,,\n\
               purchase,u1,sku-1,,,,,,2\n\
               loan_application,u1,,5000,loan-30y,yes,2026-03-01,web,\n\
               loan_application,u2,,abc,,,,,\n\
               loan_application,u3,,10,,perhaps,,,\n\
               teleport,u4,sku-1,,,,,,\n";
    let done = import(&s, &k, "", csv.as_bytes()).await;
    assert_eq!(counts(&done), (6, 3, 0, 3), "{done}");
    assert_eq!(
        failures(&done),
        vec![
            (4, "Invalid number for amount: abc".to_string()),
            (5, "Invalid yes/no for approved: perhaps".to_string()),
            (6, "Unknown event: teleport".to_string())
        ]
    );
    let (_, page) = s.get("/v1/projects/shop-1/customers/u1/interactions", &k.admin).await;
    let loan =
        page["interactions"].as_array().expect("array").iter().find(|i| i["event"] == "loan_application").cloned();
    assert_eq!(
        loan.map(|l| l["params"].clone()),
        Some(
            json!({"amount":5000.0,"approved":true,"channel":"web","due":"2026-03-01T00:00:00Z","product":"loan-30y"})
        )
    );
    let jsonl = b"{\"event\":\"loan_application\",\"user_id\":\"u9\",\"params\":{\"amount\":1,\"colour\":\"red\"}}\n";
    let (_, done) =
        s.upload("shop-1", &k.admin, "wait=true", &[("content-type", "application/x-ndjson")], jsonl.to_vec()).await;
    assert_eq!(failures(&done), vec![(1, "Unknown parameter: colour".to_string())]);
}

#[tokio::test]
async fn reuploads_dry_runs_and_history() {
    let (s, k) = shop().await;
    let csv = b"user_id,item_id,timestamp\nu1,i1,2025-01-01\nu2,i2,2025-01-01\nu3,,2025-01-01\n";
    let dry = import(&s, &k, "interaction=view&dry_run=true", csv).await;
    assert_eq!((counts(&dry), dry["dry_run"].as_bool()), ((3, 2, 0, 1), Some(true)));
    assert_eq!(stored(&s, &k).await, 0, "a dry run stores nothing");
    let first = import(&s, &k, "interaction=view", csv).await;
    assert_eq!(counts(&first), (3, 2, 0, 1));
    let again = import(&s, &k, "interaction=view", csv).await;
    assert_eq!(counts(&again), (3, 0, 2, 1), "the same bytes: every valid row skipped");
    let forced = import(&s, &k, "interaction=view&force=true", csv).await;
    assert_eq!(counts(&forced), (3, 0, 2, 1), "read row by row: duplicates skipped");
    let dry = import(&s, &k, "interaction=view&dry_run=true", csv).await;
    assert_eq!(counts(&dry), (3, 0, 2, 1), "a dry run sees what is stored");
    assert_eq!(stored(&s, &k).await, 2, "nothing stored twice");
    // Within one file too.
    let twice = b"user_id,item_id,timestamp\nu5,i5,2025-01-01\nu5,i5,2025-01-01\n";
    let last = import(&s, &k, "interaction=view", twice).await;
    assert_eq!(counts(&last), (2, 1, 1, 0));

    let (status, list) = s.get("/v1/projects/shop-1/imports", &k.admin).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<String> = list["imports"].as_array().expect("array").iter().map(|i| str_of(&i["id"])).collect();
    assert_eq!(ids.len(), 6);
    assert_eq!(ids[0], str_of(&last["id"]), "newest first");
    let (_, one) = s.get(&format!("/v1/projects/shop-1/imports/{}", str_of(&first["id"])), &k.admin).await;
    assert_eq!((one["interaction"].as_str(), one["progress"]["rows"].as_u64()), (Some("view"), Some(3)));
    assert!(one["progress"]["bytes"].as_u64().is_some_and(|b| b > 0));
    let got = s.get("/v1/projects/shop-1/imports/imp_nope", &k.admin).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found", None);
}

#[tokio::test]
async fn answers_202_at_once_and_multipart_uploads() {
    let (s, k) = shop().await;
    let (status, started) =
        s.upload("shop-1", &k.admin, "interaction=view", &[], b"user_id,item_id\nu,i\n".to_vec()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    assert!(str_of(&started["id"]).starts_with("imp_"));
    assert!(started["status"] == "running" || started["status"] == "done");
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(b"user_id,item_id\nm1,i1\nm2,i2\n".to_vec()).file_name("p.csv"));
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/projects/shop-1/imports?interaction=view&wait=true", s.url))
        .header("x-api-key", &k.admin)
        .multipart(form)
        .send()
        .await
        .expect("multipart");
    assert_eq!(resp.status(), StatusCode::OK);
    let done: Value = resp.json().await.expect("json");
    assert_eq!(counts(&done), (2, 2, 0, 0));
}

/// An upload whose body is still arriving, with its size announced: `send` passes bytes on, or an error that
/// makes the client break the connection off.
struct Arriving {
    send: tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>,
    answer: tokio::task::JoinHandle<Result<reqwest::Response, reqwest::Error>>,
}

fn arriving(s: &Server, key: &str, query: &str, bytes: usize) -> Arriving {
    let (send, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    let body = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) });
    let request = reqwest::Client::new()
        .post(format!("{}/v1/projects/shop-1/imports?{query}", s.url))
        .header("x-api-key", key)
        .header("content-type", "text/csv")
        .header("content-length", bytes)
        .body(reqwest::Body::wrap_stream(body));
    Arriving { send, answer: tokio::spawn(request.send()) }
}

/// The running import of shop-1 (the newest), once it has stored at least `rows` rows.
async fn running_with(s: &Server, k: &Keys, rows: u64) -> Value {
    loop {
        let (_, list) = s.get("/v1/projects/shop-1/imports", &k.admin).await;
        let newest = list["imports"][0].clone();
        if newest["status"] == "running" && newest["report"]["succeeded"].as_u64().is_some_and(|n| n >= rows) {
            return newest;
        }
        assert_ne!(newest["status"], "failed", "{newest}");
        tokio::task::yield_now().await;
    }
}

fn views(rows: u64) -> String {
    let mut csv = String::from("user_id,item_id,timestamp\n");
    for i in 0..rows {
        csv += &format!("u{},i{},{}\n", i % 5000, i % 777, 1_700_000_000 + i);
    }
    csv
}

/// Rows are stored while the upload still arrives. The server is killed in the middle of it: the restart says
/// `interrupted` with the rows stored so far, and uploading the file again with `force=true` completes it with
/// no duplicates.
#[tokio::test]
async fn rows_are_stored_while_the_upload_arrives_and_an_interrupted_import_completes() {
    let (s, k) = shop().await;
    let rows = 200_000;
    let csv = views(rows);
    let upload = arriving(&s, &k.admin, "interaction=view", csv.len());
    let half = csv.len() / 2;
    upload.send.send(Ok(csv.as_bytes()[..half].to_vec())).await.expect("first half");
    let running = running_with(&s, &k, 10_000).await;
    assert!(!upload.answer.is_finished(), "the upload has not ended");
    let id = str_of(&running["id"]);
    let s = s.kill9_and_restart();
    drop(upload);
    let (_, after) = s.get(&format!("/v1/projects/shop-1/imports/{id}"), &k.admin).await;
    assert_eq!(after["status"], "interrupted");
    let stored_before = stored(&s, &k).await;
    assert!((10_000..rows).contains(&stored_before), "{stored_before} rows, of the first half");
    assert_eq!(after["report"]["succeeded"].as_u64(), Some(stored_before), "the rows stored so far: {after}");
    let done = import(&s, &k, "interaction=view&force=true", csv.as_bytes()).await;
    let (processed, succeeded, skipped, failed) = counts(&done);
    assert_eq!((processed, failed), (rows, 0));
    assert_eq!(skipped, stored_before, "what was stored before is skipped");
    assert_eq!(succeeded + skipped, rows);
    assert_eq!(stored(&s, &k).await, rows, "complete, no duplicates");
}

/// An upload cut off in the middle (the client goes away) keeps the rows stored before the cut, says `failed`
/// with why, and is never taken for a whole file: uploading it again whole stores the rest exactly once.
#[tokio::test]
async fn a_streamed_upload_cut_off_keeps_its_rows_and_says_failed() {
    let (s, k) = shop().await;
    let rows = 100_000;
    let csv = views(rows);
    let upload = arriving(&s, &k.admin, "interaction=view", csv.len());
    upload.send.send(Ok(csv.as_bytes()[..csv.len() / 3].to_vec())).await.expect("a third");
    let id = str_of(&running_with(&s, &k, 1).await["id"]);
    upload.send.send(Err(std::io::Error::other("the client goes away"))).await.expect("the cut");
    assert!(upload.answer.await.expect("client task").is_err(), "the client saw its upload fail");
    let failed = loop {
        let (_, now) = s.get(&format!("/v1/projects/shop-1/imports/{id}"), &k.admin).await;
        if now["status"] != "running" {
            break now;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(failed["status"], "failed", "{failed}");
    let why = str_of(&failed["error"]);
    assert!(why.contains("cut off") || why.contains("ended after"), "{why}");
    let kept = stored(&s, &k).await;
    assert!(kept > 0 && kept < rows, "{kept}");
    assert_eq!(failed["report"]["succeeded"].as_u64(), Some(kept), "{failed}");
    let done = import(&s, &k, "interaction=view", csv.as_bytes()).await;
    assert_eq!(counts(&done), (rows, rows - kept, kept, 0));
    assert_eq!(stored(&s, &k).await, rows);
}

/// A streamed upload's hash is recorded at its end: the same bytes again (rows without a timestamp, which would
/// otherwise get a new date) are recognised as imported before.
#[tokio::test]
async fn a_streamed_upload_is_recognised_when_uploaded_again() {
    let (s, k) = shop().await;
    let csv = b"user_id,item_id\nn1,i1\nn2,i2\nn3,\n";
    let first = import(&s, &k, "interaction=view", csv).await;
    assert_eq!(counts(&first), (3, 2, 0, 1));
    let again = import(&s, &k, "interaction=view", csv).await;
    assert_eq!(counts(&again), (3, 0, 2, 1), "{again}");
    assert_eq!(stored(&s, &k).await, 2);
    let refused = s.upload("shop-1", &k.admin, "interaction=view", &[], b"item_id\ni1\n".to_vec()).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "missing_column", Some("user_id"));
    let (_, list) = s.get("/v1/projects/shop-1/imports", &k.admin).await;
    assert_eq!(list["imports"].as_array().map(Vec::len), Some(2), "a refused file has no record");
}

/// Property: for any file, through the real server, `processed = succeeded + skipped + failed` and the events
/// stored grow by exactly `succeeded`.
#[test]
fn property_counts_add_up_and_match_the_store() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let s = Server::start();
    let k = rt.block_on(s.project("shop-1"));
    let row = (0..4u8, 0..3u8, -1..3i8, any::<bool>(), "[a-z,;\"\\n]{0,4}");
    let mut runner = TestRunner::new(Config { cases: 24, ..Config::default() });
    runner
        .run(&prop::collection::vec(row, 0..30), |rows| {
            let mut csv = String::from("user_id,item_id,quantity,timestamp,note\n");
            for (c, i, q, dated, note) in &rows {
                let date = if *dated { "2025-03-01" } else { "" };
                csv += &format!("u{c},i{i},{q},{date},{note}\n");
            }
            rt.block_on(async {
                let before = stored(&s, &k).await;
                let (status, done) = s
                    .upload(
                        "shop-1",
                        &k.admin,
                        "wait=true&force=true&interaction=purchase",
                        &[],
                        csv.clone().into_bytes(),
                    )
                    .await;
                prop_assert_eq!(status, StatusCode::OK);
                let (processed, succeeded, skipped, failed) = counts(&done);
                prop_assert_eq!(processed, succeeded + skipped + failed, "{}", done);
                prop_assert_eq!(stored(&s, &k).await - before, succeeded, "{}", done);
                Ok(())
            })
        })
        .expect("property");
}
