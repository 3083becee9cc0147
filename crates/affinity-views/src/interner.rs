//! String ids to dense `u32` and back, compactly: every name is stored once, in one arena, and the hash table
//! holds only the 4-byte ids (about 20 bytes per name plus the name itself, against ~100 with a map of boxed
//! strings — it matters at millions of customers).

use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

/// Maps strings to dense ids `0..len` in first-seen order.
#[derive(Default)]
pub struct Interner {
    /// All names, concatenated.
    bytes: String,
    /// End offset of each name in `bytes`.
    ends: Vec<usize>,
    table: HashTable<u32>,
    hasher: FixedState,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner").field("len", &self.ends.len()).finish()
    }
}

fn name<'a>(bytes: &'a str, ends: &[usize], id: u32) -> &'a str {
    let i = id as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] };
    &bytes[start..ends[i]]
}

impl Interner {
    /// The id of `s`, assigning the next one if it is new.
    pub fn intern(&mut self, s: &str) -> u32 {
        let h = self.hasher.hash_one(s);
        let Interner { bytes, ends, table, hasher } = self;
        if let Some(&id) = table.find(h, |&id| name(bytes, ends, id) == s) {
            return id;
        }
        let id = ends.len() as u32;
        bytes.push_str(s);
        ends.push(bytes.len());
        table.insert_unique(h, id, |&id| hasher.hash_one(name(bytes, ends, id)));
        id
    }

    /// The id of `s`, if it was interned.
    pub fn get(&self, s: &str) -> Option<u32> {
        let h = self.hasher.hash_one(s);
        self.table.find(h, |&id| name(&self.bytes, &self.ends, id) == s).copied()
    }

    /// The string of `id`. Panics if `id` was not handed out by this interner.
    pub fn name(&self, id: u32) -> &str {
        name(&self.bytes, &self.ends, id)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Bytes this holds on the heap: the names, their offsets and the hash table (one id and one control byte
    /// per bucket).
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * size_of::<usize>() + self.table.capacity() * 5
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_many_names() {
        let mut i = Interner::default();
        for n in 0..10_000 {
            assert_eq!(i.intern(&format!("u-{n}")), n);
        }
        assert_eq!(i.intern("u-42"), 42);
        assert_eq!(i.get("u-9999"), Some(9999));
        assert_eq!(i.get("nope"), None);
        assert_eq!(i.name(123), "u-123");
        assert_eq!(i.intern(""), 10_000);
        assert_eq!(i.name(10_000), "");
        assert_eq!(i.len(), 10_001);
    }
}
