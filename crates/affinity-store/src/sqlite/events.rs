//! The event log table.

use affinity_core::Event;
use rusqlite::{OptionalExtension, Row, params};

use super::SqliteStore;
use crate::{LogEntry, Result};

/// SQLite's default limit on bound parameters is 32766; stay well below it when deleting by seq.
const DELETE_CHUNK: usize = 10_000;

/// Rows per multi-row INSERT: fewer statement executions per event, 11 bound values per row.
const INSERT_CHUNK: usize = 32;

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO events (project, event, customer, item, ts, quantity, price, params, client_id, order_id, \
         received_at) \
         VALUES ",
    );
    for i in 0..rows {
        sql.push_str(if i == 0 { "(?,?,?,?,?,?,?,?,?,?,?)" } else { ",(?,?,?,?,?,?,?,?,?,?,?)" });
    }
    sql
}

/// Adds `n` to the stored-event count of each import in `rows`, in the caller's transaction.
fn count_imports(tx: &rusqlite::Transaction, rows: &[(&str, Option<&str>, &Event)]) -> rusqlite::Result<()> {
    // A group holds the batches of a few imports at most: a short list beats a map.
    let mut counts: Vec<(&str, i64)> = Vec::new();
    for import in rows.iter().filter_map(|r| r.1) {
        match counts.iter_mut().find(|(id, _)| *id == import) {
            Some((_, n)) => *n += 1,
            None => counts.push((import, 1)),
        }
    }
    let mut st = tx.prepare_cached("UPDATE imports SET stored = stored + ?2 WHERE id = ?1")?;
    for (import, n) in counts {
        st.execute(params![import, n])?;
    }
    Ok(())
}

pub(super) fn append(s: &SqliteStore, events: &[(&str, Option<&str>, &Event)], received_at: i64) -> Result<Vec<u64>> {
    s.write(|c| {
        let tx = c.transaction()?;
        let mut seqs = Vec::with_capacity(events.len());
        for chunk in events.chunks(INSERT_CHUNK) {
            let mut st = tx.prepare_cached(&insert_sql(chunk.len()))?;
            let mut at = 1;
            for (project, _, e) in chunk {
                st.raw_bind_parameter(at, project)?;
                st.raw_bind_parameter(at + 1, &e.event)?;
                st.raw_bind_parameter(at + 2, &e.customer)?;
                st.raw_bind_parameter(at + 3, &e.item)?;
                st.raw_bind_parameter(at + 4, e.ts)?;
                st.raw_bind_parameter(at + 5, e.quantity)?;
                st.raw_bind_parameter(at + 6, e.price)?;
                st.raw_bind_parameter(at + 7, &e.params)?;
                st.raw_bind_parameter(at + 8, &e.client_id)?;
                st.raw_bind_parameter(at + 9, &e.order_id)?;
                st.raw_bind_parameter(at + 10, received_at)?;
                at += 11;
            }
            st.raw_execute()?;
            // A multi-row INSERT into an AUTOINCREMENT table assigns consecutive rowids inside one transaction
            // (the writer is the only connection writing), ending at last_insert_rowid.
            let last = tx.last_insert_rowid() as u64;
            let first = last + 1 - chunk.len() as u64;
            seqs.extend(first..=last);
        }
        count_imports(&tx, events)?;
        tx.commit()?;
        Ok(seqs)
    })
}

const COLUMNS: &str = "seq, project, event, customer, item, ts, quantity, price, params, client_id, order_id";

fn entry(r: &Row) -> rusqlite::Result<LogEntry> {
    Ok(LogEntry {
        seq: r.get::<_, i64>(0)? as u64,
        project: r.get(1)?,
        event: Event {
            event: r.get(2)?,
            customer: r.get(3)?,
            item: r.get(4)?,
            ts: r.get(5)?,
            quantity: r.get(6)?,
            price: r.get(7)?,
            params: r.get(8)?,
            client_id: r.get(9)?,
            order_id: r.get(10)?,
        },
    })
}

pub(super) fn scan(s: &SqliteStore, after: u64, limit: usize) -> Result<Vec<LogEntry>> {
    s.read(|c| {
        let mut st = c.prepare_cached(&format!("SELECT {COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"))?;
        let rows = st.query_map(params![after as i64, limit as i64], entry)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
}

pub(super) fn by_seq(s: &SqliteStore, seqs: &[u64]) -> Result<Vec<LogEntry>> {
    s.read(|c| {
        let mut st = c.prepare_cached(&format!("SELECT {COLUMNS} FROM events WHERE seq = ?1"))?;
        let mut out = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            let mut rows = st.query_map([seq as i64], entry)?;
            if let Some(row) = rows.next() {
                out.push(row?);
            }
        }
        Ok(out)
    })
}

/// Erases a customer: their events (by seq) and their exposures to experiences, in one transaction.
pub(super) fn delete(s: &SqliteStore, project: &str, customer: &str, seqs: &[u64]) -> Result<usize> {
    s.write(|c| {
        let tx = c.transaction()?;
        tx.execute("DELETE FROM exposures WHERE project = ?1 AND customer = ?2", params![project, customer])?;
        super::storefront::erase(&tx, project, customer)?;
        let mut n = 0;
        {
            let mut st = tx.prepare_cached("DELETE FROM events WHERE seq = ?1")?;
            for chunk in seqs.chunks(DELETE_CHUNK) {
                for &seq in chunk {
                    n += st.execute([seq as i64])?;
                }
            }
        }
        tx.commit()?;
        Ok(n)
    })
}

pub(super) fn count_import(s: &SqliteStore, import: &str) -> Result<u64> {
    s.read(|c| {
        let stored =
            c.query_row("SELECT stored FROM imports WHERE id = ?1", [import], |r| r.get::<_, i64>(0)).optional()?;
        Ok(stored.unwrap_or(0) as u64)
    })
}
