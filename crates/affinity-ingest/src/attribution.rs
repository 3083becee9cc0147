//! What recommendations earn (issue 15, §4): the answers each placement and model gave per day, their widgets'
//! impressions and clicks, and the purchases attributed to them.
//!
//! - **Answers** are counted in memory per (project, day, placement, model) by [`Served::count`] and added to the
//!   store's counts every [`FLUSH_EVERY`] (and before a report): one small write per few seconds, not one per
//!   request. Each node adds its own, so the stored counts are the sum over nodes. A node killed with `kill -9`
//!   loses at most its last [`FLUSH_EVERY`] of counts; nothing else here is approximate.
//! - **Impressions and clicks** (`POST …/recommendations/{id}/events`) are stored one by one, durably, before
//!   the 200. The answer's placement and model are read from its id
//!   ([`affinity_reco::serve::parse_recommendation_id`]), so no node has to remember answers.
//! - **Attribution** (last click): a purchase of item X by customer C is attributed to the latest click on X by C
//!   (or by one of C's anonymous ids, through the aliases) at or before the purchase and at most
//!   `attribution_window_days` before it. Revenue is price × quantity (quantity 1 when absent; 0 without a
//!   price). A click counts once per (recommendation, item); an impression once per recommendation.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use affinity_core::date::format_ms;
use affinity_core::{Code, ErrorCode, Problem, ProblemKind};
use affinity_reco::serve::parse_recommendation_id;
use affinity_store::{RecommendationEvent, RequestCount, StoreError};
use serde::Serialize;

use crate::engine::Engine;
use crate::error::CatalogError;

/// How often a node adds the answers it counted to the store.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// Longest report, in days.
pub const MAX_REPORT_DAYS: i64 = 365;

const DAY_MS: i64 = 86_400_000;

/// Most (placement, model) rows a report holds: the most active ones (answers, impressions and clicks together);
/// the report says how many it left out. Placements are free text a web page may invent.
pub const MAX_REPORT_ROWS: usize = 100;

/// How long before a click a purchase may be dated and still follow it: clicks are dated by the server, purchases
/// by whoever sent them, and clocks differ.
pub const CLOCK_SKEW_MS: i64 = 60_000;

/// The answers this node gave since its last flush, per (project, day, placement, model).
#[derive(Default)]
pub struct Served {
    counts: Mutex<HashMap<(String, i64, String, String), u64>>,
}

impl Served {
    /// Counts one answer of `project` given at `now` (epoch ms UTC).
    pub fn count(&self, project: &str, placement: Option<&str>, model: Option<&str>, now: i64) {
        let key =
            (project.to_string(), now.div_euclid(DAY_MS), placement.unwrap_or("").into(), model.unwrap_or("").into());
        *self.counts.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_default() += 1;
    }

    /// Counts the answer whose id is `recommendation_id` (an inlined widget's), if the id reads.
    pub fn count_id(&self, project: &str, recommendation_id: &str, now: i64) {
        if let Some(id) = parse_recommendation_id(recommendation_id) {
            self.count(project, id.placement.as_deref(), id.model.as_deref(), now);
        }
    }

    fn take(&self) -> HashMap<(String, i64, String, String), u64> {
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts counts back after a failed flush (the next one retries them).
    fn restore(&self, counts: HashMap<(String, i64, String, String), u64>) {
        let mut held = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for (k, n) in counts {
            *held.entry(k).or_default() += n;
        }
    }
}

/// Why a recommendation event or report was refused.
#[derive(Debug, thiserror::Error)]
pub enum AttributionError {
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a recommendation report did not finish: {0}")]
    Task(String),
}

impl ErrorCode for AttributionError {
    fn error_code(&self) -> Code {
        match self {
            AttributionError::Problem(p) => p.error_code(),
            AttributionError::Catalog(e) => e.error_code(),
            AttributionError::Store(_) | AttributionError::Task(_) => Code::Internal,
        }
    }

