//! One project's view.

use std::collections::{HashMap, HashSet};

use affinity_core::{Event, Item};
use foldhash::fast::RandomState;

use crate::Interner;

/// Item id used for events without an item.
const NO_ITEM: u32 = u32::MAX;

/// One event in a customer's history: 24 bytes. The full event is read from the store by `seq` when needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The sequence number (upper 48 bits) and the interned interaction type (lower 16 bits), so that the entry
    /// stays at 24 bytes; ordering by this field orders by sequence number.
    seq_kind: u64,
    /// When it happened, epoch ms UTC.
    pub ts: i64,
    /// Interned item id, `u32::MAX` when the event has no item.
    pub item: u32,
    /// The upper 32 bits of [`Event::fingerprint`] (which covers the interaction type, quantity, price and
    /// parameters). Duplicates must also match customer, date and item, so two different events collide only
    /// when they share all three, with probability 2^-32.
    pub fingerprint: u32,
}

/// What audience rules read of an event besides its [`Entry`]: quantity, price and custom parameters. Kept only
/// for customers with such events, aligned with their history: 24 bytes an event. Quantity and price are kept as
/// the f64 they were stored as, so that `quantity eq 1.1` compares what the merchant sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detail {
    /// NaN when the event has none.
    pub price: f64,
    /// NaN when the event has none.
    pub quantity: f64,
    /// Index of the event's canonical parameters JSON in the view's parameter arena; `u32::MAX` for none.
    params: u32,
}

impl Detail {
    const NONE: Detail = Detail { price: f64::NAN, quantity: f64::NAN, params: u32::MAX };

    /// Price × quantity (quantity 1 when absent); `None` without a price.
    pub fn value(&self) -> Option<f64> {
        if self.price.is_nan() {
            return None;
        }
        Some(self.price * if self.quantity.is_nan() { 1.0 } else { self.quantity })
    }
}

/// Sequence numbers must stay below 2^48 (281 trillion events) to share a word with the interaction type.
const SEQ_BITS: u32 = 48;

impl Entry {
    fn new(seq: u64, kind: u32, ts: i64, item: u32, fingerprint: u32) -> Entry {
        debug_assert!(seq < 1 << SEQ_BITS && kind <= u32::from(u16::MAX));
        Entry { seq_kind: (seq << (64 - SEQ_BITS)) | u64::from(kind as u16), ts, item, fingerprint }
    }

    /// The event's sequence number in the log.
    pub fn seq(&self) -> u64 {
        self.seq_kind >> (64 - SEQ_BITS)
    }

    /// The interned interaction type (see [`ProjectView::kind_name`]).
    pub fn kind(&self) -> u32 {
        u32::from(self.seq_kind as u16)
    }

    /// The item's dense id, `None` for an event without an item.
    pub fn item(&self) -> Option<u32> {
        (self.item != NO_ITEM).then_some(self.item)
    }

    fn key(&self) -> (i64, u64) {
        (self.ts, self.seq_kind)
    }
}

/// The counter of `kind` in `counts`, growing it as needed (kinds are interned by claims and by applies).
fn slot_of(counts: &mut Vec<u64>, kind: u32) -> &mut u64 {
    let i = kind as usize;
    if i >= counts.len() {
        counts.resize(i + 1, 0);
    }
    &mut counts[i]
}

fn short(fingerprint: u64) -> u32 {
    (fingerprint >> 32) as u32
}

/// A position in a customer's history, newest first: the page after it holds the events strictly older than
/// `(ts, seq)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryCursor {
    pub ts: i64,
    pub seq: u64,
}

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

