//! The four recommendation answers: for a customer, for an item, popular items, and for a session.
//!
//! Every answer is `{"items":[{"item","score","reason"}],"model","trained_at","fallback"}`. A customer, item or
//! session with no usable history gets popular items with `"fallback":"popular"`; a short personalized list is
//! topped up with popular items. Only recommendable items appear: available catalog items (or, in a project
//! without a catalog, any item events name), in the requested category. Before the first training, every answer
//! is the items with most events in the view.

use std::collections::HashSet;

use affinity_core::catalog::{CART, LIKE, PURCHASE, VIEW};
use affinity_core::date::format_ms;
use affinity_core::{Exclude, Settings};
use affinity_views::ProjectView;
use serde::{Deserialize, Serialize};

use super::{Serving, live_history};
use crate::error::RecoError;

/// Default number of recommended items.
pub const DEFAULT_N: usize = 10;
/// Largest number of recommended items (and largest evaluation cut-off).
pub const MAX_N: usize = 1000;

/// One recommended item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Recommended {
    pub item: String,
    /// The model's score (for popular items: their weighted, decayed event count); higher is better.
    pub score: f32,
    /// Why, for people: "because you purchased sku-1".
    pub reason: Option<String>,
}

/// A recommendation answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Recommendations {
    pub items: Vec<Recommended>,
    /// The model that ranked the items: `ease_ials`, `ease`, `ials`, `item_knn`, `buy_again`, `similar`,
    /// `bought_together`, `popular`; null before the first training.
    pub model: Option<String>,
    /// When that model was trained, RFC 3339 UTC.
    pub trained_at: Option<String>,
    /// `popular` when the request had no usable history and popular items were given instead.
    pub fallback: Option<String>,
    /// This answer's id, to report its widget's impressions and clicks by: `rec_`, 96 random bits in hex, `.`
    /// and the model (`none` before the first training), then `.` and the placement when the request named one
    /// (`rec_3f…a9.ease_ials.home_top`). It carries what the report groups by, so no node stores answers.
    pub recommendation_id: Option<String>,
    /// Where the answer is shown, as the request named it (`home_top`, `pdp_similar`); null when it did not.
    pub placement: Option<String>,
}

/// The model part of a [`Recommendations::recommendation_id`] for an answer given before the first training.
const NO_MODEL: &str = "none";

/// Every [`Recommendations::model`] an answer may name.
pub const MODELS: [&str; 8] =
    ["ease_ials", "ease", "ials", "item_knn", "buy_again", "similar", "bought_together", "popular"];

/// What a [`Recommendations::recommendation_id`] says about its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecommendationId {
    /// `None` before the first training.
    pub model: Option<String>,
    pub placement: Option<String>,
}

/// Reads a recommendation id made by [`stamp`]; `None` for anything else (a forged or mangled id).
pub fn parse_recommendation_id(id: &str) -> Option<RecommendationId> {
    let rest = id.strip_prefix("rec_")?;
    let (random, rest) = rest.split_once('.')?;
    if random.len() != 24 || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let (model, placement) = match rest.split_once('.') {
        Some((m, p)) => (m, Some(p)),
        None => (rest, None),
    };
    if !(MODELS.contains(&model) || model == NO_MODEL) || placement.is_some_and(|p| !is_placement(p)) {
        return None;
    }
    let model = (model != NO_MODEL).then(|| model.to_string());
    Some(RecommendationId { model, placement: placement.map(str::to_string) })
}

