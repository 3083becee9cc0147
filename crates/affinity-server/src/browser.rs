//! Requests from web pages (issue 15, §1): the public routes' CORS answers, a secret key refused from another
//! site's page, `text/plain` bodies and `?key=` (what `navigator.sendBeacon` can send), and the rate limit per
//! public key and client address.
//!
//! The public routes (events, recommendations, decide, exposures) run behind [`public`]. A request naming another
//! site in `Origin` is answered only when the key's project lists that origin in `allowed_origins`; its answer
//! then carries `Access-Control-Allow-Origin` (the origin) and `Vary: Origin`. The preflight (`OPTIONS`, sent
//! without a key) is answered `204` when the path's project lists the origin (for `/feedback`, which names its
//! project in the body, any project), else `403 origin_not_allowed` without CORS headers. A request from
//! affinity's own pages (the console: `Origin` is the `Host` it was sent to) is not a cross-site request.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use affinity_core::Scope;
use axum::extract::{ConnectInfo, FromRequestParts, RawPathParams, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::Caller;
use crate::error::{ApiError, Code};
use crate::state::AppState;

/// Marks a request to a public route (set by [`public`]): its key may come as `?key=` and its body as
/// `text/plain`.
#[derive(Debug, Clone, Copy)]
pub struct PublicRoute;

/// How long a browser may cache a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The `Origin` of a request when it names another site than the one the request was sent to; `None` for
/// requests without one (servers, scripts) and for affinity's own pages: the browser says `Sec-Fetch-Site:
/// same-origin`, or the origin's host is the request's `Host` (or, behind a proxy, its `X-Forwarded-Host`).
pub fn foreign_origin(headers: &HeaderMap) -> Option<&str> {
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let value = |name: &str| headers.get(name).and_then(|h| h.to_str().ok());
    if value("sec-fetch-site") == Some("same-origin") {
        return None;
    }
    let authority = origin.split_once("://").map_or(origin, |(_, a)| a);
    let own = [value("host"), value("x-forwarded-host")].into_iter().flatten().any(|h| h.trim() == authority);
    (!own).then_some(origin)
}

/// The routes a public key may call, as the router names them.
pub const PUBLIC_ROUTES: [&str; 10] = [
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

/// The middleware of the public routes (see the module); any other route it is put on passes through.
pub async fn public(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let matched = req.extensions().get::<axum::extract::MatchedPath>().map(|m| m.as_str());
    if !matched.is_some_and(|m| PUBLIC_ROUTES.contains(&m)) {
        return next.run(req).await;
    }
    req.extensions_mut().insert(PublicRoute);
    let origin = foreign_origin(req.headers()).map(str::to_string);
    if req.method() == Method::OPTIONS {
        return preflight(&state, &mut req, origin.as_deref()).await;
    }
    let (mut parts, body) = req.into_parts();
    let caller = Caller::from_request_parts(&mut parts, &state).await.ok();
    let mut allowed = None;
    if let Some(Caller::Key { project, scope }) = &caller {
        // (A secret key from another site's page never gets here: the extractor refuses it.)
        if let Some(origin) = &origin {
            if !allows(&state, project, origin) {
                return refused(origin).into_response();
            }
            allowed = Some(origin.clone());
        }
        if *scope == Scope::Public
            && let Err(wait) = state.rate_limits.take(&parts, &state, project)
        {
            let mut answer = ApiError::new(
                Code::RateLimited,
                format!("More requests than this key may send from one address; retry in {wait} s"),
            )
            .into_response();
            answer.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
            return with_cors(answer, allowed.as_deref());
        }
    }
    if let Some(c) = caller {
        parts.extensions.insert(c);
    }
    let answer = next.run(Request::from_parts(parts, body)).await;
    with_cors(answer, allowed.as_deref())
}

async fn preflight(state: &AppState, req: &mut Request, origin: Option<&str>) -> Response {
    let Some(origin) = origin else {
        let mut answer = StatusCode::NO_CONTENT.into_response();
        answer.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST, OPTIONS"));
        return answer;
    };
    let (mut parts, _) = std::mem::take(req).into_parts();
    let project = RawPathParams::from_request_parts(&mut parts, state)
        .await
        .ok()
        .and_then(|p| p.iter().find(|(k, _)| *k == "project").map(|(_, v)| v.to_string()));
    let ok = match project {
        Some(p) => allows(state, &p, origin),
        None => state.catalog.list().iter().any(|p| allows(state, &p.id, origin)),
    };
    if !ok {
        return refused(origin).into_response();
    }
    let mut answer = with_cors(StatusCode::NO_CONTENT.into_response(), Some(origin));
    let h = answer.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("x-api-key, content-type"));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(PREFLIGHT_MAX_AGE));
    answer
}

/// Whether `project`'s settings list `origin`.
fn allows(state: &AppState, project: &str, origin: &str) -> bool {
    state.catalog.get(project).is_some_and(|p| p.settings().allowed_origins.iter().any(|o| o == origin))
}

fn refused(origin: &str) -> ApiError {
    ApiError::field(
        Code::OriginNotAllowed,
        "Origin",
        format!("Origin {origin} is not in the project's allowed_origins (settings)"),
    )
}

/// The 401 for an `ingest` or `admin` key sent from another site's page.
pub fn secret_key_from_page(origin: &str) -> ApiError {
    ApiError::new(
        Code::Unauthorized,
        format!(
            "A secret (ingest or admin) key was sent from a web page at {origin}; anyone can read it there. Revoke \
             it, and give web pages a public key (POST /v1/projects/{{project}}/keys {{\"scope\":\"public\"}})"
        ),
    )
}