/// The in-memory index of one project's events.
#[derive(Default, Debug)]
pub struct ProjectView {
    customers: Interner,
    items: Interner,
    kinds: Interner,
    /// Per customer, sorted by (ts, seq).
    histories: Vec<Vec<Entry>>,
    /// Per customer, empty or aligned with `histories`: see [`Detail`].
    details: Vec<Vec<Detail>>,
    /// Canonical parameters JSON of the events that have parameters.
    params: Vec<Box<str>>,
    client_ids: HashMap<Box<str>, u64, RandomState>,
    /// Claims of events being committed: they count as stored in duplicate checks until applied or released.
    claimed_ids: HashSet<Box<str>, RandomState>,
    claimed_events: HashSet<(u32, i64, u64), RandomState>,
    /// Stored events per interned interaction type (may be shorter than `kinds`: read with `.get`).
    kind_counts: Vec<u64>,
    /// Claimed (in-flight) events per interned interaction type (the same).
    claimed_kinds: Vec<u64>,
    item_counts: Vec<u32>,
    /// Catalog items by dense item id (the same ids as events'); `None` for items events name but the catalog lacks.
    catalog: Vec<Option<Box<Item>>>,
    catalog_len: usize,
    events: u64,
    /// Events ever applied (erasures do not lower it): what "new events since" counts from.
    applied: u64,
    active_customers: u64,
    active_items: u64,
}

impl ProjectView {
    /// Adds a committed event. Events of one customer may arrive in any time order.
    pub fn apply(&mut self, seq: u64, e: &Event) {
        let c = self.customer_slot(&e.customer);
        self.apply_to(c, seq, e, e.fingerprint());
    }

    /// The dense id of `customer`, assigning one (with an empty history) if the customer is new. Lets the ingest
    /// writer look a customer up once for both the duplicate check and [`ProjectView::apply_to`].
    pub fn customer_slot(&mut self, customer: &str) -> u32 {
        let c = self.customers.intern(customer);
        if c as usize == self.histories.len() {
            self.histories.push(Vec::new());
            self.details.push(Vec::new());
        }
        c
    }

    /// Adds a committed event of customer slot `c` (from [`ProjectView::customer_slot`]) whose
    /// [`Event::fingerprint`] is `fingerprint`.
    pub fn apply_to(&mut self, c: u32, seq: u64, e: &Event, fingerprint: u64) {
        let item = match &e.item {
            Some(i) => {
                let id = self.item_slot(i);
                if self.item_counts[id as usize] == 0 {
                    self.active_items += 1;
                }
                self.item_counts[id as usize] += 1;
                id
            }
            None => NO_ITEM,
        };
        let kind = self.kinds.intern(&e.event);
        *slot_of(&mut self.kind_counts, kind) += 1;
        let entry = Entry::new(seq, kind, e.ts, item, short(fingerprint));
        let h = &mut self.histories[c as usize];
        if h.is_empty() {
            self.active_customers += 1;
        }
        let at = match h.last() {
            Some(last) if last.key() > entry.key() => h.partition_point(|x| x.key() < entry.key()),
            _ => h.len(),
        };
        h.insert(at, entry);
        let detail = if e.price.is_some() || e.quantity.is_some() || e.params.is_some() {
            let params = match &e.params {
                Some(p) => {
                    self.params.push(p.as_str().into());
                    (self.params.len() - 1) as u32
                }
                None => u32::MAX,
            };
            Some(Detail { price: e.price.unwrap_or(f64::NAN), quantity: e.quantity.unwrap_or(f64::NAN), params })
        } else {
            None
        };
        let d = &mut self.details[c as usize];
        if !d.is_empty() || detail.is_some() {
            d.resize(h.len() - 1, Detail::NONE);
            d.insert(at, detail.unwrap_or(Detail::NONE));
        }
        if let Some(id) = &e.client_id {
            self.client_ids.insert(id.as_str().into(), seq);
        }
        self.events += 1;
        self.applied += 1;
    }

    /// Claims `e` (whose fingerprint is `fingerprint`) for storing, unless it duplicates a stored or claimed event:
    /// an event with the same client id, or an identical event of the same customer. Returns the customer slot of
    /// a claimed event, `None` for a duplicate. A claim ends with [`ProjectView::apply_claimed`] (stored) or
    /// [`ProjectView::release`] (not stored).
    pub fn claim(&mut self, e: &Event, fingerprint: u64) -> Option<u32> {
        let c = self.customer_slot(&e.customer);
        let id_taken =
            e.client_id.as_deref().is_some_and(|id| self.client_ids.contains_key(id) || self.claimed_ids.contains(id));
        if id_taken
            || self.duplicate_in(c, e, fingerprint).is_some()
            || self.claimed_events.contains(&(c, e.ts, fingerprint))
        {
            return None;
        }
        if let Some(id) = &e.client_id {
            self.claimed_ids.insert(id.as_str().into());
        }
        self.claimed_events.insert((c, e.ts, fingerprint));
        let kind = self.kinds.intern(&e.event);
        *slot_of(&mut self.claimed_kinds, kind) += 1;
        Some(c)
    }