/// Whether `p` is a valid placement: 1–64 letters, digits, `_`, `-` or `.`.
fn is_placement(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= MAX_PLACEMENT_BYTES
        && p.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Longest `placement`, in bytes.
pub const MAX_PLACEMENT_BYTES: usize = 64;

/// Gives an answer its [`Recommendations::recommendation_id`] and the query's placement. Errors:
/// [`RecoError::Placement`] for a placement that is not 1–64 letters, digits, `_`, `-` or `.`.
pub fn stamp(mut answer: Recommendations, placement: Option<&str>) -> Result<Recommendations, RecoError> {
    if let Some(p) = placement
        && !is_placement(p)
    {
        return Err(RecoError::Placement(p.to_string()));
    }
    let mut bytes = [0u8; 12];
    // The OS random source failing is not something a server can run without.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    let random: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let model = answer.model.as_deref().unwrap_or(NO_MODEL);
    answer.recommendation_id = Some(match placement {
        Some(p) => format!("rec_{random}.{model}.{p}"),
        None => format!("rec_{random}.{model}"),
    });
    answer.placement = placement.map(str::to_string);
    Ok(answer)
}

/// What a recommendation request asks (the query string of the `GET` routes).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::IntoParams))]
pub struct RecommendQuery {
    /// How many items, 1–1000 (default 10).
    pub n: Option<usize>,
    /// Only items of this category.
    pub category: Option<String>,
    /// Interaction types whose items to leave out, comma-separated (default: the project's `exclude` setting).
    pub exclude: Option<String>,
    /// Customer recommendations: `personalized` (default: repeat purchases blended with discovery) or
    /// `buy_again` (repeat purchases alone). Item recommendations: `similar` (default) or `bought_together`.
    pub kind: Option<String>,
    /// Popularity window: `all` (default), `1d`, `7d`, `30d`, `90d`.
    pub window: Option<String>,
    /// Where the answer will be shown (free text of 1–64 letters, digits, `_`, `-`, `.`, e.g. `home_top`): the
    /// recommendations report groups by it.
    pub placement: Option<String>,
}

impl RecommendQuery {
    /// The number of items asked: [`DEFAULT_N`] when absent; [`RecoError::N`] outside 1–[`MAX_N`].
    pub fn n(&self) -> Result<usize, RecoError> {
        let n = self.n.unwrap_or(DEFAULT_N);
        if !(1..=MAX_N).contains(&n) {
            return Err(RecoError::N(n));
        }
        Ok(n)
    }

    /// The interaction types whose items the discovery models leave out (the query's list, else the settings';
    /// `auto`: purchases), and whether that list also binds repeat purchases (it does unless it is `auto`).
    fn exclude(&self, settings: &Settings) -> (Vec<String>, bool) {
        match &self.exclude {
            Some(x) => (x.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect(), true),
            None => (settings.exclude.types(), settings.exclude != Exclude::Auto),
        }
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
    Recommendations {
        items,
        model: None,
        trained_at: None,
        fallback: Some("popular".into()),
        recommendation_id: None,
        placement: None,
    }
}

fn answer(model: &Serving, name: &str, items: Vec<Recommended>, fallback: bool) -> Recommendations {
    Recommendations {
        items,
        model: Some(if fallback { "popular".into() } else { name.into() }),
        trained_at: Some(format_ms(model.info.trained_at)),
        fallback: fallback.then(|| "popular".into()),
        recommendation_id: None,
        placement: None,
    }
}

/// "because you purchased sku-1"
fn because(kind: &str, item: &str) -> String {
    let verb = match kind {
        PURCHASE => "purchased",
        CART => "added to cart",
        LIKE => "liked",
        VIEW => "viewed",
        _ => "interacted with",
    };
    format!("because you {verb} {item}")
}

/// Personalized recommendations for `customer` from their history in `view` as it is now.
///
/// `q.kind` `personalized` (default): the discovery model's candidates (EASE or item-kNN, items of the types in
/// `q.exclude` left out; default `settings.exclude`, whose `auto` leaves out purchases) blended with repeat
/// purchases by the model's repeat weight ([`crate::repeat::blend`]); a short list is topped up with popular items;
/// a customer without usable history gets popular items (`fallback: popular`). `buy_again`: the repeat candidates
/// alone, each with its cycle as the reason, never topped up. An explicit exclusion list binds repeat purchases
/// too. Errors: [`RecoError::N`], [`RecoError::CustomerKind`].
pub fn for_customer(
    view: &ProjectView,
    model: Option<&Serving>,
    settings: &Settings,
    customer: &str,
    q: &RecommendQuery,
) -> Result<Recommendations, RecoError> {
    let n = q.n()?;
    let kind = q.kind.as_deref().unwrap_or("personalized");
    if kind != "personalized" && kind != "buy_again" {
        return Err(RecoError::CustomerKind(kind.to_string()));
    }
    let (exclude, binds_repeats) = q.exclude(settings);
    let category = q.category.as_deref();
    let Some(model) = model else {
        let excluded: Vec<u32> = view
            .history(customer)
            .iter()
            .filter(|e| exclude.iter().any(|x| x == view.kind_name(e.kind())))
            .filter_map(|e| e.item())
            .collect();
        return Ok(untrained(view, category, &excluded, n));
    };
    let live = live_history(view, model, settings, customer, &exclude);
    let skip = Skip::new(model, live.excluded.iter().copied());
    let (weight, half_life) =
        if kind == "buy_again" { (1.0, model.repeat_blend(settings).1) } else { model.repeat_blend(settings) };
    let repeats = if weight > 0.0 {
        let no_skip = Skip(Vec::new());
        repeat_candidates(view, model, customer, half_life, |j| {
            acceptable(view, model, category, if binds_repeats { &skip } else { &no_skip }, j)
        })
    } else {
        Vec::new()
    };
    if kind == "buy_again" {
        let items = repeats.iter().take(n).map(|&(j, score, cycle)| Recommended {
            item: model.items[j as usize].clone(),
            score,
            reason: Some(cycle_reason(cycle)),
        });
        return Ok(answer(model, "buy_again", items.collect(), false));
    }
    let candidates = if weight > 0.0 { n.max(50) } else { n };
    let recs = if live.weighted.is_empty() {
        Vec::new()
    } else {
        model.recommend(&live.weighted, candidates, |j| acceptable(view, model, category, &skip, j))
    };
    let fallback = recs.is_empty() && repeats.is_empty();
    let reason_of = |j: u32| {
        model.reason(&live.weighted, j).map(|r| {
            let kind = live.strongest_kind(r).map_or(VIEW, |k| view.kind_name(k));
            because(kind, &model.items[r as usize])
        })
    };
    let mut items: Vec<Recommended> = if repeats.is_empty() {
        recs.into_iter()
            .take(n)
            .map(|(j, score)| Recommended { item: model.items[j as usize].clone(), score, reason: reason_of(j) })
            .collect()
    } else {
        let repeat: Vec<(u32, f32)> = repeats.iter().map(|r| (r.0, r.1)).collect();
        crate::repeat::blend(&repeat, &recs, weight, n)
            .into_iter()
            .map(|(j, score, from_repeat)| {
                let reason = if from_repeat {
                    repeats.iter().find(|r| r.0 == j).map(|r| cycle_reason(r.2))
                } else {
                    reason_of(j)
                };
                Recommended { item: model.items[j as usize].clone(), score, reason }
            })
            .collect()
    };
    top_up(&mut items, view, model, "all", category, &skip, n);
    Ok(answer(model, &model.info.model, items, fallback))
}

/// `customer`'s repeat candidates now ([`crate::repeat::Repeat::score`]), best first, among the columns `accept`
/// allows.
fn repeat_candidates(
    view: &ProjectView,
    model: &Serving,
    customer: &str,
    half_life: Option<f64>,
    accept: impl Fn(u32) -> bool,
) -> Vec<crate::repeat::RepeatScore> {
    let Some(c) = view.customer_id(customer) else { return Vec::new() };
    let bought = crate::repeat::bought(view, c, i64::MAX, |i| model.column_of(i));
    let now = affinity_core::date::now_ms();
    model.repeat.score(&bought, now, half_life).into_iter().filter(|r| accept(r.0)).collect()
}

/// "you buy this about every 7 days"
fn cycle_reason(cycle_days: f32) -> String {
    match cycle_days.round() as i64 {
        d if d <= 1 => "you buy this about every day".to_string(),
        d => format!("you buy this about every {d} days"),
    }
}

/// Items like `item`: `q.kind` `similar` (default: customers who interacted with it also interacted with …) or
/// `bought_together` (bought by the same customers within the project's window). Topped up with popular items;
/// an item without neighbours gets popular items (`fallback: popular`). Errors: [`RecoError::N`],
/// [`RecoError::Kind`].
pub fn for_item(
    view: &ProjectView,
    model: Option<&Serving>,
    item: &str,
    q: &RecommendQuery,
) -> Result<Recommendations, RecoError> {
    let n = q.n()?;
    let kind = q.kind.as_deref().unwrap_or("similar");
    if kind != "similar" && kind != "bought_together" {
        return Err(RecoError::Kind(kind.to_string()));
    }
    let category = q.category.as_deref();
    let Some(model) = model else {
        return Ok(untrained(view, category, &[], n));
    };
    let source = model.column(item);
    let skip = Skip::new(model, source);
    let lists = if kind == "similar" { &model.similar } else { &model.together };
    let reason = if kind == "similar" { format!("similar to {item}") } else { format!("bought together with {item}") };
    let mut items: Vec<Recommended> = source
        .map(|s| lists.of(s))
        .unwrap_or(&[])
        .iter()
        .filter(|&&(j, _)| acceptable(view, model, category, &skip, j))
        .take(n)
        .map(|&(j, score)| Recommended { item: model.items[j as usize].clone(), score, reason: Some(reason.clone()) })
        .collect();
    let fallback = items.is_empty();
    top_up(&mut items, view, model, "all", category, &skip, n);
    Ok(answer(model, kind, items, fallback))
}

/// The most popular items of `q.window` (default `all`; see [`crate::data::WINDOWS`]), weighted by interaction
/// type and decayed. Errors: [`RecoError::N`], [`RecoError::Window`].
pub fn popular(view: &ProjectView, model: Option<&Serving>, q: &RecommendQuery) -> Result<Recommendations, RecoError> {
    let n = q.n()?;
    let window = q.window.as_deref().unwrap_or("all");
    if !crate::data::WINDOWS.iter().any(|(w, _)| *w == window) {
        return Err(RecoError::Window(window.to_string()));
    }
    let category = q.category.as_deref();
    let Some(model) = model else {
        return Ok(untrained(view, category, &[], n));
    };
    let mut items = Vec::new();
    top_up(&mut items, view, model, window, category, &Skip::new(model, []), n);
    let mut out = answer(model, "popular", items, false);
    out.fallback = None;
    Ok(out)
}

/// Recommendations for an anonymous visitor from the items of their session or cart (each counting 1), scored
/// by the personalized model; the session's items are left out. Only `q.n` and `q.category` are read. Errors:
/// [`RecoError::N`].
pub fn for_session(
    view: &ProjectView,
    model: Option<&Serving>,
    items: &[String],
    q: &RecommendQuery,
) -> Result<Recommendations, RecoError> {
    let n = q.n()?;
    let category = q.category.as_deref();
    let Some(model) = model else {
        return Ok(untrained(view, category, &[], n));
    };
    let mut history: Vec<(u32, f32)> = items.iter().filter_map(|i| model.column(i)).map(|c| (c, 1.0)).collect();
    history.sort_unstable_by_key(|p| p.0);
    history.dedup_by_key(|p| p.0);
    let skip = Skip::new(model, history.iter().map(|p| p.0));
    let recs = if history.is_empty() {
        Vec::new()
    } else {
        model.recommend(&history, n, |j| acceptable(view, model, category, &skip, j))
    };
    let fallback = recs.is_empty();
    let mut out: Vec<Recommended> = recs
        .into_iter()
        .map(|(j, score)| Recommended {
            item: model.items[j as usize].clone(),
            score,
            reason: model.reason(&history, j).map(|r| format!("because {} is in the session", model.items[r as usize])),
        })
        .collect();
    top_up(&mut out, view, model, "all", category, &skip, n);
    Ok(answer(model, &model.info.model, out, fallback))
}
