//! Issue 15, §1 over HTTP: public keys and the routes they may call, CORS answers for the project's allowed
//! origins, secret keys refused from other sites' pages, beacon bodies (`text/plain`, `?key=`), and the rate limit
//! per public key and client address.

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::common::*;
use reqwest::StatusCode;

const SHOP: &str = "https://shop.example";

async fn allow(s: &Server, k: &Keys, settings: Value) {
    let (status, body) = s.put("/v1/projects/shop-1/settings", &k.admin, settings).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn event(customer: &str) -> Vec<u8> {
    let data = json!({"event":"view","customer":customer,"item":"i1","date":"2026-01-01T00:00:00Z"});
    serde_json::to_vec(&json!({"project":"shop-1","data":data})).expect("JSON")
}

#[tokio::test]
async fn a_public_key_sends_events_and_reads_recommendations_and_gets_401_everywhere_else() {
    let (s, k) = shop().await;
    let pk = public_key(&s, &k).await;
    let (status, answer) = s
        .event(
            "shop-1",
            &pk,
            json!({"event":"view","customer":"u","item":"i1",
                                                          "date":"2026-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, popular) = s.get("/v1/projects/shop-1/recommendations/popular", &pk).await;
    assert_eq!(status, StatusCode::OK, "{popular}");
    let (status, decision) = s.post("/v1/projects/shop-1/experiences/decide", &pk, json!({"customer":"u"})).await;
    assert_eq!(status, StatusCode::OK, "{decision}");

    // Every other route of the OpenAPI document answers 401 to a public key, as to a wrong one.
    let (_, doc) = s.get("/openapi.json", &k.admin).await;
    let public = [
        "/feedback",
        "/v1/projects/{project}/feedback",
        "/v1/projects/{project}/recommendations/users/{customer}",
        "/v1/projects/{project}/recommendations/items/{item}",
        "/v1/projects/{project}/recommendations/popular",
        "/v1/projects/{project}/recommendations/session",
        "/v1/projects/{project}/experiences/decide",
        "/v1/projects/{project}/experiences/{id}/exposures",
        "/v1/projects/{project}/identify",
        "/v1/projects/{project}/recommendations/{id}/events",
    ];
    let mut checked = 0;
    for (path, methods) in doc["paths"].as_object().unwrap() {
        let methods: Vec<&String> = methods.as_object().unwrap().keys().collect();
        let keyless = ["/health", "/ready", "/metrics", "/openapi.json"].contains(&path.as_str());
        if public.contains(&path.as_str()) || keyless {
            continue;
        }
        let concrete = path.replace("{project}", "shop-1").replace('{', "x").replace('}', "");
        for m in methods {
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let got = s.send(method, &concrete, Some(&pk), Some(json!({}))).await;
            assert_error(&got, StatusCode::UNAUTHORIZED, "unauthorized", None);
            checked += 1;
        }
    }
    assert!(checked >= 40, "the document lists the admin routes: {checked}");
}

#[tokio::test]
async fn preflights_and_requests_from_allowed_and_refused_origins() {
    let (s, k) = shop().await;
    let pk = public_key(&s, &k).await;
    allow(&s, &k, json!({"allowed_origins":[SHOP]})).await;
    let preflight = |path: &'static str, origin: &'static str| {
        let s = &s;
        async move {
            let headers = [
                ("origin", origin),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "x-api-key,content-type"),
            ];
            s.request(Method::OPTIONS, path, &headers, None).await
        }
    };
    for path in ["/feedback", "/v1/projects/shop-1/recommendations/popular"] {
        let (status, h, _) = preflight(path, SHOP).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(header(&h, "access-control-allow-origin"), Some(SHOP));
        assert!(header(&h, "access-control-allow-methods").is_some_and(|m| m.contains("POST") && m.contains("GET")));
        let allowed = header(&h, "access-control-allow-headers").unwrap_or("");
        assert!(allowed.contains("x-api-key") && allowed.contains("content-type"), "{allowed}");
        assert!(h.get_all("vary").iter().any(|v| v.to_str().unwrap_or("").contains("Origin")));
    }
    let (status, h, body) = preflight("/feedback", "https://evil.example").await;
    assert_error(&(status, body), StatusCode::FORBIDDEN, "origin_not_allowed", Some("Origin"));
    assert!(h.get("access-control-allow-origin").is_none(), "no CORS headers for a refused origin");

    let popular = "/v1/projects/shop-1/recommendations/popular";
    let (status, h, _) = s.request(Method::GET, popular, &[("x-api-key", &pk), ("origin", SHOP)], None).await;
    assert_eq!((status, header(&h, "access-control-allow-origin")), (StatusCode::OK, Some(SHOP)));
    let (status, h, body) =
        s.request(Method::GET, popular, &[("x-api-key", &pk), ("origin", "https://evil.example")], None).await;
    assert_error(&(status, body), StatusCode::FORBIDDEN, "origin_not_allowed", Some("Origin"));
    assert!(h.get("access-control-allow-origin").is_none());
    let (status, _) = s.get(popular, &pk).await;
    assert_eq!(status, StatusCode::OK, "no Origin: a server may use a public key too");

    // A secret key from another site's page is refused, and the message says why; the console (same origin) works.
    let from_shop = [("x-api-key", k.ingest.as_str()), ("origin", SHOP), ("content-type", "application/json")];
    let (status, _, body) = s.request(Method::POST, "/feedback", &from_shop, Some(event("u"))).await;
    assert_error(&(status, body.clone()), StatusCode::UNAUTHORIZED, "unauthorized", None);
    assert!(str_of(&body["error"]["message"]).contains("public key"), "{body}");
    let settings = "/v1/projects/shop-1/settings";
    let (status, _, _) = s.request(Method::GET, settings, &[("x-api-key", &k.admin), ("origin", SHOP)], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // An image or a link from another site sends no Origin; the browser still says so.
    let no_cors = [("x-api-key", k.admin.as_str()), ("sec-fetch-site", "cross-site")];
    assert_eq!(s.request(Method::GET, settings, &no_cors, None).await.0, StatusCode::UNAUTHORIZED);
    let own = s.url.clone();
    let (status, _, body) = s.request(Method::GET, settings, &[("x-api-key", &k.admin), ("origin", &own)], None).await;
    assert_eq!(status, StatusCode::OK, "the console is affinity's own origin: {body}");

    for never_sent in ["https://shop.example/path", "https://Shop.example", "https://shop.example:443"] {
        let bad = s.put(settings, &k.admin, json!({"allowed_origins":[SHOP, never_sent]})).await;
        assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_field", Some("allowed_origins[1]"));
    }
}

#[tokio::test]
async fn beacons_send_text_plain_with_the_key_in_the_query_on_public_routes_only() {
    let (s, k) = shop().await;
    let pk = public_key(&s, &k).await;
    allow(&s, &k, json!({"allowed_origins":[SHOP]})).await;
    let beacon = [("origin", SHOP), ("content-type", "text/plain;charset=UTF-8")];
    let (status, h, body) = s.request(Method::POST, &format!("/feedback?key={pk}"), &beacon, Some(event("b"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&h, "access-control-allow-origin"), Some(SHOP));
    assert_eq!(all_interaction_ids(&s, "shop-1", &k.admin, "b").await.len(), 1, "the beacon's event is stored");

    // A secret key never comes in a URL, and a public key's batches stay small.
    let got = s.request(Method::POST, &format!("/feedback?key={}", k.ingest), &[], Some(event("d"))).await;
    assert_error(&(got.0, got.2.clone()), StatusCode::UNAUTHORIZED, "unauthorized", None);
    assert!(str_of(&got.2["error"]["message"]).contains("?key="), "{}", got.2);
    let many: Vec<Value> = (0..501)
        .map(|n| json!({"event":"view","customer":"e","item":format!("i{n}"),"date":"2026-01-01T00:00:00Z"}))
        .collect();
    let got = s.post("/feedback", &pk, json!({"project":"shop-1","data":many})).await;
    assert_error(&got, StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large", Some("data"));

    // Neither is read on the other routes.
    let (status, _, _) =
        s.request(Method::GET, &format!("/v1/projects/shop-1/settings?key={}", k.admin), &[], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "?key= only on the public routes");
    let plain = [("x-api-key", k.admin.as_str()), ("content-type", "text/plain")];
    let body = b"{}".to_vec();
    let (status, _, answer) = s.request(Method::PUT, "/v1/projects/shop-1/settings", &plain, Some(body)).await;
    assert_error(&(status, answer), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None);
    let (status, _, answer) = s
        .request(
            Method::POST,
            "/feedback",
            &[("x-api-key", &k.ingest), ("content-type", "text/html")],
            Some(event("c")),
        )
        .await;
    assert_error(&(status, answer), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None);
}

#[tokio::test]
async fn a_burst_past_the_rate_limit_gets_429_with_retry_after() {
    let (s, k) = shop().await;
    let pk = public_key(&s, &k).await;
    allow(&s, &k, json!({"rate_limit_per_second":0.5,"rate_limit_burst":5})).await;
    let popular = "/v1/projects/shop-1/recommendations/popular";
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(s.get(popular, &pk).await.0);
    }
    assert_eq!(statuses[..5], [StatusCode::OK; 5], "the burst passes");
    let (status, h, body) = s.request(Method::GET, popular, &[("x-api-key", &pk)], None).await;
    assert_error(&(status, body), StatusCode::TOO_MANY_REQUESTS, "rate_limited", None);
    let wait: u64 = header(&h, "retry-after").and_then(|w| w.parse().ok()).unwrap_or(0);
    assert!((1..=2).contains(&wait), "one token takes 2 s at 0.5/s: {wait}");
    for _ in 0..10 {
        assert_eq!(s.get(popular, &k.ingest).await.0, StatusCode::OK, "secret keys are not rate limited");
    }
    let bad = s.put("/v1/projects/shop-1/settings", &k.admin, json!({"rate_limit_burst":0})).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_field", Some("rate_limit_burst"));
}

#[tokio::test]
async fn the_tracker_is_served_to_any_page_and_stays_small() {
    let s = Server::start();
    let (status, h, body) = s.request(Method::GET, "/tracker.js", &[("origin", SHOP)], None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(header(&h, "content-type").is_some_and(|t| t.starts_with("text/javascript")));
    assert_eq!(header(&h, "cross-origin-resource-policy"), Some("cross-origin"));
    let script = body.as_str().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut gz, script.as_bytes()).unwrap();
    let gzipped = gz.finish().unwrap().len();
    assert!(gzipped <= 10 * 1024, "at most 10 KB gzipped: {gzipped} bytes");
    for api in ["init:", "track:", "identify:", "recommend:", "decide:", "click:", "sendBeacon"] {
        assert!(script.contains(api), "{api}");
    }
}

#[tokio::test]
async fn every_recommendation_answer_has_its_own_id_and_the_placement_it_asked_for() {
    let (s, k) = shop().await;
    let pk = public_key(&s, &k).await;
    let (status, _) = s
        .event(
            "shop-1",
            &k.ingest,
            json!({"event":"purchase","customer":"u","item":"i1",
                                                           "date":"2026-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // `rec_`, 24 hex digits, the model, and the placement when one was asked for.
    let is_id = |v: &Value, placement: Option<&str>| {
        v.as_str().is_some_and(|id| {
            let parts: Vec<&str> = id.splitn(3, '.').collect();
            parts[0].len() == 28
                && parts[0].starts_with("rec_")
                && parts[0][4..].bytes().all(|b| b.is_ascii_hexdigit())
                && parts.get(1).is_some_and(|m| !m.is_empty())
                && parts.get(2).copied() == placement
        })
    };
    let mut ids = Vec::new();
    for path in [
        "/v1/projects/shop-1/recommendations/popular?placement=home_top",
        "/v1/projects/shop-1/recommendations/users/u?placement=home_top",
        "/v1/projects/shop-1/recommendations/items/i1?placement=pdp_similar",
        "/v1/projects/shop-1/recommendations/popular",
    ] {
        let (status, answer) = s.get(path, &pk).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let asked = path.split("placement=").nth(1);
        assert!(is_id(&answer["recommendation_id"], asked), "{answer}");
        assert_eq!(answer["placement"].as_str(), asked, "{answer}");
        ids.push(answer["recommendation_id"].clone());
    }
    let (_, session) =
        s.post("/v1/projects/shop-1/recommendations/session", &pk, json!({"items":["i1"],"placement":"cart"})).await;
    assert!(is_id(&session["recommendation_id"], Some("cart")) && session["placement"] == "cart", "{session}");
    ids.push(session["recommendation_id"].clone());
    ids.sort_by_key(|v| v.to_string());
    ids.dedup();
    assert_eq!(ids.len(), 5, "each answer its own id");
    let bad = s.get("/v1/projects/shop-1/recommendations/popular?placement=home%20top", &pk).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_field", Some("placement"));
}
