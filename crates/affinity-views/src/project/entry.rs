//! [`Entry`]: one event in a customer's history, packed into 16 bytes.

/// Bits of the interned interaction type: at most 16,384 types per project.
const KIND_BITS: u32 = 14;
/// Bits of the dense item id: at most 67,108,863 distinct items per project (the all-ones value means "no item").
const ITEM_BITS: u32 = 26;
/// Bits of the sequence number: at most 137,438,953,471 events in a store.
const SEQ_BITS: u32 = 37;

/// The item id of an event without an item.
pub(super) const NO_ITEM: u32 = (1 << ITEM_BITS) - 1;

/// One event in a customer's history: 16 bytes (what it costs per stored event matters at hundreds of millions;
/// issue 16). The full event is read from the store by [`Entry::seq`] when needed; its quantity, price,
/// parameters and order, when it has any, are kept beside the history ([`super::Details`]).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Entry {
    /// When it happened (epoch ms UTC, upper 50 bits, signed: years −9999 to 9999 fit) and the interned
    /// interaction type (lower 14 bits).
    ts_kind: i64,
    /// The sequence number (upper 37 bits), the dense item id (next 26) and whether the event has a detail
    /// (lowest bit).
    seq_item: u64,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("seq", &self.seq())
            .field("ts", &self.ts())
            .field("kind", &self.kind())
            .field("item", &self.item())
            .field("detail", &self.has_detail())
            .finish()
    }
}

impl Entry {
    /// Packs an entry. The store's sequence numbers, the views' dense ids and validated dates are within the
    /// bounds above; an item id past them is kept as "no item" (the event itself stays whole in the store).
    pub(super) fn new(seq: u64, kind: u32, ts: i64, item: u32, detail: bool) -> Entry {
        debug_assert!(seq < 1 << SEQ_BITS && kind < 1 << KIND_BITS && ts.unsigned_abs() < 1 << 49);
        let item = if item >= NO_ITEM { NO_ITEM } else { item };
        Entry {
            ts_kind: (ts << KIND_BITS) | i64::from(kind & ((1 << KIND_BITS) - 1)),
            seq_item: (seq << (ITEM_BITS + 1)) | (u64::from(item) << 1) | u64::from(detail),
        }
    }

    /// The event's sequence number in the log.
    pub fn seq(&self) -> u64 {
        self.seq_item >> (ITEM_BITS + 1)
    }

    /// When it happened, epoch ms UTC.
    pub fn ts(&self) -> i64 {
        self.ts_kind >> KIND_BITS
    }

    /// The interned interaction type (see [`super::ProjectView::kind_name`]).
    pub fn kind(&self) -> u32 {
        (self.ts_kind & ((1 << KIND_BITS) - 1)) as u32
    }

    /// The item's dense id, `None` for an event without an item.
    pub fn item(&self) -> Option<u32> {
        let i = self.item_raw();
        (i != NO_ITEM).then_some(i)
    }

    /// The item's dense id, [`NO_ITEM`] for none.
    pub(super) fn item_raw(&self) -> u32 {
        ((self.seq_item >> 1) & u64::from(NO_ITEM)) as u32
    }

    /// Whether the event has a quantity, a price, parameters or an order (kept in [`super::Details`]).
    pub fn has_detail(&self) -> bool {
        self.seq_item & 1 == 1
    }

    /// The history's order: by time, then sequence number.
    pub(super) fn key(&self) -> (i64, u64) {
        (self.ts(), self.seq())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_16_bytes_and_keeps_every_field() {
        assert_eq!(std::mem::size_of::<Entry>(), 16);
        let year_9999 = 253_402_300_799_999;
        for (seq, kind, ts, item, detail) in [
            (1, 0, 0, 0, false),
            ((1 << SEQ_BITS) - 1, (1 << KIND_BITS) - 1, year_9999, NO_ITEM - 1, true),
            (7, 3, -62_135_596_800_000 * 5, 12, true),
            (42, 1, -1, NO_ITEM, false),
        ] {
            let e = Entry::new(seq, kind, ts, item, detail);
            assert_eq!((e.seq(), e.kind(), e.ts(), e.item_raw(), e.has_detail()), (seq, kind, ts, item, detail));
        }
        assert_eq!(Entry::new(1, 0, 0, NO_ITEM, false).item(), None);
        assert_eq!(Entry::new(1, 0, 0, u32::MAX, false).item(), None, "past the bound: no item");
        assert!(Entry::new(5, 0, 10, 1, false).key() < Entry::new(4, 0, 11, 1, false).key());
    }
}
