//! Serving recommendations (ingest or admin key); training and evaluation are in [`super::models`].
//!
//! Every answer is `{"items":[{"item","score","reason"}],"model","trained_at","fallback"}`. A customer, item or
//! session with no usable history gets popular items with `"fallback":"popular"`; a short personalized list is
//! topped up with popular items. Only recommendable items appear: available catalog items (or, in a project
//! without a catalog, any item events name), in the requested category.

use std::collections::HashSet;

use affinity_core::Problem;
use affinity_core::ProblemKind;
use affinity_core::date::format_ms;
use affinity_views::ProjectView;
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use crate::auth::ProjectIngest;
use crate::body::{JsonBytes, parse};
use crate::error::ApiError;
use crate::reco::{Serving, live_history};
use crate::state::AppState;

/// Default and largest number of recommended items.
const DEFAULT_N: usize = 10;
pub(crate) const MAX_N: usize = 1000;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Recommended {
    pub item: String,
    pub score: f32,
    /// Why, for people: "because you purchased sku-1".
    pub reason: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Recommendations {
    pub items: Vec<Recommended>,
    /// The model that ranked the items: `ease`, `item_knn`, `similar`, `bought_together`, `popular`; null before
    /// the first training.
    pub model: Option<String>,
    /// When that model was trained, RFC 3339 UTC.
    pub trained_at: Option<String>,
    /// `popular` when the request had no usable history and popular items were given instead.
    pub fallback: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct RecommendQuery {
    /// How many items, 1–1000 (default 10).
    pub n: Option<usize>,
    /// Only items of this category.
    pub category: Option<String>,
    /// Interaction types whose items to leave out, comma-separated (default: the project's `exclude` setting).
    pub exclude: Option<String>,
    /// `similar` (default) or `bought_together` (item recommendations).
    pub kind: Option<String>,
    /// Popularity window: `all` (default), `1d`, `7d`, `30d`, `90d`.
    pub window: Option<String>,
}

impl RecommendQuery {
    fn n(&self) -> Result<usize, ApiError> {
        let n = self.n.unwrap_or(DEFAULT_N);
        if !(1..=MAX_N).contains(&n) {
            return Err(Problem::new(ProblemKind::InvalidField, "n", format!("Invalid n: {n} (1-{MAX_N})")).into());
        }
        Ok(n)
    }
}

/// Model columns left out of an answer: a mask over the columns (a hash set cost 18% of a request's CPU).
struct Skip(Vec<bool>);

impl Skip {
    fn new(model: &Serving, cols: impl IntoIterator<Item = u32>) -> Skip {
        let mut mask = vec![false; model.items.len()];
        for c in cols {
            if let Some(m) = mask.get_mut(c as usize) {
                *m = true;
            }
        }
        Skip(mask)
    }

    fn contains(&self, col: u32) -> bool {
        self.0.get(col as usize).copied().unwrap_or(false)
    }
}

/// Whether the view's item `i` is in `category` (always, without a category filter).
fn in_category(view: &ProjectView, i: u32, category: Option<&str>) -> bool {
    category.is_none_or(|c| view.catalog_item(i).is_some_and(|item| item.categories.iter().any(|x| x == c)))
}

/// What may be recommended: in the view's recommendable set, in `category`, not in `skip`.
fn acceptable(view: &ProjectView, model: &Serving, category: Option<&str>, skip: &Skip, col: u32) -> bool {
    if skip.contains(col) {
        return false;
    }
    let Some(i) = model.view_item(col) else { return false };
    view.recommendable(i) && in_category(view, i, category)
}

/// Appends popular items (of `window`) that are acceptable and not yet listed, up to `n`.
fn top_up(
    out: &mut Vec<Recommended>,
    view: &ProjectView,
    model: &Serving,
    window: &str,
    category: Option<&str>,
    skip: &Skip,
    n: usize,
) {
    let listed: HashSet<String> = out.iter().map(|r| r.item.clone()).collect();
    for &(col, score) in model.popular(window).unwrap_or(&[]) {
        if out.len() >= n {
            break;
        }
        let id = &model.items[col as usize];
        if !listed.contains(id) && acceptable(view, model, category, skip, col) {
            out.push(Recommended { item: id.clone(), score, reason: Some("popular".into()) });
        }
    }
}

/// Before any training: the items with most events, from the view, leaving out the view's items in `skip`.
fn untrained(view: &ProjectView, category: Option<&str>, skip: &[u32], n: usize) -> Recommendations {
    let mut counted: Vec<(u32, u32)> =
        (0..view.items_len() as u32).map(|i| (i, view.item_events(i))).filter(|&(_, c)| c > 0).collect();
    counted.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let items = counted
        .into_iter()
        .filter(|&(i, _)| !skip.contains(&i) && view.recommendable(i) && in_category(view, i, category))
        .take(n)
        .map(|(i, c)| Recommended {
            item: view.item_name(i).to_string(),
            score: c as f32,
            reason: Some("popular".into()),
        })
        .collect();
    Recommendations { items, model: None, trained_at: None, fallback: Some("popular".into()) }
}

fn answer(model: &Serving, name: &str, items: Vec<Recommended>, fallback: bool) -> Recommendations {
    Recommendations {
        items,
        model: Some(if fallback { "popular".into() } else { name.into() }),
        trained_at: Some(format_ms(model.info.trained_at)),
        fallback: fallback.then(|| "popular".into()),
    }
}

/// "because you purchased sku-1"
fn because(kind: &str, item: &str) -> String {
    let verb = match kind {
        "purchase" => "purchased",
        "cart" => "added to cart",
        "like" => "liked",
        "view" => "viewed",
        _ => "interacted with",
    };
    format!("because you {verb} {item}")
}

/// Personalized recommendations for a customer, from their history as it is now.
#[utoipa::path(get, path = "/v1/projects/{project}/recommendations/users/{customer}", tag = "recommendations",
    params(("project" = String, Path), ("customer" = String, Path), RecommendQuery),
    responses((status = 200, body = Recommendations), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn for_user(
    State(state): State<AppState>,
    ProjectIngest(project): ProjectIngest,
    Path((_, customer)): Path<(String, String)>,
    Query(q): Query<RecommendQuery>,
) -> Result<Json<Recommendations>, ApiError> {
    let entry = state.project(&project)?;
    let n = q.n()?;
    let settings = entry.settings();
    let exclude: Vec<String> = match &q.exclude {
        Some(x) => x.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect(),
        None => settings.exclude.clone(),
    };
    let view = state.views.project(&project);
    let v = view.read().unwrap_or_else(|p| p.into_inner());
    let category = q.category.as_deref();
    let Some(model) = state.models.project(&project).current() else {
        let excluded: Vec<u32> = v
            .history(&customer)
            .iter()
            .filter(|e| exclude.iter().any(|x| x == v.kind_name(e.kind())))
            .filter_map(|e| e.item())
            .collect();
        return Ok(Json(untrained(&v, category, &excluded, n)));
    };
    let live = live_history(&v, &model, &settings, &customer, &exclude);
    let skip = Skip::new(&model, live.excluded.iter().copied());
    let recs = if live.weighted.is_empty() {
        Vec::new()
    } else {
        model.recommend(&live.weighted, n, |j| acceptable(&v, &model, category, &skip, j))
    };
    let fallback = recs.is_empty();
    let mut items: Vec<Recommended> = recs
        .into_iter()
        .map(|(j, score, reason)| Recommended {
            item: model.items[j as usize].clone(),
            score,
            reason: reason.map(|r| {
                let kind = live.strongest_kind(r).map_or("view", |k| v.kind_name(k));
                because(kind, &model.items[r as usize])
            }),
        })
        .collect();
    top_up(&mut items, &v, &model, "all", category, &skip, n);
    Ok(Json(answer(&model, &model.info.model, items, fallback)))
}

/// Items like one item: `kind=similar` (customers who interacted with it also …) or `kind=bought_together`.
#[utoipa::path(get, path = "/v1/projects/{project}/recommendations/items/{item}", tag = "recommendations",
    params(("project" = String, Path), ("item" = String, Path), RecommendQuery),
    responses((status = 200, body = Recommendations), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn for_item(
    State(state): State<AppState>,
    ProjectIngest(project): ProjectIngest,
    Path((_, item)): Path<(String, String)>,
    Query(q): Query<RecommendQuery>,
) -> Result<Json<Recommendations>, ApiError> {
    state.project(&project)?;
    let n = q.n()?;
    let kind = q.kind.as_deref().unwrap_or("similar");
    if kind != "similar" && kind != "bought_together" {
        return Err(Problem::new(
            ProblemKind::InvalidField,
            "kind",
            format!("Invalid kind: {kind} (similar or bought_together)"),
        )
        .into());
    }
    let view = state.views.project(&project);
    let v = view.read().unwrap_or_else(|p| p.into_inner());
    let category = q.category.as_deref();
    let Some(model) = state.models.project(&project).current() else {
        return Ok(Json(untrained(&v, category, &[], n)));
    };
    let source = model.column(&item);
    let skip = Skip::new(&model, source);
    let lists = if kind == "similar" { &model.similar } else { &model.together };
    let reason = if kind == "similar" { format!("similar to {item}") } else { format!("bought together with {item}") };
    let mut items: Vec<Recommended> = source
        .map(|s| lists.of(s))
        .unwrap_or(&[])
        .iter()
        .filter(|&&(j, _)| acceptable(&v, &model, category, &skip, j))
        .take(n)
        .map(|&(j, score)| Recommended { item: model.items[j as usize].clone(), score, reason: Some(reason.clone()) })
        .collect();
    let fallback = items.is_empty();
    top_up(&mut items, &v, &model, "all", category, &skip, n);
    Ok(Json(answer(&model, kind, items, fallback)))
}

/// The most popular items, weighted by interaction type and decayed, optionally over a window.
#[utoipa::path(get, path = "/v1/projects/{project}/recommendations/popular", tag = "recommendations",
    params(("project" = String, Path), RecommendQuery),
    responses((status = 200, body = Recommendations), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn popular(
    State(state): State<AppState>,
    ProjectIngest(project): ProjectIngest,
    Query(q): Query<RecommendQuery>,
) -> Result<Json<Recommendations>, ApiError> {
    state.project(&project)?;
    let n = q.n()?;
    let window = q.window.as_deref().unwrap_or("all");
    if !affinity_reco::data::WINDOWS.iter().any(|(w, _)| *w == window) {
        return Err(Problem::new(
            ProblemKind::InvalidField,
            "window",
            format!("Invalid window: {window} (all, 1d, 7d, 30d or 90d)"),
        )
        .into());
    }
    let view = state.views.project(&project);
    let v = view.read().unwrap_or_else(|p| p.into_inner());
    let category = q.category.as_deref();
    let Some(model) = state.models.project(&project).current() else {
        return Ok(Json(untrained(&v, category, &[], n)));
    };
    let mut items = Vec::new();
    top_up(&mut items, &v, &model, window, category, &Skip::new(&model, []), n);
    let mut out = answer(&model, "popular", items, false);
    out.fallback = None;
    Ok(Json(out))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// Items of the visitor's session or cart.
    pub items: Vec<String>,
    /// How many items, 1–1000 (default 10).
    pub n: Option<usize>,
    pub category: Option<String>,
}

/// Recommendations for an anonymous visitor from the items of their session or cart.
#[utoipa::path(post, path = "/v1/projects/{project}/recommendations/session", tag = "recommendations",
    params(("project" = String, Path)), request_body = SessionRequest,
    responses((status = 200, body = Recommendations), (status = 400, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)),
    security(("x-api-key" = [])))]
pub async fn for_session(
    State(state): State<AppState>,
    ProjectIngest(project): ProjectIngest,
    JsonBytes(body): JsonBytes,
) -> Result<Json<Recommendations>, ApiError> {
    state.project(&project)?;
    let req: SessionRequest = parse(&body)?;
    let q = RecommendQuery { n: req.n, category: req.category, exclude: None, kind: None, window: None };
    let n = q.n()?;
    let view = state.views.project(&project);
    let v = view.read().unwrap_or_else(|p| p.into_inner());
    let category = q.category.as_deref();
    let Some(model) = state.models.project(&project).current() else {
        return Ok(Json(untrained(&v, category, &[], n)));
    };
    let mut history: Vec<(u32, f32)> = req.items.iter().filter_map(|i| model.column(i)).map(|c| (c, 1.0)).collect();
    history.sort_unstable_by_key(|p| p.0);
    history.dedup_by_key(|p| p.0);
    let skip = Skip::new(&model, history.iter().map(|p| p.0));
    let recs = if history.is_empty() {
        Vec::new()
    } else {
        model.recommend(&history, n, |j| acceptable(&v, &model, category, &skip, j))
    };
    let fallback = recs.is_empty();
    let mut items: Vec<Recommended> = recs
        .into_iter()
        .map(|(j, score, reason)| Recommended {
            item: model.items[j as usize].clone(),
            score,
            reason: reason.map(|r| format!("because {} is in the session", model.items[r as usize])),
        })
        .collect();
    top_up(&mut items, &v, &model, "all", category, &skip, n);
    Ok(Json(answer(&model, &model.info.model, items, fallback)))
}
