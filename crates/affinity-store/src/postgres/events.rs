//! The event log table: appends by binary COPY under the log lock, scans by sequence number, monthly partitions.

use std::collections::{BTreeSet, HashMap, HashSet};

use affinity_core::Event;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Row, SimpleQueryMessage};

use super::{LOG_LOCK, PgStore, changes};
use crate::{Appended, ChangeKind, LogEntry, Result, StoreError};

const COLUMNS: &str = "seq, project, event, customer, item, ts, quantity, price, params, client_id, order_id";

/// Other nodes' events read per query under the append lock.
const FOREIGN_PAGE: usize = 10_000;

/// The month of `ts` (epoch ms UTC) as `year * 12 + month - 1`.
fn month_of(ts: i64) -> i64 {
    let date = jiff::Timestamp::from_millisecond(ts)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    i64::from(date.year()) * 12 + i64::from(date.month()) - 1
}

/// Epoch ms UTC of the first instant of `month`.
fn month_start(month: i64) -> i64 {
    let (year, m) = (month.div_euclid(12), month.rem_euclid(12) + 1);
    jiff::civil::date(year as i16, m as i8, 1)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(i64::MIN)
}

fn partition_name(month: i64) -> String {
    let (year, m) = (month.div_euclid(12), month.rem_euclid(12) + 1);
    format!("events_y{year:04}m{m:02}")
}

/// The months whose partition exists.
pub(super) async fn existing_partitions(c: &mut Client) -> Result<Vec<i64>> {
    let rows = c
        .query(
            "SELECT child.relname FROM pg_inherits JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
             JOIN pg_class child ON child.oid = pg_inherits.inhrelid WHERE parent.relname = 'events'",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let name: &str = r.get(0);
            let year: i64 = name.get(8..12)?.parse().ok()?;
            let month: i64 = name.get(13..15)?.parse().ok()?;
            Some(year * 12 + month - 1)
        })
        .collect())
}

/// Appends `events` under the log lock. With `known`, first reads the events committed after it (other nodes'),
/// leaves out the rows that duplicate one of them, and returns them; see [`crate::Store::append_new_events`].
pub(super) async fn append(
    s: &PgStore,
    c: &mut Client,
    known: Option<u64>,
    events: &[(&str, Option<&str>, &Event)],
    received_at: i64,
) -> Result<Appended> {
    if events.is_empty() {
        return Ok(Appended::default());
    }
    let tx = c.transaction().await?;
    // One round trip (a simple query: nothing to prepare) takes the log lock, reads the newest sequence number
    // (what other nodes may have added since `known`) and reserves one number per row. Rows left out as
    // duplicates leave their numbers unused: sequence numbers only need to grow.
    let n = events.len() as i64;
    let answers = tx
        .simple_query(&format!(
            "SELECT pg_advisory_xact_lock({LOG_LOCK}); \
             SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM event_seq; \
             SELECT setval('event_seq', nextval('event_seq') + {n} - 1)"
        ))
        .await?;
    let values: Vec<i64> = answers
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).and_then(|v| v.parse().ok()),
            _ => None,
        })
        .collect();
    let [newest, last] = values[..] else {
        return Err(StoreError::Corrupt(format!("unexpected answers reserving sequence numbers: {values:?}")));
    };
    let first = last - n + 1;
    let mut foreign: Vec<LogEntry> = Vec::new();
    if let Some(mut after) = known.filter(|&k| (k as i64) < newest) {
        // In pages with a LIMIT: without one, the planner may scan every partition rather than walk the seq index.
        let sql = format!("SELECT {COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT {FOREIGN_PAGE}");
        loop {
            let page: Vec<LogEntry> = tx.query(&sql, &[&(after as i64)]).await?.iter().map(entry).collect();
            let full = page.len() == FOREIGN_PAGE;
            after = page.last().map_or(after, |l| l.seq);
            foreign.extend(page);
            if !full {
                break;
            }
        }
    }
    let duplicate: Vec<bool> = {
        let of = duplicates_of(&foreign);
        events.iter().map(|(p, _, e)| of(p, e)).collect()
    };
    let keep: Vec<&(&str, Option<&str>, &Event)> =
        events.iter().zip(&duplicate).filter(|(_, d)| !**d).map(|(r, _)| r).collect();
    if !keep.is_empty() {
        let missing = missing_partitions(s, keep.iter().map(|(_, _, e)| e.ts));
        for &m in &missing {
            tx.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF events FOR VALUES FROM ({}) TO ({})",
                partition_name(m),
                month_start(m),
                month_start(m + 1)
            ))
            .await?;
        }
        copy(&tx, &keep, first, received_at).await?;
        let mut counts: Vec<(&str, i64)> = Vec::new();
        for import in keep.iter().filter_map(|r| r.1) {
            match counts.iter_mut().find(|(id, _)| *id == import) {
                Some((_, k)) => *k += 1,
                None => counts.push((import, 1)),
            }
        }
        for (import, k) in counts {
            tx.execute("UPDATE imports SET stored = stored + $2 WHERE id = $1", &[&import, &k]).await?;
        }
        tx.commit().await?;
        s.partitions.lock().unwrap_or_else(|p| p.into_inner()).extend(missing);
    } else {
        tx.commit().await?;
    }
    let mut next = first;
    let seqs = duplicate
        .iter()
        .map(|d| {
            (!d).then(|| {
                next += 1;
                (next - 1) as u64
            })
        })
        .collect();
    Ok(Appended { seqs, foreign })
}

