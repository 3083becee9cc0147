//! EASE: "Embarrassingly Shallow Autoencoders for Sparse Data" (Steck, WWW 2019), section 3.1: the item-item
//! weight matrix `B` that best reconstructs `X` from `X · B` under an L2 penalty `λ` with `diag(B) = 0` has the
//! closed form `P = (XᵀX + λI)⁻¹`, `B_ij = -P_ij / P_jj` (`i ≠ j`). A customer's scores are `x_u · B`.
//!
//! The Gram matrix is accumulated from the sparse rows (cost: the sum over customers of their item count squared)
//! and inverted by Cholesky with faer, in `f32`: on MovieLens-1M it gives the same Recall@20 and NDCG@20 as `f64`
//! to four decimals, in half the time (0.9 s against 1.7 s for 3,677 items). Memory is about `12 · n²` bytes for
//! `n` items during training and `8 · 512 · n + n²/8` after (rows pruned to [`KEEP_PER_ROW`], and one presence bit
//! per column and row), which is why [`crate::model`] uses EASE only up to [`MAX_ITEMS`] items.

use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, Side};
use rayon::prelude::*;

use crate::matrix::Matrix;

/// Largest catalog EASE trains on (about 1.7 GB while inverting; `B` kept sparse after).
pub const MAX_ITEMS: usize = 12_000;

/// Entries of `B` kept per row: the largest by magnitude. Scoring reads a customer's history rows of `B`, so a dense
/// row of 3,677 floats made serving memory-bound (1.9 MB read per MovieLens customer). On MovieLens-1M, 512 keep
/// Recall@20 / NDCG@20 at 0.4127 / 0.4176 against 0.4147 / 0.4188 dense (256: 0.4095 / 0.4154).
pub const KEEP_PER_ROW: usize = 512;

/// A trained EASE model, `B` stored by rows, sparse: row `i` (what item `i` in a history adds to each item's score)
/// holds columns `cols[indptr[i]..indptr[i + 1]]` (ascending) with `vals` at the same positions.
#[derive(Debug, Clone, PartialEq)]
pub struct Ease {
    pub n: usize,
    pub indptr: Vec<usize>,
    pub cols: Vec<u32>,
    pub vals: Vec<f32>,
    /// Which entries each row keeps, one bit per column: row `i`'s bit `j` is bit `j % 64` of word
    /// `i · words + j / 64`. [`Ease::weight`] asks it before searching the row, so that the reasons of an answer
    /// (one weight per history item and item shown) skip the search in the rows that do not keep the item. The
    /// items shown are popular and most rows keep them, so on ML-1M it saved about a third of the reasons'
    /// instructions (BENCHMARKS.md, issue 16 §3 third pass). `n²/8` bytes (1.7 MB for 3,706 items, 18 MB for
    /// 12,000).
    present: Vec<u64>,
    words: usize,
}

/// Why EASE could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum EaseError {
    #[error("{0} items is more than EASE handles ({MAX_ITEMS})")]
    TooManyItems(usize),
    #[error("the Gram matrix is not positive definite")]
    NotPositiveDefinite,
}

impl Ease {
    /// Fits `B` on `x` (customers × items) with penalty `lambda` (> 0) and dropout emphasis `dropout` in [0, 1)
    /// (0: plain EASE; else the full-rank EDLAE of Steck, NeurIPS 2020, section 3: item `i`'s penalty grows by
    /// `dropout / (1 - dropout) · G_ii`, so popular items are held back more).
    pub fn fit(x: &Matrix, lambda: f32, dropout: f32) -> Result<Ease, EaseError> {
        let g = Ease::gram(x)?;
        Ease::from_gram(g, lambda, dropout)
    }

    /// `XᵀX` of `x` (customers × items), `n × n`: the part of [`Ease::fit`] that does not depend on `λ` and
    /// dropout (tuning fits several of them on one).
    pub fn gram(x: &Matrix) -> Result<Mat<f32>, EaseError> {
        let n = x.cols;
        if n > MAX_ITEMS {
            return Err(EaseError::TooManyItems(n));
        }
        // XᵀX, column-major; each thread fills a band of columns, reading every customer's row.
        let mut gram = vec![0f32; n * n];
        let band = n.div_ceil(rayon::current_num_threads().max(1)).max(1);
        gram.par_chunks_mut(n * band).enumerate().for_each(|(t, chunk)| {
            let first = t * band;
            for r in 0..x.rows {
                let (items, values) = x.row(r);
                for (&j, &vj) in items.iter().zip(values) {
                    let j = j as usize;
                    if j < first || j >= first + band {
                        continue;
                    }
                    let col = &mut chunk[(j - first) * n..(j - first + 1) * n];
                    for (&i, &vi) in items.iter().zip(values) {
                        col[i as usize] += vi * vj;
                    }
                }
            }
        });
        Ok(Mat::<f32>::from_fn(n, n, |i, j| gram[j * n + i]))
    }

