//! The experiment report: per variant, who was exposed, who converted (purchased) within a window after their
//! first exposure, the revenue of those purchases, and a two-proportion z-test against the first variant.

use std::collections::HashMap;

use affinity_core::Experience;
use affinity_core::catalog::PURCHASE;
use affinity_core::date::format_ms;
use affinity_views::ProjectView;
use serde::Serialize;

use crate::DAY_MS;

/// One variant's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct VariantReport {
    /// `converted / exposed`, 0 when nobody was exposed.
    pub conversion_rate: f64,
    /// Exposed customers with a purchase within the window after their first exposure.
    pub converted: u64,
    /// Customers whose first exposure was to this variant.
    pub exposed: u64,
    pub id: String,
    /// Two-sided p-value of the test of this variant's conversion rate against the first variant's
    /// ([`two_proportion_p`]); null for the first variant and when undefined.
    pub p_value: Option<f64>,
    /// Σ price × quantity of those purchases.
    pub revenue: f64,
}

/// An experience's report (`GET …/experiences/{id}/report`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ExperimentReport {
    /// When, RFC 3339 UTC.
    pub computed_at: String,
    /// The experience's id.
    pub experience: String,
    /// One row per variant, in the experience's order.
    pub variants: Vec<VariantReport>,
    /// Days after a customer's first exposure in which a purchase counts.
    pub window_days: i64,
}

/// Reports `experience` from its `exposures` (`(customer, variant, epoch ms)`, oldest first) and the purchases
/// in `view`, at `now` (epoch ms). Each customer counts once, in the variant of their first exposure, and
/// converts with a purchase from that exposure up to `window_days` days after it. Exposures to variants the
/// experience no longer has are ignored.
pub fn report<'x>(
    experience: &Experience,
    exposures: impl IntoIterator<Item = (&'x str, &'x str, i64)>,
    view: &ProjectView,
    window_days: i64,
    now: i64,
) -> ExperimentReport {
    let mut first: HashMap<&str, (&str, i64)> = HashMap::new();
    for (customer, variant, at) in exposures {
        first.entry(customer).or_insert((variant, at));
    }
    let window = window_days * DAY_MS;
    // (exposed, converted, revenue) per variant.
    let mut rows: Vec<(u64, u64, f64)> = vec![(0, 0, 0.0); experience.variants.len()];
    let purchase = (0..view.kinds_len() as u32).find(|&k| view.kind_name(k) == PURCHASE);
    for (customer, (variant, at)) in &first {
        let Some(row) = experience.variants.iter().position(|v| v.id == *variant).map(|i| &mut rows[i]) else {
            continue;
        };
        row.0 += 1;
        let Some(c) = view.customer_id(customer) else { continue };
        let (history, details) = (view.history_of(c), view.details_of(c));
        let mut bought = false;
        for (k, e) in history.iter().enumerate() {
            if Some(e.kind()) == purchase && *at <= e.ts() && e.ts() <= at + window {
                bought = true;
                row.2 += details.get(k).and_then(|d| d.value()).unwrap_or(0.0);
            }
        }
        row.1 += u64::from(bought);
    }
    let (base_n, base_x) = rows.first().map_or((0, 0), |r| (r.0, r.1));
    let variants = experience
        .variants
        .iter()
        .zip(&rows)
        .enumerate()
        .map(|(k, (v, &(n, x, revenue)))| VariantReport {
            conversion_rate: if n > 0 { x as f64 / n as f64 } else { 0.0 },
            converted: x,
            exposed: n,
            id: v.id.clone(),
            p_value: (k > 0).then(|| two_proportion_p(base_x, base_n, x, n)).flatten(),
            revenue,
        })
        .collect();
    ExperimentReport { computed_at: format_ms(now), experience: experience.id.clone(), variants, window_days }
}

/// The two-sided p-value of the pooled two-proportion z-test of `x1 / n1` against `x2 / n2` (z = (p2 − p1) / √(p̂
/// (1 − p̂) (1/n1 + 1/n2)), p̂ pooled; p = erfc(|z| / √2)); `None` when it is undefined (an empty group, or every
/// or no customer converting in both).
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
