//! Counters of a project: events per interaction type (stored and in flight), sizes, and the stats answer.

use super::ProjectView;

/// Counters of a project.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    /// Events per interaction type id, types with events only, by id.
    pub events_by_type: Vec<(String, u64)>,
    pub events: u64,
    /// Customers with at least one event.
    pub customers: u64,
    /// Items named by at least one event.
    pub items: u64,
}

/// Events per UTC day and interaction type over a run of days.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Activity {
    /// The days, oldest first (`YYYY-MM-DD`, UTC).
    pub days: Vec<String>,
    /// Per interaction type with events in those days, by id: one count per day, aligned with `days`.
    pub series: Vec<(String, Vec<u64>)>,
}

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// A view's sizes, read without allocating: what `/metrics` reports per project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sizes {
    /// Events stored (erased ones excluded).
    pub events: u64,
    /// Customers with at least one event.
    pub customers: u64,
    /// Items named by at least one event.
    pub items: u64,
}

impl ProjectView {
    /// The view's sizes (events, active customers, active items): three loads, no allocation.
    pub fn sizes(&self) -> Sizes {
        Sizes { events: self.events, customers: self.active_customers, items: self.active_items }
    }

    /// About how many bytes this view holds on the heap (histories, details, ids and pools; the catalog's items
    /// are counted by their number only): what `/metrics` reports as `affinity_view_bytes`.
    pub fn heap_bytes(&self) -> u64 {
        let pools = self.amounts.capacity() * 16 + self.amount_ids.capacity() * 24;
        let ids = self.customers.heap_bytes()
            + self.items.heap_bytes()
            + self.kinds.heap_bytes()
            + self.params.heap_bytes()
            + self.orders.heap_bytes();
        let counts = (self.kind_counts.capacity() + self.claimed_kinds.capacity()) * 8
            + self.item_counts.capacity() * 4
            + self.catalog.capacity() * 8;
        (self.histories.heap_bytes() + self.details.heap_bytes() + ids + pools + counts) as u64
    }

    /// Events of interaction type `kind`.
    pub fn events_of_type(&self, kind: &str) -> u64 {
        self.kinds.get(kind).and_then(|k| self.kind_counts.get(k as usize)).copied().unwrap_or(0)
    }

    /// Events of interaction type `kind` claimed and on their way to the store.
    pub fn pending_of_type(&self, kind: &str) -> u64 {
        self.kinds.get(kind).and_then(|k| self.claimed_kinds.get(k as usize)).copied().unwrap_or(0)
    }

    /// Events stored.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Events ever applied to this view, erased ones included: grows only.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Events per interaction type on each of the `days` UTC days ending with the day of `now` (ms, UTC), by
    /// each event's date. One pass over every history.
    pub fn activity(&self, now: i64, days: u32) -> Activity {
        let (today, days) = (now.div_euclid(DAY_MS), i64::from(days.max(1)));
        let first = today - (days - 1);
        let mut counts: Vec<Vec<u64>> = vec![vec![0; days as usize]; self.kinds.len()];
        for history in self.histories.iter() {
            for e in history {
                let d = e.ts().div_euclid(DAY_MS) - first;
                if (0..days).contains(&d)
                    && let Some(row) = counts.get_mut(e.kind() as usize)
                {
                    row[d as usize] += 1;
                }
            }
        }
        let mut series: Vec<(String, Vec<u64>)> = counts
            .into_iter()
            .enumerate()
            .filter(|(_, row)| row.iter().any(|&n| n > 0))
            .map(|(k, row)| (self.kinds.name(k as u32).to_string(), row))
            .collect();
        series.sort();
        let days = (first..=today).map(|d| affinity_core::date::format_ms(d * DAY_MS)[..10].to_string()).collect();
        Activity { days, series }
    }

    pub fn stats(&self) -> Stats {
        let mut events_by_type: Vec<(String, u64)> = (0..self.kinds.len())
            .filter_map(|k| Some((k, *self.kind_counts.get(k)?)))
            .filter(|&(_, n)| n > 0)
            .map(|(k, n)| (self.kinds.name(k as u32).to_string(), n))
            .collect();
        events_by_type.sort();
        Stats { events_by_type, events: self.events, customers: self.active_customers, items: self.active_items }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ev;
    use super::*;

    #[test]
    fn activity_counts_each_day_and_type() {
        let mut v = ProjectView::default();
        let day = DAY_MS;
        v.apply(1, &ev("u", "i", 10 * day + 5, None));
        v.apply(2, &ev("u", "j", 10 * day + 6, None));
        v.apply(3, &ev("w", "i", 12 * day, None));
        v.apply(4, &ev("w", "i", 2 * day, None));
        let a = v.activity(12 * day + 1, 3);
        assert_eq!(a.days, ["1970-01-11", "1970-01-12", "1970-01-13"]);
        assert_eq!(a.series, [("view".to_string(), vec![2, 0, 1])], "the event of day 2 is out of the window");
        assert!(v.activity(100 * day, 1).series.is_empty());
    }

    #[test]
    fn erasure_updates_every_counter() {
        let mut v = ProjectView::default();
        v.apply(1, &ev("u", "i", 1, Some("c1")));
        v.apply(2, &ev("u", "j", 2, None));
        v.apply(3, &ev("w", "i", 3, None));
        assert_eq!(v.stats(), Stats { events_by_type: vec![("view".into(), 3)], events: 3, customers: 2, items: 2 });
        assert_eq!(v.sizes(), Sizes { events: 3, customers: 2, items: 2 });
        assert_eq!(v.erase("u"), 2);
        assert_eq!(v.stats(), Stats { events_by_type: vec![("view".into(), 1)], events: 1, customers: 1, items: 1 });
        assert_eq!(v.sizes(), Sizes { events: 1, customers: 1, items: 1 });
        assert_eq!(v.client_id("c1"), None);
        assert_eq!(v.erase("u"), 0);
        assert_eq!(v.erase("nobody"), 0);
        // Another node's erasure up to seq 4 leaves the customer's later events.
        v.apply(4, &ev("w", "j", 4, Some("c4")));
        v.apply(5, &ev("w", "k", 5, Some("c5")));
        assert_eq!(v.erase_upto("w", 4), 2);
        assert_eq!(v.customer_seqs("w"), [5]);
        assert_eq!((v.client_id("c4"), v.client_id("c5")), (None, Some(5)));
        assert_eq!(v.stats(), Stats { events_by_type: vec![("view".into(), 1)], events: 1, customers: 1, items: 1 });
    }

    #[test]
    fn heap_bytes_count_at_least_the_entries_and_not_much_more() {
        let mut v = ProjectView::default();
        let empty = v.heap_bytes();
        for n in 0..20_000u64 {
            v.apply(n + 1, &ev(&format!("u-{}", n % 1_000), &format!("i-{}", n % 50), n as i64, None));
        }
        let held = v.heap_bytes() - empty;
        // 20,000 entries of 16 bytes, 1,000 customers' ids and slots, 50 items: the chunks' spare room is bounded.
        assert!((320_000..700_000).contains(&held), "{held}");
    }
}
