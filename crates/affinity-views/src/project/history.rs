//! Customers' histories: sorted by (time, sequence number), read oldest first or paged newest first, and erased.

use super::{Entry, HistoryCursor, ProjectView};

impl ProjectView {
    /// The seqs of a customer's events, oldest first.
    pub fn customer_seqs(&self, customer: &str) -> Vec<u64> {
        self.history(customer).iter().map(Entry::seq).collect()
    }

    /// A customer's history, oldest first (empty for an unknown customer).
    pub fn history(&self, customer: &str) -> &[Entry] {
        match self.customer_id(customer) {
            Some(c) => self.histories.get(c as usize),
            None => &[],
        }
    }

    /// One page of a customer's history, newest first: up to `limit` seqs older than `before` (or the newest when
    /// `None`), and the cursor of the next page when there is one.
    pub fn history_page(
        &self,
        customer: &str,
        before: Option<HistoryCursor>,
        limit: usize,
    ) -> (Vec<u64>, Option<HistoryCursor>) {
        let h = self.history(customer);
        let end = match before {
            Some(c) => h.partition_point(|x| (x.ts(), x.seq()) < (c.ts, c.seq)),
            None => h.len(),
        };
        let start = end.saturating_sub(limit);
        let page: Vec<u64> = h[start..end].iter().rev().map(Entry::seq).collect();
        let next = (start > 0).then(|| HistoryCursor { ts: h[start].ts(), seq: h[start].seq() });
        (page, next)
    }

    /// The history of dense customer `c`, oldest first.
    pub fn history_of(&self, c: u32) -> &[Entry] {
        self.histories.get(c as usize)
    }

    /// Removes all of a customer's events after they were deleted from the store (by this node or another).
    /// Returns how many events were removed. Costs a pass over the project's client ids (erasure is rare).
    pub fn erase(&mut self, customer: &str) -> usize {
        self.erase_upto(customer, u64::MAX)
    }

    /// Removes a customer's events with sequence numbers up to `upto` (another node's erasure, which deleted what
    /// it saw up to there: events sent after it stay). Returns how many events were removed.
    /// The customer's aliases go too (the store deleted them with the events).
    pub fn erase_upto(&mut self, customer: &str, upto: u64) -> usize {
        let Some(c) = self.customer_id(customer) else {
            return 0;
        };
        self.forget_aliases(c);
        let history = self.histories.take(c as usize);
        let details = self.details.take(c as usize);
        let had_events = !history.is_empty();
        let (kept, removed): (Vec<Entry>, Vec<Entry>) = history.into_iter().partition(|e| e.seq() > upto);
        for e in &removed {
            if let Some(n) = self.kind_counts.get_mut(e.kind() as usize) {
                *n = n.saturating_sub(1);
            }
            if let Some(i) = e.item() {
                let n = &mut self.item_counts[i as usize];
                *n -= 1;
                if *n == 0 {
                    self.active_items -= 1;
                }
            }
        }
        if !removed.is_empty() {
            let seqs: std::collections::HashSet<u64> = removed.iter().map(Entry::seq).collect();
            self.client_ids.retain(|_, seq| !seqs.contains(seq));
        }
        if had_events && kept.is_empty() {
            self.active_customers -= 1;
        }
        // Their amounts, parameters and orders stay in the pools (erasure is rare); nothing points to them any more.
        let details: Vec<_> = details.into_iter().filter(|d| d.seq() > upto).collect();
        self.details.put(c as usize, &details);
        self.histories.put(c as usize, &kept);
        self.events -= removed.len() as u64;
        removed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::ev;
    use super::*;

    #[test]
    fn histories_stay_sorted_and_page_newest_first() {
        let mut v = ProjectView::default();
        for (seq, ts) in [(1, 50), (2, 10), (3, 30), (4, 30), (5, 70)] {
            v.apply(seq, &ev("u", "i", ts, None));
        }
        assert_eq!(v.customer_seqs("u"), vec![2, 3, 4, 1, 5]);
        let (p1, c1) = v.history_page("u", None, 2);
        assert_eq!(p1, vec![5, 1]);
        let (p2, c2) = v.history_page("u", c1, 2);
        assert_eq!(p2, vec![4, 3]);
        let (p3, c3) = v.history_page("u", c2, 2);
        assert_eq!((p3, c3), (vec![2], None));
        assert_eq!(v.history_page("nobody", None, 2), (vec![], None));
    }

    #[test]
    fn details_stay_aligned_with_histories() {
        let mut v = ProjectView::default();
        v.apply(1, &ev("u", "i", 20, None));
        assert!(v.details_of(0).is_empty(), "no details until an event has some");
        assert_eq!(std::mem::size_of::<super::super::details::Stored>(), 20);
        let mut bought = ev("u", "j", 10, None);
        bought.event = "purchase".into();
        bought.price = Some(2.5);
        bought.quantity = Some(2.0);
        v.apply(2, &bought);
        let mut loan = ev("u", "k", 30, None);
        loan.params = Some(r#"{"amount":5000}"#.into());
        v.apply(3, &loan);
        let c = v.customer_id("u").unwrap();
        let (h, d) = (v.history_of(c), v.details_of(c));
        assert_eq!(h.iter().map(Entry::seq).collect::<Vec<_>>(), [2, 1, 3]);
        assert_eq!(d.get(0).and_then(|d| d.value()), Some(5.0));
        assert_eq!(d.get(1), None, "a view has no detail");
        let loan = d.get(2).unwrap();
        assert_eq!((loan.value(), v.params_of(&loan)), (None, Some(r#"{"amount":5000}"#)));
        assert_eq!(d.get(3), None);
        v.erase("u");
        assert!(v.details_of(c).is_empty());
    }
}
