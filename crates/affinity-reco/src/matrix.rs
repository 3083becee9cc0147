//! The customer × item interaction matrix models train on: sparse rows (CSR), one per customer, each value the sum
//! of the customer's interactions with the item, weighted by interaction type and decayed by age.

/// A sparse matrix in compressed sparse row form: row `r` holds columns `indices[indptr[r]..indptr[r + 1]]`
/// (ascending) with `values` at the same positions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl Matrix {
    /// Builds a `rows × cols` matrix from `(row, col, value)` triples in any order; values of the same cell add up.
    /// Panics if a triple lies outside the shape (a caller bug, not input).
    pub fn from_triples(rows: usize, cols: usize, mut triples: Vec<(u32, u32, f32)>) -> Matrix {
        triples.sort_unstable_by_key(|&(r, c, _)| (r, c));
        let mut indptr = vec![0usize; rows + 1];
        let mut indices = Vec::with_capacity(triples.len());
        let mut values: Vec<f32> = Vec::with_capacity(triples.len());
        let mut last: Option<(u32, u32)> = None;
        for (r, c, v) in triples {
            assert!((r as usize) < rows && (c as usize) < cols, "triple outside the matrix");
            if last == Some((r, c)) {
                if let Some(x) = values.last_mut() {
                    *x += v;
                }
                continue;
            }
            last = Some((r, c));
            indptr[r as usize + 1] += 1;
            indices.push(c);
            values.push(v);
        }
        for r in 0..rows {
            indptr[r + 1] += indptr[r];
        }
        Matrix { rows, cols, indptr, indices, values }
    }

    /// Columns and values of row `r`.
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// Stored (non-zero) cells.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// The same matrix without its empty columns, and the original column of each of its columns (ascending).
    pub fn active_columns(&self) -> (Matrix, Vec<u32>) {
        let mut used = vec![false; self.cols];
        for &c in &self.indices {
            used[c as usize] = true;
        }
        let active: Vec<u32> = (0..self.cols as u32).filter(|&c| used[c as usize]).collect();
        let mut to_compact = vec![u32::MAX; self.cols];
        for (compact, &c) in active.iter().enumerate() {
            to_compact[c as usize] = compact as u32;
        }
        let indices = self.indices.iter().map(|&c| to_compact[c as usize]).collect();
        let compact = Matrix {
            rows: self.rows,
            cols: active.len(),
            indptr: self.indptr.clone(),
            indices,
            values: self.values.clone(),
        };
        (compact, active)
    }

    /// The transpose (items × customers for a customers × items matrix).
    pub fn transpose(&self) -> Matrix {
        let mut counts = vec![0usize; self.cols + 1];
        for &c in &self.indices {
            counts[c as usize + 1] += 1;
        }
        for c in 0..self.cols {
            counts[c + 1] += counts[c];
        }
        let indptr = counts.clone();
        let mut next = counts;
        let mut indices = vec![0u32; self.nnz()];
        let mut values = vec![0f32; self.nnz()];
        for r in 0..self.rows {
            let (cols, vals) = self.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                let at = next[c as usize];
                indices[at] = r as u32;
                values[at] = v;
                next[c as usize] += 1;
            }
        }
        Matrix { rows: self.cols, cols: self.rows, indptr, indices, values }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triples_add_up_and_transpose() {
        let m = Matrix::from_triples(3, 4, vec![(2, 1, 1.0), (0, 3, 2.0), (0, 1, 1.0), (0, 3, 0.5)]);
        assert_eq!(m.row(0), (&[1, 3][..], &[1.0, 2.5][..]));
        assert_eq!(m.row(1), (&[][..], &[][..]));
        let t = m.transpose();
        assert_eq!((t.rows, t.cols, t.nnz()), (4, 3, 3));
        assert_eq!(t.row(1), (&[0, 2][..], &[1.0, 1.0][..]));
        assert_eq!(t.transpose(), m);
        let (compact, active) = m.active_columns();
        assert_eq!((compact.cols, active), (2, vec![1, 3]), "columns 0 and 2 are empty");
        assert_eq!(compact.row(0), (&[0, 1][..], &[1.0, 2.5][..]));
    }
}
