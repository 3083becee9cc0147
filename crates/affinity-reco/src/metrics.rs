//! Ranking metrics for implicit feedback, with binary relevance (a held-out item is relevant).
//!
//! Recall@K is normalised by `min(K, |relevant|)` (Liang et al., "Variational Autoencoders for Collaborative
//! Filtering", WWW 2018, section 4.1), so that a perfect ranking scores 1 whatever the number of held-out items.
//! NDCG@K uses gains `1 / log2(rank + 1)` over the ideal ranking of `min(K, |relevant|)` hits.

/// Recall@K of `ranked` (best first) against `relevant` (sorted ascending); 0 when nothing is relevant.
pub fn recall_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    let denominator = k.min(relevant.len());
    if denominator == 0 {
        return 0.0;
    }
    let hits = ranked.iter().take(k).filter(|i| relevant.binary_search(i).is_ok()).count();
    hits as f64 / denominator as f64
}

/// NDCG@K of `ranked` (best first) against `relevant` (sorted ascending); 0 when nothing is relevant.
pub fn ndcg_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    let ideal: f64 = (0..k.min(relevant.len())).map(|r| 1.0 / ((r + 2) as f64).log2()).sum();
    if ideal == 0.0 {
        return 0.0;
    }
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, i)| relevant.binary_search(i).is_ok())
        .map(|(r, _)| 1.0 / ((r + 2) as f64).log2())
        .sum();
    dcg / ideal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn hand_computed_values() {
        // Relevant {2, 5, 9}; ranking 5, 1, 2, 7: hits at ranks 1 and 3.
        let ranked = [5, 1, 2, 7];
        let relevant = [2, 5, 9];
        assert!(close(recall_at_k(&ranked, &relevant, 2), 1.0 / 2.0), "1 hit in the top 2, min(2, 3) = 2");
        assert!(close(recall_at_k(&ranked, &relevant, 4), 2.0 / 3.0));
        // DCG@4 = 1/log2(2) + 1/log2(4) = 1.5; IDCG@4 = 1 + 1/log2(3) + 1/log2(4).
        let idcg = 1.0 + 1.0 / 3f64.log2() + 0.5;
        assert!(close(ndcg_at_k(&ranked, &relevant, 4), 1.5 / idcg));
        assert!(close(ndcg_at_k(&[2, 5, 9], &relevant, 3), 1.0), "a perfect ranking");
        assert!(close(recall_at_k(&[9], &[9], 20), 1.0), "normalised by min(K, |relevant|)");
        assert_eq!((recall_at_k(&ranked, &[], 5), ndcg_at_k(&ranked, &[], 5)), (0.0, 0.0));
    }
}
