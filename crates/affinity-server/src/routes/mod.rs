//! The HTTP routes, one file per resource, and the OpenAPI document that lists them.
//! Handlers are thin: they extract, check the caller, call the domain and map the result.

pub mod attribution;
pub mod audiences;
pub mod console;
pub mod customers;
pub mod experiences;
pub mod feedback;
pub mod identity;
pub mod imports;
pub mod interactions;
pub mod items;
pub mod models;
pub mod projects;
pub mod recommendations;
pub mod system;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "affinity", description = "Interactions engine for e-commerce personalization."),
    paths(
        system::health, system::ready, system::metrics, system::openapi,
        projects::create, projects::list, projects::create_key, projects::list_keys, projects::revoke_key,
        interactions::create, interactions::list, interactions::get, interactions::update, interactions::archive,
        feedback::feedback, feedback::project_feedback,
        customers::interactions, customers::erase, customers::stats, customers::activity,
        imports::create, imports::list, imports::get, imports::failures,
        items::put, items::get, items::delete, items::list, items::get_settings, items::put_settings,
        recommendations::for_user, recommendations::for_item, recommendations::popular, recommendations::for_session,
        models::train_now, models::models, models::evaluate,
        audiences::create, audiences::list, audiences::get, audiences::update, audiences::delete, audiences::members_page,
        audiences::members_csv, audiences::member, audiences::of_customer, audiences::preview,
        experiences::create, experiences::list, experiences::get, experiences::update, experiences::delete,
        experiences::decide, experiences::expose, experiences::report,
        identity::identify, attribution::record, attribution::report,
    ),
    components(schemas(affinity_core::Report, affinity_core::FailedItem, affinity_core::Item, affinity_core::Settings,
        affinity_core::settings::RetrainPolicy)),
    modifiers(&KeyHeader)
)]
pub struct ApiDoc;

struct KeyHeader;

impl Modify for KeyHeader {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("x-api-key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))));
    }
}

/// The router with every route of the API.
pub fn router(state: AppState) -> Router {
    crate::metrics::install();
    let limit = state.limits.max_body_bytes;
    // The routes a public key may call ([`crate::browser::PUBLIC_ROUTES`]) behind the browser middleware; the
    // others never pay for it.
    let public = Router::new()
        .route("/feedback", post(feedback::feedback).options(options))
        .route("/v1/projects/{project}/feedback", post(feedback::project_feedback).options(options))
        .route(
            "/v1/projects/{project}/recommendations/users/{customer}",
            get(recommendations::for_user).options(options),
        )
        .route("/v1/projects/{project}/recommendations/items/{item}", get(recommendations::for_item).options(options))
        .route("/v1/projects/{project}/recommendations/popular", get(recommendations::popular).options(options))
        .route("/v1/projects/{project}/recommendations/session", post(recommendations::for_session).options(options))
        .route("/v1/projects/{project}/experiences/decide", post(experiences::decide).options(options))
        .route("/v1/projects/{project}/experiences/{id}/exposures", post(experiences::expose).options(options))
        .route("/v1/projects/{project}/identify", post(identity::identify).options(options))
        .route("/v1/projects/{project}/recommendations/{id}/events", post(attribution::record).options(options))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::browser::public));
    Router::new()
        .route("/", get(console::index))
        .route("/console/{name}", get(console::asset))
        .route("/tracker.js", get(console::tracker))
        .route("/health", get(system::health))
        .route("/ready", get(system::ready))
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(system::openapi))
        .route("/v1/projects", post(projects::create).get(projects::list))
        .route("/v1/projects/{project}/keys", post(projects::create_key).get(projects::list_keys))
        .route("/v1/projects/{project}/keys/{id}", axum::routing::delete(projects::revoke_key))
        .route("/v1/projects/{project}/interactions", post(interactions::create).get(interactions::list))
        .route(
            "/v1/projects/{project}/interactions/{id}",
            get(interactions::get).put(interactions::update).delete(interactions::archive),
        )
        .route("/v1/projects/{project}/customers/{customer}/interactions", get(customers::interactions))
        .route("/v1/projects/{project}/customers/{customer}", axum::routing::delete(customers::erase))
        .route("/v1/projects/{project}/stats", get(customers::stats))
        .route("/v1/projects/{project}/activity", get(customers::activity))
        .route(
            "/v1/projects/{project}/imports",
            post(imports::create).get(imports::list).layer(DefaultBodyLimit::disable()),
        )
        .route("/v1/projects/{project}/imports/{id}", get(imports::get))
        .route("/v1/projects/{project}/imports/{id}/failures", get(imports::failures))
        .route(
            "/v1/projects/{project}/items",
            axum::routing::put(items::put).layer(DefaultBodyLimit::max(items::MAX_ITEMS_BODY_BYTES)).get(items::list),
        )
        .route("/v1/projects/{project}/items/{id}", get(items::get).delete(items::delete))
        .route("/v1/projects/{project}/settings", get(items::get_settings).put(items::put_settings))
        .route("/v1/projects/{project}/recommendations/report", get(attribution::report))
        .route("/v1/projects/{project}/models/train", post(models::train_now))
        .route("/v1/projects/{project}/models", get(models::models))
        .route(
            "/v1/projects/{project}/models/evaluate",
            post(models::evaluate).layer(DefaultBodyLimit::max(models::MAX_TEST_BYTES)),
        )
        .route("/v1/projects/{project}/experiences", post(experiences::create).get(experiences::list))
        .route(
            "/v1/projects/{project}/experiences/{id}",
            get(experiences::get).put(experiences::update).delete(experiences::delete),
        )
        .route("/v1/projects/{project}/experiences/{id}/report", get(experiences::report))
        .route("/v1/projects/{project}/audiences", post(audiences::create).get(audiences::list))
        .route("/v1/projects/{project}/audiences/preview", post(audiences::preview))
        .route(
            "/v1/projects/{project}/audiences/{id}",
            get(audiences::get).put(audiences::update).delete(audiences::delete),
        )
        .route("/v1/projects/{project}/audiences/{id}/members", get(audiences::members_page))
        .route("/v1/projects/{project}/audiences/{id}/members.csv", get(audiences::members_csv))
        .route("/v1/projects/{project}/audiences/{id}/members/{customer}", get(audiences::member))
        .route("/v1/projects/{project}/customers/{customer}/audiences", get(audiences::of_customer))
        .merge(public)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(crate::metrics::Track)
        .with_state(state)
}

/// A whole-number query parameter: `default` when absent or empty, else a number within `range`. Errors name the
/// parameter (`invalid_field`).
pub(crate) fn query_number(
    value: Option<&str>,
    field: &str,
    range: std::ops::RangeInclusive<i64>,
    default: i64,
) -> Result<i64, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => v.parse::<i64>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
            let message = format!("{field} must be a whole number from {} to {}", range.start(), range.end());
            ApiError::field(Code::Problem(affinity_core::ProblemKind::InvalidField), field, message)
        }),
    }
}

/// `OPTIONS` on a public route: [`crate::browser::public`] answers it (a preflight) before it gets here; the route
/// only has to accept the method.
async fn options() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}

async fn not_found() -> ApiError {
    ApiError::new(Code::NotFound, "No such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(Code::MethodNotAllowed, "Method not allowed on this route")
}
