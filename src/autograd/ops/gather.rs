//! Gather: every output entry is one input entry, or zero. With the right index map it is im2col (the
//! patches a convolution multiplies), a pooling window, a padding, or any permutation of a tensor's axes, so
//! a convolution or a pooling layer can be composed from tape ops, and autograd derive its backward.

use crate::autograd::tape::{Op, Tape, Var};
use crate::error::{Error, Result, Shape};
use crate::scalar::Real;
use nalgebra::DMatrix;
use std::sync::Arc;

pub use crate::layout::ZERO;

// ANCHOR: gather
/// `out[k] = a[index[k]]` over column-major linear indices, with `ZERO` giving 0.
struct Gather {
    index: Arc<Vec<u32>>,
}

impl<T: Real> Tape<T> {
    /// The entries of `a` picked by `index` (column-major linear indices into `a`, `ZERO` for a zero), as a
    /// `rows x cols` matrix. Backward: `da[index[k]] += g[k]`, a scatter-add: an input entry picked several
    /// times (overlapping patches) collects every gradient.
    pub fn gather(
        &mut self,
        a: Var,
        index: Arc<Vec<u32>>,
        rows: usize,
        cols: usize,
    ) -> Result<Var> {
        // ANCHOR_END: gather
        let va = self.get(a, "gather")?;
        if index.len() != rows * cols {
            return Err(Error::shape(
                "gather",
                &[Shape(va.nrows(), va.ncols()), Shape(index.len(), 1)],
                format!("an index of {rows}x{cols} = {} entries", rows * cols),
            ));
        }
        if let Some(&bad) = index.iter().find(|&&i| i != ZERO && i as usize >= va.len()) {
            return Err(Error::invalid(
                "gather",
                format!(
                    "index {bad} is outside the {} entries of the input",
                    va.len()
                ),
            ));
        }
        // ANCHOR: gather_body
        let src = va.as_slice();
        let out = DMatrix::from_iterator(
            rows,
            cols,
            index.iter().map(|&i| {
                if i == ZERO {
                    T::zero()
                } else {
                    src[i as usize]
                }
            }),
        );
        self.record(out, &[a], Gather { index })
    }
}

impl<T: Real> Op<T> for Gather {
    fn name(&self) -> &'static str {
        "gather"
    }
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        _y: &DMatrix<T>,
        g: &DMatrix<T>,
        _n: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let mut da = DMatrix::zeros(x[0].nrows(), x[0].ncols());
        let d = da.as_mut_slice();
        for (&i, &gk) in self.index.iter().zip(g.as_slice()) {
            if i != ZERO {
                d[i as usize] += gk; // the scatter-add
            }
        }
        vec![Some(da)]
    }
}
// ANCHOR_END: gather_body
