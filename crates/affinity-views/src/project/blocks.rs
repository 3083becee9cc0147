//! [`Blocks`]: one ordered run of values per customer (the entries of their history, the details of their
//! events), kept in blocks of a few sizes instead of one growing vector each.
//!
//! Why: a vector per customer moves to a bigger allocation as it grows and frees the one it leaves. When a million
//! customers grow side by side, as they do in an import or a rebuild from the log, the allocator's pages of every
//! size the histories passed through stay partly used long after: 14 bytes per stored event above what the
//! histories hold (issue 16, BENCHMARKS.md "Memory per stored event"). Here every block size (a class) is one
//! dense array of blocks. A block given up is filled at once by the class's last block, and the class's last chunk
//! is freed when it empties, so no hole outlives the move that made it. Each block is also found from 12 bytes per
//! customer instead of a 24-byte vector header.
//!
//! After a rebuild, [`Blocks::compact`] puts each class's blocks in customer order, so that reading customers in
//! turn (an audience's size) reads memory forwards (issue 16: in the order they grew, sizes were up to 64 % slower).

/// Values per chunk, about: a chunk holds a power of two of blocks (one block, when a block is bigger).
const CHUNK: usize = 4096;

/// Number of classes: enough for 2^32 − 1 values per customer.
const CLASSES: usize = 104;

/// Capacity of class k's blocks: 0, 1, 2, …, 8, 10, 12, 15, 18, 22, 27, …, each a quarter more than the last.
/// A block is on average about 90 % full.
const CAPACITY: [u64; CLASSES] = {
    let mut caps = [0u64; CLASSES];
    let mut k = 1;
    while k < CLASSES {
        let p = caps[k - 1];
        caps[k] = if p / 4 > 0 { p + p / 4 } else { p + 1 };
        k += 1;
    }
    caps
};

/// Where one customer's run is: its class, its block in the class and how many values it holds.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    block: u32,
    len: u32,
    class: u8,
}

/// The blocks of one capacity: `owners[b]` is the customer whose run block `b` holds; block `b` is at
/// `chunks[b >> shift]`, offset `(b & mask) × capacity`.
#[derive(Debug, Default)]
struct Class<T> {
    chunks: Vec<Vec<T>>,
    owners: Vec<u32>,
}

/// log2 of the blocks per chunk of each class (computed once: it is on the path of every read).
const SHIFT: [u32; CLASSES] = {
    let mut shifts = [0u32; CLASSES];
    let mut k = 0;
    while k < CLASSES {
        let cap = if CAPACITY[k] == 0 { 1 } else { CAPACITY[k] as usize };
        let per_chunk = if CHUNK / cap == 0 { 1 } else { CHUNK / cap };
        shifts[k] = usize::BITS - 1 - per_chunk.leading_zeros();
        k += 1;
    }
    shifts
};

/// log2 of the blocks per chunk of class `k`.
fn shift(k: usize) -> u32 {
    SHIFT[k]
}

/// The smallest class whose blocks hold `len` values.
fn class_for(len: usize) -> usize {
    CAPACITY.partition_point(|&c| (c as usize) < len)
}

/// One ordered run of `T` per customer slot (dense ids 0, 1, …), in size-classed blocks (see the module docs).
/// A run holds at most 4,294,967,295 values.
#[derive(Debug)]
pub(super) struct Blocks<T> {
    slots: Vec<Slot>,
    classes: Vec<Class<T>>,
}

impl<T> Default for Blocks<T> {
    fn default() -> Self {
        Blocks { slots: Vec::new(), classes: Vec::new() }
    }
}

impl<T: Copy + Default> Blocks<T> {
    /// Number of customer slots.
    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Bytes this holds on the heap: the chunks' capacity, the owners and the slots.
    pub(super) fn heap_bytes(&self) -> usize {
        let chunks: usize = self.classes.iter().flat_map(|c| &c.chunks).map(Vec::capacity).sum();
        let owners: usize = self.classes.iter().map(|c| c.owners.capacity() * 4 + c.chunks.capacity() * 24).sum();
        chunks * size_of::<T>() + owners + self.slots.capacity() * size_of::<Slot>()
    }

    /// Adds a slot with an empty run.
    pub(super) fn push_empty(&mut self) {
        self.slots.push(Slot::default());
    }

    /// The run of slot `c`; empty for a slot past the end.
    pub(super) fn get(&self, c: usize) -> &[T] {
        match self.slots.get(c) {
            Some(s) if s.len > 0 => &self.block(s.class as usize, s.block)[..s.len as usize],
            _ => &[],
        }
    }

