//! Duplicate checks and claims: an event is stored once, by client event id or by identical content, even
//! while identical events are in flight on their way to the store.

use affinity_core::Event;

use super::{NO_ITEM, ProjectView, slot_of};

impl ProjectView {
    /// Claims `e` (whose fingerprint is `fingerprint`) for storing, unless it duplicates a stored or claimed event:
    /// an event with the same client id, or an identical event of the same customer. Returns the customer slot of
    /// a claimed event, `None` for a duplicate. A claim ends with [`ProjectView::apply_claimed`] (stored) or
    /// [`ProjectView::release`] (not stored).
    ///
    /// The slot is the one of the event's own customer id, alias or not, so that a claim keeps its key when an
    /// `identify` or an erasure changes what the id stands for meanwhile; the event is applied to what it stands
    /// for when it is committed ([`ProjectView::apply_to`]).
    pub fn claim(&mut self, e: &Event, fingerprint: u64) -> Option<u32> {
        let raw = self.raw_slot(&e.customer);
        let c = self.resolve(raw);
        let id_taken =
            e.client_id.as_deref().is_some_and(|id| self.client_ids.contains_key(id) || self.claimed_ids.contains(id));
        if id_taken || self.duplicate_in(c, e).is_some() || self.claimed_events.contains(&(raw, e.ts, fingerprint)) {
            return None;
        }
        if let Some(id) = &e.client_id {
            self.claimed_ids.insert(id.as_str().into());
        }
        self.claimed_events.insert((raw, e.ts, fingerprint));
        let kind = self.kinds.intern(&e.event);
        *slot_of(&mut self.claimed_kinds, kind) += 1;
        Some(raw)
    }

    /// Whether an event with `e`'s client id, or one identical to `e`, is stored (applied).
    pub fn is_stored(&self, e: &Event) -> bool {
        e.client_id.as_deref().is_some_and(|id| self.client_ids.contains_key(id)) || self.duplicate_of(e).is_some()
    }

    /// Ends the claim on an event that was not stored.
    pub fn release(&mut self, c: u32, e: &Event, fingerprint: u64) {
        if let Some(id) = &e.client_id {
            self.claimed_ids.remove(id.as_str());
        }
        self.claimed_events.remove(&(c, e.ts, fingerprint));
        if let Some(n) = self.kinds.get(&e.event).and_then(|k| self.claimed_kinds.get_mut(k as usize)) {
            *n = n.saturating_sub(1);
        }
    }

    /// Adds a claimed event once it is committed with sequence number `seq`, ending its claim.
    pub fn apply_claimed(&mut self, c: u32, seq: u64, e: &Event, fingerprint: u64) {
        self.release(c, e, fingerprint);
        self.apply_to(c, seq, e);
    }

    /// The seq of a stored event of customer slot `c` identical to `e`: same date, type and item, and the same
    /// quantity, price, parameters and order (compared exactly, from the view's details).
    pub fn duplicate_in(&self, c: u32, e: &Event) -> Option<u64> {
        let h = self.histories.get(c as usize);
        let from = h.partition_point(|x| x.ts() < e.ts);
        let mut same = h[from..].iter().take_while(|x| x.ts() == e.ts).peekable();
        same.peek()?;
        // Only now, with a candidate, look the type and item up (one never seen cannot be in a stored event).
        let kind = self.kinds.get(&e.event)?;
        let item = match &e.item {
            None => NO_ITEM,
            Some(i) => self.items.get(i)?,
        };
        same.find(|x| x.kind() == kind && x.item_raw() == item && self.same_detail(c, x, e)).map(|x| x.seq())
    }

    /// The seq of a stored event identical to `e` (of the same customer).
    pub fn duplicate_of(&self, e: &Event) -> Option<u64> {
        self.duplicate_in(self.customer_id(&e.customer)?, e)
    }

    /// The seq of the stored event with this client event id.
    pub fn client_id(&self, id: &str) -> Option<u64> {
        self.client_ids.get(id).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::super::ev;
    use super::*;

    #[test]
    fn duplicates_and_client_ids() {
        let mut v = ProjectView::default();
        let e = ev("u", "i", 10, Some("c1"));
        v.apply(7, &e);
        assert_eq!(v.duplicate_of(&e), Some(7));
        assert_eq!(v.duplicate_of(&ev("u", "i", 11, None)), None, "another time");
        assert_eq!(v.duplicate_of(&ev("other", "i", 10, None)), None, "another customer");
        assert_eq!(v.duplicate_of(&ev("u", "j", 10, None)), None, "another item");
        let cart = Event { event: "cart".into(), ..ev("u", "i", 10, None) };
        assert_eq!(v.duplicate_of(&cart), None, "another type");
        let mut bought =
            Event { event: "purchase".into(), price: Some(2.5), quantity: Some(1.1), ..ev("u", "i", 10, None) };
        v.apply(8, &bought);
        assert_eq!(v.duplicate_of(&bought), Some(8), "the same price and quantity, exactly");
        bought.quantity = Some(1.2);
        assert_eq!(v.duplicate_of(&bought), None, "another quantity");
        bought.quantity = Some(1.1);
        bought.order_id = Some("o-1".into());
        assert_eq!(v.duplicate_of(&bought), None, "another order");
        assert_eq!(v.client_id("c1"), Some(7));
    }

    #[test]
    fn claims_count_until_applied_or_released() {
        let mut v = ProjectView::default();
        let (a, b) = (ev("u", "i", 10, None), ev("u", "i", 10, Some("c1")));
        let (fa, fb) = (a.fingerprint(), b.fingerprint());
        assert_eq!(fa, fb);
        let ca = v.claim(&a, fa).expect("first claim");
        assert_eq!(v.claim(&a, fa), None, "claimed, not yet stored");
        assert_eq!(v.claim(&b, fb), None, "identical content, even with a client id");
        let c = ev("u", "j", 10, Some("c1"));
        let cc = v.claim(&c, c.fingerprint()).expect("new content");
        assert_eq!(v.claim(&ev("w", "k", 1, Some("c1")), 0), None, "same client id");
        v.release(cc, &c, c.fingerprint());
        assert!(v.claim(&c, c.fingerprint()).is_some(), "released claims free the event");
        assert!(!v.is_stored(&a));
        assert_eq!((v.pending_of_type("view"), v.events_of_type("view")), (2, 0), "a and c are in flight");
        v.apply_claimed(ca, 1, &a, fa);
        assert_eq!((v.pending_of_type("view"), v.events_of_type("view")), (1, 1));
        assert_eq!(v.claim(&a, fa), None, "stored now");
        assert!(v.is_stored(&a));
        assert_eq!(v.duplicate_of(&a), Some(1));
    }
}
