//! Hand-made data for the crate's tests: two disjoint taste clusters, so the right answers are known by hand.

use affinity_core::Event;
use affinity_views::ProjectView;

/// Customers of cluster A view items a0..a3, those of B items b0..b3, each customer all but one of their
/// cluster's items: 8 customers, 8 items, 24 views.
pub(crate) fn clusters() -> ProjectView {
    let mut v = ProjectView::default();
    let mut seq = 0;
    for cluster in ["a", "b"] {
        for c in 0..4 {
            for i in (0..4).filter(|&i| i != c) {
                seq += 1;
                v.apply(seq, &Event::new("view", &format!("{cluster}-c{c}"), &format!("{cluster}{i}"), seq as i64));
            }
        }
    }
    v
}
