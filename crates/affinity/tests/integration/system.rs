use reqwest::StatusCode;

use crate::common::*;

#[tokio::test]
async fn health_needs_no_key() {
    let s = Server::start();
    let (status, body) = s.send(reqwest::Method::GET, "/health", None, None).await;
    let store = match BACKEND {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!((status, body), (StatusCode::OK, serde_json::json!({"status":"ok","store":store})));
}

#[tokio::test]
async fn openapi_lists_every_route() {
    let s = Server::start();
    let (status, doc) = s.send(reqwest::Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')), "{}", doc["openapi"]);
    let expected = [
        ("/health", "get"),
        ("/openapi.json", "get"),
        ("/feedback", "post"),
        ("/v1/projects", "post"),
        ("/v1/projects", "get"),
        ("/v1/projects/{project}/keys", "post"),
        ("/v1/projects/{project}/keys", "get"),
        ("/v1/projects/{project}/keys/{id}", "delete"),
        ("/v1/projects/{project}/interactions", "post"),
        ("/v1/projects/{project}/interactions", "get"),
        ("/v1/projects/{project}/interactions/{id}", "get"),
        ("/v1/projects/{project}/interactions/{id}", "put"),
        ("/v1/projects/{project}/interactions/{id}", "delete"),
        ("/v1/projects/{project}/feedback", "post"),
        ("/v1/projects/{project}/customers/{customer}/interactions", "get"),
        ("/v1/projects/{project}/customers/{customer}", "delete"),
        ("/v1/projects/{project}/stats", "get"),
        ("/v1/projects/{project}/imports", "post"),
        ("/v1/projects/{project}/imports", "get"),
        ("/v1/projects/{project}/imports/{id}", "get"),
        ("/v1/projects/{project}/imports/{id}/failures", "get"),
        ("/v1/projects/{project}/items", "put"),
        ("/v1/projects/{project}/items", "get"),
        ("/v1/projects/{project}/items/{id}", "get"),
        ("/v1/projects/{project}/items/{id}", "delete"),
        ("/v1/projects/{project}/settings", "get"),
        ("/v1/projects/{project}/settings", "put"),
        ("/v1/projects/{project}/recommendations/users/{customer}", "get"),
        ("/v1/projects/{project}/recommendations/items/{item}", "get"),
        ("/v1/projects/{project}/recommendations/popular", "get"),
        ("/v1/projects/{project}/recommendations/session", "post"),
        ("/v1/projects/{project}/models/train", "post"),
        ("/v1/projects/{project}/models", "get"),
        ("/v1/projects/{project}/models/evaluate", "post"),
    ];
    for (path, method) in expected {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} missing from the OpenAPI document");
    }
}

#[tokio::test]
async fn unknown_routes_answer_json() {
    let s = Server::start();
    let got = s.get("/v2/nothing", MASTER).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found", None);
    let got = s.send(reqwest::Method::PATCH, "/v1/projects", Some(MASTER), None).await;
    assert_error(&got, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None);
}

#[tokio::test]
async fn ready_answers_once_started_without_a_key() {
    let s = Server::start();
    let (status, body) = s.send(reqwest::Method::GET, "/ready", None, None).await;
    assert_eq!((status, body), (StatusCode::OK, serde_json::json!({"status":"ready"})));
    let got = s.send(reqwest::Method::POST, "/ready", None, None).await;
    assert_error(&got, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_show_view_sizes() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    let view = serde_json::json!({"event":"view","item":"i1","customer":"u1","date":"2026-01-01"});
    assert_eq!(s.event("shop-1", &k.ingest, view.clone()).await.0, StatusCode::OK);
    assert_eq!(s.event("shop-1", &k.ingest, view).await.1["status"], "skipped");
    for _ in 0..3 {
        assert_eq!(s.get("/v1/projects/shop-1/stats", &k.admin).await.0, StatusCode::OK);
    }
    assert_eq!(s.get("/v1/projects/shop-1/nothing/here", &k.admin).await.0, StatusCode::NOT_FOUND);

    let resp = reqwest::get(format!("{}/metrics", s.url)).await.expect("GET /metrics");
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = resp.text().await.unwrap();
    let line = |prefix: &str| text.lines().find(|l| l.starts_with(prefix)).map(str::to_string);
    let stats = r#"affinity_http_requests_total{route="/v1/projects/{project}/stats",method="GET",status="200"} "#;
    assert_eq!(line(stats).as_deref(), Some(format!("{stats}3").as_str()), "{text}");
    let feedback = r#"affinity_http_requests_total{route="/feedback",method="POST",status="200"} 2"#;
    assert!(line(feedback).is_some(), "{text}");
    assert!(line(r#"affinity_http_requests_total{route="unmatched",method="GET",status="404"} 1"#).is_some(), "{text}");
    assert!(!text.contains("/nothing/here"), "raw paths are never labels");
    assert!(line(r#"affinity_http_request_duration_seconds_bucket{route="/v1/projects/{project}/stats""#).is_some());
    assert!(line(r#"affinity_view_events{project="shop-1"} 1"#).is_some(), "{text}");
    let stored = r#"affinity_events_stored_total{project="shop-1",interaction="view"} 1"#;
    let skipped = r#"affinity_events_skipped_total{project="shop-1",interaction="view"} 1"#;
    assert!(line(stored).is_some() && line(skipped).is_some(), "{text}");
    assert!(line(r#"affinity_view_customers{project="shop-1"} 1"#).is_some(), "{text}");
    assert!(line(r#"affinity_view_items{project="shop-1"} 1"#).is_some(), "{text}");
    let rss = line("affinity_process_resident_memory_bytes ").expect("resident memory");
    let bytes: f64 = rss.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(bytes > 1e6, "{rss}");
    let view = line(r#"affinity_view_bytes{project="shop-1"} "#).expect("view bytes");
    let view: f64 = view.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(view >= 16.0 && view < bytes, "{text}");
}

/// A server process, killed when dropped (also when a test fails).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A server on a new SQLite data directory with `args` added to `serve`, and its base URL.
fn start_with(args: &[&str]) -> (Killed, tempfile::TempDir, String) {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_affinity"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(args)
        .env("AFFINITY_MASTER_KEY", MASTER)
        .env_remove("AFFINITY_DATABASE_URL")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawning affinity serve");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = loop {
        let line = lines.next().expect("the server exited before listening").expect("reading stdout");
        if let Some(addr) = line.strip_prefix("affinity listening on ") {
            break addr.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Killed(child), dir, url)
}

/// Writes `sent` on a new connection to `addr`, then reads until the server closes it (at most `bound`). Returns
/// what was read and how long it took.
async fn send_and_read_to_eof(addr: &str, sent: &[u8], bound: std::time::Duration) -> (String, std::time::Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let started = std::time::Instant::now();
    stream.write_all(sent).await.expect("writing the request");
    let mut got = Vec::new();
    let read = tokio::time::timeout(bound, stream.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the connection was still open after {bound:?}; read so far: {got:?}");
    (String::from_utf8_lossy(&got).into_owned(), started.elapsed())
}

#[tokio::test]
async fn half_sent_requests_are_closed_within_the_timeouts() {
    let (_server, _dir, url) = start_with(&["--header-timeout-ms", "300", "--body-idle-timeout-ms", "300"]);
    let addr = url.trim_start_matches("http://").to_string();
    let bound = std::time::Duration::from_secs(10);

    // Half a request head, then nothing.
    let (_, took) = send_and_read_to_eof(&addr, b"GET /health HTTP/1.1\r\nHost: x\r\nAccept: */", bound).await;
    assert!(took >= std::time::Duration::from_millis(250), "closed after {took:?}, before the timeout");

    // A whole head and a tenth of the body it announces, then nothing: the body read fails.
    let head = format!(
        "POST /v1/projects HTTP/1.1\r\nHost: x\r\nx-api-key: {MASTER}\r\ncontent-type: application/json\r\n\
         content-length: 100\r\n\r\n{{\"id\":\"s\""
    );
    let (answer, _) = send_and_read_to_eof(&addr, head.as_bytes(), bound).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("invalid_json"), "{answer}");

    // Whole requests are still served.
    assert_eq!(reqwest::get(format!("{url}/health")).await.unwrap().status(), StatusCode::OK);
}
