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
