//! Models of a project (admin key): training now, what serves, and offline evaluation (Recall@K, NDCG@K,
//! coverage) against a test file or a split of the project's own events.

use std::sync::Arc;

use affinity_core::date::format_ms;
use affinity_core::{Problem, ProblemKind};
use affinity_reco::Trained;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::ProjectAdmin;
use crate::error::ApiError;
use crate::reco::{Serving, live_history, train};
use crate::state::AppState;

use super::recommendations::MAX_N;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct TrainQuery {
    /// Answer when training is done (200) instead of at once (202).
    pub wait: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ModelsStatus {
    /// Whether a training runs now.
    pub training: bool,
    /// The models serving now, null before the first training.
    #[schema(value_type = Object)]
    pub models: Option<serde_json::Value>,
    /// The last `POST …/models/evaluate`: when, how the test set was made, and its results; null before any.
    #[schema(value_type = Object)]
    pub last_evaluation: Option<serde_json::Value>,
}

fn status(state: &AppState, project: &str) -> ModelsStatus {
    let models = state.models.project(project);
    ModelsStatus {
        training: models.is_training(),
        models: models.current().map(|m| describe(&m)),
        last_evaluation: models.last_evaluation(),
    }
}

fn describe(m: &Arc<Serving>) -> serde_json::Value {
    let i = &m.info;
    let one = |name: &str, model: &str| {
        serde_json::json!({"model": model, "trained_at": format_ms(i.trained_at),
            "fit_ms": i.fit_ms_by_model.get(name).copied().unwrap_or(0), "events": i.events,
            "interactions": i.interactions, "customers": i.customers, "items": i.items})
    };
    serde_json::json!({"personalized": one("personalized", &i.model), "similar": one("similar", "similar"),
        "bought_together": one("bought_together", "bought_together"), "popular": one("popular", "popular"),
        "total_fit_ms": i.fit_ms})
}

/// Trains every model of the project now.
#[utoipa::path(post, path = "/v1/projects/{project}/models/train", tag = "recommendations",
    params(("project" = String, Path), TrainQuery),
    responses((status = 200, body = ModelsStatus), (status = 202, body = ModelsStatus),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn train_now(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Query(q): Query<TrainQuery>,
) -> Result<Response, ApiError> {
    state.project(&project)?;
    if q.wait.unwrap_or(false) {
        train(&state, &project).await?;
        return Ok(Json(status(&state, &project)).into_response());
    }
    let (s, p) = (state.clone(), project.clone());
    tokio::spawn(async move {
        if let Err(e) = train(&s, &p).await {
            tracing::warn!(project = %p, error = %e.message, "training failed");
        }
    });
    let mut now = status(&state, &project);
    now.training = true;
    Ok((StatusCode::ACCEPTED, Json(now)).into_response())
}

/// The models serving now and whether a training runs.
#[utoipa::path(get, path = "/v1/projects/{project}/models", tag = "recommendations", params(("project" = String, Path)),
    responses((status = 200, body = ModelsStatus), (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn models(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
) -> Result<Json<ModelsStatus>, ApiError> {
    state.project(&project)?;
    Ok(Json(status(&state, &project)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct EvaluateQuery {
    /// Cut-offs, comma-separated (default `10,20,50`).
    pub k: Option<String>,
    /// Instead of a test file: hold out `test_fraction` of the project's events, `random` (by `seed`) or `time`
    /// (the newest), train fresh models on the rest (the serving models are left alone) and score those.
    pub split: Option<String>,
    /// Share of the events held out by `split`, in (0, 1); default 0.2.
    pub test_fraction: Option<f64>,
    /// Seed of the `random` split; default 0.
    pub seed: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Evaluation {
    /// One row per model and K.
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<affinity_reco::evaluate::Scores>,
    /// Test rows whose customer has no training history (not scored).
    pub skipped_customers: usize,
    pub test_rows: usize,
}

/// Largest test file, in bytes.
pub const MAX_TEST_BYTES: usize = 256 << 20;

/// Scores the current models against held-out interactions: the body is a CSV with `user_id` and `item_id`
/// columns (or `customer`, `item`), like an upload. Every item is ranked for each test customer, their training
/// items left out; Recall@K (normalised by min(K, held-out items)) and NDCG@K are averaged over customers.
#[utoipa::path(post, path = "/v1/projects/{project}/models/evaluate", tag = "recommendations",
    params(("project" = String, Path), EvaluateQuery), request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = Evaluation), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn evaluate(
    State(state): State<AppState>,
    ProjectAdmin(project): ProjectAdmin,
    Query(q): Query<EvaluateQuery>,
    body: axum::body::Bytes,
) -> Result<Json<Evaluation>, ApiError> {
    state.project(&project)?;
    let ks: Vec<usize> =
        q.k.as_deref()
            .unwrap_or("10,20,50")
            .split(',')
            .map(|k| k.trim().parse::<usize>().ok().filter(|k| (1..=MAX_N).contains(k)))
            .collect::<Option<_>>()
            .ok_or_else(|| Problem::new(ProblemKind::InvalidField, "k", "Invalid k: comma-separated numbers 1-1000"))?;
    if let Some(split) = &q.split {
        let evaluation = evaluate_split(&state, &project, split, &q, ks).await?;
        let how = format!(
            "{split} split of the project's events, test_fraction {}, seed {}",
            q.test_fraction.unwrap_or(0.2),
            q.seed.unwrap_or(0)
        );
        remember(&state, &project, &how, &evaluation).await;
        return Ok(Json(evaluation));
    }
    // Parsing up to 256 MiB of CSV is blocking work.
    let pairs = tokio::task::spawn_blocking(move || read_test_file(&body)).await.map_err(ApiError::internal)??;
    let model = match state.models.project(&project).current() {
        Some(m) => m,
        None => train(&state, &project).await?,
    };
    let view = state.views.project(&project);
    let settings = state.project(&project)?.settings();
    let evaluation = tokio::task::spawn_blocking(move || {
        let mut by_customer: std::collections::BTreeMap<&str, Vec<u32>> = Default::default();
        let mut unknown = std::collections::HashMap::new();
        for (c, i) in &pairs {
            let next = u32::MAX - unknown.len() as u32;
            let col = model.column(i).unwrap_or_else(|| *unknown.entry(i.as_str()).or_insert(next));
            by_customer.entry(c.as_str()).or_default().push(col);
        }
        let v = view.read().unwrap_or_else(|p| p.into_inner());
        let mut cases = Vec::new();
        let mut skipped = 0;
        for (customer, mut relevant) in by_customer {
            let live = live_history(&v, &model, &settings, customer, &[]);
            if live.weighted.is_empty() {
                skipped += 1;
                continue;
            }
            relevant.sort_unstable();
            relevant.dedup();
            cases.push(affinity_reco::evaluate::Case { history: live.weighted, relevant });
        }
        drop(v);
        let results = affinity_reco::evaluate::evaluate(&model, &cases, &ks);
        Evaluation { results, skipped_customers: skipped, test_rows: pairs.len() }
    })
    .await
    .map_err(ApiError::internal)?;
    remember(&state, &project, "test file", &evaluation).await;
    Ok(Json(evaluation))
}

/// Records an evaluation as the project's last one.
async fn remember(state: &AppState, project: &str, how: &str, evaluation: &Evaluation) {
    let summary = serde_json::json!({"at": format_ms(affinity_core::date::now_ms()), "test": how,
        "test_rows": evaluation.test_rows, "results": evaluation.results});
    crate::reco::record_evaluation(state, project, summary).await;
}

/// Scores models trained on the project's events minus a held-out part.
async fn evaluate_split(
    state: &AppState,
    project: &str,
    split: &str,
    q: &EvaluateQuery,
    ks: Vec<usize>,
) -> Result<Evaluation, ApiError> {
    use affinity_reco::data::{Split, extract_split};
    let fraction = q.test_fraction.unwrap_or(0.2);
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(Problem::new(
            ProblemKind::InvalidField,
            "test_fraction",
            format!("Invalid test_fraction: {fraction} (between 0 and 1)"),
        )
        .into());
    }
    let split = match split {
        "random" => Split::Random { fraction, seed: q.seed.unwrap_or(0) },
        "time" => Split::Time { fraction },
        other => {
            return Err(Problem::new(
                ProblemKind::InvalidField,
                "split",
                format!("Invalid split: {other} (random or time)"),
            )
            .into());
        }
    };
    let view = state.views.project(project);
    let settings = state.project(project)?.settings();
    tokio::task::spawn_blocking(move || {
        let (data, held) = extract_split(&view.read().unwrap_or_else(|p| p.into_inner()), &settings, split);
        let test_rows = held.len();
        let histories: Vec<Vec<(u32, f32)>> = held
            .chunk_by(|a, b| a.0 == b.0)
            .map(|run| {
                let (cols, weights) = data.matrix.row(run[0].0 as usize);
                cols.iter().copied().zip(weights.iter().copied()).collect()
            })
            .collect();
        let relevant: Vec<Vec<u32>> =
            held.chunk_by(|a, b| a.0 == b.0).map(|run| run.iter().map(|p| p.1).collect()).collect();
        let model = Trained::train(data, &settings, affinity_core::date::now_ms());
        let mut skipped = 0;
        let cases: Vec<_> = histories
            .into_iter()
            .zip(relevant)
            .filter(|(h, _)| {
                skipped += usize::from(h.is_empty());
                !h.is_empty()
            })
            .map(|(history, relevant)| affinity_reco::evaluate::Case { history, relevant })
            .collect();
        let results = affinity_reco::evaluate::evaluate(&model, &cases, &ks);
        Evaluation { results, skipped_customers: skipped, test_rows }
    })
    .await
    .map_err(ApiError::internal)
}

/// `(customer, item)` of each row of a CSV test file.
fn read_test_file(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let bad = |m: String| ApiError::from(Problem { kind: ProblemKind::InvalidJson, field: None, message: m });
    let mut reader = csv::ReaderBuilder::new().from_reader(body);
    let headers = reader.headers().map_err(|e| bad(format!("Invalid test file: {e}")))?.clone();
    let find = |names: &[&str]| headers.iter().position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)));
    let customer = find(&["user_id", "customer"]).ok_or_else(|| bad("Test file lacks a user_id column".into()))?;
    let item = find(&["item_id", "item"]).ok_or_else(|| bad("Test file lacks an item_id column".into()))?;
    let mut pairs = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let row = row.map_err(|e| bad(format!("Invalid test file, row {}: {e}", n + 1)))?;
        match (row.get(customer), row.get(item)) {
            (Some(c), Some(i)) if !c.is_empty() && !i.is_empty() => pairs.push((c.to_string(), i.to_string())),
            _ => return Err(bad(format!("Test file row {} lacks user_id or item_id", n + 1))),
        }
    }
    Ok(pairs)
}
