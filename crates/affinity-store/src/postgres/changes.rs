//! The change feed: what nodes reload when another node writes (see `migrations/postgres/0002_changes.sql`).

use tokio_postgres::{Client, GenericClient};

use crate::{Change, ChangeKind, Result, StoreError};

/// Advisory lock key held from a change's sequence number to its commit ("affinity changes").
const CHANGES_LOCK: i64 = 0x6166_6669_6368_6701;

/// Most item ids named in one change; a larger write names none (nodes reload the project's catalog).
const MAX_KEYED_ITEMS: usize = 1000;

/// Records a change in the caller's transaction; call it last, just before commit (it takes the feed's lock).
pub(super) async fn record(tx: &impl GenericClient, project: &str, kind: ChangeKind, key: Option<&str>) -> Result<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHANGES_LOCK]).await?;
    tx.execute(
        "INSERT INTO changes (seq, project, kind, key, at) VALUES (nextval('change_seq'), $1, $2, $3, $4)",
        &[&project, &kind.as_str(), &key, &affinity_core::date::now_ms()],
    )
    .await?;
    Ok(())
}

/// The key of a change to these items: their ids as a JSON array, or `None` for a large write.
pub(super) fn items_key<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> Option<String> {
    if ids.len() > MAX_KEYED_ITEMS {
        return None;
    }
    serde_json::to_string(&ids.collect::<Vec<_>>()).ok()
}

pub(super) async fn after(c: &mut Client, after: u64, limit: usize) -> Result<Vec<Change>> {
    let rows = c
        .query(
            "SELECT seq, project, kind, key FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&(after as i64), &(limit as i64)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let kind: &str = r.get(2);
            Ok(Change {
                seq: r.get::<_, i64>(0) as u64,
                project: r.get(1),
                kind: ChangeKind::parse(kind).ok_or_else(|| StoreError::Corrupt(format!("change kind {kind}")))?,
                key: r.get(3),
            })
        })
        .collect()
}

pub(super) async fn last(c: &mut Client) -> Result<u64> {
    let seq: Option<i64> = c.query_one("SELECT max(seq) FROM changes", &[]).await?.get(0);
    Ok(seq.unwrap_or(0) as u64)
}
