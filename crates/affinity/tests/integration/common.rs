//! Starting, stopping and killing a real server process, and a small HTTP client.
//!
//! The suite is compiled twice: as the `integration` test on the embedded SQLite store, and as the `postgres` test
//! (`tests/postgres.rs`) where every server stores in a new database of a throwaway PostgreSQL cluster.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

pub const MASTER: &str = "test-master-key";

/// The store this build of the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const BACKEND: Backend =
    if matches!(env!("CARGO_CRATE_NAME").as_bytes(), b"postgres") { Backend::Postgres } else { Backend::Sqlite };

/// Which database each data directory's server uses (PostgreSQL suite).
static DATABASES: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());

/// The database URL of the server on data directory `dir` (PostgreSQL suite): one database per directory, created
/// on the first start, so that restarts on the same directory find their data. `None` on SQLite.
pub fn database_for(dir: &Path) -> Option<String> {
    if BACKEND == Backend::Sqlite {
        return None;
    }
    let mut known = DATABASES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, url)) = known.iter().find(|(d, _)| d == dir) {
        return Some(url.clone());
    }
    let url = affinity_testpg::database();
    known.push((dir.to_path_buf(), url.clone()));
    Some(url)
}

/// A running `affinity serve` child process.
pub struct Server {
    child: Child,
    pub url: String,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    client: reqwest::Client,
}

impl Server {
    /// Starts a server on a new temporary data directory, with the master key [`MASTER`].
    pub fn start() -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = Server::start_in(tmp.path(), Some(MASTER));
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server on `dir` (the caller keeps it alive); without a master key the server uses its file.
    pub fn start_in(dir: &Path, master: Option<&str>) -> Server {
        Server::start_on(dir, master, database_for(dir))
    }

    /// Starts a server on `dir` with the store at `database` (a PostgreSQL URL), or SQLite in `dir` when `None`.
    pub fn start_on(dir: &Path, master: Option<&str>, database: Option<String>) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_affinity"));
        cmd.args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env_remove("AFFINITY_MASTER_KEY")
            .env_remove("AFFINITY_DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(m) = master {
            cmd.env("AFFINITY_MASTER_KEY", m);
        }
        if let Some(url) = database {
            cmd.arg("--database-url").arg(url);
        }
        let mut child = cmd.spawn().expect("spawning affinity serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines.next().expect("the server exited before listening").expect("reading stdout");
            if let Some(addr) = line.strip_prefix("affinity listening on ") {
                break addr.trim().to_string();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, url, dir: dir.to_path_buf(), _tmp: None, client: reqwest::Client::new() }
    }

    /// Starts another node on this server's PostgreSQL database, with a data directory of its own (as behind a
    /// load balancer). Panics on the SQLite suite.
    pub fn another_node(&self) -> Server {
        let url = database_for(&self.dir).expect("several nodes need the PostgreSQL suite");
        let tmp = tempfile::tempdir().expect("tempdir");
        DATABASES.lock().unwrap_or_else(|p| p.into_inner()).push((tmp.path().to_path_buf(), url));
        let mut s = Server::start_in(tmp.path(), Some(MASTER));
        s._tmp = Some(tmp);
        s
    }

