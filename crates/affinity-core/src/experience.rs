//! Experiences (issue 8): what a storefront shows to whom — a banner, a widget, a message — decided per request by
//! a targeting rule, with weighted variants. Stored as the merchant wrote them; [`Experience::check`] validates
//! everything but the rule, which [`crate::rule::parse_rule`] checks with targeting leaves allowed.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::problem::{Problem, ProblemKind};

/// A saved experience.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Experience {
    /// `[a-z0-9_]{1,64}`.
    pub id: String,
    pub name: String,
    /// `active` experiences are decided; `paused` ones are kept but never shown.
    #[serde(default = "active")]
    pub status: String,
    /// Higher first when several experiences apply.
    #[serde(default)]
    pub priority: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// The targeting rule as written (the audience rule model plus context, time and session leaves).
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub rule: Value,
    pub variants: Vec<Variant>,
    /// Epoch ms UTC; set by the server.
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
}

fn active() -> String {
    "active".into()
}

/// When an experience may be shown: from `start` (included) to `end` (excluded); either may be absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// One variant: its share of customers and what the storefront renders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub id: String,
    /// A relative weight, 0 to 1,000,000; a variant of weight 0 is never chosen.
    pub weight: u32,
    /// Any JSON; affinity does not interpret it, except a `recommendations` object (see the README), which
    /// `decide` runs and answers with the items inlined.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub payload: Value,
}