    fn error_field(&self) -> Option<String> {
        match self {
            AttributionError::Problem(p) => p.error_field(),
            AttributionError::Catalog(e) => e.error_field(),
            _ => None,
        }
    }
}

/// One impression or click as received.
#[derive(Debug, Clone)]
pub struct Interaction {
    /// `impression` or `click`.
    pub kind: String,
    /// Required for a click.
    pub item: Option<String>,
    /// Who saw or clicked (a customer or an anonymous id): a click without one is counted but attributes nothing.
    pub customer: Option<String>,
}

/// One day of one placement and model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Figures {
    /// Answers given (recommendation requests, and widgets inlined by `decide`).
    pub requests: u64,
    /// Answers whose widget was shown (once per recommendation id).
    pub impressions: u64,
    /// Items clicked (once per recommendation id and item).
    pub clicks: u64,
    /// Clicks per impression; null without impressions.
    pub ctr: Option<f64>,
    /// Purchases attributed to the answers (by their own day).
    pub attributed_purchases: u64,
    /// Their price × quantity.
    pub revenue: f64,
}

impl Figures {
    fn add(&mut self, other: &Figures) {
        self.requests += other.requests;
        self.impressions += other.impressions;
        self.clicks += other.clicks;
        self.attributed_purchases += other.attributed_purchases;
        self.revenue += other.revenue;
    }

    fn finish(&mut self) {
        self.ctr = (self.impressions > 0).then(|| self.clicks as f64 / self.impressions as f64);
    }
}

/// One day's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Day {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One placement and model: the totals of the report's days, and each day.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Placement {
    /// Null for answers whose request named no placement.
    pub placement: Option<String>,
    /// Null for answers given before the first training.
    pub model: Option<String>,
    #[serde(flatten)]
    pub totals: Figures,
    /// Every day of the report, oldest first.
    pub days: Vec<Day>,
}

/// `GET …/recommendations/report`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Report {
    pub days: i64,
    /// The first and last day, `YYYY-MM-DD` UTC.
    pub from: String,
    pub to: String,
    pub attribution_window_days: u32,
    /// Every placement and model together.
    pub totals: Figures,
    /// By placement, then model: the [`MAX_REPORT_ROWS`] most active.
    pub placements: Vec<Placement>,
    /// How many less active (placement, model) rows were left out (their figures are in `totals` all the same).
    pub placements_left_out: usize,
}

fn date(day: i64) -> String {
    format_ms(day * DAY_MS).chars().take(10).collect()
}

impl Engine {
    /// Adds the answers counted on this node to the store's counts. Blocking. On failure they are kept for the
    /// next flush.
    pub fn flush_served(&self) -> Result<(), StoreError> {
        let counts = self.served.take();
        if counts.is_empty() {
            return Ok(());
        }
        let mut by_project: BTreeMap<String, Vec<RequestCount>> = BTreeMap::new();
        for ((project, day, placement, model), &requests) in &counts {
            let row = RequestCount { day: *day, placement: placement.clone(), model: model.clone(), requests };
            by_project.entry(project.clone()).or_default().push(row);
        }
        for (project, rows) in by_project {
            if let Err(e) = self.store.add_recommendation_requests(&project, &rows) {
                // Put back what was not written (the projects before this one were).
                let left: HashMap<_, _> = counts.into_iter().filter(|(k, _)| k.0 >= project).collect();
                self.served.restore(left);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Adds this node's counts to the store every [`FLUSH_EVERY`] for as long as the runtime runs.
    pub fn start_flushing_served(&self) {
        let engine = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            loop {
                tick.tick().await;
                let e = engine.clone();
                match tokio::task::spawn_blocking(move || e.flush_served()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "storing recommendation counts failed; will retry"),
                    Err(e) => tracing::error!(error = %e, "the recommendation count flush panicked"),
                }
            }
        });
    }