    /// Stops the server with SIGTERM and waits for it to exit.
    pub fn stop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }

    /// Kills the server with SIGKILL (`kill -9`) and waits for it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops this server and starts another on the same data directory (same master key).
    pub fn restart(mut self) -> Server {
        self.stop();
        let tmp = self._tmp.take();
        let mut s = Server::start_in(&self.dir, Some(MASTER));
        s._tmp = tmp;
        s
    }

    /// Kills this server with SIGKILL and starts another on the same data directory.
    pub fn kill9_and_restart(mut self) -> Server {
        self.kill9();
        let tmp = self._tmp.take();
        let mut s = Server::start_in(&self.dir, Some(MASTER));
        s._tmp = tmp;
        s
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{}", self.url, path));
        if let Some(k) = key {
            req = req.header("x-api-key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, value)
    }

    /// Any request with any headers; answers the status, the headers and the body (JSON when it parses).
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.client.request(method, format!("{}{}", self.url, path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().await.expect("request");
        let (status, headers) = (resp.status(), resp.headers().clone());
        let text = resp.text().await.expect("body");
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, headers, value)
    }

    pub async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(key), Some(body)).await
    }

    pub async fn put(&self, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PUT, path, Some(key), Some(body)).await
    }

    pub async fn delete(&self, path: &str, key: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, Some(key), None).await
    }

    /// A raw request with a chosen content type and body bytes.
    pub async fn raw(&self, path: &str, key: &str, content_type: Option<&str>, body: Vec<u8>) -> (StatusCode, Value) {
        let mut req = self.client.post(format!("{}{}", self.url, path)).header("x-api-key", key).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Uploads a file to the imports endpoint with the given query and headers; returns (status, body).
    pub async fn upload(
        &self,
        project: &str,
        key: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .post(format!("{}/v1/projects/{project}/imports?{query}", self.url))
            .header("x-api-key", key)
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// GET returning the raw bytes.
    pub async fn get_bytes(&self, path: &str, key: &str) -> (StatusCode, Vec<u8>) {
        let resp =
            self.client.get(format!("{}{}", self.url, path)).header("x-api-key", key).send().await.expect("request");
        (resp.status(), resp.bytes().await.expect("body").to_vec())
    }

    /// Creates a project and returns its (ingest, admin) keys.
    pub async fn project(&self, id: &str) -> Keys {
        let (status, body) = self.post("/v1/projects", MASTER, json!({"id": id, "name": format!("Shop {id}")})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        Keys { ingest: str_of(&body["keys"]["ingest"]), admin: str_of(&body["keys"]["admin"]) }
    }

    /// Sends one event with the ingest key and returns (status, body).
    pub async fn event(&self, project: &str, key: &str, data: Value) -> (StatusCode, Value) {
        self.post("/feedback", key, json!({"project": project, "data": data})).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` (every 20 ms) until it returns `Some`, for at most `limit`; panics naming `what` otherwise.
/// Returns the value and how long it took.
pub async fn within<T, F, Fut>(limit: std::time::Duration, what: &str, mut check: F) -> (T, std::time::Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = check().await {
            return (v, start.elapsed());
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A server with project `shop-1` and its custom type `loan_application`, one parameter of each type.
pub async fn shop() -> (Server, Keys) {
    let s = Server::start();
    let k = s.project("shop-1").await;
    let (status, _) = s
        .post(
            "/v1/projects/shop-1/interactions",
            &k.admin,
            json!({"id":"loan_application","name":"Loan application","parameters":[
                {"id":"amount","type":"number","required":true},{"id":"product","type":"item"},
                {"id":"approved","type":"boolean"},{"id":"due","type":"date"},{"id":"channel","type":"text"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    (s, k)
}

/// A new public key (issue 15) of project `shop-1`.
pub async fn public_key(s: &Server, k: &Keys) -> String {
    let (status, created) = s.post("/v1/projects/shop-1/keys", &k.admin, json!({"scope":"public"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["scope"], "public");
    let key = str_of(&created["key"]);
    assert!(key.starts_with("afy_pk_"), "a public key says what it is: {key}");
    key
}

/// Epoch ms `days_ago` days before now.
pub fn days_ago(days: i64) -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    now - days * 86_400_000
}

pub struct Keys {
    pub ingest: String,
    pub admin: String,
}

pub fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("expected a string, got {v}")).to_string()
}

/// Asserts an error answer: status, code and (when given) field.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str, field: Option<&str>) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"]["code"], code, "{}", got.1);
    assert!(got.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", got.1);
    if let Some(f) = field {
        assert_eq!(got.1["error"]["field"], f, "{}", got.1);
    }
}

/// The ids of a customer's stored interactions, newest first, across all pages.
pub async fn all_interaction_ids(s: &Server, project: &str, admin: &str, customer: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/v1/projects/{project}/customers/{customer}/interactions?limit=1000&cursor={cursor}");
        let (status, body) = s.get(&path, admin).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        ids.extend(body["interactions"].as_array().expect("array").iter().map(|i| str_of(&i["id"])));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return ids,
        }
    }
}

/// The item ids of a recommendations answer (which must have an `items` array).
pub fn item_ids(v: &Value) -> Vec<String> {
    v["items"].as_array().expect("an items array").iter().map(|i| str_of(&i["item"])).collect()
}

/// Trains `shop-1`'s models and waits for them; returns the models' status.
pub async fn train(s: &Server, k: &Keys) -> Value {
    let (status, body) = s.post("/v1/projects/shop-1/models/train?wait=true", &k.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}