/// Whether an event of a project duplicates one of `foreign`: the same client id, or the same customer and the
/// same content (type, item, date, quantity, price, parameters, order), as the views decide on one node.
fn duplicates_of(foreign: &[LogEntry]) -> impl Fn(&str, &Event) -> bool + '_ {
    let ids: HashSet<(&str, &str)> =
        foreign.iter().filter_map(|l| Some((l.project.as_str(), l.event.client_id.as_deref()?))).collect();
    let contents: HashMap<(&str, &str, u64), Vec<&Event>> = foreign.iter().fold(HashMap::new(), |mut m, l| {
        m.entry((l.project.as_str(), l.event.customer.as_str(), l.event.fingerprint())).or_default().push(&l.event);
        m
    });
    move |project: &str, e: &Event| {
        if foreign.is_empty() {
            return false;
        }
        let same_id = e.client_id.as_deref().is_some_and(|id| ids.contains(&(project, id)));
        let same_content = contents.get(&(project, e.customer.as_str(), e.fingerprint())).is_some_and(|found| {
            found.iter().any(|f| {
                f.event == e.event
                    && f.item == e.item
                    && f.ts == e.ts
                    && f.quantity.map(f64::to_bits) == e.quantity.map(f64::to_bits)
                    && f.price.map(f64::to_bits) == e.price.map(f64::to_bits)
                    && f.params == e.params
                    && f.order_id == e.order_id
            })
        });
        same_id || same_content
    }
}

/// The months of `times` whose partition is not known to exist. Events come mostly in time order, so the last
/// month's bounds answer most lookups.
fn missing_partitions(s: &PgStore, times: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut months: BTreeSet<i64> = BTreeSet::new();
    let mut current = (i64::MAX, i64::MIN);
    for ts in times {
        if !(current.0..current.1).contains(&ts) {
            let m = month_of(ts);
            current = (month_start(m), month_start(m + 1));
            months.insert(m);
        }
    }
    let known = s.partitions.lock().unwrap_or_else(|p| p.into_inner());
    months.into_iter().filter(|m| !known.contains(m)).collect()
}

/// Writes `rows` with sequence numbers from `first` by binary COPY.
async fn copy(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &[&(&str, Option<&str>, &Event)],
    first: i64,
    received_at: i64,
) -> Result<()> {
    let sink = tx
        .copy_in(
            "COPY events (seq, project, event, customer, item, ts, quantity, price, params, client_id, order_id, \
             received_at) FROM STDIN (FORMAT binary)",
        )
        .await?;
    let types = [
        Type::INT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
    ];
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
    for (i, (project, _, e)) in rows.iter().enumerate() {
        let seq = first + i as i64;
        writer
            .as_mut()
            .write(&[
                &seq,
                project,
                &e.event,
                &e.customer,
                &e.item,
                &e.ts,
                &e.quantity,
                &e.price,
                &e.params,
                &e.client_id,
                &e.order_id,
                &received_at,
            ])
            .await?;
    }
    writer.finish().await?;
    Ok(())
}

