//! The arithmetic the models serve and train with: dot products, `y += a·x`, one vector against every row of a
//! matrix, and sparse rows added into a dense score vector.
//!
//! The release build targets baseline x86-64 (SSE2, four lanes), so that one binary runs on any machine. [`wide`]
//! runs a computation compiled a second time for AVX2 (eight lanes) when the processor has it, chosen at run time;
//! the kernels are `#[inline(always)]` so that they are compiled into whichever version calls them. The two
//! versions add in the same order, so their results are identical.

/// Runs `op` compiled for the widest vector instructions the processor has (AVX2 and FMA, found at run time by
/// [`pulp::Arch`], the dispatch faer uses), else as compiled for the baseline. `op` is a [`pulp::WithSimd`] whose
/// `with_simd` is `#[inline(always)]` and calls only `#[inline(always)]` code (a closure would be compiled once,
/// for the baseline). Wrap whole loops, not single dot products: the check is cheap, not free.
#[inline(always)]
pub fn wide<Op: pulp::WithSimd>(op: Op) -> Op::Output {
    pulp::Arch::new().dispatch(op)
}

/// [`add_dots`] as an operation for [`wide`].
pub struct AddDots<'a> {
    pub rows: &'a [f32],
    pub d: usize,
    pub w: &'a [f32],
    pub out: &'a mut [f32],
}

impl pulp::WithSimd for AddDots<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        add_dots(self.rows, self.d, self.w, self.out);
    }
}

/// `scores += Σ w · row(i)` over a history of `(row, w)`: the rows of a sparse matrix stored by rows (row `i` at
/// `cols[indptr[i]..indptr[i + 1]]`, values at the same positions), as an operation for [`wide`]. Rows outside
/// the matrix are empty, and each row's columns are ascending (as [`crate::ease::Ease`] keeps them). Scores of a
/// [`scatter_len`] length are added without bounds checks.
pub struct ScatterRows<'a> {
    pub history: &'a [(u32, f32)],
    pub indptr: &'a [usize],
    pub cols: &'a [u32],
    pub vals: &'a [f32],
    pub scores: &'a mut [f32],
}

impl pulp::WithSimd for ScatterRows<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let ScatterRows { history, indptr, cols, vals, scores } = self;
        // A power-of-two length from [`scatter_len`] is served as a fixed-size array, so that the index, masked to
        // it, needs no bounds check: 98,659 fewer instructions per ML-1M request (BENCHMARKS.md, issue 16 §3).
        macro_rules! fixed {
            ($($span:literal)*) => {
                $(if let Ok(s) = <&mut [f32; $span]>::try_from(&mut *scores) {
                    return scatter_rows_fixed(history, indptr, cols, vals, s);
                })*
            };
        }
        // EASE's item limit is within the largest span.
        const _: () = assert!(crate::ease::MAX_ITEMS <= 16384);
        fixed!(1024 2048 4096 8192 16384);
        for &(i, w) in history {
            let i = i as usize;
            if let (Some(&a), Some(&b)) = (indptr.get(i), indptr.get(i + 1)) {
                scatter_add(&cols[a..b], &vals[a..b], w, scores);
            }
        }
    }
}

/// The length to give the scores of a [`ScatterRows`] over `n` columns: the next power of two (at least 1,024), for
/// which the rows are added without bounds checks up to 16,384 columns (EASE's item limit is within it). Read the first `n` scores; the rest stay 0 unless a row names a
/// column past `n`.
pub fn scatter_len(n: usize) -> usize {
    n.next_power_of_two().max(1024)
}

/// [`ScatterRows`] into scores of a fixed power-of-two length `N`. A row whose last (largest) column is outside
/// falls back to [`scatter_add`], which ignores such columns; within the others, masking the column to `N` keeps it
/// unchanged and proves it in bounds.
#[inline(always)]
fn scatter_rows_fixed<const N: usize>(
    history: &[(u32, f32)],
    indptr: &[usize],
    cols: &[u32],
    vals: &[f32],
    scores: &mut [f32; N],
) {
    for &(i, w) in history {
        let i = i as usize;
        let (Some(&a), Some(&b)) = (indptr.get(i), indptr.get(i + 1)) else { continue };
        let (cols, vals) = (&cols[a..b], &vals[a..b]);
        if cols.last().is_some_and(|&j| j as usize >= N) {
            scatter_add(cols, vals, w, scores);
            continue;
        }
        for (&j, &v) in cols.iter().zip(vals) {
            scores[j as usize & (N - 1)] += w * v;
        }
    }
}

