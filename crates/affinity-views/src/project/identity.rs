//! Identity (issue 15): an anonymous id (a browser's, before its visitor logs in) becomes an alias of a customer.
//! The anonymous id's slot then resolves to the customer's everywhere a customer is looked up by name, its past
//! events are merged into the customer's history, and its future ones are applied there. The log keeps each event
//! as it was sent; the views apply the aliases, which the store holds and every node loads before the events
//! (merging is order-independent, so an alias followed after its events gives the same view).

use super::ProjectView;

/// Why an alias cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AliasRefusal {
    /// The anonymous id already stands for another customer.
    #[error("anonymous id {anonymous_id} already belongs to customer {customer}")]
    Taken { anonymous_id: String, customer: String },
    /// The customer is itself an anonymous id of someone else: aliases do not chain.
    #[error("{0}")]
    CustomerIsAlias(String),
    /// The anonymous id is a customer with anonymous ids of their own: aliases do not chain.
    #[error("{0}")]
    HasAliases(String),
    /// The anonymous id and the customer are the same id.
    #[error("anonymous_id and customer are the same id")]
    Same,
}

impl ProjectView {
    /// The slot that customer slot `c` stands for: the customer's for an anonymous id with an alias, else `c`.
    pub(super) fn resolve(&self, c: u32) -> u32 {
        self.aliases.get(&c).copied().unwrap_or(c)
    }

    /// The customer an anonymous id (or any customer id) stands for, when it has an alias.
    pub fn alias_of(&self, anonymous_id: &str) -> Option<&str> {
        let a = self.customers.get(anonymous_id)?;
        self.aliases.get(&a).map(|&c| self.customers.name(c))
    }

    /// How many anonymous ids have an alias.
    pub fn aliases_len(&self) -> usize {
        self.aliases.len()
    }

    /// Whether `alias` may be made: `Ok(false)` when it exists already, `Ok(true)` when it is new.
    pub fn check_alias(&self, anonymous_id: &str, customer: &str) -> Result<bool, AliasRefusal> {
        if anonymous_id == customer {
            return Err(AliasRefusal::Same);
        }
        let (a, c) = (self.customers.get(anonymous_id), self.customers.get(customer));
        if let Some(a) = a
            && let Some(&held) = self.aliases.get(&a)
        {
            if Some(held) == c {
                return Ok(false);
            }
            let customer = self.customers.name(held).to_string();
            return Err(AliasRefusal::Taken { anonymous_id: anonymous_id.into(), customer });
        }
        if let Some(c) = c
            && let Some(&other) = self.aliases.get(&c)
        {
            return Err(AliasRefusal::CustomerIsAlias(format!(
                "customer {customer} is an anonymous id of customer {}; identify with that customer",
                self.customers.name(other)
            )));
        }
        if a.is_some_and(|a| self.devices.contains_key(&a)) {
            return Err(AliasRefusal::HasAliases(format!(
                "{anonymous_id} is a customer with anonymous ids of their own, not an anonymous id"
            )));
        }
        Ok(true)
    }

    /// Makes `anonymous_id` stand for `customer` (an alias the store holds): the anonymous id's history and
    /// details are merged into the customer's, and its later events go there. Idempotent. Errors: the refusals
    /// of [`ProjectView::check_alias`]; nothing changes then.
    pub fn alias(&mut self, anonymous_id: &str, customer: &str) -> Result<(), AliasRefusal> {
        if !self.check_alias(anonymous_id, customer)? {
            return Ok(());
        }
        let a = self.raw_slot(anonymous_id);
        let c = self.raw_slot(customer);
        self.merge(a, c);
        self.aliases.insert(a, c);
        self.devices.entry(c).or_default().push(a);
        Ok(())
    }

    /// Forgets the aliases of customer slot `c` (erased): their anonymous ids become customers of their own again.
    pub(super) fn forget_aliases(&mut self, c: u32) {
        for a in self.devices.remove(&c).unwrap_or_default() {
            self.aliases.remove(&a);
        }
    }

