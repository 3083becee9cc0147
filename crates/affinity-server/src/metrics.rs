//! Metrics in the Prometheus text format, served by `GET /metrics`.
//!
//! One recorder per process (the [`metrics`] facade with `metrics-exporter-prometheus`'s recorder, installed by
//! [`install`], idempotent). Anything in the process records with `metrics::counter!` / `histogram!` /
//! `gauge!` under the names below; `/metrics` renders them all. What this module records itself:
//! - every request, by route and status ([`track`], a middleware): the route is axum's [`MatchedPath`] (the
//!   pattern, e.g. `/v1/projects/{project}/stats`), never the raw path, so label values stay bounded;
//! - at scrape time ([`set_scrape_gauges`]): each project's view sizes and the process's resident memory.
//!
//! Names follow the Prometheus conventions: `affinity_` prefix, `_total` for counters, base units (`_seconds`,
//! `_bytes`). Histograms have the buckets of [`BUCKETS_SECONDS`].

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::extract::MatchedPath;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Counter: HTTP requests answered. Labels `route` (the matched route pattern, `unmatched` for none), `method`
/// (`GET`, `POST`, `PUT`, `DELETE`, … or `other`) and `status` (e.g. `200`).
pub const HTTP_REQUESTS_TOTAL: &str = "affinity_http_requests_total";
/// Histogram: seconds from a request's head to its response's head (body streaming excluded). Labels `route`,
/// `method`, `status` as [`HTTP_REQUESTS_TOTAL`].
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "affinity_http_request_duration_seconds";
/// What the engine records: events stored and skipped, import rows by outcome.
pub use affinity_ingest::metrics::{EVENTS_SKIPPED_TOTAL, EVENTS_STORED_TOTAL, IMPORT_ROWS_TOTAL};
/// What training records: trainings finished and their duration.
pub use affinity_ingest::training::{TRAINING_DURATION_SECONDS, TRAININGS_TOTAL};
/// Gauge (set at scrape): events in a project's view. Label `project`.
pub const VIEW_EVENTS: &str = "affinity_view_events";
/// Gauge (set at scrape): customers with at least one event in a project's view. Label `project`.
pub const VIEW_CUSTOMERS: &str = "affinity_view_customers";
/// Gauge (set at scrape): items named by at least one event in a project's view. Label `project`.
pub const VIEW_ITEMS: &str = "affinity_view_items";
/// Gauge (set at scrape): about how many bytes of heap a project's view holds (histories, details, interned ids
/// and pools; see `ProjectView::heap_bytes`). Label `project`.
pub const VIEW_BYTES: &str = "affinity_view_bytes";
/// Gauge (set at scrape): the process's resident memory in bytes (Linux: `VmRSS` of `/proc/self/status`; absent
/// elsewhere).
pub const PROCESS_RESIDENT_MEMORY_BYTES: &str = "affinity_process_resident_memory_bytes";

/// Upper bounds of the histograms' buckets, in seconds: from a millisecond (a served request) to five minutes (a
/// training).
pub const BUCKETS_SECONDS: [f64; 17] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];

/// How often histogram samples are folded into their buckets between scrapes (bounds their memory).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's recorder handle, installing the recorder on the first call (later calls return the same handle).
/// If another recorder was installed first (by an embedding program), this one still renders what is recorded
/// through it, and a warning is logged. Within a Tokio runtime, also starts the periodic upkeep.
pub fn install() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        // The buckets are a non-empty constant: the only error `set_buckets` has cannot happen.
        let builder = builder.set_buckets(&BUCKETS_SECONDS).unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows only this module's own gauges");
        }
        describe();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let upkeep = handle.clone();
            runtime.spawn(async move {
                let mut every = tokio::time::interval(UPKEEP_EVERY);
                loop {
                    every.tick().await;
                    upkeep.run_upkeep();
                }
            });
        }
        handle
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(HTTP_REQUESTS_TOTAL, "HTTP requests answered, by route, method and status");
    describe_histogram!(HTTP_REQUEST_DURATION_SECONDS, Unit::Seconds, "HTTP request latency, by route and status");
    describe_counter!(EVENTS_STORED_TOTAL, "Events stored, by project and interaction type");
    describe_counter!(EVENTS_SKIPPED_TOTAL, "Duplicate events skipped, by project and interaction type");
    describe_counter!(IMPORT_ROWS_TOTAL, "Import rows, by project and outcome (stored, skipped, failed)");
    describe_counter!(TRAININGS_TOTAL, "Model trainings finished, by project");
    describe_histogram!(TRAINING_DURATION_SECONDS, Unit::Seconds, "Model training duration, by project");
    describe_gauge!(VIEW_EVENTS, "Events in the project's in-memory view");
    describe_gauge!(VIEW_CUSTOMERS, "Customers with events in the project's in-memory view");
    describe_gauge!(VIEW_ITEMS, "Items named by events in the project's in-memory view");
    describe_gauge!(PROCESS_RESIDENT_MEMORY_BYTES, Unit::Bytes, "Resident memory of the process");
}

/// Everything recorded so far, in the Prometheus text exposition format (version 0.0.4).
pub fn render() -> String {
    let handle = install();
    handle.run_upkeep();
    handle.render()
}

/// Middleware: counts each request and records its latency under [`HTTP_REQUESTS_TOTAL`] and
/// [`HTTP_REQUEST_DURATION_SECONDS`]. Add it with `Router::layer` (it then wraps every route, so the matched
/// route is known). A plain tower layer whose future is not boxed, and whose metric handles for each (route,
/// method, status) are made once and then found in a small table: a request allocates nothing here.
#[derive(Debug, Clone, Copy, Default)]
pub struct Track;