    /// [`Ease::fit`] from the Gram matrix `g` ([`Ease::gram`]).
    pub fn from_gram(mut g: Mat<f32>, lambda: f32, dropout: f32) -> Result<Ease, EaseError> {
        let n = g.nrows();
        let emphasis = dropout / (1.0 - dropout);
        for d in 0..n {
            g[(d, d)] += lambda + emphasis * g[(d, d)];
        }
        let p = g.llt(Side::Lower).map_err(|_| EaseError::NotPositiveDefinite)?.inverse();
        drop(g);
        let keep = KEEP_PER_ROW.min(n.saturating_sub(1)).max(1);
        let rows: Vec<Vec<(u32, f32)>> = (0..n)
            .into_par_iter()
            .map(|i| {
                // P is symmetric, so row i of P is its column i, contiguous.
                let pi = p.col_as_slice(i);
                let mut row: Vec<(u32, f32)> =
                    (0..n).filter(|&j| j != i).map(|j| (j as u32, -pi[j] / p[(j, j)])).collect();
                if row.len() > keep {
                    row.select_nth_unstable_by(keep, |a, b| b.1.abs().total_cmp(&a.1.abs()));
                    row.truncate(keep);
                }
                row.sort_unstable_by_key(|e| e.0);
                row
            })
            .collect();
        Ok(Ease::from_rows(n, rows))
    }

    /// An EASE model from its sparse rows (each sorted by column).
    pub fn from_rows(n: usize, rows: Vec<Vec<(u32, f32)>>) -> Ease {
        let mut indptr = Vec::with_capacity(rows.len() + 1);
        indptr.push(0);
        let (mut cols, mut vals) = (Vec::new(), Vec::new());
        for row in rows {
            for (j, v) in row {
                cols.push(j);
                vals.push(v);
            }
            indptr.push(cols.len());
        }
        let words = n.div_ceil(64);
        let mut present = vec![0u64; (indptr.len() - 1) * words];
        for (i, span) in indptr.windows(2).enumerate() {
            for &j in &cols[span[0]..span[1]] {
                if (j as usize) < n {
                    present[i * words + j as usize / 64] |= 1 << (j % 64);
                }
            }
        }
        Ease { n, indptr, cols, vals, present, words }
    }

    /// This model, fitted on columns `active` of a wider matrix, indexed by the wider matrix's `n` columns (the
    /// others get empty rows and are never scored).
    pub fn spread(self, active: &[u32], n: usize) -> Ease {
        let mut rows = vec![Vec::new(); n];
        for (compact, &i) in active.iter().enumerate() {
            let (cols, vals) = self.row(compact as u32);
            rows[i as usize] = cols.iter().map(|&j| active[j as usize]).zip(vals.iter().copied()).collect();
        }
        Ease::from_rows(n, rows)
    }

    /// Row `i` of `B`: the items item `i` in a history speaks for, and how much.
    pub fn row(&self, i: u32) -> (&[u32], &[f32]) {
        let i = i as usize;
        match (self.indptr.get(i), self.indptr.get(i + 1)) {
            (Some(&a), Some(&b)) => (&self.cols[a..b], &self.vals[a..b]),
            _ => (&[], &[]),
        }
    }

    /// `B[i][j]` (0 when not kept).
    pub fn weight(&self, i: u32, j: u32) -> f32 {
        let word = self.present.get(i as usize * self.words + j as usize / 64);
        if (j as usize) >= self.n || word.is_none_or(|w| w & (1 << (j % 64)) == 0) {
            return 0.0;
        }
        let (cols, vals) = self.row(i);
        cols.binary_search(&j).map_or(0.0, |at| vals[at])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closed_form_on_a_tiny_matrix() {
        // Two customers; items 0 and 1 always together, item 2 alone.
        let x = Matrix::from_triples(2, 3, vec![(0, 0, 1.0), (0, 1, 1.0), (1, 0, 1.0), (1, 1, 1.0), (1, 2, 1.0)]);
        // G = [[2,2,1],[2,2,1],[1,1,1]] + λI with λ = 1; B_01 = -P_01 / P_11, checked against a hand inversion:
        // G + I = [[3,2,1],[2,3,1],[1,1,2]], determinant 8, so P = 1/8 · [[5,-3,-1],[-3,5,-1],[-1,-1,5]]
        // and B_01 = 3/5, B_21 = 1/5, B_02 = 1/5.
        let e = Ease::fit(&x, 1.0, 0.0).unwrap();
        assert_eq!(e.weight(0, 0), 0.0, "diag(B) = 0");
        assert_eq!(e.row(0).0, [1, 2]);
        for (got, want) in [(e.weight(0, 1), 0.6), (e.weight(2, 1), 0.2), (e.weight(0, 2), 0.2)] {
            assert!((got - want).abs() < 1e-5, "{got} against {want}");
        }
        let wide = e.clone().spread(&[1, 3, 4], 6);
        assert_eq!((wide.weight(1, 3), wide.weight(4, 3), wide.row(0).0.len()), (e.weight(0, 1), e.weight(2, 1), 0));
        // Dropout emphasis penalises each item by its own count: the weights shrink.
        let d = Ease::fit(&x, 1.0, 0.5).unwrap();
        assert!(d.weight(0, 1) < e.weight(0, 1) && d.weight(0, 1) > 0.0);
    }

    #[test]
    fn the_presence_bits_agree_with_the_rows() {
        // 130 columns (three words a row), rows keeping every third, fifth or seventh column, and a column
        // outside the model.
        let n = 130;
        let rows: Vec<Vec<(u32, f32)>> = (0..n)
            .map(|i| (0..n as u32).filter(|j| j % (3 + 2 * (i as u32 % 3)) == 0).map(|j| (j, 1.0 + j as f32)).collect())
            .collect();
        let e = Ease::from_rows(n, rows.clone());
        for (i, row) in rows.iter().enumerate() {
            for j in 0..n as u32 + 70 {
                let want = row.iter().find(|p| p.0 == j).map_or(0.0, |p| p.1);
                assert_eq!(e.weight(i as u32, j), want, "row {i}, column {j}");
            }
        }
        assert_eq!(e.weight(n as u32 + 3, 0), 0.0, "a row outside the model");
    }
}
