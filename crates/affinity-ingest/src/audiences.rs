//! Audience membership now: a rule evaluated over a project's view at the current time
//! ([`affinity_rules::Evaluator`]), resolving references to the project's saved audiences. Always fresh, always
//! exact: nothing is cached between requests.

use std::collections::BTreeMap;

use affinity_core::date::now_ms;
use affinity_core::rule::Rule;
use affinity_core::{Problem, ProblemKind};
use affinity_rules::Evaluator;

use crate::catalog::SavedAudience;
use crate::engine::Engine;
use crate::error::CatalogError;

/// Default and largest page of members.
pub const DEFAULT_PAGE: usize = 100;
pub const MAX_PAGE: usize = 10_000;

/// The members of a rule at one instant, in the project's order of first sight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    pub customers: Vec<String>,
    /// When they were computed, ms since the epoch (UTC).
    pub computed_at: i64,
}

/// One page of [`Members`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPage<'a> {
    pub members: &'a [String],
    /// The cursor of the next page (an offset), `None` on the last.
    pub next: Option<usize>,
}

impl Members {
    /// Up to `limit` members from `cursor` (`None` or empty: the first). Errors: `invalid_field` on `limit`
    /// outside 1–[`MAX_PAGE`] or a cursor that is not a number.
    pub fn page(&self, cursor: Option<&str>, limit: Option<usize>) -> Result<MemberPage<'_>, Problem> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            let message = format!("Invalid limit: {limit} (1-{MAX_PAGE})");
            return Err(Problem::new(ProblemKind::InvalidField, "limit", message));
        }
        let start = match cursor {
            None | Some("") => 0,
            Some(c) => {
                c.parse::<usize>().map_err(|_| Problem::new(ProblemKind::InvalidField, "cursor", "Invalid cursor"))?
            }
        };
        let (all, start) = (&self.customers, start.min(self.customers.len()));
        let end = start.saturating_add(limit).min(all.len());
        Ok(MemberPage { members: &all[start..end], next: (end < all.len()).then_some(end) })
    }

    /// The members as CSV: a `customer` header, then one customer per row.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut out = csv::Writer::from_writer(Vec::new());
        // Writing to a Vec cannot fail.
        let _ = out.write_record(["customer"]);
        for c in &self.customers {
            let _ = out.write_record([c]);
        }
        out.into_inner().unwrap_or_default()
    }
}

/// The rule of a saved audience, for references.
fn lookup(saved: &BTreeMap<String, SavedAudience>) -> impl Fn(&str) -> Option<Rule> + Sync + '_ {
    |id: &str| saved.get(id).map(|s| s.rule.clone())
}

impl Engine {
    /// The members of `rule` in `project` now, computed off the async threads. Errors: `not_found` for an
    /// unknown project; internal when the task panics.
    pub async fn members(&self, project: &str, rule: Rule) -> Result<Members, CatalogError> {
        let saved = self.project(project)?.audiences();
        let view = self.views.project(project);
        tokio::task::spawn_blocking(move || {
            let now = now_ms();
            let v = view.read().unwrap_or_else(|p| p.into_inner());
            let ids = Evaluator::new(&v, now, &lookup(&saved)).members(&rule);
            Members { customers: ids.into_iter().map(|c| v.customer_name(c).to_string()).collect(), computed_at: now }
        })
        .await
        .map_err(|e| CatalogError::Task(e.to_string()))
    }

    /// Whether `customer` is in the saved audience `id` now (what targeting asks; clones no rule). Errors:
    /// `not_found` for an unknown project or audience.
    pub fn is_member(&self, project: &str, id: &str, customer: &str) -> Result<bool, CatalogError> {
        let all = self.project(project)?.audiences();
        let saved = all.get(id).ok_or_else(|| CatalogError::NotFound(format!("audience {id}")))?;
        let view = self.views.project(project);
        let v = view.read().unwrap_or_else(|p| p.into_inner());
        Ok(Evaluator::new(&v, now_ms(), &lookup(&all)).is_member(&saved.rule, customer))
    }

    /// The ids of the saved audiences `customer` is in now. Errors: `not_found` for an unknown project.
    pub fn audiences_of(&self, project: &str, customer: &str) -> Result<Vec<String>, CatalogError> {
        let all = self.project(project)?.audiences();
        let view = self.views.project(project);
        let v = view.read().unwrap_or_else(|p| p.into_inner());
        let lookup = lookup(&all);
        let e = Evaluator::new(&v, now_ms(), &lookup);
        Ok(all.values().filter(|s| e.is_member(&s.rule, customer)).map(|s| s.audience.id.clone()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(n: usize) -> Members {
        Members { customers: (0..n).map(|i| format!("c{i}")).collect(), computed_at: 0 }
    }

    #[test]
    fn pages_walk_every_member_once() {
        let all = members(5);
        let first = all.page(None, Some(2)).unwrap();
        assert_eq!((first.members, first.next), (&all.customers[0..2], Some(2)));
        let last = all.page(Some("4"), Some(2)).unwrap();
        assert_eq!((last.members, last.next), (&all.customers[4..5], None));
        assert!(all.page(Some("9"), None).unwrap().members.is_empty(), "past the end: an empty last page");
        assert_eq!(all.page(None, Some(0)).unwrap_err().field.as_deref(), Some("limit"));
        assert_eq!(all.page(Some("x"), None).unwrap_err().field.as_deref(), Some("cursor"));
        assert_eq!(String::from_utf8(members(2).to_csv()).unwrap(), "customer\nc0\nc1\n");
    }
}