    /// Whether an event with `e`'s client id, or one identical to `e`, is stored (applied).
    pub fn is_stored(&self, e: &Event, fingerprint: u64) -> bool {
        e.client_id.as_deref().is_some_and(|id| self.client_ids.contains_key(id))
            || self.duplicate_of(e, fingerprint).is_some()
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
        self.apply_to(c, seq, e, fingerprint);
    }

    /// The seq of a stored event of customer slot `c` identical to `e` (same date, same item, same
    /// fingerprint).
    pub fn duplicate_in(&self, c: u32, e: &Event, fingerprint: u64) -> Option<u64> {
        let h = self.histories.get(c as usize)?;
        let from = h.partition_point(|x| x.ts < e.ts);
        let fp = short(fingerprint);
        let mut same = h[from..].iter().take_while(|x| x.ts == e.ts).filter(|x| x.fingerprint == fp).peekable();
        same.peek()?;
        // Only now, with a candidate, look the item up (an item never seen cannot be in a stored event).
        let item = match &e.item {
            None => NO_ITEM,
            Some(i) => self.items.get(i)?,
        };
        same.find(|x| x.item == item).map(|x| x.seq())
    }

    /// The seq of a stored event identical to `e` (of the same customer).
    pub fn duplicate_of(&self, e: &Event, fingerprint: u64) -> Option<u64> {
        self.duplicate_in(self.customers.get(&e.customer)?, e, fingerprint)
    }

    /// The seq of the stored event with this client event id.
    pub fn client_id(&self, id: &str) -> Option<u64> {
        self.client_ids.get(id).copied()
    }

    /// The seqs of a customer's events, oldest first.
    pub fn customer_seqs(&self, customer: &str) -> Vec<u64> {
        self.history(customer).iter().map(Entry::seq).collect()
    }

    /// A customer's history, oldest first (empty for an unknown customer).
    pub fn history(&self, customer: &str) -> &[Entry] {
        match self.customers.get(customer) {
            Some(c) => &self.histories[c as usize],
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
            Some(c) => h.partition_point(|x| (x.ts, x.seq()) < (c.ts, c.seq)),
            None => h.len(),
        };
        let start = end.saturating_sub(limit);
        let page: Vec<u64> = h[start..end].iter().rev().map(Entry::seq).collect();
        let next = (start > 0).then(|| HistoryCursor { ts: h[start].ts, seq: h[start].seq() });
        (page, next)
    }

    /// Removes all of a customer's events after they were deleted from the store (by this node or another).
    /// Returns how many events were removed. Costs a pass over the project's client ids (erasure is rare).
    pub fn erase(&mut self, customer: &str) -> usize {
        self.erase_upto(customer, u64::MAX)
    }

