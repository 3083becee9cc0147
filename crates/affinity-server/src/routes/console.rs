//! The browser console (issue 7): plain HTML, CSS and JavaScript in `console/`, embedded in the binary at compile
//! time and served at `/`. It signs in with a project's admin key (kept in the browser tab's session storage) and
//! does everything through the public API, so it can do nothing the API would not allow.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, Code};

const INDEX: &str = include_str!("../../console/index.html");
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../console/app.js")),
    ("rules.js", "text/javascript; charset=utf-8", include_str!("../../console/rules.js")),
    ("pages.js", "text/javascript; charset=utf-8", include_str!("../../console/pages.js")),
    ("style.css", "text/css; charset=utf-8", include_str!("../../console/style.css")),
];

/// Scripts and styles only from this server; no framing by other sites.
const CSP: &str =
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; frame-ancestors 'none'";

/// The console's page.
pub async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        INDEX,
    )
        .into_response()
}

/// The storefront tracker (issue 15): plain JavaScript in `tracker/tracker.js`, loaded by shops' pages with a
/// `<script>` tag from any site.
const TRACKER: &str = include_str!("../../tracker/tracker.js");

/// `GET /tracker.js`: the tracker, cacheable for 5 minutes, loadable by any site's pages.
pub async fn tracker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::HeaderName::from_static("cross-origin-resource-policy"), "cross-origin"),
        ],
        TRACKER,
    )
        .into_response()
}

/// One of the console's scripts or its style sheet.
pub async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *body,
        )
            .into_response(),
        None => ApiError::new(Code::NotFound, format!("No console asset {name}")).into_response(),
    }
}