    /// Stores an impression or a click of recommendation `id`, received at `now` (epoch ms UTC). Errors
    /// (`invalid_field` / `missing_field` / `invalid_id`, naming the field): an id that is not a recommendation
    /// id (`recommendation_id`), a type other than `impression` or `click` (`type`), a click without `item`, a
    /// bad item or customer id; `not_found` for an unknown project.
    pub async fn record_recommendation_event(
        &self,
        project: &str,
        id: &str,
        interaction: Interaction,
        now: i64,
    ) -> Result<RecommendationEvent, AttributionError> {
        self.project(project)?;
        let Some(parsed) = parse_recommendation_id(id) else {
            let message = format!("Invalid recommendation_id {id:?}: not an id a recommendation answer gave");
            return Err(Problem::new(ProblemKind::InvalidId, "recommendation_id", message).into());
        };
        if !matches!(interaction.kind.as_str(), "impression" | "click") {
            let message = format!("Invalid type {:?}: impression or click", interaction.kind);
            return Err(Problem::new(ProblemKind::InvalidField, "type", message).into());
        }
        if interaction.kind == "click" && interaction.item.is_none() {
            return Err(Problem::missing("item", "item").into());
        }
        if let Some(item) = &interaction.item {
            affinity_core::ids::check_opaque_id(item, "item")?;
        }
        if let Some(customer) = &interaction.customer {
            affinity_core::ids::check_opaque_id(customer, "customer")?;
        }
        let row = RecommendationEvent {
            recommendation: id.to_string(),
            kind: interaction.kind,
            item: interaction.item,
            customer: interaction.customer,
            placement: parsed.placement,
            model: parsed.model,
            at: now,
        };
        let (store, p, r) = (self.store.clone(), project.to_string(), row.clone());
        tokio::task::spawn_blocking(move || store.add_recommendation_events(&p, std::slice::from_ref(&r)))
            .await
            .map_err(|e| AttributionError::Task(e.to_string()))??;
        Ok(row)
    }

    /// The report of the last `days` days (today included) as of `now` (epoch ms UTC): see the module. Errors:
    /// `not_found` for an unknown project; internal when the store fails.
    pub async fn recommendation_report(&self, project: &str, days: i64, now: i64) -> Result<Report, AttributionError> {
        let window = self.project(project)?.settings().attribution_window_days;
        let engine = self.clone();
        let (project, today) = (project.to_string(), now.div_euclid(DAY_MS));
        let from_day = today - days.clamp(1, MAX_REPORT_DAYS) + 1;
        let read = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
            // This node's latest counts first, so that its own answers are in its report.
            if let Err(e) = engine.flush_served() {
                tracing::warn!(error = %e, "storing recommendation counts failed; the report leaves them out");
            }
            let requests = engine.store.recommendation_requests(&project, from_day)?;
            let since = from_day * DAY_MS - i64::from(window) * DAY_MS;
            let events = engine.store.recommendation_events(&project, since)?;
            Ok((engine, project, requests, events))
        });
        let (engine, project, requests, events) = read.await.map_err(|e| AttributionError::Task(e.to_string()))??;
        let purchases = engine.with_view(&project, |v, _, _| attributed(v, &events, window))?;
        Ok(report(ReportInput { from_day, today, window, requests, events: &events, purchases }))
    }
}

/// A purchase attributed to a recommendation: (index of the click in the events, day of the purchase, value).
type Attributed = (usize, i64, f64);

/// The purchases attributed to the clicks among `events` (last click wins; see the module).
fn attributed(view: &affinity_views::ProjectView, events: &[RecommendationEvent], window_days: u32) -> Vec<Attributed> {
    let window = i64::from(window_days) * DAY_MS;
    let Some(purchase) = view.kind_id(affinity_core::catalog::PURCHASE) else { return Vec::new() };
    // Per purchase (by seq): the latest click before it, within the window.
    let mut best: HashMap<u64, (usize, i64, i64, f64)> = HashMap::new();
    for (k, e) in events.iter().enumerate().filter(|(_, e)| e.kind == "click") {
        let (Some(customer), Some(item)) = (&e.customer, &e.item) else { continue };
        let (Some(c), Some(i)) = (view.customer_id(customer), view.item_id(item)) else { continue };
        let (history, details) = (view.history_of(c), view.details_of(c));
        let from = history.partition_point(|x| x.ts() < e.at - CLOCK_SKEW_MS);
        for (j, x) in history.iter().enumerate().skip(from).take_while(|(_, x)| x.ts() <= e.at + window) {
            if x.kind() != purchase || x.item() != Some(i) {
                continue;
            }
            let value = details.get(j).and_then(|d| d.value()).unwrap_or(0.0);
            let slot = best.entry(x.seq()).or_insert((k, e.at, x.ts(), value));
            // The latest click wins, but never one made (per the clocks) well after the purchase.
            if e.at >= slot.1 {
                *slot = (k, e.at, x.ts(), value);
            }
        }
    }
    best.into_values().map(|(k, _, ts, value)| (k, ts.div_euclid(DAY_MS), value)).collect()
}

