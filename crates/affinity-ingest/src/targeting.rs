//! Targeting over the engine: which experiences a request shows (with their recommendation widgets answered),
//! the exposures that record what was shown, and an experience's report. The decisions and statistics are
//! [`affinity_rules`]'; this module gives them the project's catalog, view, model and stored exposures.

use affinity_core::{Code, ErrorCode};
use affinity_reco::serve::inline_recommendations;
use affinity_rules::{Decision, ExperimentReport, Exposed, RulesError, Visit};
use affinity_store::{Exposure, StoreError};

use crate::engine::Engine;
use crate::error::CatalogError;

/// Why a decision, an exposure or a report was refused.
#[derive(Debug, thiserror::Error)]
pub enum TargetingError {
    /// The project or the experience is unknown.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Bad input: the visit, the variant.
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A store task panicked or was cancelled.
    #[error("a targeting task did not finish: {0}")]
    Task(String),
}

impl ErrorCode for TargetingError {
    fn error_code(&self) -> Code {
        match self {
            TargetingError::Catalog(e) => e.error_code(),
            TargetingError::Rules(e) => e.error_code(),
            TargetingError::Store(_) | TargetingError::Task(_) => Code::Internal,
        }
    }

    fn error_field(&self) -> Option<String> {
        match self {
            TargetingError::Catalog(e) => e.error_field(),
            TargetingError::Rules(e) => e.error_field(),
            _ => None,
        }
    }
}

impl Engine {
    /// Decides which experiences `visit` shows in `project` ([`affinity_rules::decide`]: priority, schedule,
    /// targeting rule, the visitor's variant) and answers each payload's `recommendations` widget in place
    /// ([`inline_recommendations`]). With `expose`, records an exposure of each experience answered for the
    /// visitor ([`Visit::visitor`]; none for a visitor without an id). Errors: `not_found` for an unknown
    /// project, the visit's problems, internal when the store fails.
    pub async fn decide(&self, project: &str, visit: &Visit<'_>, expose: bool) -> Result<Decision, TargetingError> {
        let catalog = self.project(project)?.snapshot();
        let audiences = &catalog.audiences;
        let lookup = |id: &str| audiences.get(id).map(|s| s.rule.clone());
        let candidates = catalog.ranked.iter().map(|s| (&s.experience, &s.rule));
        let decision = self.with_view(project, |v, model, settings| {
            let mut decision = affinity_rules::decide(candidates, &lookup, v, settings, visit)?;
            for d in &mut decision.experiences {
                inline_recommendations(v, model, settings, visit.customer, visit.context, &mut d.payload);
            }
            Ok::<_, RulesError>(decision)
        })??;
        for d in &decision.experiences {
            if let Some(id) = d.payload.pointer("/recommendations/recommendation_id").and_then(|v| v.as_str()) {
                self.served.count_id(project, id, visit.now);
            }
        }
        if let Some(visitor) = visit.visitor().filter(|_| expose && !decision.experiences.is_empty()) {
            let at = visit.now;
            let rows = decision.experiences.iter().map(|d| Exposure {
                experience: d.id.clone(),
                variant: d.variant.clone(),
                customer: visitor.to_string(),
                at,
            });
            self.add_exposures(project, rows.collect()).await?;
        }
        Ok(decision)
    }

    /// Records that `customer` was shown experience `id` at `at` (ms, UTC), in `variant` or else their own.
    /// Errors: `not_found` for an unknown project or experience; a missing customer or unknown variant.
    pub async fn expose(
        &self,
        project: &str,
        id: &str,
        customer: String,
        variant: Option<String>,
        at: i64,
    ) -> Result<Exposed, TargetingError> {
        let saved = self.project(project)?.snapshot().experience(id)?.clone();
        let exposed = affinity_rules::exposed_variant(&saved.experience, &customer, variant)?;
        let row = Exposure { experience: id.to_string(), variant: exposed.variant.clone(), customer, at };
        self.add_exposures(project, vec![row]).await?;
        Ok(exposed)
    }

    /// Experience `id`'s report ([`affinity_rules::report`]) over its stored exposures, counting purchases
    /// within `window_days` of a customer's first exposure, as of `now` (ms, UTC). Errors: `not_found`.
    pub async fn experiment_report(
        &self,
        project: &str,
        id: &str,
        window_days: i64,
        now: i64,
    ) -> Result<ExperimentReport, TargetingError> {
        let saved = self.project(project)?.snapshot().experience(id)?.clone();
        let (p, i) = (project.to_string(), id.to_string());
        let exposures = self.on_store(move |s| s.exposures(&p, &i)).await.map_err(TargetingError::Task)??;
        let rows = exposures.iter().map(|x| (x.customer.as_str(), x.variant.as_str(), x.at));
        Ok(self.with_view(project, |v, _, _| affinity_rules::report(&saved.experience, rows, v, window_days, now))?)
    }

    async fn add_exposures(&self, project: &str, rows: Vec<Exposure>) -> Result<(), TargetingError> {
        let p = project.to_string();
        Ok(self.on_store(move |s| s.add_exposures(&p, &rows)).await.map_err(TargetingError::Task)??)
    }
}
