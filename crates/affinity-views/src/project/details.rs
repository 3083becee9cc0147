//! What audience rules and basket models read of an event besides its [`Entry`]: quantity, price, custom
//! parameters and the order. Kept only for the events that have any, beside their customer's history, 20 bytes
//! each: the event's sequence number and three ids into the project's pools (distinct (price, quantity) pairs,
//! distinct parameter JSONs, order ids), each value kept once.

use affinity_core::Event;

use super::{Entry, ProjectView};

/// An event's quantity, price, parameters and order, as read back ([`Details::get`]). Quantity and price are the
/// f64 they were stored as, so that `quantity eq 1.1` compares what the merchant sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detail {
    /// NaN when the event has none.
    pub price: f64,
    /// NaN when the event has none.
    pub quantity: f64,
    /// Id of the event's canonical parameters JSON in the view's pool; `u32::MAX` for none.
    pub(super) params: u32,
    /// The interned order id (`u32::MAX` for none): the lines of one order share it.
    pub(super) order: u32,
}

impl Detail {
    /// The event's interned order id, if it was sent with one (ids are dense per project, in order of first sight).
    pub fn order(&self) -> Option<u32> {
        (self.order != u32::MAX).then_some(self.order)
    }

    /// Price × quantity (quantity 1 when absent); `None` without a price.
    pub fn value(&self) -> Option<f64> {
        if self.price.is_nan() {
            return None;
        }
        Some(self.price * if self.quantity.is_nan() { 1.0 } else { self.quantity })
    }
}

/// A detail as kept: 20 bytes, sorted by sequence number within its customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Stored {
    seq: [u32; 2],
    /// Id of the (price, quantity) pair in the view's pool.
    amounts: u32,
    params: u32,
    order: u32,
}

impl Stored {
    pub(super) fn seq(&self) -> u64 {
        (u64::from(self.seq[1]) << 32) | u64::from(self.seq[0])
    }
}

/// The details of one customer's events, read by position in their history ([`ProjectView::details_of`]).
#[derive(Clone, Copy)]
pub struct Details<'a> {
    history: &'a [Entry],
    stored: &'a [Stored],
    view: Option<&'a ProjectView>,
}

impl<'a> Details<'a> {
    /// No details (for a customer the view does not know).
    pub const EMPTY: Details<'static> = Details { history: &[], stored: &[], view: None };

    /// The detail of the event at position `k` of the history, if it has one: a bit test for most events, a
    /// binary search by sequence number for the others.
    pub fn get(&self, k: usize) -> Option<Detail> {
        let e = self.history.get(k)?;
        if !e.has_detail() {
            return None;
        }
        let i = self.stored.binary_search_by_key(&e.seq(), Stored::seq).ok()?;
        self.view.map(|v| v.decode(&self.stored[i]))
    }

    /// Whether no event of the customer has a detail.
    pub fn is_empty(&self) -> bool {
        self.stored.is_empty()
    }
}

/// Whether an event has anything [`Detail`] keeps.
pub(super) fn has_detail(e: &Event) -> bool {
    e.price.is_some() || e.quantity.is_some() || e.params.is_some() || e.order_id.is_some()
}

impl ProjectView {
    /// The details of customer `c`'s events, read by position in [`ProjectView::history_of`].
    pub fn details_of(&self, c: u32) -> Details<'_> {
        Details { history: self.history_of(c), stored: self.details.get(c as usize), view: Some(self) }
    }

    /// The canonical parameters JSON of an event's [`Detail`], if it has parameters.
    pub fn params_of(&self, d: &Detail) -> Option<&str> {
        (d.params != u32::MAX).then(|| self.params.name(d.params))
    }

    fn decode(&self, s: &Stored) -> Detail {
        let (price, quantity) = self.amounts[s.amounts as usize];
        Detail { price, quantity, params: s.params, order: s.order }
    }

    /// Keeps `e`'s detail (it has one: [`has_detail`]) for customer slot `c`'s event `seq`.
    pub(super) fn keep_detail(&mut self, c: u32, seq: u64, e: &Event) {
        let (price, quantity) = (e.price.unwrap_or(f64::NAN), e.quantity.unwrap_or(f64::NAN));
        let next = self.amounts.len() as u32;
        let amounts = *self.amount_ids.entry((price.to_bits(), quantity.to_bits())).or_insert(next);
        if amounts == next {
            self.amounts.push((price, quantity));
        }
        let params = e.params.as_deref().map_or(u32::MAX, |p| self.params.intern(p));
        let order = e.order_id.as_deref().map_or(u32::MAX, |o| self.orders.intern(o));
        let stored = Stored { seq: [seq as u32, (seq >> 32) as u32], amounts, params, order };
        let d = self.details.get(c as usize);
        let at = match d.last() {
            Some(last) if last.seq() > seq => d.partition_point(|x| x.seq() < seq),
            _ => d.len(),
        };
        self.details.insert(c as usize, at, stored);
    }

    /// Whether the stored detail of customer slot `c`'s entry `x` is what `e` would keep.
    pub(super) fn same_detail(&self, c: u32, x: &Entry, e: &Event) -> bool {
        if !x.has_detail() {
            return !has_detail(e);
        }
        let stored = self.details.get(c as usize);
        let Ok(i) = stored.binary_search_by_key(&x.seq(), Stored::seq) else { return false };
        let d = self.decode(&stored[i]);
        let bits = |v: Option<f64>| v.unwrap_or(f64::NAN).to_bits();
        d.price.to_bits() == bits(e.price)
            && d.quantity.to_bits() == bits(e.quantity)
            && self.params_of(&d) == e.params.as_deref()
            && d.order().map(|o| self.orders.name(o)) == e.order_id.as_deref()
    }
}