impl<S> tower::Layer<S> for Track {
    type Service = Tracked<S>;
    fn layer(&self, inner: S) -> Tracked<S> {
        Tracked { inner }
    }
}

/// A service wrapped by [`Track`].
#[derive(Debug, Clone)]
pub struct Tracked<S> {
    inner: S,
}

impl<S, B> tower::Service<axum::http::Request<B>> for Tracked<S>
where
    S: tower::Service<axum::http::Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        let route = request.extensions().get::<MatchedPath>().cloned();
        let method = method_label(request.method());
        TrackedFuture { inner: self.inner.call(request), started: Instant::now(), route, method }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Tracked`]: records when the inner one is ready.
    pub struct TrackedFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
        route: Option<MatchedPath>,
        method: &'static str,
    }
}

impl<F, E> std::future::Future for TrackedFuture<F>
where
    F: std::future::Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Ok(response) = &result {
            let (requests, latency) = handles(this.route.as_ref(), this.method, response.status().as_u16());
            requests.increment(1);
            latency.record(this.started.elapsed().as_secs_f64());
        }
        std::task::Poll::Ready(result)
    }
}

/// A request counter and latency histogram with their labels.
type Handles = (metrics::Counter, metrics::Histogram);
/// By route (the address of its matched pattern, which the router keeps for the life of the process; 0 for no
/// route), method and status.
type HandleTable = HashMap<(usize, &'static str, u16), Handles, foldhash::fast::RandomState>;

fn handles(route: Option<&MatchedPath>, method: &'static str, status: u16) -> Handles {
    static TABLE: OnceLock<RwLock<HandleTable>> = OnceLock::new();
    let table = TABLE.get_or_init(RwLock::default);
    let (id, name) = match route {
        Some(path) => (path.as_str().as_ptr() as usize, path.as_str()),
        None => (0, "unmatched"),
    };
    let key = (id, method, status);
    if let Some(h) = table.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return h.clone();
    }
    let labels = [("route", name.to_owned()), ("method", method.to_owned()), ("status", status.to_string())];
    let made =
        (metrics::counter!(HTTP_REQUESTS_TOTAL, &labels), metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS, &labels));
    table.write().unwrap_or_else(|p| p.into_inner()).entry(key).or_insert(made).clone()
}

/// The standard methods by name; anything else (clients may send any token) as `other`, to bound the labels.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method as M;
    match *method {
        M::GET => "GET",
        M::POST => "POST",
        M::PUT => "PUT",
        M::DELETE => "DELETE",
        M::HEAD => "HEAD",
        M::OPTIONS => "OPTIONS",
        M::PATCH => "PATCH",
        _ => "other",
    }
}

/// Sets the scrape-time gauges: every project's view sizes ([`VIEW_EVENTS`], [`VIEW_CUSTOMERS`],
/// [`VIEW_ITEMS`], [`VIEW_BYTES`]) and [`PROCESS_RESIDENT_MEMORY_BYTES`].
pub fn set_scrape_gauges(views: &affinity_views::Views) {
    for (project, sizes) in views.sizes() {
        metrics::gauge!(VIEW_EVENTS, "project" => project.clone()).set(sizes.events as f64);
        metrics::gauge!(VIEW_CUSTOMERS, "project" => project.clone()).set(sizes.customers as f64);
        metrics::gauge!(VIEW_ITEMS, "project" => project).set(sizes.items as f64);
    }
    for (project, bytes) in views.heap_bytes() {
        metrics::gauge!(VIEW_BYTES, "project" => project).set(bytes as f64);
    }
    if let Some(bytes) = std::fs::read_to_string("/proc/self/status").ok().as_deref().and_then(resident_bytes) {
        metrics::gauge!(PROCESS_RESIDENT_MEMORY_BYTES).set(bytes as f64);
    }
}

/// The resident set size in bytes from the text of `/proc/<pid>/status` (its `VmRSS:  <n> kB` line).
fn resident_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_memory_is_read_from_proc_status() {
        let status = "Name:\taffinity\nVmPeak:\t  10000 kB\nVmRSS:\t    2048 kB\nThreads:\t4\n";
        assert_eq!(resident_bytes(status), Some(2048 * 1024));
        assert_eq!(resident_bytes("Name:\tx\n"), None);
        assert_eq!(resident_bytes("VmRSS:\tlots kB\n"), None);
        #[cfg(target_os = "linux")]
        {
            let own = std::fs::read_to_string("/proc/self/status").unwrap();
            assert!(resident_bytes(&own).is_some_and(|b| b > 0), "this process has resident memory");
        }
    }

    #[test]
    fn install_is_idempotent_and_renders_what_is_recorded() {
        let first: *const PrometheusHandle = install();
        assert!(std::ptr::eq(first, install()), "one recorder per process");
        metrics::counter!(TRAININGS_TOTAL, "project" => "unit-test").increment(2);
        metrics::histogram!(TRAINING_DURATION_SECONDS, "project" => "unit-test").record(0.3);
        let text = render();
        assert!(text.contains(r#"affinity_trainings_total{project="unit-test"} 2"#), "{text}");
        assert!(
            text.contains(r#"affinity_training_duration_seconds_bucket{project="unit-test",le="0.5"} 1"#),
            "{text}"
        );
        assert_eq!(method_label(&axum::http::Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
