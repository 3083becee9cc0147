//! The stored form of a trained [`Trained`] bundle, so that a restart serves at once.
//!
//! Little-endian, versioned by a magic number: `AFM1`, the item ids (`u32` count, then `u32` length + UTF-8 bytes
//! each), the popularity lists, the similar and bought-together lists (each a `u32` count of lists, then per list a
//! `u32` length and `(u32 item, f32 score)` pairs), the personalized model (`u8` 0 for item-kNN; 1 for EASE
//! followed by `u32 n` and its sparse rows, in the list layout; 2 for iALS: `u32 d`, `u32 n`, `f32` α₀ and λ, then
//! `n · d` `f32` item factors; 3 for EASE then iALS), then the repeat model (`n` `f32` propensities, `n` `f32`
//! cycles; absent in bundles stored before it). The [`Info`] travels beside it as JSON. Every float read is checked
//! finite, and propensities and cycles in range.

use crate::ease::Ease;
use crate::ials::Ials;
use crate::model::{Info, Personal, Trained};
use crate::neighbors::Neighbors;

const MAGIC: &[u8; 4] = b"AFM1";

/// A stored model that this version cannot read.
#[derive(Debug, thiserror::Error)]
#[error("stored model unreadable: {0}")]
pub struct CodecError(&'static str);

fn put_u32(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u32).to_le_bytes());
}