fn entry(r: &Row) -> LogEntry {
    LogEntry {
        seq: r.get::<_, i64>(0) as u64,
        project: r.get(1),
        event: Event {
            event: r.get(2),
            customer: r.get(3),
            item: r.get(4),
            ts: r.get(5),
            quantity: r.get(6),
            price: r.get(7),
            params: r.get(8),
            client_id: r.get(9),
            order_id: r.get(10),
        },
    }
}

pub(super) async fn scan(c: &mut Client, after: u64, limit: usize) -> Result<Vec<LogEntry>> {
    let rows = c
        .query(
            &format!("SELECT {COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"),
            &[&(after as i64), &(limit as i64)],
        )
        .await?;
    Ok(rows.iter().map(entry).collect())
}

pub(super) async fn by_seq(c: &mut Client, seqs: &[u64]) -> Result<Vec<LogEntry>> {
    let wanted: Vec<i64> = seqs.iter().map(|&s| s as i64).collect();
    let rows = c.query(&format!("SELECT {COLUMNS} FROM events WHERE seq = ANY($1)"), &[&wanted]).await?;
    let mut found: HashMap<u64, LogEntry> = rows.iter().map(|r| (r.get::<_, i64>(0) as u64, entry(r))).collect();
    Ok(seqs.iter().filter_map(|s| found.remove(s)).collect())
}

/// Erases a customer: the given seqs, plus the customer's events after `after` that other nodes stored and this
/// node has not followed yet, under the log lock (no append can slip in between). The change names the customer
/// and the highest seq erased, so that other nodes remove just those and keep anything sent after the erasure.
pub(super) async fn delete(c: &mut Client, project: &str, customer: &str, seqs: &[u64], after: u64) -> Result<usize> {
    let mut wanted: Vec<i64> = seqs.iter().map(|&s| s as i64).collect();
    let tx = c.transaction().await?;
    tx.batch_execute(&format!("SELECT pg_advisory_xact_lock({LOG_LOCK})")).await?;
    // ORDER BY seq LIMIT: walks the seq index (see `append`).
    let tail = tx
        .query(
            &format!(
                "SELECT seq FROM events WHERE seq > $1 AND project = $2 AND (customer = $3 OR customer IN
                   (SELECT anonymous_id FROM aliases WHERE project = $2 AND customer = $3)) ORDER BY seq LIMIT {}",
                1_000_000
            ),
            &[&i64::try_from(after).unwrap_or(i64::MAX), &project, &customer],
        )
        .await?;
    wanted.extend(tail.iter().map(|r| r.get::<_, i64>(0)));
    tx.execute("DELETE FROM exposures WHERE project = $1 AND customer = $2", &[&project, &customer]).await?;
    let aliases: Vec<String> = super::storefront::customer_aliases(&tx, project, customer)
        .await?
        .into_iter()
        .map(|a| a.anonymous_id)
        .collect();
    super::storefront::erase(&tx, project, customer).await?;
    let deleted = tx.query("DELETE FROM events WHERE seq = ANY($1) RETURNING seq", &[&wanted]).await?;
    let n = deleted.len() as u64;
    let upto = deleted.iter().map(|r| r.get::<_, i64>(0)).max().unwrap_or(0);
    let key = serde_json::json!({"customer": customer, "upto": upto, "aliases": aliases}).to_string();
    changes::record(&tx, project, ChangeKind::Erase, Some(&key)).await?;
    tx.commit().await?;
    usize::try_from(n).map_err(|_| StoreError::Corrupt("deleted count".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_their_bounds() {
        // 2026-11-23T10:00:00Z
        let ts = 1_795_428_000_000;
        let m = month_of(ts);
        assert_eq!(partition_name(m), "events_y2026m11");
        assert!(month_start(m) <= ts && ts < month_start(m + 1));
        assert_eq!(partition_name(m + 2), "events_y2027m01");
        assert_eq!(month_start(month_of(month_start(m))), month_start(m), "a month starts in itself");
        assert_eq!(month_of(month_start(m + 1) - 1), m, "the last ms belongs to the month");
    }
}