impl Experience {
    /// Checks everything but the rule. Errors name the field (`variants[1].weight`, `schedule.end`).
    pub fn check(&self) -> Result<(), Problem> {
        let invalid =
            |field: &str, message: String| Err(Problem::new(ProblemKind::InvalidField, field.to_string(), message));
        if !crate::ids::is_catalog_id(&self.id) {
            return Err(Problem::new(
                ProblemKind::InvalidId,
                "id",
                format!("Invalid id: {} ([a-z0-9_], 1 to 64)", self.id),
            ));
        }
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return invalid("name", "name must have 1 to 200 characters".into());
        }
        if self.status != "active" && self.status != "paused" {
            return invalid("status", format!("Invalid status: {} (active or paused)", self.status));
        }
        if let Some(s) = &self.schedule {
            let (start, end) = self.window().map_err(|(field, m)| Problem::new(ProblemKind::InvalidField, field, m))?;
            if let (Some(a), Some(b)) = (start, end)
                && a >= b
            {
                return invalid(
                    "schedule.end",
                    format!("schedule.end {} is not after schedule.start", s.end.clone().unwrap_or_default()),
                );
            }
        }
        if self.variants.is_empty() || self.variants.len() > 100 {
            return invalid("variants", "an experience has 1 to 100 variants".into());
        }
        for (i, v) in self.variants.iter().enumerate() {
            if !crate::ids::is_catalog_id(&v.id) {
                return Err(Problem::new(
                    ProblemKind::InvalidId,
                    format!("variants[{i}].id"),
                    format!("Invalid variant id: {}", v.id),
                ));
            }
            if self.variants[..i].iter().any(|w| w.id == v.id) {
                return invalid(&format!("variants[{i}].id"), format!("Duplicate variant id: {}", v.id));
            }
            if v.weight > 1_000_000 {
                return invalid(
                    &format!("variants[{i}].weight"),
                    format!("Invalid weight: {} (0 to 1000000)", v.weight),
                );
            }
        }
        if self.variants.iter().all(|v| v.weight == 0) {
            return invalid("variants", "at least one variant needs a weight above 0".into());
        }
        Ok(())
    }

    /// The schedule's bounds, epoch ms; errors name the field.
    pub fn window(&self) -> Result<(Option<i64>, Option<i64>), (String, String)> {
        let Some(s) = &self.schedule else { return Ok((None, None)) };
        let parse = |v: &Option<String>, field: &str| match v {
            None => Ok(None),
            Some(t) => crate::date::parse_text(t)
                .map(Some)
                .map_err(|_| (field.to_string(), format!("Invalid {field}: {t} (a date)"))),
        };
        Ok((parse(&s.start, "schedule.start")?, parse(&s.end, "schedule.end")?))
    }

    /// Whether it may be shown at `now` (epoch ms): active and within its schedule.
    pub fn live_at(&self, now: i64) -> bool {
        let Ok((start, end)) = self.window() else { return false };
        self.status == "active" && start.is_none_or(|s| s <= now) && end.is_none_or(|e| now < e)
    }

    /// The variant `visitor` sees: deterministic per visitor and experience (SHA-256 of both, so stable across
    /// processes and versions), each variant chosen with probability weight / total weight.
    pub fn variant_for(&self, visitor: &str) -> &Variant {
        let total: u64 = self.variants.iter().map(|v| u64::from(v.weight)).sum();
        let digest = Sha256::new()
            .chain_update(self.id.as_bytes())
            .chain_update([0])
            .chain_update(visitor.as_bytes())
            .finalize();
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        let mut point = u64::from_le_bytes(bytes) % total.max(1);
        for v in &self.variants {
            if point < u64::from(v.weight) {
                return v;
            }
            point -= u64::from(v.weight);
        }
        &self.variants[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn experience(weights: &[u32]) -> Experience {
        Experience {
            id: "banner".into(),
            name: "Banner".into(),
            status: "active".into(),
            priority: 0,
            schedule: None,
            rule: serde_json::json!({"all":[]}),
            variants: weights
                .iter()
                .enumerate()
                .map(|(i, &weight)| Variant { id: format!("v{i}"), weight, payload: Value::Null })
                .collect(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn variants_are_stable_per_customer_and_respect_weights_within_two_percent() {
        let e = experience(&[50, 30, 20, 0]);
        let mut counts = [0usize; 4];
        for c in 0..10_000 {
            let customer = format!("u-{c}");
            let v = e.variant_for(&customer);
            assert_eq!(v.id, e.variant_for(&customer).id, "the same variant every time");
            counts[v.id[1..].parse::<usize>().unwrap_or(0)] += 1;
        }
        for (i, share) in [0.5, 0.3, 0.2, 0.0].iter().enumerate() {
            let got = counts[i] as f64 / 10_000.0;
            assert!((got - share).abs() <= 0.02, "variant {i}: {got} for {share}");
        }
        // Another experience splits the same customers independently.
        let mut other = e.clone();
        other.id = "other".into();
        let same = (0..1000)
            .filter(|c| e.variant_for(&format!("u-{c}")).id == other.variant_for(&format!("u-{c}")).id)
            .count();
        assert!(same < 600, "{same} of 1000 got the same variant in both");
    }

    #[test]
    fn schedules_status_and_checks() {
        let mut e = experience(&[1]);
        assert!(e.check().is_ok() && e.live_at(0));
        e.schedule = Some(Schedule { start: Some("2026-12-01".into()), end: Some("2026-12-24".into()) });
        let at = |s: &str| crate::date::parse_text(s).unwrap_or(0);
        assert!(!e.live_at(at("2026-11-30T23:59:59Z")) && e.live_at(at("2026-12-01")) && !e.live_at(at("2026-12-24")));
        e.status = "paused".into();
        assert!(!e.live_at(at("2026-12-02")));
        assert!(e.check().is_ok());
        e.status = "off".into();
        assert_eq!(e.check().map_err(|p| p.field), Err(Some("status".into())));
        e.status = "active".into();
        e.schedule = Some(Schedule { start: Some("2026-12-24".into()), end: Some("2026-12-01".into()) });
        assert_eq!(e.check().map_err(|p| p.field), Err(Some("schedule.end".into())));
        e.schedule = None;
        e.variants = experience(&[0, 0]).variants;
        assert_eq!(e.check().map_err(|p| p.field), Err(Some("variants".into())));
        e.variants = experience(&[1, 1]).variants;
        e.variants[1].id = "v0".into();
        assert_eq!(e.check().map_err(|p| p.field), Err(Some("variants[1].id".into())));
    }
}
