//! iALS for catalogs past EASE's size limit: implicit alternating least squares as in Rendle et al., "Revisiting
//! the Performance of iALS on Item Recommendation Benchmarks" (RecSys 2022), section 2, with each least-squares
//! step solved approximately by a few conjugate-gradient iterations warm-started from the previous factors
//! (Takács, Pilászy and Tikk, "Applications of the conjugate gradient method for implicit feedback collaborative
//! filtering", RecSys 2011).
//!
//! The loss over customer factors `W` and item factors `H` (`d` columns each) is
//! `Σ_(u,i) observed c_ui (w_u·h_i - 1)² + α₀ Σ_(u,i) all (w_u·h_i)² + λ (Σ_u ν_u ‖w_u‖² + Σ_i ν_i ‖h_i‖²)`,
//! where `c_ui` is the matrix cell (the weighted, decayed interactions), `α₀` the weight of unobserved pairs, and
//! `ν_u = |I_u| + α₀ · |I|` (Rendle et al.'s frequency-scaled regularisation, ν = 1). The all-pairs term is computed
//! through the `d × d` Gramian `HᵀH`, so an epoch costs `O(nnz · d · steps + (users + items) · d² · steps)`: memory
//! and time grow with the interactions and the catalog linearly, never with `items²`.
//!
//! Serving folds a live history in: the customer's vector is solved against the trained `H` (the same CG), then
//! every item is scored by one dot product.

use rayon::prelude::*;

use crate::kernels::{AddDots, axpy, dot, wide};
use crate::matrix::Matrix;

/// Factors per customer and item. The defaults here were chosen on a validation split carved out of the
/// MovieLens-1M training file (never its test file; see BENCHMARKS.md): 64 factors, 8 epochs, α₀ 0.2, λ 0.01.
pub const FACTORS: usize = 64;
/// Epochs (one customer pass and one item pass each).
pub const EPOCHS: usize = 8;
/// Conjugate-gradient iterations per least-squares solve while training.
const TRAIN_STEPS: usize = 3;
/// Conjugate-gradient iterations when folding in a live history (from zero).
const SERVE_STEPS: usize = 12;
/// Items scored on one thread by [`Ials::score_into`]: about 4 M multiply-adds, some 0.5 ms.
pub const PARALLEL_SCORES: usize = 65_536;
/// Weight of unobserved pairs, α₀.
pub const UNOBSERVED_WEIGHT: f32 = 0.2;
/// L2 penalty λ (times the frequency scale).
pub const LAMBDA: f32 = 0.01;

/// A trained iALS model: the item factors, row `i` at `items[i * d..(i + 1) * d]`, and their Gramian.
#[derive(Debug, Clone, PartialEq)]
pub struct Ials {
    pub d: usize,
    pub n: usize,
    pub items: Vec<f32>,
    /// `HᵀH`, `d × d`, row-major.
    gram: Vec<f32>,
    /// α₀ and λ the model was trained with (folding in uses the same).
    pub unobserved_weight: f32,
    pub lambda: f32,
}

/// `Mᵀ M` of the `rows × d` matrix `m` (row-major), `d × d`.
fn gramian(m: &[f32], d: usize) -> Vec<f32> {
    m.par_chunks(d * 1024)
        .map(|block| {
            let mut g = vec![0f32; d * d];
            for row in block.chunks_exact(d) {
                for (a, &ra) in row.iter().enumerate() {
                    if ra == 0.0 {
                        continue;
                    }
                    let out = &mut g[a * d..(a + 1) * d];
                    for (o, &rb) in out.iter_mut().zip(row) {
                        *o += ra * rb;
                    }
                }
            }
            g
        })
        .reduce(
            || vec![0f32; d * d],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        )
}

/// A deterministic pseudo-random initialisation (splitmix64), values in ±`scale`.
fn init(len: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            ((z >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// One row's least-squares system, `(α₀ G + Σ_i c_i h_i h_iᵀ + reg I) x = Σ_i c_i h_i`: `others` holds the fixed
/// side's factors (`d` per row), `gram` their Gramian `G`, `cols`/`vals` the row's observed cells `i` and `c_i`.
struct RowSystem<'a> {
    others: &'a [f32],
    gram: &'a [f32],
    d: usize,
    cols: &'a [u32],
    vals: &'a [f32],
    unobserved: f32,
    reg: f32,
}

impl RowSystem<'_> {
    /// `out = (α₀ G + Σ_i c_i h_i h_iᵀ + reg I) v`.
    #[inline(always)]
    fn apply(&self, v: &[f32], out: &mut [f32]) {
        let d = self.d;
        for (a, o) in out.iter_mut().enumerate() {
            *o = self.unobserved * dot(&self.gram[a * d..(a + 1) * d], v) + self.reg * v[a];
        }
        for (&j, &c) in self.cols.iter().zip(self.vals) {
            let h = self.factors(j);
            axpy(c * dot(h, v), h, out);
        }
    }

    #[inline(always)]
    fn factors(&self, j: u32) -> &[f32] {
        &self.others[j as usize * self.d..(j as usize + 1) * self.d]
    }

    /// Improves `x` by `steps` conjugate-gradient iterations. Inlined, so that it runs as compiled for the [`wide`]
    /// caller.
    #[inline(always)]
    fn solve(&self, x: &mut [f32], steps: usize) {
        let d = self.d;
        let mut b = vec![0f32; d];
        for (&j, &c) in self.cols.iter().zip(self.vals) {
            axpy(c, self.factors(j), &mut b);
        }
        let mut ax = vec![0f32; d];
        self.apply(x, &mut ax);
        let mut r: Vec<f32> = b.iter().zip(&ax).map(|(b, a)| b - a).collect();
        let mut p = r.clone();
        let mut rr = dot(&r, &r);
        let mut ap = vec![0f32; d];
        for _ in 0..steps {
            if rr < 1e-20 {
                break;
            }
            self.apply(&p, &mut ap);
            let pap = dot(&p, &ap);
            if pap <= 0.0 {
                break;
            }
            let alpha = rr / pap;
            axpy(alpha, &p, x);
            axpy(-alpha, &ap, &mut r);
            let next = dot(&r, &r);
            let beta = next / rr;
            rr = next;
            p.iter_mut().zip(&r).for_each(|(p, r)| *p = r + beta * *p);
        }
    }
}

/// [`RowSystem::solve`] as an operation for [`wide`].
struct SolveRow<'a, 'x> {
    system: RowSystem<'a>,
    x: &'x mut [f32],
    steps: usize,
}

impl pulp::WithSimd for SolveRow<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        self.system.solve(self.x, self.steps);
    }
}