struct ReportInput<'a> {
    from_day: i64,
    today: i64,
    window: u32,
    requests: Vec<RequestCount>,
    events: &'a [RecommendationEvent],
    purchases: Vec<Attributed>,
}

type Key = (Option<String>, Option<String>);

/// `""` (as stored for none) as `None`.
fn blank(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Groups everything by (placement, model) and day.
fn report(input: ReportInput<'_>) -> Report {
    let ReportInput { from_day, today, window, requests, events, purchases } = input;
    let n = (today - from_day + 1) as usize;
    let in_range = |day: i64| (from_day..=today).contains(&day);
    // The most active rows only (a web page may invent placements); the totals count everything.
    let mut activity: HashMap<Key, u64> = HashMap::new();
    let mut totals = Figures::default();
    for r in requests.iter().filter(|r| in_range(r.day)) {
        *activity.entry((blank(r.placement.clone()), blank(r.model.clone()))).or_default() += r.requests;
    }
    for e in events.iter().filter(|e| in_range(e.at.div_euclid(DAY_MS))) {
        *activity.entry((e.placement.clone(), e.model.clone())).or_default() += 1;
    }
    let mut ranked: Vec<(Key, u64)> = activity.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let placements_left_out = ranked.len().saturating_sub(MAX_REPORT_ROWS);
    let mut rows: BTreeMap<Key, Vec<Figures>> =
        ranked.into_iter().take(MAX_REPORT_ROWS).map(|(k, _)| (k, vec![Figures::default(); n])).collect();
    let mut others = Figures::default();
    /// The figures of `key` on `day`: its row's, or `others` for a row left out; `None` outside the report.
    fn at<'a>(
        rows: &'a mut BTreeMap<Key, Vec<Figures>>,
        others: &'a mut Figures,
        n: usize,
        from_day: i64,
        key: Key,
        day: i64,
    ) -> Option<&'a mut Figures> {
        let d = usize::try_from(day - from_day).ok().filter(|&d| d < n)?;
        match rows.get_mut(&key) {
            Some(row) => Some(&mut row[d]),
            None => Some(others),
        }
    }
    for r in requests {
        if let Some(f) = at(&mut rows, &mut others, n, from_day, (blank(r.placement), blank(r.model)), r.day) {
            f.requests += r.requests;
        }
    }
    let (mut shown, mut clicked) = (HashSet::new(), HashSet::new());
    for e in events {
        let first = match e.kind.as_str() {
            "impression" => shown.insert(e.recommendation.as_str()),
            _ => clicked.insert((e.recommendation.as_str(), e.item.as_deref())),
        };
        if !first {
            continue;
        }
        if let Some(f) =
            at(&mut rows, &mut others, n, from_day, (e.placement.clone(), e.model.clone()), e.at.div_euclid(DAY_MS))
        {
            if e.kind == "impression" {
                f.impressions += 1;
            } else {
                f.clicks += 1;
            }
        }
    }
    for (k, day, value) in purchases {
        let e = &events[k];
        if let Some(f) = at(&mut rows, &mut others, n, from_day, (e.placement.clone(), e.model.clone()), day) {
            f.attributed_purchases += 1;
            f.revenue += value;
        }
    }
    totals.add(&others);
    let placements = rows
        .into_iter()
        .map(|((placement, model), days)| {
            let mut sum = Figures::default();
            let days = days
                .into_iter()
                .enumerate()
                .map(|(d, mut figures)| {
                    sum.add(&figures);
                    figures.finish();
                    Day { date: date(from_day + d as i64), figures }
                })
                .collect();
            totals.add(&sum);
            sum.finish();
            Placement { placement, model, totals: sum, days }
        })
        .collect();
    totals.finish();
    Report {
        days: n as i64,
        from: date(from_day),
        to: date(today),
        attribution_window_days: window,
        totals,
        placements,
        placements_left_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use affinity_core::Event;
    use affinity_views::ProjectView;

    const NOW: i64 = 1_795_428_000_000; // 2026-11-23T10:00:00Z

    fn click(rec: &str, customer: &str, item: &str, at: i64) -> RecommendationEvent {
        RecommendationEvent {
            recommendation: rec.into(),
            kind: "click".into(),
            item: Some(item.into()),
            customer: Some(customer.into()),
            placement: Some(rec.into()),
            model: Some("ease".into()),
            at,
        }
    }

    fn purchase(customer: &str, item: &str, ts: i64, price: f64, quantity: f64) -> Event {
        Event { price: Some(price), quantity: Some(quantity), ..Event::new("purchase", customer, item, ts) }
    }

    #[test]
    fn the_last_click_within_the_window_takes_the_purchase() {
        let mut v = ProjectView::default();
        v.apply(1, &purchase("u", "x", NOW, 10.0, 2.0));
        v.apply(2, &purchase("u", "y", NOW, 5.0, 1.0));
        v.apply(3, &purchase("late", "x", NOW, 7.0, 1.0));
        v.apply(4, &purchase("a-1", "z", NOW, 3.0, 1.0));
        v.alias("a-1", "w").unwrap();
        let events = [
            click("early", "u", "x", NOW - 3 * DAY_MS),
            click("later", "u", "x", NOW - DAY_MS),
            click("after", "u", "x", NOW + 2 * CLOCK_SKEW_MS),
            click("old", "late", "x", NOW - 8 * DAY_MS),
            click("device", "w", "z", NOW - 1),
        ];
        let got = attributed(&v, &events, 7);
        let mut by: Vec<(&str, f64)> =
            got.iter().map(|&(k, _, value)| (events[k].recommendation.as_str(), value)).collect();
        by.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(by, [("device", 3.0), ("later", 20.0)], "y was never clicked; `old` is past the window");
    }

    #[test]
    fn reports_count_each_impression_and_click_once_per_day_and_placement() {
        let today = NOW.div_euclid(DAY_MS);
        let mut shown = click("r1", "u", "x", NOW);
        shown.kind = "impression".into();
        shown.item = None;
        let events = vec![shown.clone(), shown, click("r1", "u", "x", NOW), click("r1", "u", "x", NOW)];
        let requests = vec![
            RequestCount { day: today, placement: "r1".into(), model: "ease".into(), requests: 4 },
            RequestCount { day: today - 40, placement: "r1".into(), model: "ease".into(), requests: 9 },
        ];
        let r = report(ReportInput {
            from_day: today - 29,
            today,
            window: 7,
            requests,
            events: &events,
            purchases: vec![(2, today, 12.5)],
        });
        assert_eq!((r.days, r.from.as_str(), r.to.as_str()), (30, "2026-10-25", "2026-11-23"));
        assert_eq!(r.placements.len(), 1);
        let p = &r.placements[0];
        assert_eq!((p.placement.as_deref(), p.model.as_deref(), p.days.len()), (Some("r1"), Some("ease"), 30));
        let t = &p.totals;
        assert_eq!((t.requests, t.impressions, t.clicks, t.attributed_purchases, t.revenue), (4, 1, 1, 1, 12.5));
        assert_eq!(t.ctr, Some(1.0));
        assert_eq!(p.days[29].figures, *t, "all of it today");
        assert_eq!(p.days[0].figures.ctr, None, "no impressions, no CTR");
        assert_eq!(r.totals, *t);
    }

    #[test]
    fn invented_placements_past_the_limit_count_in_the_totals_only() {
        let today = NOW.div_euclid(DAY_MS);
        let requests: Vec<RequestCount> = (0..=MAX_REPORT_ROWS as u64)
            .map(|p| RequestCount { day: today, placement: format!("p{p}"), model: "ease".into(), requests: p + 1 })
            .collect();
        let r = report(ReportInput { from_day: today, today, window: 7, requests, events: &[], purchases: vec![] });
        assert_eq!((r.placements.len(), r.placements_left_out), (MAX_REPORT_ROWS, 1));
        assert!(r.placements.iter().all(|p| p.placement.as_deref() != Some("p0")), "the least active is left out");
        assert_eq!(r.totals.requests, (1..=MAX_REPORT_ROWS as u64 + 1).sum::<u64>());
    }
}