    /// Every slot's run, in slot order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &[T]> {
        (0..self.slots.len()).map(|c| self.get(c))
    }

    /// Inserts `v` at position `at` (at most the run's length) of slot `c`'s run, moving the run to the next class
    /// when its block is full.
    pub(super) fn insert(&mut self, c: usize, at: usize, v: T) {
        let s = self.slots[c];
        let len = s.len as usize;
        debug_assert!(at <= len && len < u32::MAX as usize);
        let s = if len as u64 == CAPACITY[s.class as usize] { self.move_to(c, s.class as usize + 1) } else { s };
        let block = self.block_mut(s.class as usize, s.block);
        block.copy_within(at..len, at + 1);
        block[at] = v;
        self.slots[c].len += 1;
    }

    /// Removes and returns slot `c`'s run, leaving it empty.
    pub(super) fn take(&mut self, c: usize) -> Vec<T> {
        let run = self.get(c).to_vec();
        let s = self.slots[c];
        if s.class > 0 {
            self.free(s.class as usize, s.block);
        }
        self.slots[c] = Slot::default();
        run
    }

    /// Makes `values` slot `c`'s run, in place of what it held.
    pub(super) fn put(&mut self, c: usize, values: &[T]) {
        self.take(c);
        if values.is_empty() {
            return;
        }
        let k = class_for(values.len());
        let b = self.alloc(k, c);
        self.block_mut(k, b)[..values.len()].copy_from_slice(values);
        self.slots[c] = Slot { block: b, len: values.len() as u32, class: k as u8 };
    }

    /// Puts every class's blocks in slot order. A class's blocks are in the order they were taken (a rebuild or an
    /// import takes them as customers' runs grow, in no order of customer), so reading customers in turn, as an
    /// audience's size does, would jump across memory for each one; in slot order it reads each class forwards.
    /// Copies every run once.
    pub(super) fn compact(&mut self) {
        for (k, class) in self.classes.iter_mut().enumerate() {
            if class.owners.is_empty() {
                continue;
            }
            let cap = CAPACITY[k] as usize;
            let shift = shift(k);
            let mut order: Vec<(u32, u32)> = class.owners.iter().enumerate().map(|(b, &o)| (o, b as u32)).collect();
            order.sort_unstable();
            let mut chunks: Vec<Vec<T>> = Vec::with_capacity(class.chunks.len());
            for (b, &(owner, old)) in order.iter().enumerate() {
                if b & ((1 << shift) - 1) == 0 {
                    chunks.push(Vec::with_capacity(cap << shift));
                }
                let (from_chunk, from) = Self::position(k, old);
                let chunk = chunks.last_mut().expect("a chunk was pushed");
                chunk.extend_from_slice(&class.chunks[from_chunk][from..from + cap]);
                self.slots[owner as usize].block = b as u32;
            }
            class.chunks = chunks;
            class.owners = order.into_iter().map(|(o, _)| o).collect();
        }
    }

    /// Moves slot `c`'s run into a new block of class `k` (bigger than its own) and frees its old block; returns
    /// the new slot.
    fn move_to(&mut self, c: usize, k: usize) -> Slot {
        let old = self.slots[c];
        let b = self.alloc(k, c);
        let (from, len) = (old.class as usize, old.len as usize);
        if len > 0 {
            let (low, high) = self.classes.split_at_mut(k);
            let src = Self::locate(&low[from], from, old.block);
            let (dst_chunk, dst) = Self::position(k, b);
            let src = &src[..len];
            high[0].chunks[dst_chunk][dst..dst + len].copy_from_slice(src);
        }
        if from > 0 {
            self.free(from, old.block);
        }
        let s = Slot { block: b, len: old.len, class: k as u8 };
        self.slots[c] = s;
        s
    }

    /// Appends a block to class `k` for slot `owner`; returns its index.
    fn alloc(&mut self, k: usize, owner: usize) -> u32 {
        if self.classes.len() <= k {
            self.classes.resize_with(k + 1, Class::default);
        }
        let cap = CAPACITY[k] as usize;
        let shift = shift(k);
        let class = &mut self.classes[k];
        let b = class.owners.len();
        if b & ((1 << shift) - 1) == 0 {
            class.chunks.push(Vec::with_capacity(cap << shift));
        }
        let chunk = class.chunks.last_mut().expect("a chunk was pushed");
        chunk.resize(chunk.len() + cap, T::default());
        class.owners.push(owner as u32);
        b as u32
    }

    /// Frees block `b` of class `k`: the class's last block moves into it (its slot follows), and the last chunk
    /// goes when it empties.
    fn free(&mut self, k: usize, b: u32) {
        let cap = CAPACITY[k] as usize;
        let class = &mut self.classes[k];
        let last = class.owners.len() - 1;
        if b as usize != last {
            let (to_chunk, to) = Self::position(k, b);
            let (from_chunk, from) = Self::position(k, last as u32);
            if to_chunk == from_chunk {
                class.chunks[to_chunk].copy_within(from..from + cap, to);
            } else {
                let (low, high) = class.chunks.split_at_mut(from_chunk);
                low[to_chunk][to..to + cap].copy_from_slice(&high[0][from..from + cap]);
            }
            let owner = class.owners[last];
            class.owners[b as usize] = owner;
            self.slots[owner as usize].block = b;
        }
        class.owners.pop();
        let chunk = class.chunks.last_mut().expect("the class has the block's chunk");
        chunk.truncate(chunk.len() - cap);
        if chunk.is_empty() {
            class.chunks.pop();
        }
        if class.owners.capacity() > 64 && class.owners.len() < class.owners.capacity() / 4 {
            class.owners.shrink_to(class.owners.len() * 2);
        }
    }

    /// The chunk and offset of block `b` of class `k`.
    fn position(k: usize, b: u32) -> (usize, usize) {
        let shift = shift(k);
        ((b >> shift) as usize, (b as usize & ((1 << shift) - 1)) * CAPACITY[k] as usize)
    }

    fn locate(class: &Class<T>, k: usize, b: u32) -> &[T] {
        let (chunk, at) = Self::position(k, b);
        &class.chunks[chunk][at..at + CAPACITY[k] as usize]
    }

    fn block(&self, k: usize, b: u32) -> &[T] {
        Self::locate(&self.classes[k], k, b)
    }

    fn block_mut(&mut self, k: usize, b: u32) -> &mut [T] {
        let (chunk, at) = Self::position(k, b);
        &mut self.classes[k].chunks[chunk][at..at + CAPACITY[k] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that every class is dense: each block's owner points back at it, and the chunks hold exactly the
    /// class's blocks.
    fn assert_dense(b: &Blocks<u64>) {
        for (k, class) in b.classes.iter().enumerate() {
            for (i, &owner) in class.owners.iter().enumerate() {
                let s = b.slots[owner as usize];
                assert_eq!((s.class as usize, s.block as usize), (k, i), "class {k} block {i}");
            }
            let held: usize = class.chunks.iter().map(Vec::len).sum();
            assert_eq!(held, class.owners.len() * CAPACITY[k] as usize, "class {k} holds only its blocks");
        }
        let in_use = b.slots.iter().filter(|s| s.class > 0).count();
        assert_eq!(in_use, b.classes.iter().map(|c| c.owners.len()).sum::<usize>());
    }

    #[test]
    fn capacities_grow_by_a_quarter_and_reach_u32() {
        assert_eq!(&CAPACITY[..12], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15]);
        assert!(CAPACITY[CLASSES - 1] >= u64::from(u32::MAX));
        assert_eq!((class_for(0), class_for(1), class_for(9), class_for(10), class_for(11)), (0, 1, 9, 9, 10));
        assert_eq!(shift(1), 12);
        assert_eq!(shift(CLASSES - 1), 0);
    }

    #[test]
    fn runs_match_a_vector_per_slot_through_inserts_takes_and_puts() {
        let (mut b, mut model) = (Blocks::<u64>::default(), Vec::<Vec<u64>>::new());
        for _ in 0..300 {
            b.push_empty();
            model.push(Vec::new());
        }
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..60_000u64 {
            // Skewed: low slots get most values, so that runs of very different lengths share classes.
            let c = (next() % 300).min(next() % 300) as usize;
            match next() % 100 {
                0 => assert_eq!(b.take(c), std::mem::take(&mut model[c])),
                1 => {
                    let values: Vec<u64> = (0..next() % 40).collect();
                    b.put(c, &values);
                    model[c] = values;
                }
                _ => {
                    let at = (next() as usize) % (model[c].len() + 1);
                    b.insert(c, at, step);
                    model[c].insert(at, step);
                }
            }
            if step % 5_000 == 0 {
                assert_dense(&b);
            }
        }
        assert_dense(&b);
        for (c, run) in model.iter().enumerate() {
            assert_eq!(b.get(c), run.as_slice(), "slot {c}");
        }
        assert_eq!(b.iter().map(<[u64]>::len).sum::<usize>(), model.iter().map(Vec::len).sum::<usize>());
        assert!(b.get(300).is_empty());
        // Compacting puts each class in slot order and changes no run; the runs still grow after it.
        b.compact();
        assert_dense(&b);
        for class in &b.classes {
            assert!(class.owners.is_sorted(), "blocks in slot order");
        }
        for (c, run) in model.iter_mut().enumerate() {
            assert_eq!(b.get(c), run.as_slice(), "slot {c} after compacting");
            b.insert(c, 0, 7);
            run.insert(0, 7);
        }
        assert_dense(&b);
        assert!(model.iter().enumerate().all(|(c, run)| b.get(c) == run.as_slice()));
    }

    #[test]
    fn emptied_classes_give_their_chunks_back() {
        let mut b = Blocks::<u64>::default();
        for c in 0..1_000 {
            b.push_empty();
            for v in 0..20 {
                b.insert(c, v, v as u64);
            }
        }
        // Every slot passed through classes 1 to 13 (capacity 22 holds 20); only class 13 holds blocks now.
        for (k, class) in b.classes.iter().enumerate() {
            let blocks = if k == class_for(20) { 1_000 } else { 0 };
            assert_eq!(class.owners.len(), blocks, "class {k}");
            assert_eq!(class.chunks.is_empty(), blocks == 0, "class {k}");
        }
        for c in 0..1_000 {
            b.take(c);
        }
        assert!(b.classes.iter().all(|c| c.chunks.is_empty() && c.owners.is_empty()));
    }
}