fn put_lists(out: &mut Vec<u8>, lists: &[Vec<(u32, f32)>]) {
    put_u32(out, lists.len());
    for list in lists {
        put_u32(out, list.len());
        for &(i, s) in list {
            out.extend_from_slice(&i.to_le_bytes());
            out.extend_from_slice(&s.to_le_bytes());
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CodecError> {
        if self.0.len() < n {
            return Err(CodecError("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, CodecError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn f32(&mut self) -> Result<f32, CodecError> {
        Ok(f32::from_bits(self.u32()?))
    }

    fn lists(&mut self, items: usize) -> Result<Vec<Vec<(u32, f32)>>, CodecError> {
        let n = self.u32()? as usize;
        let mut lists = Vec::with_capacity(n.min(self.0.len() / 4));
        for _ in 0..n {
            let len = self.u32()? as usize;
            let mut list = Vec::with_capacity(len.min(self.0.len() / 8));
            for _ in 0..len {
                let i = self.u32()?;
                if i as usize >= items {
                    return Err(CodecError("item out of range"));
                }
                list.push((i, self.f32()?));
            }
            lists.push(list);
        }
        Ok(lists)
    }
}

impl Trained {
    /// The parameters as bytes (see the module documentation); [`Trained::info`] is stored apart.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, self.items.len());
        for id in &self.items {
            put_u32(&mut out, id.len());
            out.extend_from_slice(id.as_bytes());
        }
        put_lists(&mut out, &self.popular);
        put_lists(&mut out, &self.similar.lists);
        put_lists(&mut out, &self.together.lists);
        match &self.personal {
            Personal::ItemKnn => out.push(0),
            Personal::Ease(e) => {
                out.push(1);
                put_ease(&mut out, e);
            }
            Personal::Ials(m) => {
                out.push(2);
                put_ials(&mut out, m);
            }
            Personal::EaseIals(e, m) => {
                out.push(3);
                put_ease(&mut out, e);
                put_ials(&mut out, m);
            }
        }
        // Added with repeat purchases: bundles stored before end here, and read with no repeat model.
        for v in self.repeat.rate.iter().chain(&self.repeat.cycle_days) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Reads what [`Trained::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8], info: Info) -> Result<Trained, CodecError> {
        let mut r = Reader(bytes);
        if r.take(4)? != MAGIC {
            return Err(CodecError("unknown format"));
        }
        let n = r.u32()? as usize;
        let mut items = Vec::with_capacity(n.min(bytes.len() / 4));
        for _ in 0..n {
            let len = r.u32()? as usize;
            let id = std::str::from_utf8(r.take(len)?).map_err(|_| CodecError("item id not UTF-8"))?;
            items.push(id.to_string());
        }
        let popular = r.lists(n)?;
        let similar = Neighbors { lists: r.lists(n)? };
        let together = Neighbors { lists: r.lists(n)? };
        let personal = match r.take(1)?[0] {
            0 => Personal::ItemKnn,
            1 => Personal::Ease(read_ease(&mut r, n)?),
            2 => Personal::Ials(read_ials(&mut r, n)?),
            3 => {
                let e = read_ease(&mut r, n)?;
                Personal::EaseIals(e, read_ials(&mut r, n)?)
            }
            _ => return Err(CodecError("unknown personalized model")),
        };
        let mut repeat = crate::repeat::Repeat::default();
        if !r.0.is_empty() {
            repeat.rate = (0..n).map(|_| r.f32()).collect::<Result<_, _>>()?;
            repeat.cycle_days = (0..n).map(|_| r.f32()).collect::<Result<_, _>>()?;
            if repeat.rate.iter().any(|x| !(0.0..=1.0).contains(x))
                || repeat.cycle_days.iter().any(|x| !(x.is_finite() && *x >= 0.0))
            {
                return Err(CodecError("repeat model out of range"));
            }
        }
        if !r.0.is_empty() {
            return Err(CodecError("trailing bytes"));
        }
        let mut trained = Trained::assemble(items, popular, similar, together, personal, info);
        trained.repeat = repeat;
        Ok(trained)
    }
}

fn put_ease(out: &mut Vec<u8>, e: &Ease) {
    put_u32(out, e.n);
    let rows: Vec<Vec<(u32, f32)>> = (0..e.n as u32)
        .map(|i| {
            let (cols, vals) = e.row(i);
            cols.iter().copied().zip(vals.iter().copied()).collect()
        })
        .collect();
    put_lists(out, &rows);
}

fn put_ials(out: &mut Vec<u8>, m: &Ials) {
    put_u32(out, m.d);
    put_u32(out, m.n);
    out.extend_from_slice(&m.unobserved_weight.to_le_bytes());
    out.extend_from_slice(&m.lambda.to_le_bytes());
    for v in &m.items {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn read_ease(r: &mut Reader, n: usize) -> Result<Ease, CodecError> {
    let size = r.u32()? as usize;
    let rows = r.lists(n)?;
    if size != n || rows.len() != n {
        return Err(CodecError("EASE size differs from the items"));
    }
    if rows.iter().any(|row| row.windows(2).any(|w| w[0].0 >= w[1].0)) {
        return Err(CodecError("EASE row not sorted"));
    }
    Ok(Ease::from_rows(size, rows))
}

fn read_ials(r: &mut Reader, n: usize) -> Result<Ials, CodecError> {
    let (d, size) = (r.u32()? as usize, r.u32()? as usize);
    let (unobserved, lambda) = (r.f32()?, r.f32()?);
    if size != n || d == 0 || d > 4096 {
        return Err(CodecError("iALS size differs from the items"));
    }
    let factors = (0..d * size).map(|_| r.f32()).collect::<Result<Vec<f32>, _>>()?;
    if !(unobserved.is_finite() && lambda.is_finite()) || factors.iter().any(|x| !x.is_finite()) {
        return Err(CodecError("iALS factors not finite"));
    }
    Ok(Ials::from_factors(d, size, factors, unobserved, lambda))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Matrix;
    use crate::{TrainingData, data::WINDOWS};

    fn trained() -> Trained {
        let matrix = Matrix::from_triples(3, 3, vec![(0, 0, 1.0), (0, 1, 1.0), (1, 1, 1.0), (1, 2, 1.0), (2, 0, 1.0)]);
        let data = TrainingData {
            items: vec!["a".into(), "b".into(), "ç".into()],
            matrix,
            popularity: vec![vec![2.0, 2.0, 1.0]; WINDOWS.len()],
            purchases: vec![(0, 0, 0, 0), (0, 1, 5, 0)],
            events: 5,
        };
        Trained::train(data, &Default::default(), 7)
    }

    #[test]
    fn models_round_trip() {
        let t = trained();
        let bytes = t.to_bytes();
        let back = Trained::from_bytes(&bytes, t.info.clone()).unwrap();
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!((back.items.clone(), back.column("ç")), (t.items.clone(), Some(2)));
        assert_eq!(back.personal, t.personal);
        assert_eq!(back.similar, t.similar);
        assert_eq!(back.together.of(0), [(1, 1.0)]);
    }

    #[test]
    fn damaged_bytes_are_refused_not_trusted() {
        let t = trained();
        let bytes = t.to_bytes();
        for cut in [0, 3, 10, bytes.len() - 1] {
            assert!(Trained::from_bytes(&bytes[..cut], t.info.clone()).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Trained::from_bytes(&longer, t.info.clone()).is_err());
        let mut other = bytes;
        other[0] = b'X';
        assert!(Trained::from_bytes(&other, t.info.clone()).is_err());
    }
}