fn with_cors(mut answer: Response, origin: Option<&str>) -> Response {
    let Some(value) = origin.and_then(|o| HeaderValue::from_str(o).ok()) else { return answer };
    let h = answer.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("Retry-After"));
    answer
}

/// Most buckets kept. Past it, the full ones (idle long enough to have refilled) are dropped; if that frees
/// nothing, all are (clients then start with a full bucket again: a flood of distinct addresses is not slowed by
/// the limit anyway, and memory stays bounded).
const MAX_BUCKETS: usize = 100_000;

/// One bucket: tokens, when they were counted, and the project's rate and burst at the time.
type Bucket = (f64, Instant, f64, f64);

/// Token buckets per (public key, client address; IPv6 clients by their /64): each holds up to the project's
/// `rate_limit_burst` tokens, refilled at `rate_limit_per_second`; a request takes one.
#[derive(Default)]
pub struct RateLimits {
    buckets: Mutex<HashMap<(u64, IpAddr), Bucket>>,
}

impl RateLimits {
    /// Takes a token for the request's key and client address, or says how many whole seconds to wait.
    fn take(&self, parts: &axum::http::request::Parts, state: &AppState, project: &str) -> Result<(), u64> {
        let Some(entry) = state.catalog.get(project) else { return Ok(()) };
        let settings = entry.settings();
        let (rate, burst) = (settings.rate_limit_per_second, f64::from(settings.rate_limit_burst));
        let key = crate::auth::presented_key(parts).unwrap_or_default();
        let key = key.as_str();
        let client = match client_address(parts, &state.trusted_proxies) {
            // One household or host holds a whole /64: its addresses share a bucket.
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
            v4 => v4,
        };
        let id = (foldhash::fast::FixedState::with_seed(0x15).hash_one(key), client);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, (tokens, at, rate, burst)| {
                *tokens + now.duration_since(*at).as_secs_f64() * *rate < *burst
            });
            if buckets.len() >= MAX_BUCKETS {
                buckets.clear();
            }
        }
        let (tokens, at, r, b) = buckets.entry(id).or_insert((burst, now, rate, burst));
        (*r, *b) = (rate, burst);
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
    }
}

use std::hash::BuildHasher;

/// The client's address: the connection's peer, or, when the peer is a trusted proxy, the last address in
/// `X-Forwarded-For` that is not one (each proxy appends the address it received from).
pub fn client_address(parts: &axum::http::request::Parts, trusted: &[ipnet::IpNet]) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(a)| a.ip().to_canonical());
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let forwarded = parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    let hops: Vec<&str> = forwarded.flat_map(|v| v.split(',')).map(str::trim).collect();
    // From the right, past trusted proxies only; an entry that does not read as an address stops the walk (what
    // lies left of it was written by someone untrusted).
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        if !is_trusted(&client) {
            break;
        }
        match parse_hop(hop) {
            Some(ip) => client = ip,
            None => break,
        }
    }
    client
}

/// An `X-Forwarded-For` entry's address: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<SocketAddr>().ok().map(|a| a.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(peer: &str, forwarded: &[&str], origin: Option<&str>) -> axum::http::request::Parts {
        let mut b = axum::http::Request::builder().uri("/feedback").header(header::HOST, "affinity.example:7700");
        for f in forwarded {
            b = b.header("x-forwarded-for", *f);
        }
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        let (mut parts, ()) = b.body(()).unwrap().into_parts();
        parts.extensions.insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        parts
    }

    #[test]
    fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // A client talking directly: its own address, whatever it claims.
        assert_eq!(client_address(&parts("203.0.113.9:5000", &["1.2.3.4"], None), &trusted), ip("203.0.113.9"));
        // Through two trusted proxies: the last untrusted hop (an earlier entry may be forged by the client).
        let p = parts("10.0.0.2:80", &["6.6.6.6, 198.51.100.7", "10.0.0.1"], None);
        assert_eq!(client_address(&p, &trusted), ip("198.51.100.7"));
        assert_eq!(client_address(&parts("10.0.0.2:80", &[], None), &trusted), ip("10.0.0.2"));
        assert_eq!(client_address(&p, &[]), ip("10.0.0.2"), "no trusted proxies: the peer");
        // Ports are read; an entry that is not an address stops the walk at the last trusted hop.
        let p = parts("10.0.0.2:80", &["6.6.6.6, unknown, 198.51.100.7:4000"], None);
        assert_eq!(client_address(&p, &trusted), ip("198.51.100.7"));
        let p = parts("10.0.0.2:80", &["6.6.6.6, garbage"], None);
        assert_eq!(client_address(&p, &trusted), ip("10.0.0.2"), "nothing left of garbage is believed");
        let p = parts("[::ffff:10.0.0.2]:80", &["[2001:db8::7]:443"], None);
        assert_eq!(client_address(&p, &trusted), ip("2001:db8::7"), "a v4-mapped peer is the v4 proxy");
    }

    #[test]
    fn an_origin_is_foreign_unless_it_is_the_host_the_request_was_sent_to() {
        let own = parts("1.1.1.1:1", &[], Some("http://affinity.example:7700"));
        assert_eq!(foreign_origin(&own.headers), None);
        let shop = parts("1.1.1.1:1", &[], Some("https://shop.example"));
        assert_eq!(foreign_origin(&shop.headers), Some("https://shop.example"));
        assert_eq!(foreign_origin(&parts("1.1.1.1:1", &[], None).headers), None);
    }
}
