//! One project's view: the struct and its interning, with its jobs in submodules, each a further `impl
//! ProjectView` block beside its tests:
//! - [`history`]: customers' time-sorted histories, their pages, and erasure;
//! - [`claims`]: duplicate checks and claims of events on their way to the store;
//! - [`catalog`]: catalog items and which items may be recommended;
//! - [`stats`]: counters (per type, in flight, sizes);
//! - [`identity`]: anonymous ids that stand for customers (aliases), and the merging of their histories;
//! - [`entry`] and [`details`]: an event as a history keeps it (16 bytes), and its quantity, price, parameters and
//!   order beside it, only where present;
//! - [`blocks`]: where both are kept, one run per customer in blocks of a few sizes.

use std::collections::{HashMap, HashSet};

use affinity_core::{Event, Item};
use foldhash::fast::RandomState;

use crate::Interner;
use blocks::Blocks;

mod blocks;
mod catalog;
mod claims;
mod details;
mod entry;
mod history;
mod identity;
mod stats;

pub use details::{Detail, Details};
pub use entry::Entry;
use entry::NO_ITEM;
pub use identity::AliasRefusal;
pub use stats::{Activity, Sizes, Stats};

/// The ids a claim and its duplicate check use: the full 64-bit [`Event::fingerprint`] of an event in flight.
type Claim = (u32, i64, u64);

/// The counter of `kind` in `counts`, growing it as needed (kinds are interned by claims and by applies).
fn slot_of(counts: &mut Vec<u64>, kind: u32) -> &mut u64 {
    let i = kind as usize;
    if i >= counts.len() {
        counts.resize(i + 1, 0);
    }
    &mut counts[i]
}

/// A position in a customer's history, newest first: the page after it holds the events strictly older than
/// `(ts, seq)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryCursor {
    pub ts: i64,
    pub seq: u64,
}

/// `ts.seq`, as the API hands it out.
impl std::fmt::Display for HistoryCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.ts, self.seq)
    }
}

impl std::str::FromStr for HistoryCursor {
    type Err = ();
    /// Reads `ts.seq`; anything else is `Err(())`.
    fn from_str(s: &str) -> Result<Self, ()> {
        let (ts, seq) = s.split_once('.').ok_or(())?;
        Ok(HistoryCursor { ts: ts.parse().map_err(|_| ())?, seq: seq.parse().map_err(|_| ())? })
    }
}

/// The in-memory index of one project's events.
#[derive(Default, Debug)]
pub struct ProjectView {
    customers: Interner,
    items: Interner,
    kinds: Interner,
    /// Per customer, sorted by (ts, seq).
    histories: Blocks<Entry>,
    /// Per customer, the details of the events that have any, sorted by seq (see [`details`]).
    details: Blocks<details::Stored>,
    /// The distinct (price, quantity) pairs of details (NaN for absent), and their ids by bit pattern.
    amounts: Vec<(f64, f64)>,
    amount_ids: HashMap<(u64, u64), u32, RandomState>,
    /// The distinct canonical parameter JSONs of events.
    params: Interner,
    /// Order ids of the events sent with one.
    orders: Interner,
    client_ids: HashMap<Box<str>, u64, RandomState>,
    /// Claims of events being committed: they count as stored in duplicate checks until applied or released.
    claimed_ids: HashSet<Box<str>, RandomState>,
    claimed_events: HashSet<Claim, RandomState>,
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
    /// Anonymous ids' slots → the slot of the customer they stand for (see [`identity`]).
    aliases: HashMap<u32, u32, RandomState>,
    /// Customers' slots → their anonymous ids' slots.
    devices: HashMap<u32, Vec<u32>, RandomState>,
}

impl ProjectView {
    /// Adds a committed event. Events of one customer may arrive in any time order.
    pub fn apply(&mut self, seq: u64, e: &Event) {
        let c = self.customer_slot(&e.customer);
        self.apply_to(c, seq, e);
    }

    /// The dense id of `customer`, assigning one (with an empty history) if the customer is new. Lets the ingest
    /// writer look a customer up once for both the duplicate check and [`ProjectView::apply_to`].
    /// An anonymous id with an alias is the slot of its customer.
    pub fn customer_slot(&mut self, customer: &str) -> u32 {
        let c = self.raw_slot(customer);
        self.resolve(c)
    }

    /// The slot interned for `customer` itself, alias or not.
    fn raw_slot(&mut self, customer: &str) -> u32 {
        let c = self.customers.intern(customer);
        if c as usize == self.histories.len() {
            self.histories.push_empty();
            self.details.push_empty();
        }
        c
    }

    /// Adds a committed event of customer slot `c` (from [`ProjectView::customer_slot`] or a claim).
    pub fn apply_to(&mut self, c: u32, seq: u64, e: &Event) {
        // The slot may have become an alias since it was looked up (an identify between claim and apply).
        let c = self.resolve(c);
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
        let detail = details::has_detail(e);
        let entry = Entry::new(seq, kind, e.ts, item, detail);
        let h = self.histories.get(c as usize);
        if h.is_empty() {
            self.active_customers += 1;
        }
        let at = match h.last() {
            Some(last) if last.key() > entry.key() => h.partition_point(|x| x.key() < entry.key()),
            _ => h.len(),
        };
        self.histories.insert(c as usize, at, entry);
        if detail {
            self.keep_detail(c, seq, e);
        }
        if let Some(id) = &e.client_id {
            self.client_ids.insert(id.as_str().into(), seq);
        }
        self.events += 1;
        self.applied += 1;
    }

    /// Lays every customer's history and details out in customer order ([`Blocks::compact`]), so that reading
    /// customers in turn (audience sizes, training) reads memory forwards: after a rebuild. Copies the histories
    /// once, under the caller's write lock.
    pub fn compact(&mut self) {
        self.histories.compact();
        self.details.compact();
    }

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

    /// The interned id of interaction type `kind`, if any event of it was seen.
    pub fn kind_id(&self, kind: &str) -> Option<u32> {
        self.kinds.get(kind)
    }

    /// Number of dense customer ids.
    pub fn customers_len(&self) -> usize {
        self.histories.len()
    }

    /// The dense id of `customer`, if the project knows them; for an anonymous id with an alias, its customer's.
    pub fn customer_id(&self, customer: &str) -> Option<u32> {
        self.customers.get(customer).map(|c| self.resolve(c))
    }

    /// The id of dense customer `c`.
    pub fn customer_name(&self, c: u32) -> &str {
        self.customers.name(c)
    }
}

/// A `view` event of `customer` on `item` at `ts`, for the submodules' tests.
#[cfg(test)]
fn ev(customer: &str, item: &str, ts: i64, client: Option<&str>) -> Event {
    Event { client_id: client.map(Into::into), ..Event::new("view", customer, item, ts) }
}
