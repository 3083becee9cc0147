//! Identity (issue 15, `POST …/identify`): an anonymous id becomes an alias of a customer, first in the store
//! (which decides between two nodes identifying one anonymous id at once), then in this node's view; other nodes
//! follow it through the change feed ([`crate::follow`]) and every node loads the aliases before the events at
//! start ([`crate::engine::rebuild`]).

use affinity_core::{Code, ErrorCode, Problem, Scope};
use affinity_store::{Alias, StoreError};
use affinity_views::AliasRefusal;

use crate::engine::Engine;
use crate::error::CatalogError;

/// Why an identify was refused.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A bad `anonymous_id` or `customer` (empty, too long, control characters, or the same id twice).
    #[error(transparent)]
    Problem(#[from] Problem),
    /// `identity_conflict`: the anonymous id belongs to another customer, or the alias would chain.
    #[error("{0}")]
    Conflict(AliasRefusal),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking store task did not finish.
    #[error("an identify did not finish: {0}")]
    Task(String),
}

impl ErrorCode for IdentityError {
    fn error_code(&self) -> Code {
        match self {
            IdentityError::Problem(p) => p.error_code(),
            IdentityError::Conflict(_) => Code::IdentityConflict,
            IdentityError::Catalog(e) => e.error_code(),
            IdentityError::Store(_) | IdentityError::Task(_) => Code::Internal,
        }
    }

    fn error_field(&self) -> Option<String> {
        match self {
            IdentityError::Problem(p) => p.error_field(),
            IdentityError::Conflict(AliasRefusal::Taken { .. } | AliasRefusal::HasAliases(_)) => {
                Some("anonymous_id".into())
            }
            IdentityError::Conflict(_) => Some("customer".into()),
            IdentityError::Catalog(e) => e.error_field(),
            _ => None,
        }
    }
}

/// What an identify did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    pub alias: Alias,
    /// `false` when the alias existed already (the same identify again).
    pub created: bool,
}

impl Engine {
    /// Makes `anonymous_id` of `project` stand for `customer` from now on, for its past and future events.
    /// Idempotent. Errors: `invalid_id` (field `anonymous_id` or `customer`); `identity_conflict` when the
    /// anonymous id belongs to another customer (field `anonymous_id`) or the alias would chain (field
    /// `customer`); `not_found` for an unknown project.
    ///
    /// With a `public` key (a web page's, which anyone may read), the anonymous id must be one the tracker makes
    /// (`a-` and 24 lowercase hex digits, 96 random bits): else a page could make any customer id an alias of
    /// another and read their history through it. Secret keys may alias any id.
    pub async fn identify(
        &self,
        project: &str,
        anonymous_id: String,
        customer: String,
        scope: Scope,
    ) -> Result<Identified, IdentityError> {
        let entry = self.project(project)?;
        affinity_core::ids::check_opaque_id(&anonymous_id, "anonymous_id")?;
        affinity_core::ids::check_opaque_id(&customer, "customer")?;
        if scope == Scope::Public && !is_tracker_anonymous_id(&anonymous_id) {
            let message = format!(
                "Invalid anonymous_id {anonymous_id:?}: a public key may only identify the tracker's anonymous ids \
                 (a- and 24 hex digits); use an ingest key for others"
            );
            return Err(Problem::new(affinity_core::ProblemKind::InvalidId, "anonymous_id", message).into());
        }
        // This node's identifies of the project one at a time: the checks still hold when the view takes it.
        let _one_at_a_time = entry.identity_edit.lock().await;
        let view = self.views.project(project);
        let new = view.read().unwrap_or_else(|p| p.into_inner()).check_alias(&anonymous_id, &customer);
        match new {
            Err(AliasRefusal::Same) => {
                return Err(Problem::new(
                    affinity_core::ProblemKind::InvalidId,
                    "customer",
                    "Invalid customer: the same id as anonymous_id",
                )
                .into());
            }
            Err(refusal) => return Err(IdentityError::Conflict(refusal)),
            Ok(_) => {}
        }
        let wanted = Alias { anonymous_id, customer, created_at: affinity_core::date::now_ms() };
        let (store, p, a) = (self.store.clone(), project.to_string(), wanted.clone());
        let held = tokio::task::spawn_blocking(move || store.insert_alias(&p, &a))
            .await
            .map_err(|e| IdentityError::Task(e.to_string()))??;
        if held.customer != wanted.customer {
            return Err(IdentityError::Conflict(AliasRefusal::Taken {
                anonymous_id: held.anonymous_id,
                customer: held.customer,
            }));
        }
        view.write()
            .unwrap_or_else(|p| p.into_inner())
            .alias(&held.anonymous_id, &held.customer)
            .map_err(IdentityError::Conflict)?;
        let created = matches!(new, Ok(true)) && held.created_at == wanted.created_at;
        Ok(Identified { alias: held, created })
    }

    /// The customer `id` stands for: its customer for an anonymous id with an alias, else `id` itself.
    pub fn identity_of(&self, project: &str, id: &str) -> String {
        let view = self.views.project(project);
        let v = view.read().unwrap_or_else(|p| p.into_inner());
        v.alias_of(id).unwrap_or(id).to_string()
    }

    /// Applies an alias another node made (from the change feed). An alias the view cannot take (it would chain,
    /// after two nodes identified at once) is logged and left out.
    pub(crate) fn follow_alias(&self, project: &str, anonymous_id: &str) -> Result<(), StoreError> {
        if let Some(a) = self.store.alias(project, anonymous_id)? {
            apply(self, project, &a);
        }
        Ok(())
    }
}

/// Whether `id` is an anonymous id as the tracker makes them: `a-` and 24 lowercase hex digits.
pub fn is_tracker_anonymous_id(id: &str) -> bool {
    id.strip_prefix("a-")
        .is_some_and(|hex| hex.len() == 24 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// Applies a stored alias to `project`'s view.
pub(crate) fn apply(engine: &Engine, project: &str, a: &Alias) {
    let view = engine.views.project(project);
    apply_to(&mut view.write().unwrap_or_else(|p| p.into_inner()), project, a);
}

/// Applies a stored alias to a view already locked.
pub(crate) fn apply_to(view: &mut affinity_views::ProjectView, project: &str, a: &Alias) {
    if let Err(refusal) = view.alias(&a.anonymous_id, &a.customer) {
        tracing::warn!(project, anonymous_id = %a.anonymous_id, %refusal, "a stored alias was left out");
    }
}