    /// Removes a customer's events with sequence numbers up to `upto` (another node's erasure, which deleted what
    /// it saw up to there: events sent after it stay). Returns how many events were removed.
    pub fn erase_upto(&mut self, customer: &str, upto: u64) -> usize {
        let Some(c) = self.customers.get(customer) else {
            return 0;
        };
        let history = std::mem::take(&mut self.histories[c as usize]);
        let details = std::mem::take(&mut self.details[c as usize]);
        let had_events = !history.is_empty();
        let (mut kept, mut kept_details, mut removed) = (Vec::new(), Vec::new(), Vec::new());
        for (k, e) in history.into_iter().enumerate() {
            if e.seq() <= upto {
                removed.push(e);
            } else {
                kept.push(e);
                if let Some(d) = details.get(k) {
                    kept_details.push(*d);
                }
            }
        }
        for e in &removed {
            if let Some(n) = self.kind_counts.get_mut(e.kind() as usize) {
                *n = n.saturating_sub(1);
            }
            if e.item != NO_ITEM {
                let n = &mut self.item_counts[e.item as usize];
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
        // Their parameters stay in the arena (erasure is rare); nothing points to them any more.
        if kept_details.len() != kept.len() {
            kept_details.clear();
        }
        self.histories[c as usize] = kept;
        self.details[c as usize] = kept_details;
        self.events -= removed.len() as u64;
        removed.len()
    }

    /// Events of interaction type `kind`.
    pub fn events_of_type(&self, kind: &str) -> u64 {
        self.kinds.get(kind).and_then(|k| self.kind_counts.get(k as usize)).copied().unwrap_or(0)
    }

    /// Events of interaction type `kind` claimed and on their way to the store.
    pub fn pending_of_type(&self, kind: &str) -> u64 {
        self.kinds.get(kind).and_then(|k| self.claimed_kinds.get(k as usize)).copied().unwrap_or(0)
    }

    /// The dense id of item `id`, assigning one if it is new.
    /// The dense id of item `id`, assigning one (with no events) if the item is new: lets a model trained by
    /// another node name items this view has not seen events of yet.
    pub fn item_slot(&mut self, id: &str) -> u32 {
        let i = self.items.intern(id);
        if i as usize == self.item_counts.len() {
            self.item_counts.push(0);
            self.catalog.push(None);
        }
        i
    }

    /// Adds or replaces a catalog item.
    pub fn put_item(&mut self, item: Item) {
        let i = self.item_slot(&item.id) as usize;
        if self.catalog[i].is_none() {
            self.catalog_len += 1;
        }
        self.catalog[i] = Some(Box::new(item));
    }

    /// Removes a catalog item (its events stay).
    pub fn remove_item(&mut self, id: &str) {
        if let Some(i) = self.items.get(id)
            && self.catalog[i as usize].take().is_some()
        {
            self.catalog_len -= 1;
        }
    }

    /// The catalog entry of dense item id `i`.
    pub fn catalog_item(&self, i: u32) -> Option<&Item> {
        self.catalog.get(i as usize)?.as_deref()
    }

    /// Items in the catalog.
    pub fn catalog_len(&self) -> usize {
        self.catalog_len
    }

    /// Whether item `i` may be recommended: it is in the catalog and available, or the project has no catalog at
    /// all (then every item its events name may be).
    pub fn recommendable(&self, i: u32) -> bool {
        match self.catalog.get(i as usize) {
            Some(Some(item)) => item.available,
            _ => self.catalog_len == 0 && self.item_counts.get(i as usize).is_some_and(|&n| n > 0),
        }
    }

    /// Events naming dense item `i`.
    pub fn item_events(&self, i: u32) -> u32 {
        self.item_counts.get(i as usize).copied().unwrap_or(0)
    }

    /// Number of dense item ids (items named by events or in the catalog).
    pub fn items_len(&self) -> usize {
        self.items.len()
    }

    /// The id of dense item `i`.
    pub fn item_name(&self, i: u32) -> &str {
        self.items.name(i)
    }

    /// The dense id of item `id`, if events or the catalog named it.
    pub fn item_id(&self, id: &str) -> Option<u32> {
        self.items.get(id)
    }

    /// Number of interned interaction types.
    pub fn kinds_len(&self) -> usize {
        self.kinds.len()
    }

    /// The interaction type id of an [`Entry::kind`].
    pub fn kind_name(&self, k: u32) -> &str {
        self.kinds.name(k)
    }

    /// Number of dense customer ids.
    pub fn customers_len(&self) -> usize {
        self.histories.len()
    }

    /// The history of dense customer `c`, oldest first.
    pub fn history_of(&self, c: u32) -> &[Entry] {
        self.histories.get(c as usize).map_or(&[], Vec::as_slice)
    }

    /// The details of customer `c`'s events (empty, or aligned with [`ProjectView::history_of`]).
    pub fn details_of(&self, c: u32) -> &[Detail] {
        self.details.get(c as usize).map_or(&[], Vec::as_slice)
    }

    /// The canonical parameters JSON of an event's [`Detail`], if it has parameters.
    pub fn params_of(&self, d: &Detail) -> Option<&str> {
        self.params.get(d.params as usize).map(|p| &**p)
    }

    /// The dense id of `customer`, if the project knows them.
    pub fn customer_id(&self, customer: &str) -> Option<u32> {
        self.customers.get(customer)
    }

    /// The id of dense customer `c`.
    pub fn customer_name(&self, c: u32) -> &str {
        self.customers.name(c)
    }

    /// Events stored.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Events ever applied to this view, erased ones included: grows only.
    pub fn applied(&self) -> u64 {
        self.applied
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
    use super::*;

    fn ev(customer: &str, item: &str, ts: i64, client: Option<&str>) -> Event {
        Event {
            event: "view".into(),
            customer: customer.into(),
            item: Some(item.into()),
            ts,
            quantity: None,
            price: None,
            params: None,
            client_id: client.map(Into::into),
        }
    }

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
    fn duplicates_and_client_ids() {
        let mut v = ProjectView::default();
        let e = ev("u", "i", 10, Some("c1"));
        v.apply(7, &e);
        assert_eq!(v.duplicate_of(&e, e.fingerprint()), Some(7));
        assert_eq!(v.duplicate_of(&ev("u", "i", 11, None), e.fingerprint()), None, "another time");
        assert_eq!(v.duplicate_of(&ev("other", "i", 10, None), e.fingerprint()), None, "another customer");
        let j = ev("u", "j", 10, None);
        assert_eq!(v.duplicate_of(&j, j.fingerprint()), None, "another item");
        assert_eq!(v.duplicate_of(&j, e.fingerprint()), None, "another item, even if fingerprints collided");
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
        assert!(!v.is_stored(&a, fa));
        assert_eq!((v.pending_of_type("view"), v.events_of_type("view")), (2, 0), "a and c are in flight");
        v.apply_claimed(ca, 1, &a, fa);
        assert_eq!((v.pending_of_type("view"), v.events_of_type("view")), (1, 1));
        assert_eq!(v.claim(&a, fa), None, "stored now");
        assert!(v.is_stored(&a, fa));
        assert_eq!(v.duplicate_of(&a, fa), Some(1));
    }

    #[test]
    fn erasure_updates_every_counter() {
        let mut v = ProjectView::default();
        v.apply(1, &ev("u", "i", 1, Some("c1")));
        v.apply(2, &ev("u", "j", 2, None));
        v.apply(3, &ev("w", "i", 3, None));
        assert_eq!(v.stats(), Stats { events_by_type: vec![("view".into(), 3)], events: 3, customers: 2, items: 2 });
        assert_eq!(v.erase("u"), 2);
        assert_eq!(v.stats(), Stats { events_by_type: vec![("view".into(), 1)], events: 1, customers: 1, items: 1 });
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
    fn entries_carry_their_type_and_the_catalog_decides_what_is_recommendable() {
        let mut v = ProjectView::default();
        let mut cart = ev("u", "i", 5, None);
        cart.event = "cart".into();
        v.apply(1, &ev("u", "i", 1, None));
        v.apply((1 << 47) + 3, &cart);
        let h = v.history("u");
        assert_eq!(
            h.iter().map(|e| (e.seq(), v.kind_name(e.kind()))).collect::<Vec<_>>(),
            [(1, "view"), ((1 << 47) + 3, "cart")]
        );
        let i = v.item_id("i").unwrap();
        assert!(v.recommendable(i), "without a catalog, every item events name");
        let item = |id: &str, available| Item {
            id: id.into(),
            title: None,
            categories: vec![],
            price: None,
            available,
            properties: Default::default(),
        };
        v.put_item(item("j", true));
        let j = v.item_id("j").unwrap();
        assert!(v.recommendable(j) && !v.recommendable(i), "with a catalog, only its available items");
        v.put_item(item("i", false));
        assert!(!v.recommendable(i));
        v.put_item(item("i", true));
        assert!(v.recommendable(i) && v.catalog_len() == 2);
        v.remove_item("j");
        assert!(!v.recommendable(j) && v.catalog_len() == 1);
        assert_eq!(v.stats().items, 1, "catalog items without events are not counted as active");
    }

    #[test]
    fn details_stay_aligned_with_histories() {
        let mut v = ProjectView::default();
        v.apply(1, &ev("u", "i", 20, None));
        assert!(v.details_of(0).is_empty(), "no details until an event has some");
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
        assert_eq!(d.len(), 3);
        assert_eq!((d[0].value(), d[1].value(), d[2].value()), (Some(5.0), None, None));
        assert_eq!((v.params_of(&d[1]), v.params_of(&d[2])), (None, Some(r#"{"amount":5000}"#)));
        v.erase("u");
        assert!(v.details_of(c).is_empty());
    }
}
