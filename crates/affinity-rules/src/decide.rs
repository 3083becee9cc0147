//! Targeting decisions (issue 8): which experiences one request shows, and with which variant.
//!
//! Every active experience whose schedule includes the request's instant is a candidate; candidates are taken
//! highest priority first (ties by id), and each whose targeting rule holds for the visitor and the request is
//! answered with the visitor's variant, up to `n`. One [`crate::Decider`] decides all the rules, so an audience
//! several rules name is evaluated once. The variant is a hash of experience and visitor
//! ([`Experience::variant_for`]): the same on every request, on every node.

use affinity_core::rule::Rule;
use affinity_core::{Experience, Settings};
use affinity_views::ProjectView;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::RulesError;
use crate::{Evaluator, Request};

/// Most experiences one decision answers.
pub const MAX_DECIDED: usize = 100;
/// Experiences answered when the request does not say.
pub const DEFAULT_DECIDED: usize = 10;

/// The request being decided.
#[derive(Debug, Clone, Copy)]
pub struct Visit<'a> {
    /// The customer id; `None` for an anonymous visitor (decided on context and time).
    pub customer: Option<&'a str>,
    /// What the storefront knows of the request: `page`, `item`, `device`, `anonymous_id`… Typed values.
    pub context: &'a Map<String, Value>,
    /// Most experiences to answer, 1–[`MAX_DECIDED`]; `None`: [`DEFAULT_DECIDED`].
    pub n: Option<usize>,
    /// The request's instant, epoch ms UTC.
    pub now: i64,
}

impl Visit<'_> {
    /// Who is deciding: the customer, else the context's `anonymous_id` (a text), else nobody. Variants and
    /// exposures are this visitor's.
    pub fn visitor(&self) -> Option<&str> {
        self.customer.or_else(|| self.context.get("anonymous_id").and_then(Value::as_str))
    }
}

/// One experience shown: its id, the visitor's variant and that variant's payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Decided {
    /// The experience's id.
    pub id: String,
    /// The visitor's variant's id.
    pub variant: String,
    /// The variant's payload, as saved (the caller may inline answers into it).
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub payload: Value,
}

/// A decision's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Decision {
    /// The active, in-schedule experiences whose rule holds, highest priority first (ties by id).
    pub experiences: Vec<Decided>,
}

/// Decides `visit` over `experiences` (each with its checked targeting rule): see the module's description. Given
/// in decision order (highest priority first, ties by id) they are only checked, not sorted.
/// `audiences` gives the rule of each audience a rule may name; `settings` gives the time zone of time leaves
/// (UTC when unknown) and the session gap. Errors: [`RulesError::N`].
pub fn decide<'e>(
    experiences: impl IntoIterator<Item = (&'e Experience, &'e Rule)>,
    audiences: &(dyn Fn(&str) -> Option<Rule> + Sync),
    view: &ProjectView,
    settings: &Settings,
    visit: &Visit,
) -> Result<Decision, RulesError> {
    let n = match visit.n {
        None => DEFAULT_DECIDED,
        Some(n) if (1..=MAX_DECIDED).contains(&n) => n,
        Some(n) => return Err(RulesError::N(n)),
    };
    let now = visit.now;
    let mut live: Vec<(&Experience, &Rule)> = experiences.into_iter().filter(|(e, _)| e.live_at(now)).collect();
    let order = |a: &(&Experience, &Rule), b: &(&Experience, &Rule)| {
        b.0.priority.cmp(&a.0.priority).then_with(|| a.0.id.cmp(&b.0.id))
    };
    // Callers that keep experiences ranked (the catalog does) pay one pass, not a sort, per request.
    if !live.is_sorted_by(|a, b| order(a, b) != std::cmp::Ordering::Greater) {
        live.sort_by(order);
    }
    let tz = jiff::tz::TimeZone::get(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let request = Request::new(visit.context, now, &tz, i64::from(settings.session_minutes) * 60_000);
    let ev = Evaluator::for_request(view, now, audiences, &request);
    let mut decider = ev.decider(visit.customer);
    let visitor = visit.visitor().unwrap_or("");
    let experiences = live
        .into_iter()
        .filter(|(_, rule)| decider.holds(rule))
        .take(n)
        .map(|(e, _)| {
            let variant = e.variant_for(visitor);
            Decided { id: e.id.clone(), variant: variant.id.clone(), payload: variant.payload.clone() }
        })
        .collect();
    Ok(Decision { experiences })
}

/// An exposure's answer: which experience, which variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Exposed {
    /// The experience's id.
    pub experience: String,
    /// The variant recorded.
    pub variant: String,
}

/// The variant to record as shown to `customer`: `variant` when `experience` has it, else (`None`) the
/// customer's own variant. Errors: [`RulesError::MissingCustomer`] for an empty customer,
/// [`RulesError::UnknownVariant`].
pub fn exposed_variant(
    experience: &Experience,
    customer: &str,
    variant: Option<String>,
) -> Result<Exposed, RulesError> {
    if customer.is_empty() {
        return Err(RulesError::MissingCustomer);
    }
    let variant = match variant {
        Some(v) if experience.variants.iter().any(|x| x.id == v) => v,
        Some(v) => return Err(RulesError::UnknownVariant { experience: experience.id.clone(), variant: v }),
        None => experience.variant_for(customer).id.clone(),
    };
    Ok(Exposed { experience: experience.id.clone(), variant })
}