/// One pass over the rows of `x` (customers, or items with `x` transposed): every row's factors re-solved
/// against the fixed side.
fn half_epoch(rows: &mut [f32], fixed: &[f32], x: &Matrix, d: usize, unobserved: f32, lambda: f32, fixed_rows: usize) {
    let gram = gramian(fixed, d);
    rows.par_chunks_mut(d).enumerate().for_each(|(r, w)| {
        let (cols, vals) = x.row(r);
        let reg = lambda * (cols.len() as f32 + unobserved * fixed_rows as f32);
        let system = RowSystem { others: fixed, gram: &gram, d, cols, vals, unobserved, reg };
        wide(SolveRow { system, x: w, steps: TRAIN_STEPS });
    });
}

impl Ials {
    /// Fits on `x` (customers × items) with [`FACTORS`], [`EPOCHS`], [`UNOBSERVED_WEIGHT`] and [`LAMBDA`].
    pub fn fit(x: &Matrix) -> Ials {
        Ials::fit_with(x, FACTORS, EPOCHS, UNOBSERVED_WEIGHT, LAMBDA)
    }

    /// Fits with the given factors `d`, epochs, α₀ and λ.
    pub fn fit_with(x: &Matrix, d: usize, epochs: usize, unobserved: f32, lambda: f32) -> Ials {
        let xt = x.transpose();
        let scale = 0.1 / (d as f32).sqrt();
        let mut users = vec![0f32; x.rows * d];
        let mut items = init(x.cols * d, 0x1a15, scale);
        for _ in 0..epochs {
            half_epoch(&mut users, &items, x, d, unobserved, lambda, x.cols);
            half_epoch(&mut items, &users, &xt, d, unobserved, lambda, x.rows);
        }
        let gram = gramian(&items, d);
        Ials { d, n: x.cols, items, gram, unobserved_weight: unobserved, lambda }
    }

    /// A model from stored item factors (the Gramian is recomputed).
    pub fn from_factors(d: usize, n: usize, items: Vec<f32>, unobserved_weight: f32, lambda: f32) -> Ials {
        let gram = gramian(&items, d);
        Ials { d, n, items, gram, unobserved_weight, lambda }
    }

    /// Item `i`'s factors.
    pub fn item(&self, i: u32) -> &[f32] {
        &self.items[i as usize * self.d..(i as usize + 1) * self.d]
    }

    /// The customer vector of a history of `(column, weight)` pairs (folded in against the item factors).
    pub fn fold_in(&self, history: &[(u32, f32)]) -> Vec<f32> {
        let (cols, vals): (Vec<u32>, Vec<f32>) = history.iter().filter(|p| (p.0 as usize) < self.n).copied().unzip();
        let mut x = vec![0f32; self.d];
        let reg = self.lambda * (cols.len() as f32 + self.unobserved_weight * self.n as f32);
        let (others, gram, unobserved, d) = (&self.items, &self.gram, self.unobserved_weight, self.d);
        let system = RowSystem { others, gram, d, cols: &cols, vals: &vals, unobserved, reg };
        wide(SolveRow { system, x: &mut x, steps: SERVE_STEPS });
        x
    }

    /// Every item's score for customer vector `w`, added into `scores` (one per column).
    /// Catalogs of more than [`PARALLEL_SCORES`] items are scored on rayon's threads.
    pub fn score_into(&self, w: &[f32], scores: &mut [f32]) {
        let d = self.d;
        if scores.len() <= PARALLEL_SCORES {
            return wide(AddDots { rows: &self.items, d, w, out: scores });
        }
        scores
            .par_chunks_mut(PARALLEL_SCORES)
            .zip(self.items.par_chunks(PARALLEL_SCORES * d))
            .for_each(|(out, rows)| wide(AddDots { rows, d, w, out }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tastes_stay_in_their_cluster() {
        // Customers 0..20 interact with items 0..5 (all but one), customers 20..40 with items 5..10.
        let mut triples = Vec::new();
        for c in 0..40u32 {
            let base = if c < 20 { 0 } else { 5 };
            for i in 0..5 {
                if i != c % 5 {
                    triples.push((c, base + i, 1.0));
                }
            }
        }
        let x = Matrix::from_triples(40, 10, triples);
        let m = Ials::fit_with(&x, 3, 10, 0.1, 0.01);
        let w = m.fold_in(&[(1, 1.0), (2, 1.0)]);
        let mut scores = vec![0f32; 10];
        m.score_into(&w, &mut scores);
        let best_other = (5..10).map(|j| scores[j]).fold(f32::MIN, f32::max);
        for j in [0, 3, 4] {
            assert!(scores[j] > best_other, "item {j} of the same cluster first: {scores:?}");
        }
        assert_eq!(Ials::from_factors(3, 10, m.items.clone(), 0.1, 0.01), m, "the Gramian is recomputed");
    }
}
