//! Catalog items, by the same dense ids as events' items, and which items may be recommended.

use affinity_core::Item;

use super::ProjectView;

impl ProjectView {
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
}

#[cfg(test)]
mod tests {
    use super::super::ev;
    use super::*;

    #[test]
    fn entries_carry_their_type_and_the_catalog_decides_what_is_recommendable() {
        let mut v = ProjectView::default();
        let mut cart = ev("u", "i", 5, None);
        cart.event = "cart".into();
        v.apply(1, &ev("u", "i", 1, None));
        v.apply((1 << 36) + 3, &cart);
        let h = v.history("u");
        assert_eq!(
            h.iter().map(|e| (e.seq(), v.kind_name(e.kind()))).collect::<Vec<_>>(),
            [(1, "view"), ((1 << 36) + 3, "cart")]
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
}
