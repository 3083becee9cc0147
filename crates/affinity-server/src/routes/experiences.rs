//! Experiences and targeting (issue 8): what a storefront shows to whom, decided per request by a targeting rule
//! over the customer's interactions, audiences, the request's context, its local time and the current session;
//! exposures, and a report of what each variant did.

use std::collections::HashMap;

use affinity_core::date::{format_ms, now_ms};
use affinity_core::{Experience, Problem, ProblemKind};
use affinity_rules::{Evaluator, Request};
use affinity_store::Exposure;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::recommendations::{RecommendQuery, for_item, for_user, popular};
use crate::auth::{ProjectAdmin, ProjectIngest};
use crate::body::{JsonBytes, parse};
use crate::error::{ApiError, Code};
use crate::state::AppState;
use affinity_ingest::{ProjectEntry, SavedExperience};

/// Most experiences one decide answers.
const MAX_DECIDED: usize = 100;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ExperienceList {
    #[schema(value_type = Vec<Object>)]
    pub experiences: Vec<Experience>,
}

/// Reads and checks an experience body (its rule is checked by the catalog edit); `path_id` (for `PUT`) wins over
/// the body's id.
fn checked(body: &[u8], path_id: Option<&str>) -> Result<Experience, ApiError> {
    let mut raw: Value = parse(body)?;
    if let (Some(id), Value::Object(o)) = (path_id, &mut raw) {
        o.insert("id".into(), Value::from(id));
    }
    for field in ["id", "name", "rule", "variants"] {
        if raw.get(field).is_none() {
            return Err(Problem::missing(field, field).into());
        }
    }
    let experience: Experience = serde_json::from_value(raw).map_err(|e| {
        ApiError::field(Code::Problem(ProblemKind::InvalidField), "experience", format!("Invalid experience: {e}"))
    })?;
    experience.check()?;
    Ok(experience)
}

/// Creates an experience; its targeting rule is type-checked like an audience's, with context, time and session
/// conditions allowed.
#[utoipa::path(post, path = "/v1/projects/{project}/experiences", tag = "targeting", params(("project" = String, Path)),
    request_body(content = Object, description = "An experience: id, name, status, priority, schedule, rule, variants"),
    responses((status = 201, body = Object), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    JsonBytes(body): JsonBytes,
) -> Result<(StatusCode, Json<Experience>), ApiError> {
    let entry = state.project(&project)?;
    let mut experience = checked(&body, None)?;
    let now = now_ms();
    (experience.created_at, experience.updated_at) = (now, now);
    let saved = entry.create_experience(&state.store, experience).await?;
    Ok((StatusCode::CREATED, Json(saved.experience)))
}

/// The project's experiences, by id.
#[utoipa::path(get, path = "/v1/projects/{project}/experiences", tag = "targeting", params(("project" = String, Path)),
    responses((status = 200, body = ExperienceList), (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
) -> Result<Json<ExperienceList>, ApiError> {
    let entry = state.project(&project)?;
    Ok(Json(ExperienceList { experiences: entry.experiences().values().map(|s| s.experience.clone()).collect() }))
}

fn saved_or_404(entry: &ProjectEntry, id: &str) -> Result<SavedExperience, ApiError> {
    Ok(entry.snapshot().experience(id)?.clone())
}

/// One experience.
#[utoipa::path(get, path = "/v1/projects/{project}/experiences/{id}", tag = "targeting",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn get(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Experience>, ApiError> {
    let entry = state.project(&project)?;
    Ok(Json(saved_or_404(&entry, &id)?.experience))
}