/// Lanes of the partial sums: one AVX2 register of `f32`, two SSE2 registers. Independent lanes let the compiler
/// vectorise (a plain sum is one dependency chain) and fix the order of the additions.
const LANES: usize = 8;

/// `a · b` over the shorter of the two.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..LANES {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `y += alpha · x` over the shorter of the two.
#[inline(always)]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    y.iter_mut().zip(x).for_each(|(y, &x)| *y += alpha * x);
}

/// `out[r] += rows[r·d..(r + 1)·d] · w` for every row `r` of the row-major `rows` (`out.len()` rows of `d`
/// values; `w.len() == d`).
#[inline(always)]
pub fn add_dots(rows: &[f32], d: usize, w: &[f32], out: &mut [f32]) {
    for (o, row) in out.iter_mut().zip(rows.chunks_exact(d)) {
        *o += dot(row, w);
    }
}

/// `scores[cols[k]] += w · vals[k]` for every `k`: one sparse row added into dense scores. Columns outside
/// `scores` are ignored.
#[inline(always)]
pub fn scatter_add(cols: &[u32], vals: &[f32], w: f32, scores: &mut [f32]) {
    for (&j, &v) in cols.iter().zip(vals) {
        if let Some(s) = scores.get_mut(j as usize) {
            *s += w * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wide_version_gives_the_same_sums() {
        let a: Vec<f32> = (0..67).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..67).map(|i| (i as f32 * 0.11).cos()).collect();
        let plain = dot(&a, &b);
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((plain - naive).abs() < 1e-4, "{plain} against {naive}");
        let mut out = vec![1f32; 3];
        wide(AddDots { rows: &a[..60], d: 20, w: &b[..20], out: &mut out });
        for (r, o) in out.iter().enumerate() {
            assert_eq!(o.to_bits(), (1.0 + dot(&a[r * 20..(r + 1) * 20], &b[..20])).to_bits());
        }
        let mut y = vec![1f32; 4];
        axpy(2.0, &[1.0, 2.0, 3.0], &mut y);
        assert_eq!(y, [3.0, 5.0, 7.0, 1.0]);
        let mut s = vec![0f32; 4];
        scatter_add(&[3, 1, 9], &[1.0, 2.0, 5.0], 0.5, &mut s);
        assert_eq!(s, [0.0, 1.0, 0.0, 0.5], "column 9 is outside and ignored");
        let mut s = vec![0f32; 3];
        let (indptr, cols, vals) = ([0, 2, 2, 3], [0, 2, 1], [1.0, 2.0, 4.0]);
        wide(ScatterRows {
            history: &[(0, 1.0), (2, 0.5), (7, 9.0)],
            indptr: &indptr,
            cols: &cols,
            vals: &vals,
            scores: &mut s,
        });
        assert_eq!(s, [1.0, 2.0, 2.0], "rows 0 and 2; row 7 is outside and empty");
    }

    #[test]
    fn the_fixed_length_scatter_adds_what_the_checked_one_does() {
        // Three rows over 1,500 columns; row 2 names a column past a 1,024 span and past the scores.
        let (indptr, cols) = ([0, 3, 5, 8], [2u32, 700, 1023, 5, 1499, 1, 1000, 4000]);
        let vals: Vec<f32> = (0..cols.len()).map(|k| 0.25 + k as f32).collect();
        let history = [(0, 1.5), (1, -2.0), (2, 0.5), (9, 3.0)];
        let mut checked = vec![0f32; 1500];
        for &(i, w) in &history[..3] {
            let (a, b) = (indptr[i as usize], indptr[i as usize + 1]);
            scatter_add(&cols[a..b], &vals[a..b], w, &mut checked);
        }
        assert_eq!(scatter_len(1500), 2048);
        assert_eq!(scatter_len(3), 1024);
        for len in [scatter_len(1500), 1500] {
            let mut s = vec![0f32; len];
            wide(ScatterRows { history: &history, indptr: &indptr, cols: &cols, vals: &vals, scores: &mut s });
            assert_eq!(&s[..1500], &checked[..], "scores of length {len}");
            assert!(s[1500..].iter().all(|&x| x == 0.0), "nothing past the columns named");
        }
        let mut s = vec![0f32; 1024];
        wide(ScatterRows { history: &history, indptr: &indptr, cols: &cols, vals: &vals, scores: &mut s });
        assert_eq!(s[1023], 1.5 * vals[2]);
        assert_eq!(s[1000], 0.5 * vals[6], "the row past the span is added with checks, its column 4000 ignored");
    }
}