    /// Moves the history (and details) of slot `from` into slot `to`, keeping (time, seq) order.
    fn merge(&mut self, from: u32, to: u32) {
        let moved = self.histories.take(from as usize);
        if moved.is_empty() {
            return;
        }
        let moved_details = self.details.take(from as usize);
        let mut history = self.histories.take(to as usize);
        if !history.is_empty() {
            self.active_customers -= 1;
        }
        history.extend(moved);
        history.sort_by_key(|e| e.key());
        self.histories.put(to as usize, &history);
        let mut details = self.details.take(to as usize);
        details.extend(moved_details);
        details.sort_by_key(|d| d.seq());
        self.details.put(to as usize, &details);
    }
}

#[cfg(test)]
mod tests {
    use super::super::ev;
    use super::*;

    #[test]
    fn an_alias_merges_past_events_and_takes_later_ones() {
        let mut v = ProjectView::default();
        v.apply(1, &ev("a-1", "i", 10, None));
        v.apply(2, &ev("u-42", "j", 20, None));
        let mut bought = ev("a-1", "k", 30, None);
        bought.event = "purchase".into();
        bought.price = Some(4.0);
        v.apply(3, &bought);
        assert_eq!(v.stats().customers, 2);
        v.alias("a-1", "u-42").unwrap();
        assert_eq!(v.customer_seqs("u-42"), [1, 2, 3]);
        assert_eq!(v.customer_seqs("a-1"), [1, 2, 3], "the anonymous id reads as its customer");
        assert_eq!(v.stats().customers, 1);
        let c = v.customer_id("u-42").unwrap();
        let details = v.details_of(c);
        assert_eq!((0..3).map(|k| details.get(k).and_then(|d| d.value())).collect::<Vec<_>>(), [None, None, Some(4.0)]);
        v.apply(4, &ev("a-1", "m", 5, None));
        assert_eq!(v.customer_seqs("u-42"), [4, 1, 2, 3]);
        assert_eq!(v.customer_name(v.customer_id("a-1").unwrap()), "u-42");
        assert!(v.is_stored(&ev("a-1", "m", 5, None)));
        assert_eq!(v.alias("a-1", "u-42"), Ok(()), "idempotent");
        assert_eq!(v.alias_of("a-1"), Some("u-42"));
    }

    #[test]
    fn one_customer_per_anonymous_id_and_no_chains() {
        let mut v = ProjectView::default();
        v.alias("a-1", "u-1").unwrap();
        v.alias("a-2", "u-1").unwrap();
        assert!(matches!(v.alias("a-1", "u-2"), Err(AliasRefusal::Taken { customer, .. }) if customer == "u-1"));
        assert!(matches!(v.alias("a-3", "a-1"), Err(AliasRefusal::CustomerIsAlias(_))));
        assert!(matches!(v.alias("u-1", "u-9"), Err(AliasRefusal::HasAliases(_))));
        assert_eq!(v.alias("u-5", "u-5"), Err(AliasRefusal::Same));
        assert_eq!(v.aliases_len(), 2);
    }

    #[test]
    fn erasing_the_customer_erases_the_anonymous_history_and_the_aliases() {
        let mut v = ProjectView::default();
        v.apply(1, &ev("a-1", "i", 10, None));
        v.alias("a-1", "u-1").unwrap();
        v.apply(2, &ev("u-1", "i", 20, None));
        assert_eq!(v.erase("u-1"), 2);
        assert_eq!(v.aliases_len(), 0);
        assert!(v.customer_seqs("a-1").is_empty());
        v.apply(3, &ev("a-1", "i", 30, None));
        assert_eq!(v.customer_seqs("a-1"), [3]);
        assert!(v.customer_seqs("u-1").is_empty(), "a forgotten alias no longer leads to the customer");
    }
}
