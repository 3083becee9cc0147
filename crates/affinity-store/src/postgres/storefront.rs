//! Issue 15's tables, as in the SQLite store: aliases (identity; new ones join the change feed) and what
//! recommendations earn.

use tokio_postgres::{Client, GenericClient, Row};

use super::changes;
use crate::{Alias, ChangeKind, RecommendationEvent, RequestCount, Result};

fn alias_row(r: &Row) -> Alias {
    Alias { anonymous_id: r.get(0), customer: r.get(1), created_at: r.get(2) }
}

pub(super) async fn insert_alias(c: &mut Client, project: &str, a: &Alias) -> Result<Alias> {
    let tx = c.transaction().await?;
    let n = tx
        .execute(
            "INSERT INTO aliases (project, anonymous_id, customer, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (project, anonymous_id) DO NOTHING",
            &[&project, &a.anonymous_id, &a.customer, &a.created_at],
        )
        .await?;
    let held = tx
        .query_one(
            "SELECT anonymous_id, customer, created_at FROM aliases WHERE project = $1 AND anonymous_id = $2",
            &[&project, &a.anonymous_id],
        )
        .await?;
    if n > 0 {
        changes::record(&tx, project, ChangeKind::Aliases, Some(&a.anonymous_id)).await?;
    }
    tx.commit().await?;
    Ok(alias_row(&held))
}

pub(super) async fn aliases(c: &mut Client, project: &str) -> Result<Vec<Alias>> {
    let rows = c
        .query(
            "SELECT anonymous_id, customer, created_at FROM aliases WHERE project = $1
             ORDER BY created_at, anonymous_id COLLATE \"C\"",
            &[&project],
        )
        .await?;
    Ok(rows.iter().map(alias_row).collect())
}

pub(super) async fn alias(c: &mut Client, project: &str, anonymous_id: &str) -> Result<Option<Alias>> {
    let row = c
        .query_opt(
            "SELECT anonymous_id, customer, created_at FROM aliases WHERE project = $1 AND anonymous_id = $2",
            &[&project, &anonymous_id],
        )
        .await?;
    Ok(row.as_ref().map(alias_row))
}

pub(super) async fn customer_aliases(c: &impl GenericClient, project: &str, customer: &str) -> Result<Vec<Alias>> {
    let rows = c
        .query(
            "SELECT anonymous_id, customer, created_at FROM aliases WHERE project = $1 AND customer = $2
             ORDER BY created_at, anonymous_id COLLATE \"C\"",
            &[&project, &customer],
        )
        .await?;
    Ok(rows.iter().map(alias_row).collect())
}

/// Deletes, in the erasure's transaction, the exposures and recommendation events of the customer's anonymous
/// ids, the customer's own recommendation events, and the customer's aliases.
pub(super) async fn erase(tx: &impl GenericClient, project: &str, customer: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM exposures WHERE project = $1 AND customer IN
           (SELECT anonymous_id FROM aliases WHERE project = $1 AND customer = $2)",
        &[&project, &customer],
    )
    .await?;
    tx.execute(
        "DELETE FROM recommendation_events WHERE project = $1 AND (customer = $2 OR customer IN
           (SELECT anonymous_id FROM aliases WHERE project = $1 AND customer = $2))",
        &[&project, &customer],
    )
    .await?;
    tx.execute("DELETE FROM aliases WHERE project = $1 AND customer = $2", &[&project, &customer]).await?;
    Ok(())
}

pub(super) async fn add_events(c: &mut Client, project: &str, events: &[RecommendationEvent]) -> Result<()> {
    let tx = c.transaction().await?;
    let st = tx
        .prepare(
            "INSERT INTO recommendation_events (project, recommendation, kind, item, customer, placement, model, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    for e in events {
        tx.execute(&st, &[&project, &e.recommendation, &e.kind, &e.item, &e.customer, &e.placement, &e.model, &e.at])
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn events(c: &mut Client, project: &str, since: i64) -> Result<Vec<RecommendationEvent>> {
    let rows = c
        .query(
            "SELECT recommendation, kind, item, customer, placement, model, at FROM recommendation_events
             WHERE project = $1 AND at >= $2 ORDER BY at, ctid",
            &[&project, &since],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| RecommendationEvent {
            recommendation: r.get(0),
            kind: r.get(1),
            item: r.get(2),
            customer: r.get(3),
            placement: r.get(4),
            model: r.get(5),
            at: r.get(6),
        })
        .collect())
}

pub(super) async fn add_requests(c: &mut Client, project: &str, counts: &[RequestCount]) -> Result<()> {
    let tx = c.transaction().await?;
    let st = tx
        .prepare(
            "INSERT INTO recommendation_requests (project, day, placement, model, requests) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (project, day, placement, model)
             DO UPDATE SET requests = recommendation_requests.requests + excluded.requests",
        )
        .await?;
    for n in counts {
        tx.execute(&st, &[&project, &n.day, &n.placement, &n.model, &(n.requests as i64)]).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn requests(c: &mut Client, project: &str, since_day: i64) -> Result<Vec<RequestCount>> {
    let rows = c
        .query(
            "SELECT day, placement, model, requests FROM recommendation_requests WHERE project = $1 AND day >= $2
             ORDER BY day, placement COLLATE \"C\", model COLLATE \"C\"",
            &[&project, &since_day],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| RequestCount {
            day: r.get(0),
            placement: r.get(1),
            model: r.get(2),
            requests: r.get::<_, i64>(3) as u64,
        })
        .collect())
}