/// Replaces an experience (the path's id wins).
#[utoipa::path(put, path = "/v1/projects/{project}/experiences/{id}", tag = "targeting",
    params(("project" = String, Path), ("id" = String, Path)),
    request_body(content = Object, description = "The whole experience"),
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn update(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Experience>, ApiError> {
    let entry = state.project(&project)?;
    let mut experience = checked(&body, Some(&id))?;
    experience.updated_at = now_ms();
    Ok(Json(entry.update_experience(&state.store, experience).await?.experience))
}

/// Deletes an experience (its exposures stay for its report).
#[utoipa::path(delete, path = "/v1/projects/{project}/experiences/{id}", tag = "targeting",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.project(&project)?.delete_experience(&state.store, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    /// The customer id; absent for an anonymous visitor (decided on context and time).
    pub customer: Option<String>,
    /// What the storefront knows of the request: `page`, `item`, `category`, `device`, `country`… Typed values.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub context: Map<String, Value>,
    /// Most experiences to answer, 1–100 (default 10).
    pub n: Option<usize>,
    /// Record an exposure for each experience answered (default false), for the customer or, for an anonymous
    /// visitor, `context.anonymous_id` (none without either).
    #[serde(default)]
    pub expose: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Decided {
    pub id: String,
    pub variant: String,
    #[schema(value_type = Object)]
    pub payload: Value,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Decision {
    /// The active, in-schedule experiences whose rule holds, highest priority first (ties by id).
    pub experiences: Vec<Decided>,
}

/// Decides which experiences a request shows: each active experience in its schedule whose targeting rule holds,
/// highest priority first, with the visitor's variant (the same on every request) and its payload. A payload's
/// `recommendations` object (`{"for":"customer"|"item"|"popular","n":…,"item":…,"category":…}`) is answered
/// with its `items` inlined.
#[utoipa::path(post, path = "/v1/projects/{project}/experiences/decide", tag = "targeting",
    params(("project" = String, Path)), request_body = DecideBody,
    responses((status = 200, body = Decision), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn decide(
    State(state): State<AppState>,
    ProjectIngest(project): ProjectIngest,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Decision>, ApiError> {
    let entry = state.project(&project)?;
    let body: DecideBody = parse(&body)?;
    let n = match body.n {
        None => 10,
        Some(n) if (1..=MAX_DECIDED).contains(&n) => n,
        Some(n) => {
            let message = format!("Invalid n: {n} (1 to {MAX_DECIDED})");
            return Err(ApiError::field(Code::Problem(ProblemKind::InvalidField), "n", message));
        }
    };
    let now = now_ms();
    let settings = entry.settings();
    let tz = jiff::tz::TimeZone::get(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let all = entry.experiences();
    let audiences = entry.audiences();
    let mut live: Vec<&SavedExperience> = all.values().filter(|s| s.experience.live_at(now)).collect();
    live.sort_by(|a, b| {
        b.experience.priority.cmp(&a.experience.priority).then_with(|| a.experience.id.cmp(&b.experience.id))
    });
    let visitor =
        body.customer.clone().or_else(|| body.context.get("anonymous_id").and_then(Value::as_str).map(String::from));
    let chosen: Vec<(String, String, Value)> = {
        let view = state.views.project(&project);
        let v = view.read().unwrap_or_else(|p| p.into_inner());
        let request = Request::new(&body.context, now, &tz, i64::from(settings.session_minutes) * 60_000);
        let lookup = |id: &str| audiences.get(id).map(|s| s.rule.clone());
        let ev = Evaluator::for_request(&v, now, &lookup, &request);
        let mut decider = ev.decider(body.customer.as_deref());
        live.into_iter()
            .filter(|s| decider.holds(&s.rule))
            .take(n)
            .map(|s| {
                let variant = s.experience.variant_for(visitor.as_deref().unwrap_or(""));
                (s.experience.id.clone(), variant.id.clone(), variant.payload.clone())
            })
            .collect()
    };
    let mut experiences = Vec::with_capacity(chosen.len());
    for (id, variant, mut payload) in chosen {
        inline_recommendations(&state, &project, &body, &mut payload).await;
        experiences.push(Decided { id, variant, payload });
    }
    // Exposures name the visitor: the customer, or an anonymous visitor's `context.anonymous_id`.
    if body.expose
        && let Some(customer) = visitor.clone()
        && !experiences.is_empty()
    {
        let rows: Vec<Exposure> = experiences
            .iter()
            .map(|d| Exposure {
                experience: d.id.clone(),
                variant: d.variant.clone(),
                customer: customer.clone(),
                at: now,
            })
            .collect();
        let p = project.clone();
        state.blocking(move |s| s.add_exposures(&p, &rows)).await?;
    }
    Ok(Json(Decision { experiences }))
}

/// Answers a payload's `recommendations` query in place (adds `items`); a query that fails adds `error` instead.
async fn inline_recommendations(state: &AppState, project: &str, body: &DecideBody, payload: &mut Value) {
    let Some(Value::Object(spec)) = payload.get_mut("recommendations") else { return };
    let text = |k: &str| spec.get(k).and_then(Value::as_str).map(String::from);
    let query = RecommendQuery {
        n: spec.get("n").and_then(Value::as_u64).map(|n| n as usize),
        category: text("category"),
        exclude: None,
        kind: text("kind"),
        window: text("window"),
    };
    let ingest = || ProjectIngest(project.to_string());
    let answer = match (text("for").as_deref(), &body.customer) {
        (Some("customer"), Some(c)) => {
            for_user(State(state.clone()), ingest(), Path((project.to_string(), c.clone())), Query(query)).await
        }
        (Some("item"), _) => {
            let item = text("item").or_else(|| body.context.get("item").and_then(Value::as_str).map(String::from));
            match item {
                Some(i) => for_item(State(state.clone()), ingest(), Path((project.to_string(), i)), Query(query)).await,
                None => Err(ApiError::field(
                    Code::Problem(ProblemKind::MissingField),
                    "recommendations.item",
                    "no item in the query or the context",
                )),
            }
        }
        _ => popular(State(state.clone()), ingest(), Query(query)).await,
    };
    match answer {
        Ok(Json(r)) => {
            spec.insert("items".into(), serde_json::to_value(&r.items).unwrap_or(Value::Null));
        }
        Err(e) => {
            spec.insert("error".into(), Value::from(e.message));
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExposureBody {
    pub customer: String,
    /// The variant shown; default: the customer's variant.
    pub variant: Option<String>,
}

/// Records that a customer was shown an experience (when `decide` was not asked to).
#[utoipa::path(post, path = "/v1/projects/{project}/experiences/{id}/exposures", tag = "targeting",
    params(("project" = String, Path), ("id" = String, Path)), request_body = ExposureBody,
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn expose(
    State(state): State<AppState>,
    ProjectIngest(project): ProjectIngest,
    Path((_, id)): Path<(String, String)>,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Value>, ApiError> {
    let entry = state.project(&project)?;
    let saved = saved_or_404(&entry, &id)?;
    let body: ExposureBody = parse(&body)?;
    if body.customer.is_empty() {
        return Err(Problem::missing("customer", "customer").into());
    }
    let variant = match body.variant {
        Some(v) if saved.experience.variants.iter().any(|x| x.id == v) => v,
        Some(v) => {
            let message = format!("Unknown variant {v} of experience {id}");
            return Err(ApiError::field(Code::Problem(ProblemKind::InvalidField), "variant", message));
        }
        None => saved.experience.variant_for(&body.customer).id.clone(),
    };
    let row = Exposure { experience: id.clone(), variant: variant.clone(), customer: body.customer, at: now_ms() };
    state.blocking(move |s| s.add_exposures(&project, &[row])).await?;
    Ok(Json(json!({"experience": id, "variant": variant})))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ReportQuery {
    /// Days after a customer's first exposure in which a purchase counts, 1–365 (default 7).
    pub window_days: Option<String>,
}

/// Per variant: customers exposed, customers who purchased within the window after their first exposure,
/// conversion rate, revenue (price × quantity of those purchases), and for each variant after the first, the
/// two-sided p-value of a two-proportion z-test of its conversion rate against the first variant's.
#[utoipa::path(get, path = "/v1/projects/{project}/experiences/{id}/report", tag = "targeting",
    params(("project" = String, Path), ("id" = String, Path), ReportQuery),
    responses((status = 200, body = Object), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn report(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<ReportQuery>,
) -> Result<Json<Value>, ApiError> {
    let entry = state.project(&project)?;
    let saved = saved_or_404(&entry, &id)?;
    let days = super::query_number(q.window_days.as_deref(), "window_days", 1..=365, 7)?;
    let (p, i) = (project.clone(), id.clone());
    let exposures = state.blocking(move |s| s.exposures(&p, &i)).await?;
    // Each customer counts once, in the variant of their first exposure, from its time.
    let mut first: HashMap<&str, (&str, i64)> = HashMap::new();
    for x in &exposures {
        first.entry(x.customer.as_str()).or_insert((x.variant.as_str(), x.at));
    }
    let window = days * 86_400_000;
    let mut rows: Vec<(String, u64, u64, f64)> =
        saved.experience.variants.iter().map(|v| (v.id.clone(), 0, 0, 0.0)).collect();
    {
        let view = state.views.project(&project);
        let v = view.read().unwrap_or_else(|p| p.into_inner());
        let purchase = (0..v.kinds_len() as u32).find(|&k| v.kind_name(k) == "purchase");
        for (customer, (variant, at)) in &first {
            let Some(row) = rows.iter_mut().find(|r| r.0 == *variant) else { continue };
            row.1 += 1;
            let Some(c) = v.customer_id(customer) else { continue };
            let (history, details) = (v.history_of(c), v.details_of(c));
            let mut bought = false;
            for (k, e) in history.iter().enumerate() {
                if Some(e.kind()) == purchase && *at <= e.ts && e.ts <= at + window {
                    bought = true;
                    row.3 += details.get(k).and_then(|d| d.value()).unwrap_or(0.0);
                }
            }
            row.2 += u64::from(bought);
        }
    }
    let (base_n, base_x) = rows.first().map_or((0, 0), |r| (r.1, r.2));
    let variants: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(k, (vid, n, x, revenue))| {
            let rate = if *n > 0 { *x as f64 / *n as f64 } else { 0.0 };
            let p_value = (k > 0).then(|| two_proportion_p(base_x, base_n, *x, *n)).flatten();
            json!({"id": vid, "exposed": n, "converted": x, "conversion_rate": rate, "revenue": revenue,
                   "p_value": p_value})
        })
        .collect();
    Ok(Json(json!({"experience": id, "window_days": days, "computed_at": format_ms(now_ms()), "variants": variants})))
}

/// The two-sided p-value of the pooled two-proportion z-test of `x1 / n1` against `x2 / n2`; `None` when it is
/// undefined (an empty group, or every or no customer converting in both).
pub fn two_proportion_p(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<f64> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let pooled = (x1 + x2) as f64 / (n1 + n2) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    if se == 0.0 {
        return None;
    }
    let z = (p2 - p1) / se;
    Some(libm::erfc(z.abs() / std::f64::consts::SQRT_2))
}

#[cfg(test)]
mod tests {
    use super::two_proportion_p;

    #[test]
    fn two_proportion_test_matches_known_values() {
        // 200/1000 against 250/1000: pooled p 0.225, z = 2.6774, two-sided p = 0.00742 (Python's math.erfc).
        let p = two_proportion_p(200, 1000, 250, 1000).unwrap_or(1.0);
        assert!((p - 0.007_42).abs() < 0.000_01, "{p}");
        assert!((two_proportion_p(50, 100, 50, 100).unwrap_or(0.0) - 1.0).abs() < 1e-12, "equal rates");
        assert_eq!(two_proportion_p(0, 100, 0, 100), None, "no conversions at all");
        assert_eq!(two_proportion_p(1, 0, 1, 10), None);
    }
}
